package engine

import (
	"cmp"
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

func (t timer) key() string {
	if t.promo != nil {
		return "p\x00" + t.promo.ev.ID
	}
	return "s\x00" + t.sku.id
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
	return cmp.Less(h[i].key(), h[j].key())
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
