//go:build integration

package kafka

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/segmentio/kafka-go"

	"github.com/promoguard/promoguard/connectors/kafka/kafkatest"
)

// EnsureTopics against a real Apache Kafka broker: the missing topics are
// named exactly, created with their partition counts and the broker's
// default replication factor, the changelog compacted, writable at once;
// an existing delete-policy topic is refused as a changelog.
func TestIntegrationEnsureTopics(t *testing.T) {
	brokers := kafkatest.Addrs(kafkatest.Brokers(t))
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	prices, stock, state := kafkatest.Name(t, "prices"), kafkatest.Name(t, "stock"), kafkatest.Name(t, "state")
	specs := []TopicSpec{{Name: prices, Partitions: 4}, {Name: stock, Partitions: 4}, {Name: state, Partitions: 4, Compacted: true}}
	if err := EnsureTopics(ctx, brokers, Security{}, specs[:1], true); err != nil {
		t.Fatal(err)
	}
	err := EnsureTopics(ctx, brokers, Security{}, specs, false)
	var me *MissingTopicsError
	if !errors.As(err, &me) || strings.Join(me.Topics, ",") != strings.Join([]string{state, stock}, ",") {
		t.Fatalf("create=false: %v, want exactly %s and %s missing", err, state, stock)
	}
	if err := EnsureTopics(ctx, brokers, Security{}, specs, true); err != nil {
		t.Fatal(err)
	}
	if err := CheckCoPartitioned(ctx, brokers, Security{}, prices, stock, state); err != nil {
		t.Fatal(err)
	}
	c := &kafka.Client{Addr: kafka.TCP(brokers...), Timeout: 10 * time.Second, Transport: &kafka.Transport{}}
	resp, err := c.DescribeConfigs(ctx, &kafka.DescribeConfigsRequest{Resources: []kafka.DescribeConfigRequestResource{
		{ResourceType: kafka.ResourceTypeTopic, ResourceName: state, ConfigNames: []string{"cleanup.policy"}},
		{ResourceType: kafka.ResourceTypeTopic, ResourceName: stock, ConfigNames: []string{"cleanup.policy"}},
	}})
	if err != nil {
		t.Fatal(err)
	}
	for _, r := range resp.Resources {
		want := map[string]string{state: "compact", stock: "delete"}[r.ResourceName]
		if len(r.ConfigEntries) != 1 || r.ConfigEntries[0].ConfigValue != want {
			t.Errorf("%s: cleanup.policy %+v, want %s", r.ResourceName, r.ConfigEntries, want)
		}
	}

	// writable at once, each key on its murmur2 partition
	w, err := NewWriter(brokers, Security{}, "")
	if err != nil {
		t.Fatal(err)
	}
	var msgs []kafka.Message
	for i := range 20 {
		k := fmt.Appendf(nil, "sku-%d", i)
		msgs = append(msgs, kafka.Message{Topic: state, Key: k, Value: []byte("x")}, kafka.Message{Topic: stock, Key: k, Value: []byte("y")})
	}
	if err := w.WriteMessages(ctx, msgs...); err != nil {
		t.Fatal(err)
	}
	w.Close()
	for _, m := range kafkatest.Consume(t, strings.Join(brokers, ","), stock, 20, 30*time.Second) {
		if want := kafkatest.PartitionOf(m.Key, 4); m.Partition != want {
			t.Errorf("key %s on partition %d, murmur2 says %d", m.Key, m.Partition, want)
		}
	}

	err = EnsureTopics(ctx, brokers, Security{}, []TopicSpec{{Name: stock, Partitions: 4, Compacted: true}}, true)
	if err == nil || !strings.Contains(err.Error(), "cleanup.policy=delete, but it must be compacted") {
		t.Fatalf("a delete-policy topic as changelog: %v", err)
	}
	if err := EnsureTopics(ctx, brokers, Security{}, specs, false); err != nil {
		t.Fatalf("second call: %v", err)
	}
}

func TestIntegrationCheckCoPartitioned(t *testing.T) {
	brokers := kafkatest.Addrs(kafkatest.Brokers(t))
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	a, b := kafkatest.Name(t, "a"), kafkatest.Name(t, "b")
	if err := EnsureTopics(ctx, brokers, Security{}, []TopicSpec{{Name: a, Partitions: 3}, {Name: b, Partitions: 2}}, true); err != nil {
		t.Fatal(err)
	}
	err := CheckCoPartitioned(ctx, brokers, Security{}, a, b)
	if want := fmt.Sprintf("topics are not co-partitioned: %s has 3, %s has 2 partitions", a, b); err == nil || !strings.Contains(err.Error(), want) {
		t.Fatalf("%v, want %q", err, want)
	}
	if n, err := Partitions(ctx, brokers, Security{}, a); n != 3 || err != nil {
		t.Fatalf("Partitions = %d, %v", n, err)
	}
}
