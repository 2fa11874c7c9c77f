package kafka

import (
	"context"
	"errors"
	"io"
	"time"

	"github.com/segmentio/kafka-go"

	"github.com/promoguard/promoguard/connectors/merge"
)

// source is one input partition of a worker: its reader, and the offset
// of its next record to apply, which the checkpoint keeps. Its fetched
// records wait in the worker's merge.
type source struct {
	topic     string
	partition int
	in        int // its input in the worker's merge
	r         *kafka.Reader
	next      int64 // offset of the next message to apply
}

// fetched is a record a source's fetcher hands the worker.
type fetched struct {
	src *source
	msg kafka.Message
}

// fetchMaxWait is the readers' long poll. A kafka-go Reader sets its read
// deadline to MaxWait and asks the broker to wait MaxWait less a quarter
// of it (less 1 s from 1 s up): the network gets what is left. At 100 ms
// (25 ms for a round trip) a reader behind 100 ms of latency never
// completed a fetch; at 2 s it has 1 s. A record still comes back as soon
// as it is there: the wait only paces the polls of an idle partition.
const fetchMaxWait = 2 * time.Second

// openSources opens the worker's inputs at the offsets of its checkpoint
// (meta), or else of the group, and starts their fetchers. They are added
// to the merge in the canonical order of equal timestamps: every partition
// of promotions, then stock, then prices.
func (w *worker) openSources(ctx context.Context, meta checkpointMeta, in chan<- fetched) error {
	t := w.d.cfg.Topics
	add := func(topic string, p int, def int64) error {
		off, ok := meta.Offsets[tpKey(topic, p)]
		if !ok {
			off = def
		}
		r := kafka.NewReader(kafka.ReaderConfig{
			Brokers: w.d.cfg.Brokers, Dialer: w.d.dialer, Topic: topic, Partition: p,
			MinBytes: 1, MaxBytes: 8 << 20, MaxWait: fetchMaxWait, QueueCapacity: 1000,
			ReadBackoffMin: 50 * time.Millisecond, ReadBackoffMax: time.Second,
			ErrorLogger: kafka.LoggerFunc(func(f string, a ...any) {
				w.log.Debug().Str("topic", topic).Msgf(f, a...)
			}),
		})
		if err := r.SetOffset(off); err != nil {
			r.Close()
			return err
		}
		s := &source{topic: topic, partition: p, r: r, next: off}
		first, last, err := w.offsets(ctx, topic, p)
		if err != nil {
			r.Close()
			return err
		}
		if s.next < first {
			if s.next >= 0 && ok {
				w.log.Warn().Str("topic", topic).Int64("from", s.next).Int64("first", first).Msg("input deleted by retention before it was read")
			}
			s.next = first
		}
		s.in = w.merge.Add(s.next >= last)
		w.srcs = append(w.srcs, s)
		go fetch(ctx, s, in)
		return nil
	}
	for p := range w.d.promoParts {
		if err := add(t.Promotions, p, kafka.FirstOffset); err != nil {
			return err
		}
	}
	if err := add(t.Stock, w.part, w.start[t.Stock]); err != nil {
		return err
	}
	return add(t.Prices, w.part, w.start[t.Prices])
}

// fetch hands s's records to the worker until ctx ends. FetchMessage does
// not commit: the checkpoint holds the offsets.
func fetch(ctx context.Context, s *source, in chan<- fetched) {
	for {
		m, err := s.r.FetchMessage(ctx)
		if err != nil {
			if ctx.Err() != nil || errors.Is(err, io.EOF) {
				return
			}
			time.Sleep(100 * time.Millisecond)
			continue
		}
		select {
		case in <- fetched{s, m}:
		case <-ctx.Done():
			return
		}
	}
}

// enqueue decodes a fetched record into the merge.
func (w *worker) enqueue(f fetched) {
	s, m := f.src, f.msg
	now := w.d.cfg.Now()
	it := w.decode(s, m)
	x := merge.Item[item]{Value: it, Bad: it.ev == nil, Fetched: now}
	if it.ev != nil {
		x.TS = it.ev.TS
	}
	w.merge.Push(s.in, x)
	w.merge.SetCaughtUp(s.in, m.HighWaterMark > 0 && m.Offset+1 >= m.HighWaterMark)
}

// release applies the queued records in event-time order across the
// sources as far as that order is known (package merge: the wait for a
// lagging input, the grace for one produced alongside).
//
// The same holds for the last batch of a generation: applying an event
// ahead of an input that has not delivered its earlier ones would hand the
// next owner of the partition a state that a replay never has.
func (w *worker) release() {
	now := w.d.cfg.Now()
	for {
		in, x, ok := w.merge.Next(now)
		if !ok {
			return
		}
		s := w.srcs[in]
		s.next = x.Value.msg.Offset + 1
		w.apply(s, x.Value, x.Fetched)
	}
}

// updateCaughtUp marks the partition caught up (ready) once every input's
// last fetch reached its end and nothing waits to be applied.
func (w *worker) updateCaughtUp() {
	if w.caughtUp.Load() || !w.merge.CaughtUp() || !w.merge.Empty() {
		return
	}
	w.caughtUp.Store(true)
	w.log.Info().Time("watermark", w.eng.Watermark()).Msg("caught up")
}

func (w *worker) reportLag() {
	for _, s := range w.srcs {
		w.d.cfg.Observer.Lag(s.topic, s.partition, s.r.Stats().Lag+int64(w.merge.Queued(s.in)))
	}
}
