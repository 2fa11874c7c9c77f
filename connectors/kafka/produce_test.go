package kafka

import (
	"errors"
	"fmt"
	"testing"
	"time"

	"github.com/promoguard/promoguard/event"

	"github.com/segmentio/kafka-go"
	"github.com/segmentio/kafka-go/compress"
	"github.com/twmb/franz-go/pkg/kgo"
)

func TestKeyOf(t *testing.T) {
	for _, tc := range []struct {
		event, kind, key string
	}{
		{`{"type":"price","sku":"tv-55","channel":"web","price":799,"ts":"2026-11-20T10:00:00Z"}`, KindPrices, "tv-55"},
		{`{"type":"stock","sku":"tv-55","warehouse":"fra","on_hand":3,"ts":"2026-11-20T10:00:00Z"}`, KindStock, "tv-55"},
		{`{"type":"promo","id":"bf-tv","partner":"acme","discount":{"kind":"percent","value":10},"skus":["tv-55"],"start":"2026-11-27T00:00:00Z","end":"2026-11-28T00:00:00Z","ts":"2026-11-20T10:00:00Z"}`, KindPromotions, "bf-tv"},
		{`{"type":"promo","id":"bf-tv","status":"cancelled","ts":"2026-11-21T10:00:00Z"}`, KindPromotions, "bf-tv"},
	} {
		kind, key, err := KeyOf([]byte(tc.event))
		if err != nil || kind != tc.kind || key != tc.key {
			t.Errorf("KeyOf(%s) = %q, %q, %v; want %q, %q", tc.event, kind, key, err, tc.kind, tc.key)
		}
	}
	for _, bad := range []string{`{"type":"price"`, `{"type":"refund","sku":"x"}`, `{"type":"price","sku":"x","channel":"web","price":-1,"ts":"2026-11-20T10:00:00Z"}`} {
		_, _, err := KeyOf([]byte(bad))
		var ie *event.InputError
		if !errors.As(err, &ie) {
			t.Errorf("KeyOf(%s) error %v, want an *event.InputError", bad, err)
		}
	}
}

// TestWriterCoPartitions writes the same skus to two topics with one
// writer and checks that each sku lands on the same partition number in
// both, the one the Java client's murmur2 partitioner picks (computed
// independently with franz-go's).
func TestWriterCoPartitions(t *testing.T) {
	brokers := startEmbedded(t)
	ctx := testCtx(t)
	const parts = 6
	if err := EnsureTopics(ctx, brokers, Security{}, []TopicSpec{{Name: "p", Partitions: parts}, {Name: "s", Partitions: parts}}, true); err != nil {
		t.Fatal(err)
	}
	w, err := NewWriter(brokers, Security{}, "")
	if err != nil {
		t.Fatal(err)
	}
	if w.RequiredAcks != kafka.RequireAll || w.BatchTimeout > 10*time.Millisecond || w.Compression != compress.Snappy || w.AllowAutoTopicCreation {
		t.Fatalf("writer settings %+v", w)
	}
	if _, ok := w.Balancer.(*kafka.Murmur2Balancer); !ok {
		t.Fatalf("balancer %T", w.Balancer)
	}
	var msgs []kafka.Message
	for i := range 40 {
		key := fmt.Appendf(nil, "sku-%d", i)
		msgs = append(msgs, kafka.Message{Topic: "p", Key: key, Value: []byte("price")}, kafka.Message{Topic: "s", Key: key, Value: []byte("stock")})
	}
	if err := w.WriteMessages(ctx, msgs...); err != nil {
		t.Fatal(err)
	}
	w.Close()

	java := kgo.StickyKeyPartitioner(nil).ForTopic("p")
	for _, topic := range []string{"p", "s"} {
		seen := 0
		for p := range parts {
			r := kafka.NewReader(kafka.ReaderConfig{Brokers: brokers, Topic: topic, Partition: p, MaxWait: 50 * time.Millisecond})
			conn, err := kafka.DialLeader(ctx, "tcp", brokers[0], topic, p)
			if err != nil {
				t.Fatal(err)
			}
			end, err := conn.ReadLastOffset()
			conn.Close()
			if err != nil {
				t.Fatal(err)
			}
			for range end {
				m, err := r.ReadMessage(ctx)
				if err != nil {
					t.Fatal(err)
				}
				seen++
				if want := java.Partition(&kgo.Record{Key: m.Key}, parts); want != p {
					t.Errorf("%s: key %s on partition %d, murmur2 says %d", topic, m.Key, p, want)
				}
			}
			r.Close()
		}
		if seen != 40 {
			t.Errorf("%s: read %d records, want 40", topic, seen)
		}
	}
}
