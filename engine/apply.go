package engine

import (
	"slices"
	"time"

	"github.com/promoguard/promoguard/event"

	"github.com/promoguard/promoguard/rules"
)

// trigger says why a sku or a promotion is evaluated.
type trigger struct {
	typ string         // event fact: price, stock, promo, timer, reload
	ts  time.Time      // event fact
	on  rules.EventSet // rules whose `on` meets it may start firing; open alerts are always re-checked
	// why keys that vanish in this evaluation do
	vanish    event.Reason
	delisted  string // a channel delisted by this event
	cancelled string // a promotion cancelled by this event
	// fresh marks, by rule index, the rules a reload added or changed:
	// they look at every context whatever their `on`
	fresh []bool
}

func (e *Engine) applyPrice(ev *event.Event, out []event.Output) []event.Output {
	p := ev.Price
	s := e.skus[p.SKU]
	if s != nil {
		if ch := s.channels[p.Channel]; ch != nil && ev.TS.Before(ch.ts) {
			e.stats.Late++
			return out
		}
	}
	e.stats.Events++
	if s == nil {
		s = e.sku(p.SKU)
	}
	ch := s.channel(intern(p.Channel))
	ch.ts = ev.TS
	trig := trigger{typ: "price", ts: ev.TS, on: 1 << event.TypePrice, vanish: event.ReasonSuperseded}
	if p.Delisted {
		ch.delisted, ch.cur, ch.sched, ch.hist = true, nil, nil, nil
		trig.delisted = p.Channel
		return e.evalSKU(s, trig, out)
	}
	ch.delisted = false
	rec := &priceRec{
		ts: ev.TS, validFrom: p.ValidFrom, price: p.Price, list: p.ListPrice, cost: p.Cost, mapPrice: p.MapPrice,
		currency: intern(p.Currency), region: intern(p.Region), category: intern(p.Category), brand: intern(p.Brand),
		seller: intern(p.Seller),
	}
	if !p.ValidFrom.IsZero() && p.ValidFrom.After(e.wm) {
		ch.schedule(rec)
	} else {
		ch.setCurrent(rec, e.wm)
	}
	e.setAttrs(s, rec.category, rec.brand)
	return e.evalSKU(s, trig, out)
}

func (e *Engine) applyStock(ev *event.Event, out []event.Output) []event.Output {
	st := ev.Stock
	s := e.skus[st.SKU]
	if s != nil {
		if w := s.stock[st.Warehouse]; w != nil && ev.TS.Before(w.ts) {
			e.stats.Late++
			return out
		}
	}
	e.stats.Events++
	if s == nil {
		s = e.sku(st.SKU)
	}
	w := s.stock[st.Warehouse]
	if w == nil {
		w = &warehouse{}
		name := intern(st.Warehouse)
		s.stock[name] = w
		i, _ := slices.BinarySearch(s.warehouses, name)
		s.warehouses = slices.Insert(s.warehouses, i, name)
	}
	*w = warehouse{ts: ev.TS, onHand: st.OnHand, reserved: st.Reserved, inbound: st.Inbound, vel: st.DailyVelocity}
	s.stockChanged = true
	return e.evalSKU(s, trigger{typ: "stock", ts: ev.TS, on: 1 << event.TypeStock, vanish: event.ReasonSuperseded}, out)
}

func (e *Engine) applyPromo(ev *event.Event, out []event.Output) []event.Output {
	pe := ev.Promo
	if last, ok := e.promoTS[pe.ID]; ok && ev.TS.Before(last) {
		e.stats.Late++
		return out
	}
	e.stats.Events++
	e.promoTS[pe.ID] = ev.TS
	e.markPromo(pe.ID)
	trig := trigger{typ: "promo", ts: ev.TS, on: 1 << event.TypePromo, vanish: event.ReasonSuperseded}
	if pe.Cancelled {
		trig.vanish, trig.cancelled = event.ReasonCancelled, pe.ID
	}
	affected := map[string]*skuState{}
	old := e.promos[pe.ID]
	var alerts map[akey]*alertState
	if old != nil {
		e.coverage(old, affected)
		e.unindexPromo(old)
		alerts = old.alerts
	}
	var p *promoState
	if !pe.Cancelled && pe.End.After(e.wm) {
		if alerts == nil {
			alerts = map[akey]*alertState{}
		}
		p = &promoState{ev: pe, ts: ev.TS, fact: newPromoFact(pe), alerts: alerts}
		e.indexPromo(p)
		e.coverage(p, affected)
		out = e.evalPromo(p, trig, out)
	} else if old != nil {
		reason := event.ReasonEnded
		if pe.Cancelled {
			reason = event.ReasonCancelled
		}
		out = e.closePromo(old, reason, out)
	}
	ids := make([]string, 0, len(affected))
	for id := range affected {
		ids = append(ids, id)
	}
	slices.Sort(ids)
	for _, id := range ids {
		out = e.evalSKU(affected[id], trig, out)
	}
	return out
}

