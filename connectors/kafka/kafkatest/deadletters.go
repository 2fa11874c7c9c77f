package kafkatest

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"sort"
	"testing"
	"time"

	"github.com/promoguard/promoguard/event"
	"github.com/segmentio/kafka-go"
)

// ReadAll returns every record topic holds now, sorted by partition and
// offset: it asks the broker for each partition's end offset first, then
// reads up to it, and fails the test when it cannot read them all. The
// topic's records must start at offset 0 (a test's own topic, never
// truncated or compacted).
func ReadAll(t testing.TB, brokers, topic string) []kafka.Message {
	t.Helper()
	n := Partitions(t, brokers, topic)
	req := &kafka.ListOffsetsRequest{Topics: map[string][]kafka.OffsetRequest{}}
	for p := range n {
		req.Topics[topic] = append(req.Topics[topic], kafka.LastOffsetOf(p))
	}
	c, done := newClient(brokers)
	defer done()
	ctx, cancel := context.WithTimeout(context.Background(), requestTimeout)
	defer cancel()
	res, err := c.ListOffsets(ctx, req)
	if err != nil {
		t.Fatalf("kafkatest: offsets of %s: %v", topic, err)
	}
	total := int64(0)
	for _, po := range res.Topics[topic] {
		if po.Error != nil {
			t.Fatalf("kafkatest: offsets of %s/%d: %v", topic, po.Partition, po.Error)
		}
		total += po.LastOffset
	}
	if total == 0 {
		return nil
	}
	got := Consume(t, brokers, topic, int(total), time.Minute)
	if int64(len(got)) < total {
		t.Fatalf("kafkatest: read %d of the %d records of %s", len(got), total, topic)
	}
	return got
}

// DiffDeadLetterSources checks dead letters against the input topics they
// came from, read back from the broker: each must name, in its
// source_topic, source_partition and source_offset headers and in its
// body's source alike, a record of one of inputs that bad says is bad, with
// the dead letter's key, whose bytes the dead letter carries (its payload,
// or its sha256 when the payload was cut or is not UTF-8); and every bad
// record of inputs must have exactly one dead letter. It returns what is
// wrong, one line each, sorted.
func DiffDeadLetterSources(t testing.TB, brokers string, dead []kafka.Message, bad func(topic string, m kafka.Message) bool, inputs ...string) []string {
	t.Helper()
	records := map[string]kafka.Message{}
	count := map[string]int{} // dead letters per bad record
	for _, topic := range inputs {
		for _, m := range ReadAll(t, brokers, topic) {
			pos := fmt.Sprintf("%s/%d@%d", topic, m.Partition, m.Offset)
			records[pos] = m
			if bad(topic, m) {
				count[pos] = 0
			}
		}
	}
	var out []string
	for _, m := range dead {
		h := map[string]string{}
		for _, x := range m.Headers {
			h[x.Key] = string(x.Value)
		}
		pos := fmt.Sprintf("%s/%s@%s", h["source_topic"], h["source_partition"], h["source_offset"])
		var o event.Output
		if err := json.Unmarshal(m.Value, &o); err != nil || o.DeadLetter == nil {
			out = append(out, fmt.Sprintf("dead letter %d (headers %s): not a dead letter: %.200s", m.Offset, pos, m.Value))
			continue
		}
		dl := o.DeadLetter
		if dl.Source != pos {
			out = append(out, fmt.Sprintf("dead letter %d: source %q, its headers say %s", m.Offset, dl.Source, pos))
		}
		rec, ok := records[pos]
		switch {
		case !ok:
			out = append(out, fmt.Sprintf("dead letter %d (%s): no such record on the input topics", m.Offset, pos))
			continue
		case !bad(h["source_topic"], rec):
			out = append(out, fmt.Sprintf("dead letter %d (%s): that record is a valid one: %.200s", m.Offset, pos, rec.Value))
			continue
		}
		count[pos]++
		if string(m.Key) != string(rec.Key) {
			out = append(out, fmt.Sprintf("dead letter %d (%s): key %q, the record's is %q", m.Offset, pos, m.Key, rec.Key))
		}
		if dl.Truncated || dl.SHA256 != "" {
			sum := sha256.Sum256(rec.Value)
			if dl.SHA256 != hex.EncodeToString(sum[:]) {
				out = append(out, fmt.Sprintf("dead letter %d (%s): sha256 %s is not the record's", m.Offset, pos, dl.SHA256))
			}
		} else if dl.Payload != string(rec.Value) {
			out = append(out, fmt.Sprintf("dead letter %d (%s): payload %.200q, the record is %.200q", m.Offset, pos, dl.Payload, rec.Value))
		}
	}
	for pos, n := range count {
		if n != 1 {
			out = append(out, fmt.Sprintf("bad record %s: %d dead letters, want 1: %.200s", pos, n, records[pos].Value))
		}
	}
	sort.Strings(out)
	return out
}
