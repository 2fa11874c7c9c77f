package kafka

import (
	"github.com/segmentio/kafka-go"

	"github.com/promoguard/promoguard/event"
)

// The input topics an event belongs to, by its type: the names of the
// topic settings in the config (topics.prices, topics.stock,
// topics.promotions).
const (
	KindPrices     = "prices"
	KindStock      = "stock"
	KindPromotions = "promotions"
)

// NewWriter returns a writer for topic, or, with topic "", for records
// that name their own topic, with the settings of every promoguard writer
// (newWriter): murmur2 keys, acks from all in-sync replicas, a batch
// timeout of a few milliseconds, snappy, no automatic topic creation.
// Unlike the daemon's, it lets kafka-go retry a failed request several
// times, for callers without a retry loop of their own. WriteMessages is
// synchronous: it returns once every record is acknowledged or failed.
func NewWriter(brokers []string, sec Security, topic string) (*kafka.Writer, error) {
	tr, err := sec.Transport()
	if err != nil {
		return nil, err
	}
	return newWriter(brokers, tr, writerOptions{Topic: topic, Attempts: toolAttempts}), nil
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
