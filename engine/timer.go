package engine

import (
	"cmp"
	"container/heap"
	"time"
)

// timer is a moment at which a sku or a promotion must be evaluated again:
// a calendar boundary, a boundary entering the horizon, a `for` or `repeat`
// coming due, a price change leaving the history window, a promotion's end.
// Each owner keeps the time of its one scheduled timer; heap entries that
// no longer match it are stale and skipped.
type timer struct {
	at    time.Time
	sku   *skuState
	promo *promoState
}

// keyCmp orders timers by owner: promotions before skus, then by id (the
// order of the keys "p\x00"+id and "s\x00"+id, without building them).
func keyCmp(a, b timer) int {
	switch {
	case a.promo != nil && b.promo == nil:
		return -1
	case a.promo == nil && b.promo != nil:
		return 1
	case a.promo != nil:
		return cmp.Compare(a.promo.ev.ID, b.promo.ev.ID)
	}
	return cmp.Compare(a.sku.id, b.sku.id)
}

func (e *Engine) timerLive(t timer) bool {
	if t.promo != nil {
		return e.promos[t.promo.ev.ID] == t.promo && t.at.Equal(t.promo.timerAt)
	}
	return e.skus[t.sku.id] == t.sku && t.at.Equal(t.sku.timerAt)
}

type timerHeap []timer

func (h timerHeap) Len() int { return len(h) }
func (h timerHeap) Less(i, j int) bool {
	if c := h[i].at.Compare(h[j].at); c != 0 {
		return c < 0
	}
	return keyCmp(h[i], h[j]) < 0
}
func (h timerHeap) Swap(i, j int) { h[i], h[j] = h[j], h[i] }
func (h *timerHeap) Push(x any)   { *h = append(*h, x.(timer)) }
func (h *timerHeap) Pop() any {
	old := *h
	t := old[len(old)-1]
	*h = old[:len(old)-1]
	return t
}

// earliest returns the earlier of a and b, a zero time meaning none.
func earliest(a, b time.Time) time.Time {
	if a.IsZero() || (!b.IsZero() && b.Before(a)) {
		return b
	}
	return a
}

func (e *Engine) scheduleSKU(s *skuState, nb, ne time.Time) {
	w := e.wm
	s.nextBoundary, s.nextEntry = nb, ne
	next := earliest(nb, ne)
	for _, st := range s.alerts {
		next = earliest(next, st.due())
	}
	s.nextHistory = time.Time{}
	if e.readsHistory {
		for _, name := range s.names {
			s.nextHistory = earliest(s.nextHistory, s.channels[name].historyExpiry(w))
		}
		next = earliest(next, s.nextHistory)
	}
	if !next.After(w) {
		next = time.Time{}
	}
	if !next.Equal(s.timerAt) {
		s.timerAt = next
		if !next.IsZero() {
			heap.Push(&e.timers, timer{at: next, sku: s})
		}
	}
}

func (e *Engine) schedulePromo(p *promoState) {
	next := p.ev.End
	for _, st := range p.alerts {
		next = earliest(next, st.due())
	}
	if !next.After(e.wm) {
		next = time.Time{}
	}
	if !next.Equal(p.timerAt) {
		p.timerAt = next
		if !next.IsZero() {
			heap.Push(&e.timers, timer{at: next, promo: p})
		}
	}
}

func maxTime(a, b time.Time) time.Time {
	if a.After(b) {
		return a
	}
	return b
}

// historyExpiry is when the history facts next change without an event: a
// change leaving the hour or the day.
func (ch *channelState) historyExpiry(wm time.Time) time.Time {
	var next time.Time
	for _, p := range ch.hist {
		if !p.change {
			continue
		}
		for _, d := range [...]time.Duration{time.Hour, 24 * time.Hour} {
			if t := p.t.Add(d); t.After(wm) {
				next = earliest(next, t)
			}
		}
	}
	return next
}

// due is when the alert must be looked at again without an event: its
// `for` elapsing, or its `repeat`.
func (st *alertState) due() time.Time {
	switch {
	case !st.firing && st.rule.For > 0:
		return st.activeSince.Add(st.rule.For)
	case st.firing && st.rule.Repeat > 0:
		return st.lastSent.Add(st.rule.Repeat)
	}
	return time.Time{}
}
