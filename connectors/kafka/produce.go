package kafka

import (
	"time"

	"github.com/promoguard/promoguard/event"

	"github.com/segmentio/kafka-go"
	"github.com/segmentio/kafka-go/compress"
)

// The input topics an event belongs to, by its type: the names of the
// topic settings in the config (topics.prices, topics.stock,
// topics.promotions).
const (
	KindPrices     = "prices"
	KindStock      = "stock"
	KindPromotions = "promotions"
)

// WriterBatchSize is the most records the writer sends in one produce
// request to a partition.
const WriterBatchSize = 1000

// NewWriter returns a writer for topic, or, with topic "", for records
// that name their own topic. It writes as DESIGN §8 and the kafka-go
// pitfalls require: keys hashed with murmur2 (the Java client's
// partitioner, so records keyed by sku land on the same partition number
// in every co-partitioned topic), acks from all in-sync replicas, a batch
// timeout of a few milliseconds instead of kafka-go's 1 s, snappy
// compression, and no automatic topic creation. WriteMessages is
// synchronous: it returns once every record is acknowledged or failed.
func NewWriter(brokers []string, sec Security, topic string) (*kafka.Writer, error) {
	tr, err := sec.Transport()
	if err != nil {
		return nil, err
	}
	return &kafka.Writer{
		Addr:         kafka.TCP(brokers...),
		Topic:        topic,
		Balancer:     &kafka.Murmur2Balancer{},
		RequiredAcks: kafka.RequireAll,
		BatchTimeout: 5 * time.Millisecond,
		BatchSize:    WriterBatchSize,
		BatchBytes:   1 << 20, // the broker's default message.max.bytes
		Compression:  compress.Snappy,
		MaxAttempts:  10,
		Transport:    tr,
	}, nil
}

// KeyOf decodes one NDJSON event and returns the kind of topic it belongs
// to (KindPrices, KindStock or KindPromotions) and its key: the sku of a
// price or stock event, the id of a promotion. An invalid event is an
// error (an *event.InputError), the same one the daemon would dead-letter
// it for.
func KeyOf(eventJSON []byte) (topicKind string, key string, err error) {
	ev, err := event.Decode(eventJSON, event.DecodeOptions{})
	if err != nil {
		return "", "", err
	}
	switch ev.Type {
	case event.TypePrice:
		topicKind = KindPrices
	case event.TypeStock:
		topicKind = KindStock
	default:
		topicKind = KindPromotions
	}
	return topicKind, ev.Key(), nil
}
