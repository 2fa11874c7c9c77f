package engine

import (
	"math"
	"math/bits"

	"github.com/promoguard/promoguard/event"
	"github.com/promoguard/promoguard/rules"
)

// Which facts of a context changed since its memo was written, so that the
// results of the rules reading them are forgotten (memo.go keeps the
// rest). Classes of facts by what they are computed from:
var (
	memoRecFacts   = factBits("seller", "currency", "region", "list_price", "price", "cost", "map_price", "has_cost", "has_list_price", "has_map_price")
	memoAttrFacts  = factBits("category", "brand") // the record's, else the sku's
	memoEffFacts   = factBits("effective_price", "discount", "promo_discount", "margin")
	memoPromoFacts = factBits("promos", "blocked", "overlaps")
	memoConstFacts = factBits("sku", "channel", "promo") // fixed for a context; promo has no value in sku scopes
	factSegment    = factBits("segment")
	factAt         = factBits("at")
	factNow        = factBits("now")
	// memoKnown are the facts whose changes the memo tracks; any other fact
	// (event, and any fact added to rules.Facts later) counts as changed on
	// every evaluation
	memoKnown = memoRecFacts | memoAttrFacts | memoEffFacts | memoPromoFacts | memoConstFacts |
		factStock | factHistory | factChannels | factSegment | factAt | factNow
	memoAlways = ^memoKnown
)

// factBits is the set of the named facts.
func factBits(names ...string) rules.FactSet {
	var s rules.FactSet
	for _, n := range names {
		if f := rules.Fact(n); f != nil {
			s |= f.Bit
		}
	}
	return s
}

// readers returns the rules (by index bit) that read any fact of d.
func (e *Engine) readers(d rules.FactSet) uint64 {
	var m uint64
	for d != 0 {
		i := bits.TrailingZeros64(uint64(d))
		m |= e.factReaders[i]
		d &^= 1 << i
	}
	return m
}

// setMemoRules indexes the readers of each fact and the rules each set of
// event types admits for the current rule set, and starts a new memo
// generation.
func (e *Engine) setMemoRules() {
	e.memoGen++
	clear(e.factReaders[:])
	clear(e.calOn[:])
	clear(e.nowOn[:])
	if !e.memoOK() {
		return
	}
	for i, r := range e.rs.Rules {
		for d := r.Reads; d != 0; {
			b := bits.TrailingZeros64(uint64(d))
			e.factReaders[b] |= 1 << i
			d &^= 1 << b
		}
		for on := range e.calOn {
			if rules.EventSet(on)&r.On == 0 {
				continue
			}
			switch r.Scope {
			case rules.ScopeCalendar:
				e.calOn[on] |= 1 << i
			case rules.ScopeNow:
				e.nowOn[on] |= 1 << i
			}
		}
	}
}

// dirtyFacts works out which facts of a context may have changed since the
// memo was written, forgets the results of the rules that read them, and
// brings the memo's inputs up to date.
func (e *Engine) dirtyFacts(s *skuState, c *chanCtx, seg segment, present, wMoved, segChanged bool, nch int) {
	m := c.memo
	d := memoAlways
	if c.recChanged {
		d |= memoRecFacts | memoAttrFacts | memoEffFacts
	}
	if c.rec.category == "" || c.rec.brand == "" {
		d |= memoAttrFacts // the sku's, which the memo does not keep
	}
	promosChanged := c.activeChanged
	if c.recChanged && !promosChanged {
		// an amount or fixed price takes a fraction of the price off, and
		// a promotion in another currency is not applied
		for _, p := range m.active {
			if p.ev.Kind != event.KindPercent {
				promosChanged = true
				break
			}
		}
	}
	if promosChanged {
		d |= memoEffFacts | memoPromoFacts
	}
	if s.stockChanged || promosChanged || (present && wMoved && len(c.res.applied) > 0) {
		d |= factStock // the expected promotion demand runs to the end of the promotions
	}
	if segChanged {
		d |= factChannels
	}
	if c.ch.histDirty || !c.ch.memoHistSet {
		d |= factHistory
	}
	end := segNum(seg.end)
	if end != m.segEnd || (present && seg.key.IsZero() && wMoved) {
		d |= factSegment
	}
	if present && wMoved {
		d |= factAt
	}
	if wMoved {
		d |= factNow
	}
	// now scope: the same facts but a segment from the watermark
	dn := d &^ factSegment
	if wMoved || end != m.segEnd {
		dn |= factSegment
	}
	c.dirty, c.dirtyNow = d, dn
	// policy is never dirty: a channel's stacking policy is fixed for the
	// engine's life (Options.Channels)
	if c.fresh {
		m.valid, m.bvalid = 0, 0
	} else {
		stale := e.readers(d)
		if present {
			stale |= e.readers(dn)
		}
		m.valid &^= stale
		m.bvalid &^= stale
	}
	m.rec, m.segEnd, m.nch, m.epoch = c.rec, end, int32(nch), uint32(e.epoch)
}

func samePromos(a, b []*promoState) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}

func sameHistory(a, b rules.History) bool {
	return a.Changes1h == b.Changes1h && math.Float64bits(a.MaxDrop24h) == math.Float64bits(b.MaxDrop24h) &&
		math.Float64bits(a.Low24h) == math.Float64bits(b.Low24h)
}