// evalSKU evaluates every (channel, segment) of s and reconciles the whole
// set of its alerts and corrections: keys that no longer exist are
// resolved or withdrawn.
func (e *Engine) evalSKU(s *skuState, trig trigger, out []event.Output) []event.Output {
	e.markSKU(s)
	e.epoch++
	ep := e.epoch
	w := e.wm
	for _, name := range s.names {
		ch := s.channels[name]
		ch.settle(w)
		ch.trimHistory(w, e.opt.HistoryWindow)
	}
	promos := e.coveringInto(e.covBuf[:0], s)
	e.covBuf = promos[:0]
	segs, nb, ne := e.segments(s, promos)
	// every context first, so that the keys which are gone are resolved
	// and withdrawn before the keys replacing them fire: a consumer keyed
	// by sku and channel then ends with the new state
	all := e.contexts(s, segs, promos)
	out = e.reconcileKeys(s, segs, all, &trig, out)
	e.noteAlerts(s)
	prevKeys := s.segKeys
	s.segKeys = make([]int64, 0, len(segs))
	for _, seg := range segs {
		s.segKeys = append(s.segKeys, segNum(seg.key))
	}
	for i, seg := range segs {
		ctxs := all[i]
		if len(ctxs) == 0 {
			continue
		}
		// a future segment that was not there before (a split, a boundary
		// entering the horizon, a held promotion meeting its first price)
		// is a new context: every rule looks at it, whatever its `on`, so
		// a conflict already known is not held back until it goes live.
		// The present segment keeps `on`: it changes only at a crossing.
		strig := trig
		if i > 0 && !slices.Contains(prevKeys, segNum(seg.key)) {
			strig.on = rules.AllEvents
		}
		// the channels fact, built if a rule needs it
		chl := &e.segChl
		*chl = segChannels{ctxs: ctxs}
		rng := segSpan(seg)
		for ci := range ctxs {
			c := &ctxs[ci]
			ac := e.calendarCtx(s, c, seg, rng, chl, &strig)
			var nc *alertCtx
			if i == 0 && len(e.now) > 0 {
				nc = e.nowCtx(ac, c, seg) // keyed and shown without a segment
			}
			// phase 1: the rules into results; phase 2: the alert and
			// correction lifecycles over them
			res := e.evalContext(s, ac, nc, &strig)
			out = e.settleContext(s, c, ac, res, &strig, ep, out)
		}
	}
	out = e.reconcile(s, &trig, ep, out)
	e.scheduleSKU(s, nb, ne)
	e.endMemos(s)
	return out
}

// evalPromo runs the promo-scope rules on one promotion.
func (e *Engine) evalPromo(p *promoState, trig trigger, out []event.Output) []event.Output {
	e.markPromo(p.ev.ID)
	e.epoch++
	ep := e.epoch
	w := e.wm
	if len(e.promoRules) > 0 && (e.opt.PromoRules == nil || e.opt.PromoRules(p.ev.ID)) {
		at := maxTime(p.ev.Start, w)
		f := rules.Facts{Promo: *p.fact, Event: rules.Event{Type: trig.typ, TS: trig.ts}, At: at, Now: w}
		start, end := p.ev.Start, p.ev.End
		c := &alertCtx{promo: p.ev.ID, rng: span{start: start, end: end}, at: at, active: []*promoState{p}, env: f}
		res := e.evalRules(e.scratchResults(), e.promoRules, p.alerts, c, &trig, false)
		e.results = res
		out = e.settleRules(p.alerts, res, nil, &trig, ep, out)
	}
	for _, st := range goneAlerts(p.alerts, ep) {
		if st.firing {
			out = e.emitAlert(st, event.StateResolved, vanishReason("", st.promos, &trig), nil, out)
		}
	}
	e.schedulePromo(p)
	return out
}

func (e *Engine) skuTimer(s *skuState, out []event.Output) []event.Output {
	w := e.wm
	trig := trigger{typ: "timer", ts: w, vanish: event.ReasonEnded}
	if w.Equal(s.nextBoundary) {
		s.lastCrossed = w
		trig.on |= 1<<event.TypePrice | 1<<event.TypePromo
	}
	if w.Equal(s.nextEntry) {
		trig.on |= 1<<event.TypePrice | 1<<event.TypePromo
	}
	if w.Equal(s.nextHistory) {
		// a price change leaving the history window changes the history
		// facts as a price event would
		trig.on |= 1 << event.TypePrice
	}
	s.timerAt = time.Time{}
	return e.evalSKU(s, trig, out)
}

func (e *Engine) promoTimer(p *promoState, out []event.Output) []event.Output {
	p.timerAt = time.Time{}
	if !p.ev.End.After(e.wm) {
		return e.closePromo(p, event.ReasonEnded, out)
	}
	return e.evalPromo(p, trigger{typ: "timer", ts: e.wm, vanish: event.ReasonEnded}, out)
}
