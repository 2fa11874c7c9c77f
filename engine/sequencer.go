package engine

import (
	"bytes"
	"cmp"
	"hash/fnv"
	"slices"
	"time"

	"github.com/promoguard/promoguard/event"
)

// Sequencer feeds an Engine in the canonical order of DESIGN §2: it buffers
// each run of events with equal timestamps and applies the run sorted by
// type (promo, then stock, then price), then key, then payload hash, so the
// order they arrived in never changes an output. replay, test and run all
// feed the engine through one.
type Sequencer struct {
	e     *Engine
	buf   []*event.Event
	ts    time.Time
	maxTS time.Time
}

// NewSequencer returns a sequencer feeding e.
func NewSequencer(e *Engine) *Sequencer { return &Sequencer{e: e} }

// Engine returns the engine the sequencer feeds.
func (s *Sequencer) Engine() *Engine { return s.e }

// Push adds an event. When its ts differs from the buffered run's, the run
// is applied first and its outputs appended to out.
func (s *Sequencer) Push(ev *event.Event, out []event.Output) []event.Output {
	if len(s.buf) > 0 && !ev.TS.Equal(s.ts) {
		out = s.Flush(out)
	}
	s.ts = ev.TS
	if ev.TS.After(s.maxTS) {
		s.maxTS = ev.TS
	}
	s.buf = append(s.buf, ev)
	return out
}

// Flush applies the buffered run.
func (s *Sequencer) Flush(out []event.Output) []event.Output {
	if len(s.buf) == 0 {
		return out
	}
	if len(s.buf) > 1 {
		slices.SortStableFunc(s.buf, canonicalEventCmp)
	}
	for i, ev := range s.buf {
		out = s.e.Apply(ev, out)
		s.buf[i] = nil
	}
	s.buf = s.buf[:0]
	return out
}

// Finish ends the input: it applies the buffered run and moves the
// watermark to the highest ts pushed, so that timers held back by the
// allowed lateness fire too — no later event can arrive to need them
// held.
func (s *Sequencer) Finish(out []event.Output) []event.Output {
	out = s.Flush(out)
	return s.e.Advance(s.maxTS, out)
}

// Advance flushes the buffered run and moves the engine's watermark to t,
// firing the timers due.
func (s *Sequencer) Advance(t time.Time, out []event.Output) []event.Output {
	return s.e.Advance(t, s.Flush(out))
}

// typeRank orders event types within one timestamp: promotions first, so a
// price at the instant a promotion arrives is evaluated with it, then stock,
// then prices.
var typeRank = [...]int{event.TypePromo: 0, event.TypeStock: 1, event.TypePrice: 2}

func canonicalEventCmp(a, b *event.Event) int {
	if c := cmp.Compare(typeRank[a.Type], typeRank[b.Type]); c != 0 {
		return c
	}
	if c := cmp.Compare(a.Key(), b.Key()); c != 0 {
		return c
	}
	if c := cmp.Compare(payloadHash(a.Raw), payloadHash(b.Raw)); c != 0 {
		return c
	}
	return bytes.Compare(a.Raw, b.Raw)
}

func payloadHash(b []byte) uint64 {
	h := fnv.New64a()
	h.Write(b)
	return h.Sum64()
}
