package kafka

import (
	"testing"

	"github.com/segmentio/kafka-go"
	"github.com/segmentio/kafka-go/compress"
)

// Every writer promoguard makes has the settings decided once in
// newWriter; only the attempts and the changelog's partitioning differ.
func TestNewWriterSettings(t *testing.T) {
	tr := &kafka.Transport{}
	cli, err := NewWriter([]string{"127.0.0.1:9092"}, Security{}, "t")
	if err != nil {
		t.Fatal(err)
	}
	out := newWriter([]string{"127.0.0.1:9092"}, tr, writerOptions{Attempts: daemonAttempts})
	cl := newWriter([]string{"127.0.0.1:9092"}, tr, writerOptions{Attempts: daemonAttempts, ToNamedPartition: true})
	for _, w := range []*kafka.Writer{cli, out, cl} {
		if w.RequiredAcks != kafka.RequireAll || w.Compression != compress.Snappy || w.AllowAutoTopicCreation ||
			w.BatchTimeout != out.BatchTimeout || w.BatchSize != WriterBatchSize || w.Async {
			t.Errorf("writer settings %+v", w)
		}
	}
	if cli.Topic != "t" || cli.MaxAttempts != toolAttempts || out.MaxAttempts != daemonAttempts {
		t.Errorf("topic %q, attempts %d and %d", cli.Topic, cli.MaxAttempts, out.MaxAttempts)
	}
	if _, ok := out.Balancer.(*kafka.Murmur2Balancer); !ok {
		t.Errorf("outputs balancer %T, want murmur2", out.Balancer)
	}
	// the changelog's partition p holds the state of partition p, whatever
	// its keys hash to
	if p := cl.Balancer.Balance(kafka.Message{Key: []byte("sku-1"), Partition: 4}, 0, 1, 2, 3, 4, 5); p != 4 {
		t.Errorf("changelog record for partition 4 written to %d", p)
	}
}
