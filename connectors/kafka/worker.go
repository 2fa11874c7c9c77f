package kafka

import (
	"context"
	"errors"
	"fmt"
	"sync/atomic"
	"time"

	"github.com/rs/zerolog"
	"github.com/segmentio/kafka-go"

	"github.com/promoguard/promoguard/connectors/merge"
	"github.com/promoguard/promoguard/engine"
	"github.com/promoguard/promoguard/rules"
)

// worker runs one partition number: its engine, its inputs (that number of
// prices and stock, every partition of promotions) and its changelog. It
// owns its engine: nothing else touches it (explain goes through calls).
//
// Its parts, one file each: restore.go rebuilds the engine from the
// changelog; inputs.go fetches the inputs and merges them in event time
// (package merge); apply.go turns a record into a dead letter or an event
// for the engine, and outputs into records; batch.go ends a batch
// (produce, then checkpoint); checkpoint.go writes the changelog and
// commits; fence.go tells a worker its generation is over; outputs.go
// produces until acknowledged.
type worker struct {
	d     *Daemon
	part  int
	log   zerolog.Logger
	start map[string]int64 // group offsets of prices and stock at assignment

	eng   *engine.Engine
	drv   *engine.Driver
	srcs  []*source          // the inputs, in the order they were added to merge
	merge merge.Merger[item] // the inputs' fetched records in event time

	reloads  chan *rules.RuleSet
	calls    chan func(*engine.Engine)
	caughtUp atomic.Bool

	batch batch
	out   producer
	fence fence
	stats engine.Stats

	lastEvent      time.Time // wall time of the last event applied
	lastAdvance    time.Time
	lastCheckpoint time.Time
}

func newWorker(d *Daemon, gen *kafka.Generation, part int, pricesOff, stockOff int64) *worker {
	log := d.cfg.Log.With().Int("partition", part).Logger()
	return &worker{
		d: d, part: part, log: log,
		start:   map[string]int64{d.cfg.Topics.Prices: pricesOff, d.cfg.Topics.Stock: stockOff},
		merge:   merge.Merger[item]{Grace: d.cfg.Grace, MaxWait: d.cfg.MaxWait},
		reloads: make(chan *rules.RuleSet, 1),
		calls:   make(chan func(*engine.Engine)),
		out:     producer{log: log, obs: d.cfg.Observer, now: d.cfg.Now},
		fence:   fence{gen: gen, session: d.cfg.SessionTimeout, now: d.cfg.Now, log: log},
	}
}

func (w *worker) reload(rs *rules.RuleSet) {
	for {
		select {
		case w.reloads <- rs:
			return
		default:
			// replace a reload not yet taken: only the latest counts
			select {
			case <-w.reloads:
			default:
			}
		}
	}
}

func (w *worker) explain(ctx context.Context, sku, channel string) (any, bool) {
	type res struct {
		v  any
		ok bool
	}
	ch := make(chan res, 1)
	f := func(e *engine.Engine) {
		v, ok := e.Explain(sku, channel)
		ch <- res{v, ok}
	}
	select {
	case w.calls <- f:
	case <-ctx.Done():
		return nil, false
	}
	select {
	case r := <-ch:
		return r.v, r.ok
	case <-ctx.Done():
		return nil, false
	}
}

// run is the partition's life in one generation. ctx is the daemon's,
// gctx the generation's: either ending stops the worker after its last
// batch.
func (w *worker) run(ctx, gctx context.Context) {
	err := w.loop(ctx, gctx)
	for _, s := range w.srcs {
		s.r.Close()
	}
	switch {
	case err == nil || errors.Is(err, context.Canceled) || errors.Is(err, kafka.ErrGenerationEnded):
		w.log.Debug().Msg("partition released")
	case errors.Is(err, errFenced):
		// ending the function ends the generation: the member rejoins
		w.log.Warn().Err(err).Msg("partition released without a checkpoint")
	default:
		// the generation ends with this function: the group rebalances
		// and the partition restarts from its changelog
		w.log.Error().Err(err).Msg("partition failed; it restarts from its changelog")
		select {
		case <-time.After(2 * time.Second):
		case <-ctx.Done():
		}
	}
}

func (w *worker) loop(ctx, gctx context.Context) error {
	stop, cancel := context.WithCancel(gctx)
	defer cancel()
	go func() {
		select {
		case <-ctx.Done():
			cancel()
		case <-stop.Done():
		}
	}()

	t0 := w.d.cfg.Now()
	meta, restored, err := w.restore(stop)
	if err != nil {
		return fmt.Errorf("restore: %w", err)
	}
	w.stats = w.eng.Stats()
	w.log.Info().Int("entries", restored).Dur("took", w.d.cfg.Now().Sub(t0)).Time("watermark", w.eng.Watermark()).Msg("state restored")

	in := make(chan fetched, 256)
	if err := w.openSources(stop, meta, in); err != nil {
		return err
	}
	tick := time.NewTicker(min(w.d.cfg.BatchTimeout, w.d.cfg.Grace))
	defer tick.Stop()
	lagTick := time.NewTicker(5 * time.Second)
	defer lagTick.Stop()
	w.batch.start = w.d.cfg.Now()
	pendingReload := false
	for {
		select {
		case f := <-in:
			w.enqueue(f)
			// take what else is there without blocking, up to a batch
			for n := 0; n < w.d.cfg.BatchSize; n++ {
				select {
				case f := <-in:
					w.enqueue(f)
					continue
				default:
				}
				break
			}
		case rs := <-w.reloads:
			w.batch.outs = w.drv.Flush(w.batch.outs)
			w.batch.outs = w.eng.Reload(rs, w.batch.outs)
			pendingReload = true
			w.log.Info().Str("rules_version", rs.Version).Msg("rules reloaded")
		case f := <-w.calls:
			f(w.eng)
		case <-tick.C:
			w.idleAdvance()
		case <-lagTick.C:
			w.reportLag()
		case <-stop.Done():
			// the last batch: what can be applied in order is, and is
			// produced and committed with what was applied before. Events
			// queued behind an input that may still hold earlier ones stay
			// unapplied: the checkpoint's offsets leave them to the next
			// owner, which reads them again in order.
			w.release()
			sctx, scancel := context.WithTimeout(context.WithoutCancel(ctx), w.d.cfg.ShutdownTimeout)
			err := w.commit(sctx, true)
			scancel()
			if err != nil {
				w.log.Warn().Err(err).Msg("last batch not committed: it is read again after restart")
			}
			return nil
		}
		w.release()
		w.updateCaughtUp()
		if !w.batchDue(pendingReload, len(in) == 0) {
			continue
		}
		t0 := w.d.cfg.Now()
		if err := w.commit(stop, false); err != nil {
			if stop.Err() != nil {
				continue // handled at stop.Done
			}
			return err
		}
		if end := w.d.cfg.Now(); end.Sub(t0) >= w.d.cfg.Grace {
			// the fetchers could not hand over records meanwhile
			w.merge.Resumed(end)
		}
		pendingReload, w.batch.advanced = false, false
	}
}
