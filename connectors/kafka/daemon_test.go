package kafka

import (
	"context"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/promoguard/promoguard/event"

	"github.com/rs/zerolog"
	"github.com/segmentio/kafka-go"

	"github.com/promoguard/promoguard/connectors/kafka/kafkatest"
	"github.com/promoguard/promoguard/engine"
	"github.com/promoguard/promoguard/rules"
)

// The daemon's tests run on the embedded broker here; the same scenarios
// run against a real Apache Kafka broker in daemon_integration_test.go.

// dtEnv is one daemon scenario: its broker, topics and rules.
type dtEnv struct {
	t       testing.TB
	brokers []string
	topics  Topics
	group   string
	rs      *rules.RuleSet
	parts   int
}

func newDTEnv(t testing.TB, brokers []string, prefix string, parts int) *dtEnv {
	rs, err := rules.Load([]string{"../../examples/rules"}, nil)
	if err != nil {
		t.Fatal(err)
	}
	group := prefix + "-group"
	tp := Topics{
		Prices: prefix + ".prices", Stock: prefix + ".stock", Promotions: prefix + ".promotions",
		Alerts: prefix + ".alerts", Corrections: prefix + ".corrections", DeadLetter: prefix + ".deadletter",
		Changelog: prefix + ".state", ChannelAlertPrefix: prefix + ".alerts.",
	}
	return &dtEnv{t: t, brokers: brokers, topics: tp, group: group, rs: rs, parts: parts}
}

func (env *dtEnv) config() Config {
	return Config{
		Brokers: env.brokers, Group: env.group, Topics: env.topics, CreateTopics: true, Partitions: env.parts,
		SessionTimeout: 6 * time.Second, BatchTimeout: 10 * time.Millisecond, MaxWait: 300 * time.Millisecond,
		Log: zerolog.New(zerolog.NewTestWriter(env.t)).Level(zerolog.InfoLevel),
	}
}

// runDaemon starts a daemon; stop cancels it and waits for Run to return.
func (env *dtEnv) runDaemon(cfg Config) (d *Daemon, stop func()) {
	t := env.t
	d, err := NewDaemon(cfg, env.rs)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- d.Run(ctx) }()
	var once sync.Once
	stop = func() {
		once.Do(func() {
			cancel()
			select {
			case err := <-done:
				if err != nil {
					t.Errorf("daemon: %v", err)
				}
			case <-time.After(60 * time.Second):
				t.Errorf("daemon did not stop within 60 s")
			}
		})
	}
	t.Cleanup(stop)
	return d, stop
}

