package kafka

import (
	"context"
	"encoding/json"
	"fmt"
	"strconv"

	"github.com/segmentio/kafka-go"
)

// checkpointMeta is the worker's part of a changelog checkpoint: the next
// offset of every input, by "topic/partition".
type checkpointMeta struct {
	Offsets map[string]int64 `json:"offsets"`
}

func tpKey(topic string, p int) string { return topic + "/" + strconv.Itoa(p) }

// checkpoint writes the changed state and the input offsets to the
// changelog, then commits the offsets to the group (DESIGN §8: outputs
// acknowledged, then the changelog, then the offsets). The fence comes
// first: see fence. written is false when the fence deferred the
// checkpoint.
func (w *worker) checkpoint(ctx context.Context) (written bool, err error) {
	if ok, err := w.fence.beforeCheckpoint(); !ok {
		return false, err
	}
	meta := checkpointMeta{Offsets: map[string]int64{}}
	for _, s := range w.srcs {
		meta.Offsets[tpKey(s.topic, s.partition)] = s.next
	}
	raw, _ := json.Marshal(meta)
	var cl []kafka.Message
	topic := w.d.cfg.Topics.Changelog
	if err := w.eng.Changes(raw, func(k string, v []byte) error {
		cl = append(cl, kafka.Message{Topic: topic, Partition: w.part, Key: []byte(k), Value: v})
		return nil
	}); err != nil {
		return false, err
	}
	if err := w.out.write(ctx, w.d.changelog, cl); err != nil {
		// Changes forgot what it handed over; some of it may not be in
		// the changelog. The next checkpoint (the last batch's, when the
		// generation is ending) must not pair newer offsets with older
		// state: it writes every key again.
		w.eng.TrackChanges()
		return false, fmt.Errorf("write changelog: %w", err)
	}
	w.d.cfg.Observer.Changelog(len(cl))
	if w.fence.checkpointed(w.groupOffsets(meta)) {
		w.d.cfg.Observer.Commit()
	}
	return true, nil
}

// groupOffsets are the offsets of the partition's prices and stock in
// meta, in the form the group commits.
func (w *worker) groupOffsets(meta checkpointMeta) map[string]map[int]int64 {
	t := w.d.cfg.Topics
	out := map[string]map[int]int64{}
	for _, topic := range []string{t.Prices, t.Stock} {
		if o, ok := meta.Offsets[tpKey(topic, w.part)]; ok && o >= 0 {
			out[topic] = map[int]int64{w.part: o}
		}
	}
	if len(out) == 0 {
		return nil
	}
	return out
}
