package engine

import (
	"slices"
	"strings"
	"time"
	"unique"

	"github.com/promoguard/promoguard/rules"
)

// skuState is everything the engine knows of one sku.
type skuState struct {
	id              string
	category, brand string // the latest given on any channel; they select promotions
	channels        map[string]*channelState
	names           []string // channel names, sorted
	stock           map[string]*warehouse
	warehouses      []string // sorted, so sums never depend on map order
	// lastCrossed is the latest calendar boundary the watermark passed: it
	// keys the present segment.
	lastCrossed time.Time
	alerts      map[akey]*alertState
	corrections map[akey]*corrState
	// the one scheduled timer, and the boundary or horizon entry it is for
	timerAt, nextBoundary, nextEntry, nextHistory time.Time
	// segKeys are the segment keys of the last evaluation, to tell a
	// segment that just appeared
	segKeys []int64
	// for the memo: the watermark of the last evaluation, and whether the
	// stock changed since
	memoW        int64
	memoSet      bool
	stockChanged bool
}

// priceRec is one price of a channel, as an event gave it.
type priceRec struct {
	ts        time.Time
	validFrom time.Time // zero: effective when applied
	price     float64
	list      float64 // NaN when absent
	cost      float64
	mapPrice  float64
	currency  string
	region    string
	category  string
	brand     string
	seller    string
}

// channelState is one channel of a sku.
type channelState struct {
	name     string
	ts       time.Time   // ts of the last event applied, for lateness
	cur      *priceRec   // in effect at the watermark; nil if none yet
	sched    []*priceRec // scheduled, by validFrom ascending, all after the watermark
	delisted bool
	hist     []histPoint
	// the memo of each context of the channel (memo.go), and the history
	// facts at the last evaluation
	memos                  []ctxMemo
	memoHist               rules.History
	memoHistSet, histDirty bool
}

// histPoint is a price taking effect at t; change says it replaced
// another price.
type histPoint struct {
	t      time.Time
	price  float64
	change bool
}

type warehouse struct {
	ts                             time.Time
	onHand, reserved, inbound, vel float64
}

func (e *Engine) sku(id string) *skuState {
	s := e.skus[id]
	if s == nil {
		// the decoded event's strings share one buffer: keep the id alone
		id = strings.Clone(id)
		s = &skuState{
			id:          id,
			channels:    map[string]*channelState{},
			stock:       map[string]*warehouse{},
			alerts:      map[akey]*alertState{},
			corrections: map[akey]*corrState{},
		}
		e.skus[id] = s
	}
	return s
}

// intern returns the canonical copy of a string that many price records
// repeat (channel, currency, region, category, brand, seller), so that a
// record does not keep its event's buffer of strings alive. Canonical
// copies nothing uses any more are collected.
func intern(s string) string {
	if s == "" {
		return ""
	}
	return unique.Make(s).Value()
}

func (s *skuState) channel(name string) *channelState {
	ch := s.channels[name]
	if ch == nil {
		ch = &channelState{name: name}
		s.channels[name] = ch
		i, _ := slices.BinarySearch(s.names, name)
		s.names = slices.Insert(s.names, i, name)
	}
	return ch
}

// setCurrent makes rec the channel's price from instant at, recording the
// change in the history.
func (ch *channelState) setCurrent(rec *priceRec, at time.Time) {
	if ch.cur == nil || ch.cur.price != rec.price {
		ch.hist = append(ch.hist, histPoint{t: at, price: rec.price, change: ch.cur != nil})
	}
	ch.cur = rec
}

// schedule adds a price taking effect later, replacing one at the same
// instant.
func (ch *channelState) schedule(rec *priceRec) {
	i, found := slices.BinarySearchFunc(ch.sched, rec.validFrom, func(r *priceRec, t time.Time) int { return r.validFrom.Compare(t) })
	if found {
		ch.sched[i] = rec
		return
	}
	ch.sched = slices.Insert(ch.sched, i, rec)
}

// settle moves the scheduled prices whose time has come into effect.
func (ch *channelState) settle(wm time.Time) {
	for len(ch.sched) > 0 && !ch.sched[0].validFrom.After(wm) {
		ch.setCurrent(ch.sched[0], ch.sched[0].validFrom)
		ch.sched = ch.sched[1:]
	}
}

// priceAt is the price in effect at instant t (t ≥ watermark), or nil.
func (ch *channelState) priceAt(t time.Time) *priceRec {
	if ch.delisted {
		return nil
	}
	rec := ch.cur
	for _, r := range ch.sched {
		if r.validFrom.After(t) {
			break
		}
		rec = r
	}
	return rec
}

// trimHistory drops the points older than the window, keeping the one in
// effect at its start.
func (ch *channelState) trimHistory(wm time.Time, window time.Duration) {
	from := wm.Add(-window)
	i := 0
	for i+1 < len(ch.hist) && !ch.hist[i+1].t.After(from) {
		i++
	}
	if i > 0 {
		ch.hist = slices.Delete(ch.hist, 0, i)
	}
}