// setup creates the topics as the daemon would.
func (env *dtEnv) setup(cfg Config) {
	env.t.Helper()
	d, err := NewDaemon(cfg, env.rs)
	if err != nil {
		env.t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if err := d.Setup(ctx); err != nil {
		env.t.Fatal(err)
	}
}

// produce writes events to their topics keyed as the daemon expects.
func (env *dtEnv) produce(events [][]byte) {
	env.t.Helper()
	env.produceWith(Security{}, events)
}

// produceWith is produce with a writer that connects with sec.
func (env *dtEnv) produceWith(sec Security, events [][]byte) {
	t := env.t
	t.Helper()
	w, err := NewWriter(env.brokers, sec, "")
	if err != nil {
		t.Fatal(err)
	}
	defer w.Close()
	var msgs []kafka.Message
	for _, l := range events {
		kind, key, err := KeyOf(l)
		topic := env.topics.Prices
		switch {
		case err != nil:
			// bad input goes to prices, keyed by nothing
		case kind == KindStock:
			topic = env.topics.Stock
		case kind == KindPromotions:
			topic = env.topics.Promotions
		}
		msgs = append(msgs, kafka.Message{Topic: topic, Key: []byte(key), Value: l})
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if err := w.WriteMessages(ctx, msgs...); err != nil {
		t.Fatal(err)
	}
}

func TestDaemonEmbedded(t *testing.T) {
	if testing.Short() {
		t.Skip("starts a broker")
	}
	testDaemonLifecycle(t, startEmbedded(t), "dt")
}

// testDaemonLifecycle runs the example week through the daemon in three
// phases, against the reference run of the engine:
//  1. half the week (and two bad events) produced before it starts: it
//     catches up in timestamp order across its inputs;
//  2. stopped, the rest produced, restarted: it restores its state from
//     the changelog and continues every lifecycle with the ids of a run
//     that never stopped;
//  3. live: events produced while it runs are followed.
func testDaemonLifecycle(t *testing.T, brokers []string, prefix string) {
	env := newDTEnv(t, brokers, prefix, 3)
	events := kafkatest.ExampleEvents(t, "../../examples/events/black-friday.ndjson")
	half := len(events) / 2
	bad := [][]byte{[]byte(`{"type":"price","sku":"x"`), []byte(`{"type":"price","sku":"x","channel":"web","price":-1,"currency":"EUR","ts":"2026-11-23T08:00:00Z"}`)}
	cfg := env.config()
	env.setup(cfg)
	col := kafkatest.Collect(t, env.brokers, env.topics.Alerts, env.topics.Corrections, env.topics.DeadLetter)

	// 1
	env.produce(events[:half])
	env.produce(bad)
	want1 := kafkatest.Reference(t, env.rs, events[:half])
	d, stop := env.runDaemon(cfg)
	got := col.WaitFor(t, want1, 30*time.Second)
	waitReady(t, d, 10*time.Second)
	if extra := kafkatest.Unexpected(got, want1); len(extra) > 0 {
		t.Errorf("phase 1: %d outputs the reference does not have: %v", len(extra), extra)
	}
	for id, n := range got {
		if n > 1 {
			t.Errorf("output %s produced %d times without a restart", id, n)
		}
	}
	var dead []kafka.Message
	for _, m := range col.Messages() {
		if m.Topic == env.topics.DeadLetter {
			dead = append(dead, m)
		}
	}
	if len(dead) != len(bad) {
		t.Fatalf("%d dead letters, want %d", len(dead), len(bad))
	}
	for _, m := range dead {
		h := map[string]string{}
		for _, x := range m.Headers {
			h[x.Key] = string(x.Value)
		}
		if h["source_topic"] != env.topics.Prices || h["source_partition"] == "" || h["source_offset"] == "" || h["reason"] == "" {
			t.Errorf("dead letter headers %v", h)
		}
	}
	// each names where its bad record really is, read back from the input
	isBad := func(_ string, m kafka.Message) bool {
		return slices.ContainsFunc(bad, func(b []byte) bool { return string(b) == string(m.Value) })
	}
	if diff := kafkatest.DiffDeadLetterSources(t, strings.Join(env.brokers, ","), dead, isBad, env.topics.Prices, env.topics.Stock, env.topics.Promotions); len(diff) > 0 {
		t.Errorf("dead letters that do not point at their bad record:\n%s", strings.Join(diff, "\n"))
	}
	stop()

	// 2
	before := len(col.Messages())
	env.produce(events[half:])
	all := append(slices.Clone(events), kafkatest.Sentinels(3, "2026-12-01T09:00:00Z")...)
	env.produce(all[len(events):])
	want2 := kafkatest.Reference(t, env.rs, all)
	if len(want2) < 50 {
		t.Fatalf("the reference has %d outputs: the test would show little", len(want2))
	}
	d2, stop2 := env.runDaemon(cfg)
	got = col.WaitFor(t, want2, 30*time.Second)
	waitReady(t, d2, 10*time.Second)
	if extra := kafkatest.Unexpected(got, want2); len(extra) > 0 {
		t.Errorf("phase 2: %d outputs the reference does not have: %v", len(extra), extra)
	}
	if len(col.Messages()) == before {
		t.Fatal("phase 2 produced nothing")
	}

	// 3
	live := kafkatest.Sentinels(3, "2026-12-03T00:00:00Z")
	want3 := kafkatest.Reference(t, env.rs, append(slices.Clone(all), live...))
	env.produce(live)
	got = col.WaitFor(t, want3, 30*time.Second)
	if extra := kafkatest.Unexpected(got, want3); len(extra) > 0 {
		t.Errorf("phase 3: %d outputs the reference does not have: %v", len(extra), extra)
	}
	stop2()
}

func waitReady(t testing.TB, d *Daemon, timeout time.Duration) {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for {
		ok, why := d.Ready()
		if ok {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("not ready after %v: %s", timeout, why)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// With channel_alerts on, each alert also goes to its channel's topic, and
// /explain's data comes from the partition that holds the sku.
func TestDaemonChannelAlertsAndExplain(t *testing.T) {
	if testing.Short() {
		t.Skip("starts a broker")
	}
	env := newDTEnv(t, startEmbedded(t), "ch", 3)
	events := append(kafkatest.ExampleEvents(t, "../../examples/events/black-friday.ndjson"), kafkatest.Sentinels(3, "2026-12-01T09:00:00Z")...)
	want := kafkatest.Reference(t, env.rs, events)
	cfg := env.config()
	cfg.Topics.ChannelAlerts = true
	env.setup(cfg)
	env.produce(events)
	d, stop := env.runDaemon(cfg)
	col := kafkatest.Collect(t, env.brokers, env.topics.Alerts, env.topics.Corrections)
	col.WaitFor(t, want, 30*time.Second)
	for _, ch := range []string{"web", "amazon", "ebay"} {
		wantCh := map[string]event.Output{}
		for id, o := range want {
			if o.Alert != nil && o.Alert.Channel == ch {
				wantCh[id] = o
			}
		}
		if len(wantCh) == 0 {
			t.Fatalf("no %s alert in the reference", ch)
		}
		topic := ChannelTopic(env.topics.ChannelAlertPrefix, ch)
		got := kafkatest.Collect(t, env.brokers, topic).WaitFor(t, wantCh, 30*time.Second)
		if extra := kafkatest.Unexpected(got, wantCh); len(extra) > 0 {
			t.Errorf("topic %s has %d records of other channels", topic, len(extra))
		}
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	v, ok := d.Explain(ctx, "tv-55-oled", "web")
	if !ok {
		t.Fatal("no explanation of tv-55-oled on web")
	}
	x := v.(engine.Explanation)
	if len(x.Segments) == 0 || len(x.Segments[0].Rules) == 0 || len(x.Segments[0].Facts) == 0 {
		t.Errorf("explanation without segments, rules or facts: %+v", x)
	}
	if _, ok := d.Explain(ctx, "no-such-sku", "web"); ok {
		t.Error("an unknown sku was explained")
	}
	stop()
}
