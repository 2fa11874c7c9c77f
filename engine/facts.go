package engine

import (
	"math"
	"time"

	"github.com/promoguard/promoguard/rules"
)

var (
	factStock    = rules.Fact("stock").Bit
	factHistory  = rules.Fact("history").Bit
	factOverlaps = rules.Fact("overlaps").Bit
	factChannels = rules.Fact("channels").Bit
)

// fraction is 1 - x/of: how much x takes off of; NaN when of is not a
// positive price.
func fraction(x, of float64) float64 {
	if !(of > 0) || math.IsNaN(x) {
		return math.NaN()
	}
	return 1 - x/of
}

// facts builds the facts of one (sku, channel, segment).
func (e *Engine) facts(s *skuState, c *chanCtx, seg segment, chmap map[string]rules.ChannelFacts, trig trigger) rules.Facts {
	var f rules.Facts
	e.factsInto(&f, s, c, seg, chmap, trig)
	return f
}

// factsInto builds the facts of one (sku, channel, segment) into f.
func (e *Engine) factsInto(f *rules.Facts, s *skuState, c *chanCtx, seg segment, chmap map[string]rules.ChannelFacts, trig trigger) {
	rec, res, w := c.rec, &c.res, e.wm
	at := maxTime(seg.start, w)
	*f = rules.Facts{
		SKU: s.id, Channel: c.name,
		Category: cmpOr(rec.category, s.category), Brand: cmpOr(rec.brand, s.brand), Seller: rec.seller,
		Currency: rec.currency, Region: rec.region,
		ListPrice: rec.list, Price: rec.price, Cost: rec.cost, MapPrice: rec.mapPrice,
		HasCost: !math.IsNaN(rec.cost), HasListPrice: !math.IsNaN(rec.list), HasMapPrice: !math.IsNaN(rec.mapPrice),
		EffectivePrice: res.effective,
		Discount:       fraction(res.effective, rec.list),
		PromoDiscount:  fraction(res.effective, rec.price),
		Margin:         math.NaN(),
		Promos:         res.applied,
		Blocked:        res.blocked,
		Overlaps:       res.overlaps,
		Channels:       chmap,
		Segment:        rules.Segment{Start: cmpOrTime(seg.key, seg.start), End: seg.end},
		Event:          rules.Event{Type: trig.typ, TS: trig.ts},
		At:             at,
		Now:            w,
		Policy:         res.policy.String(),
	}
	if f.HasCost && res.effective > 0 {
		f.Margin = (res.effective - rec.cost) / res.effective
	}
	// facts no rule reads are not computed: history walks the price
	// history, stock the warehouses
	if e.reads.Has(factStock) {
		f.Stock = s.stockFacts(res, at)
	}
	if e.reads.Has(factHistory) {
		if c.hist != nil {
			f.History = *c.hist
		} else {
			f.History = c.ch.history(w)
		}
	}
}

func cmpOr(a, b string) string {
	if a != "" {
		return a
	}
	return b
}

func cmpOrTime(a, b time.Time) time.Time {
	if !a.IsZero() {
		return a
	}
	return b
}

// lazyEnv builds a context's facts the first time a rule needs them.
type lazyEnv struct {
	s    *skuState
	c    *chanCtx
	seg  segment
	chl  *segChannels
	typ  string
	ts   time.Time
	base *lazyEnv      // now scope: the calendar facts, with the segment from the watermark
	nseg rules.Segment // now scope's segment
	f    *rules.Facts  // built here: one of the engine's buffers
	env  any           // f, boxed
	id   uint64        // identifies env for an Evaluator
	done bool
}

// segChannels is the `channels` fact of one segment, built on first use.
type segChannels struct {
	ctxs []chanCtx
	m    map[string]rules.ChannelFacts
	done bool
}

func (sc *segChannels) get(e *Engine) map[string]rules.ChannelFacts {
	if !sc.done {
		sc.done = true
		// one map serves every segment in turn: a context's facts are not
		// kept past it
		if e.chmapBuf == nil {
			e.chmapBuf = make(map[string]rules.ChannelFacts, len(sc.ctxs))
		}
		clear(e.chmapBuf)
		sc.m = e.chmapBuf
		for i := range sc.ctxs {
			c := &sc.ctxs[i]
			sc.m[c.name] = channelFacts(c)
		}
	}
	return sc.m
}

// channelFacts is one channel's entry in the channels fact.
func channelFacts(c *chanCtx) rules.ChannelFacts {
	return rules.ChannelFacts{
		Price: c.rec.price, EffectivePrice: c.res.effective,
		Discount: fraction(c.res.effective, c.rec.list), PromoDiscount: fraction(c.res.effective, c.rec.price),
		Currency: c.rec.currency, Policy: c.res.policy.String(),
	}
}

func (e *Engine) facts0(l *lazyEnv) *rules.Facts {
	if !l.done {
		l.done = true
		if l.base != nil {
			*l.f = *e.facts0(l.base)
			l.f.Segment = l.nseg
		} else {
			var chmap map[string]rules.ChannelFacts
			if e.reads.Has(factChannels) {
				chmap = l.chl.get(e)
			}
			e.factsInto(l.f, l.s, l.c, l.seg, chmap, trigger{typ: l.typ, ts: l.ts})
		}
		l.env = e.box(l.f)
		e.ctxSeq++
		l.id = e.ctxSeq
	}
	return l.f
}

// boxFactsSafe boxes the facts the ordinary way, copying them: what
// boxFacts does without package unsafe, and what tests compare it with.
func boxFactsSafe(f *rules.Facts) any { return *f }

// envOf returns a context's facts, boxed once and shared by its rules.
func (e *Engine) envOf(c *alertCtx) any {
	if c.env == nil && c.lazy != nil {
		e.facts0(c.lazy)
		c.env, c.ctxID = c.lazy.env, c.lazy.id
	}
	if c.ctxID == 0 {
		e.ctxSeq++
		c.ctxID = e.ctxSeq
	}
	return c.env
}

// factsOf returns a context's facts for an Evaluator.
func (e *Engine) factsOf(c *alertCtx) *rules.Facts {
	env := e.envOf(c)
	if c.lazy != nil {
		return c.lazy.f
	}
	if c.fp == nil {
		f, _ := env.(rules.Facts)
		c.fp = &f
	}
	return c.fp
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
