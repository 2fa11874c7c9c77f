package engine

import (
	"math"
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

// setAttrs records a sku's category and brand and keeps the indexes that
// find skus by them.
func (e *Engine) setAttrs(s *skuState, category, brand string) {
	if category != "" && category != s.category {
		unindexSKU(e.skuByCat, s.category, s)
		s.category = category
		indexSKU(e.skuByCat, category, s)
	}
	if brand != "" && brand != s.brand {
		unindexSKU(e.skuByBrand, s.brand, s)
		s.brand = brand
		indexSKU(e.skuByBrand, brand, s)
	}
}

func indexSKU(m map[string]map[string]*skuState, k string, s *skuState) {
	if m[k] == nil {
		m[k] = map[string]*skuState{}
	}
	m[k][s.id] = s
}

func unindexSKU(m map[string]map[string]*skuState, k string, s *skuState) {
	if k == "" {
		return
	}
	delete(m[k], s.id)
	if len(m[k]) == 0 {
		delete(m, k)
	}
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

// history computes the history facts at the watermark.
func (ch *channelState) history(wm time.Time) rules.History {
	h := rules.History{Low24h: math.NaN()}
	hour, day := wm.Add(-time.Hour), wm.Add(-24*time.Hour)
	for i, p := range ch.hist {
		if p.t.After(wm) {
			break
		}
		inDay := p.t.After(day)
		// the point in effect when the day's window opened counts for the low
		last := i+1 == len(ch.hist) || ch.hist[i+1].t.After(day)
		if inDay || last {
			if math.IsNaN(h.Low24h) || p.price < h.Low24h {
				h.Low24h = p.price
			}
		}
		if !p.change || i == 0 {
			continue
		}
		if p.t.After(hour) {
			h.Changes1h++
		}
		if prev := ch.hist[i-1].price; inDay && prev > 0 && p.price < prev {
			if d := (prev - p.price) / prev; d > h.MaxDrop24h {
				h.MaxDrop24h = d
			}
		}
	}
	return h
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

// stockFacts sums a sku's stock over its warehouses. With no stock known
// every fact is NaN, so no comparison with it holds.
func (s *skuState) stockFacts(res *stackResult, at time.Time) rules.Stock {
	if len(s.warehouses) == 0 {
		n := math.NaN()
		return rules.Stock{OnHand: n, Reserved: n, Available: n, Inbound: n, DailyVelocity: n, DaysOfCover: n, ExpectedPromoDemand: n}
	}
	var st rules.Stock
	vel, known := 0.0, false
	for _, name := range s.warehouses {
		w := s.stock[name]
		st.OnHand += w.onHand
		st.Reserved += w.reserved
		st.Inbound += w.inbound
		if !math.IsNaN(w.vel) {
			vel += w.vel
			known = true
		}
	}
	st.Available = st.OnHand - st.Reserved
	st.DailyVelocity = math.NaN()
	st.DaysOfCover = math.NaN()
	if known {
		st.DailyVelocity = vel
		if vel > 0 {
			st.DaysOfCover = st.Available / vel
		}
	}
	switch {
	case len(res.applied) == 0:
		st.ExpectedPromoDemand = 0
	case !known:
		st.ExpectedPromoDemand = math.NaN()
	default:
		days := res.maxEnd.Sub(at).Hours() / 24
		st.ExpectedPromoDemand = vel * res.uplift * math.Max(days, 0)
	}
	return st
}
