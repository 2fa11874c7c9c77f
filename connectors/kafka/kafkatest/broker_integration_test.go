//go:build integration

package kafkatest

import (
	"context"
	"errors"
	"fmt"
	"testing"
	"time"

	"github.com/segmentio/kafka-go"
)

// keyedMessages returns the Java test-vector keys and n generated skus, each
// with the value "v-"+key.
func keyedMessages(n int) []kafka.Message {
	var msgs []kafka.Message
	for _, c := range javaPartitions {
		msgs = append(msgs, kafka.Message{Key: []byte(c.key), Value: []byte("v-" + c.key)})
	}
	for i := range n {
		k := fmt.Sprintf("sku-%04d", i)
		msgs = append(msgs, kafka.Message{Key: []byte(k), Value: []byte("v-" + k)})
	}
	return msgs
}

// The broker takes keyed records from kafka-go with murmur2 and gives them
// back from every partition, each on the partition the Java client would pick.
func TestIntegrationBrokerRoundTrip(t *testing.T) {
	brokers := Brokers(t)
	topic := Name(t, "roundtrip")
	CreateTopics(t, brokers, TopicSpec{Name: topic, Partitions: 3})
	if n := Partitions(t, brokers, topic); n != 3 {
		t.Fatalf("%s has %d partitions, want 3", topic, n)
	}
	msgs := keyedMessages(60)
	Produce(t, brokers, topic, msgs...)
	got := Consume(t, brokers, topic, len(msgs), 30*time.Second)
	if len(got) != len(msgs) {
		t.Fatalf("consumed %d messages, produced %d", len(got), len(msgs))
	}
	java := map[string]int{}
	for _, c := range javaPartitions {
		java[c.key] = c.p3
	}
	seen := map[string]bool{}
	perPartition := map[int]int{}
	for _, m := range got {
		k := string(m.Key)
		if seen[k] {
			t.Errorf("key %q consumed twice", k)
		}
		seen[k] = true
		perPartition[m.Partition]++
		if string(m.Value) != "v-"+k {
			t.Errorf("key %q: value %q", k, m.Value)
		}
		if want, ok := java[k]; ok && m.Partition != want {
			t.Errorf("key %q on partition %d, the Java client puts it on %d", k, m.Partition, want)
		}
		if want := PartitionOf([]byte(k), 3); m.Partition != want {
			t.Errorf("key %q on partition %d, murmur2 says %d", k, m.Partition, want)
		}
	}
	if len(perPartition) != 3 {
		t.Errorf("messages on %d partitions, want all 3: %v", len(perPartition), perPartition)
	}
	// Nothing more than was produced.
	if extra := Consume(t, brokers, topic, len(msgs)+1, 2*time.Second); len(extra) != len(msgs) {
		t.Errorf("second read: %d messages, want %d", len(extra), len(msgs))
	}
}

// ProducePartition puts records where it is told, whatever their keys.
func TestIntegrationProducePartition(t *testing.T) {
	brokers := Brokers(t)
	topic := Name(t, "pinned")
	CreateTopics(t, brokers, TopicSpec{Name: topic, Partitions: 3})
	key := []byte("sku-1") // murmur2: partition 1 of 3
	wrong := (PartitionOf(key, 3) + 1) % 3
	ProducePartition(t, brokers, topic, wrong, kafka.Message{Key: key, Value: []byte("x")})
	got := Consume(t, brokers, topic, 1, 20*time.Second)
	if len(got) != 1 || got[0].Partition != wrong {
		t.Fatalf("got %+v, want one message on partition %d", got, wrong)
	}
}

