package kafka

import (
	"context"
	"encoding/json"
	"fmt"
	"time"

	"github.com/segmentio/kafka-go"

	"github.com/promoguard/promoguard/engine"
	"github.com/promoguard/promoguard/event"
	"github.com/promoguard/promoguard/rules"
)

// restore rebuilds the partition's engine from its changelog partition,
// and returns the input offsets of its last checkpoint and the number of
// entries restored.
func (w *worker) restore(ctx context.Context) (checkpointMeta, int, error) {
	var meta checkpointMeta
	topic := w.d.cfg.Topics.Changelog
	first, last, err := w.offsets(ctx, topic, w.part)
	if err != nil {
		return meta, 0, err
	}
	cr := &checkpointed{r: engine.NewRestorer()}
	if last > first {
		rd := kafka.NewReader(kafka.ReaderConfig{
			Brokers: w.d.cfg.Brokers, Dialer: w.d.dialer, Topic: topic, Partition: w.part,
			MinBytes: 1, MaxBytes: 16 << 20, MaxWait: fetchMaxWait,
		})
		defer rd.Close()
		if err := rd.SetOffset(first); err != nil {
			return meta, 0, err
		}
		for {
			m, err := rd.FetchMessage(ctx)
			if err != nil {
				return meta, cr.n, err
			}
			if err := cr.add(string(m.Key), m.Value); err != nil {
				return meta, cr.n, fmt.Errorf("%s/%d@%d: %w", topic, w.part, m.Offset, err)
			}
			if m.Offset+1 >= last {
				break
			}
		}
	}
	n := cr.n
	if len(cr.pending) > 0 {
		w.log.Warn().Int("entries", len(cr.pending)).Msg("changelog ends with entries of an unfinished checkpoint: left out, and every key is written again")
	}
	opts := w.d.cfg.Engine
	part := w.part
	opts.PromoRules = func(id string) bool { return w.d.partitionOf([]byte(id)) == part }
	eng, raw, outs, err := cr.engine(w.d.Rules(), opts)
	if err != nil {
		return meta, n, err
	}
	if len(raw) > 0 {
		if err := json.Unmarshal(raw, &meta); err != nil {
			return meta, n, fmt.Errorf("checkpoint meta: %w", err)
		}
		w.fence.durable = w.groupOffsets(meta)
	}
	obs := w.d.cfg.Observer
	w.eng, w.batch.outs = eng, outs
	w.drv = engine.NewDriver(eng, engine.DriverOptions{
		Decode: w.d.cfg.Decode, Clock: engine.ClockFunc(w.d.cfg.Now), Check: w.checkTopic,
		OnDeadLetter: func(d *event.DeadLetter) { obs.DeadLetter(string(d.Reason)) },
	})
	return meta, n, nil
}

// checkpointed feeds a Restorer the entries of a changelog partition in
// log order, each only once the checkpoint entry after it is read. A
// checkpoint is its entries followed by the checkpoint entry, written in
// one or more produce requests; a failure between them leaves entries newer
// than the last checkpoint, whose input offsets do not cover them:
// re-reading that input would apply its events a second time to them.
type checkpointed struct {
	r       *engine.Restorer
	pending []pendingEntry // entries since the last checkpoint entry
	n       int            // entries added
}

type pendingEntry struct {
	key   string
	value []byte
}

func (c *checkpointed) add(key string, value []byte) error {
	c.pending = append(c.pending, pendingEntry{key, value})
	if key != engine.CheckpointKey {
		return nil
	}
	for _, p := range c.pending {
		if err := c.r.Add(p.key, p.value); err != nil {
			return err
		}
		c.n++
	}
	c.pending = c.pending[:0]
	return nil
}

// engine builds the engine of the last whole checkpoint. When entries of an
// unfinished one were left out, the changelog's latest value of their keys
// is the unfinished one: the next checkpoint must replace it before
// compaction keeps it alone, so every key counts as changed.
func (c *checkpointed) engine(rs *rules.RuleSet, opts engine.Options) (*engine.Engine, json.RawMessage, []event.Output, error) {
	eng, raw, outs, err := c.r.Engine(rs, opts, nil)
	if err == nil && len(c.pending) > 0 {
		eng.TrackChanges()
	}
	return eng, raw, outs, err
}

// offsets returns the first and the next offset of a partition. A new
// topic's leaders take a moment to settle: it retries for a while.
func (w *worker) offsets(ctx context.Context, topic string, p int) (int64, int64, error) {
	var lastErr error
	backoff := 100 * time.Millisecond
	for try := 0; try < 10; try++ {
		for _, b := range w.d.cfg.Brokers {
			conn, err := w.d.dialer.DialLeader(ctx, "tcp", b, topic, p)
			if err != nil {
				lastErr = err
				continue
			}
			first, last, err := conn.ReadOffsets()
			conn.Close()
			if err == nil {
				return first, last, nil
			}
			lastErr = err
		}
		select {
		case <-ctx.Done():
			return 0, 0, ctx.Err()
		case <-time.After(backoff):
		}
		backoff = min(2*backoff, 2*time.Second)
	}
	return 0, 0, fmt.Errorf("offsets of %s/%d: %w", topic, p, lastErr)
}
