//go:build integration

package kafka

import (
	"slices"
	"testing"
	"time"

	"github.com/promoguard/promoguard/connectors/kafka/kafkatest"
)

// The daemon against a real Apache Kafka broker (make integration).

func TestIntegrationDaemonLifecycle(t *testing.T) {
	b := kafkatest.Brokers(t)
	testDaemonLifecycle(t, kafkatest.Addrs(b), kafkatest.Name(t, "life"))
}

// Two instances in one group split the partitions, each the same numbers
// of prices and stock, and together emit exactly the outputs one instance
// (the reference run) does. The input is all there before they start, so
// the first to join takes every partition and hands half of them over when
// the second joins: the handover goes through the changelog.
func TestIntegrationTwoInstances(t *testing.T) {
	b := kafkatest.Brokers(t)
	env := newDTEnv(t, kafkatest.Addrs(b), kafkatest.Name(t, "two"), 4)
	events := append(kafkatest.ExampleEvents(t, "../../examples/events/black-friday.ndjson"), kafkatest.Sentinels(4, "2026-12-01T09:00:00Z")...)
	want := kafkatest.Reference(t, env.rs, events)
	cfg := env.config()
	env.setup(cfg)
	col := kafkatest.Collect(t, env.brokers, env.topics.Alerts, env.topics.Corrections)
	env.produce(events)
	d1, stop1 := env.runDaemon(cfg)
	time.Sleep(200 * time.Millisecond)
	d2, stop2 := env.runDaemon(cfg)
	got := col.WaitFor(t, want, 90*time.Second)
	deadline := time.Now().Add(60 * time.Second)
	for {
		p1, p2 := d1.Partitions(), d2.Partitions()
		r1, _ := d1.Ready()
		r2, _ := d2.Ready()
		if len(p1) == 2 && len(p2) == 2 && r1 && r2 {
			all := append(slices.Clone(p1), p2...)
			slices.Sort(all)
			if !slices.Equal(all, []int{0, 1, 2, 3}) {
				t.Fatalf("partitions %v and %v", p1, p2)
			}
			t.Logf("instance 1 holds %v, instance 2 holds %v", p1, p2)
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("no even split after 60 s: %v and %v", p1, p2)
		}
		time.Sleep(100 * time.Millisecond)
	}
	if extra := kafkatest.Unexpected(got, want); len(extra) > 0 {
		t.Errorf("%d outputs the reference does not have: %v", len(extra), extra)
	}
	dups := kafkatest.Duplicates(got)
	t.Logf("%d outputs, %d duplicates (outputs of a batch produced before its changelog write was interrupted by the rebalance)", len(want), dups)
	stop1()
	stop2()
}