// The broker does not create topics on its own, even for a client that asks.
func TestIntegrationNoAutoCreate(t *testing.T) {
	brokers := Brokers(t)
	topic := Name(t, "absent")
	w := &kafka.Writer{
		Addr:                   kafka.TCP(Addrs(brokers)...),
		Topic:                  topic,
		AllowAutoTopicCreation: true,
		RequiredAcks:           kafka.RequireAll,
		BatchTimeout:           5 * time.Millisecond,
		MaxAttempts:            2,
		WriteBackoffMax:        100 * time.Millisecond,
	}
	defer w.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	err := w.WriteMessages(ctx, kafka.Message{Key: []byte("k"), Value: []byte("v")})
	if err == nil {
		t.Fatal("producing to a missing topic succeeded: is auto.create.topics.enable on?")
	}
	t.Logf("produce to a missing topic: %v", err)
	// An auto-created topic shows up in the metadata within milliseconds.
	for end := time.Now().Add(1500 * time.Millisecond); time.Now().Before(end); time.Sleep(100 * time.Millisecond) {
		for _, tp := range Metadata(t, brokers, topic).Topics {
			if tp.Name == topic && !errors.Is(tp.Error, kafka.UnknownTopicOrPartition) {
				t.Fatalf("topic %s exists after a produce attempt (error %v): is auto.create.topics.enable on?", topic, tp.Error)
			}
		}
	}
}

// A kafka-go consumer group with a 6 s session (below Kafka's default
// group.min.session.timeout.ms) joins, reads every partition and commits; a
// later member of the group starts after the commits.
func TestIntegrationConsumerGroup(t *testing.T) {
	brokers := Brokers(t)
	topic := Name(t, "group")
	group := Name(t, "g")
	CreateTopics(t, brokers, TopicSpec{Name: topic, Partitions: 2})
	msgs := keyedMessages(10)
	Produce(t, brokers, topic, msgs...)

	read := func(want int, wait time.Duration) []kafka.Message {
		r := kafka.NewReader(kafka.ReaderConfig{
			Brokers:           Addrs(brokers),
			GroupID:           group,
			Topic:             topic,
			SessionTimeout:    6 * time.Second,
			HeartbeatInterval: time.Second,
			MaxWait:           100 * time.Millisecond,
		})
		defer r.Close()
		ctx, cancel := context.WithTimeout(context.Background(), wait)
		defer cancel()
		var got []kafka.Message
		for len(got) < want {
			m, err := r.FetchMessage(ctx)
			if err != nil {
				t.Fatalf("fetch %d of %d: %v", len(got)+1, want, err)
			}
			if err := r.CommitMessages(ctx, m); err != nil {
				t.Fatalf("commit: %v", err)
			}
			got = append(got, m)
		}
		return got
	}
	start := time.Now()
	read(len(msgs), 45*time.Second)
	t.Logf("first member joined, read and committed %d messages in %s", len(msgs), time.Since(start).Round(time.Millisecond))
	// A new member of the group starts from the committed offsets: the one
	// record produced now is the first it sees.
	Produce(t, brokers, topic, kafka.Message{Key: []byte("sentinel"), Value: []byte("new")})
	if got := read(1, 45*time.Second); string(got[0].Key) != "sentinel" {
		t.Fatalf("after the commits a new member read %q first, want the sentinel", got[0].Key)
	}
}

// Compacted and Configs reach the broker.
func TestIntegrationCompactedTopic(t *testing.T) {
	brokers := Brokers(t)
	topic := Name(t, "changelog")
	CreateTopics(t, brokers, TopicSpec{Name: topic, Partitions: 2, Compacted: true,
		Configs: map[string]string{"min.cleanable.dirty.ratio": "0.01", "segment.ms": "100"}})
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	c, done := newClient(brokers)
	defer done()
	res, err := c.DescribeConfigs(ctx, &kafka.DescribeConfigsRequest{
		Resources: []kafka.DescribeConfigRequestResource{{
			ResourceType: kafka.ResourceTypeTopic,
			ResourceName: topic,
			ConfigNames:  []string{"cleanup.policy", "min.cleanable.dirty.ratio", "segment.ms"},
		}},
	})
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]string{"cleanup.policy": "compact", "min.cleanable.dirty.ratio": "0.01", "segment.ms": "100"}
	got := map[string]string{}
	for _, r := range res.Resources {
		if r.Error != nil {
			t.Fatal(r.Error)
		}
		for _, e := range r.ConfigEntries {
			got[e.ConfigName] = e.ConfigValue
		}
	}
	for k, v := range want {
		if got[k] != v {
			t.Errorf("%s: %s = %q, want %q", topic, k, got[k], v)
		}
	}
}
