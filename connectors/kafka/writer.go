package kafka

import (
	"time"

	"github.com/segmentio/kafka-go"
	"github.com/segmentio/kafka-go/compress"
)

// WriterBatchSize is the most records a writer sends in one produce
// request to a partition.
const WriterBatchSize = 1000

// writerOptions are what differs between promoguard's writers; every other
// setting is decided once, in newWriter.
type writerOptions struct {
	// Topic is every record's topic, or "" when each record names its own.
	Topic string
	// Attempts is how many times kafka-go sends a produce request before
	// WriteMessages returns the error. The daemon retries without end on
	// its own and turns not ready meanwhile (producer.write): it wants
	// few (daemonAttempts), so that a broker refusing its records shows
	// within a second or two. The produce command and the tools have no
	// loop of their own: they want kafka-go to ride out a leader election
	// (toolAttempts).
	Attempts int
	// ToNamedPartition writes each record to the partition it names
	// instead of the one its key hashes to: the changelog, whose
	// partition p holds the state of partition p of the inputs, keyed by
	// state entry, not by sku.
	ToNamedPartition bool
}

const (
	daemonAttempts = 3
	toolAttempts   = 10
)

// newWriter returns a writer as DESIGN §8 and the kafka-go pitfalls
// require: keys hashed with murmur2 (the Java client's partitioner, so
// records keyed by sku land on the same partition number in every
// co-partitioned topic), acks from all in-sync replicas (a Writer literal
// defaults to none), a batch timeout of a few milliseconds instead of
// kafka-go's 1 s (a synchronous write waits that long for a batch that is
// not full), snappy compression, and no automatic topic creation.
// WriteMessages is synchronous: it returns once every record is
// acknowledged or failed.
func newWriter(brokers []string, tr *kafka.Transport, o writerOptions) *kafka.Writer {
	var bal kafka.Balancer = &kafka.Murmur2Balancer{}
	if o.ToNamedPartition {
		bal = namedPartition{}
	}
	return &kafka.Writer{
		Addr:         kafka.TCP(brokers...),
		Topic:        o.Topic,
		Balancer:     bal,
		RequiredAcks: kafka.RequireAll,
		BatchTimeout: 2 * time.Millisecond,
		// kafka-go allocates BatchSize messages for every batch: keep it
		// near what a batch of events produces
		BatchSize:       WriterBatchSize,
		BatchBytes:      1 << 20, // the broker's default message.max.bytes
		Compression:     compress.Snappy,
		MaxAttempts:     o.Attempts,
		WriteBackoffMin: 50 * time.Millisecond,
		WriteBackoffMax: time.Second,
		Transport:       tr,
	}
}

// namedPartition writes each message to the partition it names.
type namedPartition struct{}

func (namedPartition) Balance(msg kafka.Message, partitions ...int) int { return msg.Partition }
