package engine

import "slices"

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
