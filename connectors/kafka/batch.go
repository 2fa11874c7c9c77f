package kafka

import (
	"context"
	"fmt"
	"time"

	"github.com/segmentio/kafka-go"

	"github.com/promoguard/promoguard/event"
)

// batch is what a worker applied since its last commit.
type batch struct {
	outs       []event.Output
	dead       []kafka.Message // dead-letter records
	applied    int             // events pushed to the sequencer
	start      time.Time
	oldestWall time.Time // when the oldest event of the batch was fetched
	advanced   bool      // the watermark moved without an event: commit
}

// begin notes the first record of a batch, fetched at wall.
func (b *batch) begin(now, wall time.Time) {
	if b.applied == 0 && len(b.dead) == 0 {
		b.start = now
		b.oldestWall = wall
	}
}

// batchDue reports whether the batch ends now: it is full, rules were
// reloaded or the watermark moved without an event, or it holds something
// and either every input is drained (latency) or BatchTimeout has passed
// (throughput while inputs lag).
func (w *worker) batchDue(pendingReload, nothingFetched bool) bool {
	b := &w.batch
	if b.applied >= w.d.cfg.BatchSize || pendingReload || b.advanced {
		return true
	}
	if b.applied == 0 && len(b.dead) == 0 && len(b.outs) == 0 {
		return false
	}
	return (nothingFetched && w.merge.CaughtUp()) || w.d.cfg.Now().Sub(b.start) >= w.d.cfg.BatchTimeout
}

// idleAdvance moves an idle, caught-up partition's watermark to the wall
// clock (Config.IdleAdvance), at most once a second.
func (w *worker) idleAdvance() {
	idle := w.d.cfg.IdleAdvance
	now := w.d.cfg.Now()
	if idle <= 0 || !w.caughtUp.Load() || now.Sub(w.lastEvent) < idle || now.Sub(w.lastAdvance) < time.Second || !w.merge.Empty() {
		return
	}
	w.lastAdvance = now
	target := now.Add(-w.d.cfg.Engine.AllowedLateness).UTC().Truncate(time.Second)
	if !target.After(w.eng.Watermark()) {
		return
	}
	b := &w.batch
	b.outs = w.drv.Flush(b.outs)
	b.outs = w.drv.Advance(target, b.outs)
	b.advanced = len(b.outs) > 0 || w.eng.Pending() > 0
	if b.advanced && b.applied == 0 {
		b.start = now
	}
}

// commit ends a batch: outputs produced and acknowledged, then the
// changelog, then the input offsets (DESIGN §8). A failure leaves the
// batch's outputs pending: they are produced again with the next try.
func (w *worker) commit(ctx context.Context, final bool) error {
	cfg := &w.d.cfg
	b := &w.batch
	b.outs = w.drv.Flush(b.outs)
	msgs, err := w.encode(b.outs)
	if err != nil {
		return err
	}
	msgs = append(msgs, b.dead...)
	if len(msgs) > 0 {
		if err := w.fence.afterSilence(); err != nil {
			return err
		}
	}
	if err := w.out.write(ctx, w.d.out, msgs); err != nil {
		return fmt.Errorf("produce outputs: %w", err)
	}
	for _, m := range msgs {
		cfg.Observer.Produced(m.Topic, 1)
	}
	if len(b.outs) > 0 && !b.oldestWall.IsZero() {
		cfg.Observer.EventToOutput(cfg.Now().Sub(b.oldestWall))
	}
	if tap := cfg.Tap; tap != nil {
		for _, o := range b.outs {
			tap(o)
		}
	}
	b.outs, b.dead = b.outs[:0], b.dead[:0]

	// the state is checkpointed at most every CheckpointInterval (and at
	// the end): a crash re-reads at most that much input, whose outputs
	// come again with the same ids
	if now := cfg.Now(); final || now.Sub(w.lastCheckpoint) >= cfg.CheckpointInterval {
		written, err := w.checkpoint(ctx)
		if err != nil {
			return err
		}
		if written {
			w.lastCheckpoint = now
		}
	}
	st := w.eng.Stats()
	cfg.Observer.EngineStats(w.stats, st)
	w.stats = st
	cfg.Observer.Batch(cfg.Now().Sub(b.start))
	b.applied = 0
	b.oldestWall = time.Time{}
	return nil
}
