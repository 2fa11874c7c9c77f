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

func (t *trigger) isFresh(r *rules.Rule) bool {
	return t.fresh != nil && r.Index >= 0 && r.Index < len(t.fresh) && t.fresh[r.Index]
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

// coverage adds the known skus p's selector covers to into.
func (e *Engine) coverage(p *promoState, into map[string]*skuState) {
	ev := p.ev
	switch {
	case ev.AllSKUs:
		for id, s := range e.skus {
			into[id] = s
		}
	case len(ev.SKUs) > 0:
		for _, id := range ev.SKUs {
			if s := e.skus[id]; s != nil {
				into[id] = s
			}
		}
	case len(ev.Categories) > 0:
		for _, c := range ev.Categories {
			for id, s := range e.skuByCat[c] {
				if p.covers(id, s.category, s.brand) {
					into[id] = s
				}
			}
		}
	default:
		for _, b := range ev.Brands {
			for id, s := range e.skuByBrand[b] {
				if p.covers(id, s.category, s.brand) {
					into[id] = s
				}
			}
		}
	}
}

func (e *Engine) indexPromo(p *promoState) {
	e.promos[p.ev.ID] = p
	add := func(m map[string]map[string]*promoState, k string) {
		if m[k] == nil {
			m[k] = map[string]*promoState{}
		}
		m[k][p.ev.ID] = p
	}
	switch {
	case p.ev.AllSKUs:
		e.promoAll[p.ev.ID] = p
	case len(p.ev.SKUs) > 0:
		for _, k := range p.ev.SKUs {
			add(e.promoBySKU, k)
		}
	case len(p.ev.Categories) > 0:
		// a sku must match both lists when both are given, so one index
		// finds every candidate
		for _, k := range p.ev.Categories {
			add(e.promoByCat, k)
		}
	default:
		for _, k := range p.ev.Brands {
			add(e.promoByBrand, k)
		}
	}
}

func (e *Engine) unindexPromo(p *promoState) {
	if e.promos[p.ev.ID] == p {
		delete(e.promos, p.ev.ID)
	}
	del := func(m map[string]map[string]*promoState, k string) {
		if m[k][p.ev.ID] == p {
			delete(m[k], p.ev.ID)
			if len(m[k]) == 0 {
				delete(m, k)
			}
		}
	}
	if e.promoAll[p.ev.ID] == p {
		delete(e.promoAll, p.ev.ID)
	}
	for _, k := range p.ev.SKUs {
		del(e.promoBySKU, k)
	}
	for _, k := range p.ev.Categories {
		del(e.promoByCat, k)
	}
	for _, k := range p.ev.Brands {
		del(e.promoByBrand, k)
	}
}

// covering lists the promotions that cover s and have not ended, in
// canonical order.
func (e *Engine) covering(s *skuState) []*promoState { return e.coveringInto(nil, s) }

// coveringInto is covering appending to out.
func (e *Engine) coveringInto(out []*promoState, s *skuState) []*promoState {
	add := func(m map[string]*promoState) {
		for _, p := range m {
			if p.ev.End.After(e.wm) && p.covers(s.id, s.category, s.brand) {
				out = append(out, p)
			}
		}
	}
	add(e.promoAll)
	add(e.promoBySKU[s.id])
	if s.category != "" {
		add(e.promoByCat[s.category])
	}
	if s.brand != "" {
		add(e.promoByBrand[s.brand])
	}
	slices.SortFunc(out, canonicalCmp)
	return slices.CompactFunc(out, func(a, b *promoState) bool { return a == b })
}
