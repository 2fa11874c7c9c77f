package engine

import (
	"cmp"
	"math"
	"slices"
	"time"

	"github.com/promoguard/promoguard/event"

	"github.com/promoguard/promoguard/rules"
)

// promoState is one live promotion.
type promoState struct {
	ev   *event.Promo
	ts   time.Time
	fact *rules.Promo // shared by every context; Fraction is set for percent only
	// alerts of promo-scope rules, by fingerprint
	alerts  map[akey]*alertState
	timerAt time.Time
}

// canonicalCmp orders promotions canonically (DESIGN §3): priority descending,
// then start ascending, then id ascending. It is a total order, so the
// result of stacking never depends on arrival order.
func canonicalCmp(a, b *promoState) int {
	if a.ev.Priority != b.ev.Priority {
		return cmp.Compare(b.ev.Priority, a.ev.Priority)
	}
	if c := a.ev.Start.Compare(b.ev.Start); c != 0 {
		return c
	}
	return cmp.Compare(a.ev.ID, b.ev.ID)
}

// covers reports whether p's selector covers a sku with the given category
// and brand. Categories and brands both given narrow: the sku must match
// both.
func (p *promoState) covers(sku, category, brand string) bool {
	ev := p.ev
	if ev.AllSKUs {
		return true
	}
	if len(ev.SKUs) > 0 {
		return slices.Contains(ev.SKUs, sku)
	}
	if len(ev.Categories) > 0 && !slices.Contains(ev.Categories, category) {
		return false
	}
	if len(ev.Brands) > 0 && !slices.Contains(ev.Brands, brand) {
		return false
	}
	return len(ev.Categories) > 0 || len(ev.Brands) > 0
}

// appliesTo reports whether p covers the channel and region.
func (p *promoState) appliesTo(channel, region string) bool {
	if len(p.ev.Channels) > 0 && !slices.Contains(p.ev.Channels, channel) {
		return false
	}
	if len(p.ev.Regions) > 0 && !slices.Contains(p.ev.Regions, region) {
		return false
	}
	return true
}

// stackResult is the outcome of stacking on one (sku, channel) at one
// instant.
type stackResult struct {
	effective float64
	active    []*promoState // every active promotion, canonical order
	applied   []*rules.Promo
	blocked   []*rules.Promo
	mismatch  []*promoState // not applied: another currency than the channel's
	overlaps  []*rules.Overlap
	maxEnd    time.Time // latest end among the applied
	uplift    float64   // largest expected uplift among the applied (1 when none given)
}

// stack applies the active promotions (already in canonical order) to
// price, as DESIGN §3 says.
// The overlap pairs, quadratic in the active promotions, are listed only
// when withOverlaps is set (some rule reads them).
func stack(price float64, currency string, active []*promoState, withOverlaps bool) stackResult {
	r := stackResult{effective: price, active: active, uplift: math.NaN()}
	// promotions in another currency are not applied and take no part in
	// the exclusive or stop logic
	usable := active
	for i, p := range active {
		if p.ev.Kind != event.KindPercent && currency != "" && p.ev.Currency != currency {
			// copy the usable ones only when some are not
			if len(usable) == len(active) {
				usable = append(make([]*promoState, 0, len(active)), active[:i]...)
			}
			r.mismatch = append(r.mismatch, p)
			continue
		}
		if len(usable) < len(active) {
			usable = append(usable, p)
		}
	}
	exclusive := -1
	for i, p := range usable {
		if p.ev.Stacking == event.StackExclusive {
			exclusive = i
			break
		}
	}
	running := price
	stopped := false
	for i, p := range usable {
		if stopped || (exclusive >= 0 && i != exclusive) {
			r.blocked = append(r.blocked, promoFact(p, price))
			continue
		}
		before := running
		switch p.ev.Kind {
		case event.KindPercent:
			running *= 1 - p.ev.Value/100
		case event.KindAmount:
			running -= p.ev.Value
		case event.KindFixedPrice:
			running = p.ev.Value
		}
		if running < 0 {
			running = 0
		}
		r.applied = append(r.applied, promoFact(p, before))
		if p.ev.End.After(r.maxEnd) {
			r.maxEnd = p.ev.End
		}
		if u := p.ev.ExpectedUplift; !math.IsNaN(u) && (math.IsNaN(r.uplift) || u > r.uplift) {
			r.uplift = u
		}
		if p.ev.Stacking == event.StackStop {
			stopped = true
		}
	}
	if math.IsNaN(r.uplift) {
		r.uplift = 1
	}
	r.effective = running
	if withOverlaps {
		r.overlaps = overlaps(active)
	}
	return r
}

// promoFact is p as a context's rules see it. A percent promotion's fraction
// is the same everywhere, so its shared fact serves; an amount or fixed price
// gets a copy with the fraction it takes off the price it applies to (the
// running price for an applied one, the channel's price for a blocked one).
// A fixed price above that price gives a negative fraction: a rise.
func promoFact(p *promoState, base float64) *rules.Promo {
	if p.ev.Kind == event.KindPercent {
		return p.fact
	}
	c := *p.fact
	switch {
	case !(base > 0):
		c.Fraction = math.NaN()
	case p.ev.Kind == event.KindAmount:
		c.Fraction = math.Min(p.ev.Value/base, 1)
	default:
		c.Fraction = 1 - p.ev.Value/base
	}
	return &c
}

// overlaps lists the conflicting pairs among the active promotions: at least
// one exclusive, or the same priority and different partners.
func overlaps(active []*promoState) []*rules.Overlap {
	var out []*rules.Overlap
	for i, a := range active {
		for _, b := range active[i+1:] {
			switch {
			case a.ev.Stacking == event.StackExclusive || b.ev.Stacking == event.StackExclusive:
				out = append(out, &rules.Overlap{A: a.fact, B: b.fact, Reason: "exclusive"})
			case a.ev.Priority == b.ev.Priority && a.ev.Partner != b.ev.Partner:
				out = append(out, &rules.Overlap{A: a.fact, B: b.fact, Reason: "same_priority"})
			}
		}
	}
	return out
}

// newPromoFact converts a promotion event to the fact rules read.
func newPromoFact(ev *event.Promo) *rules.Promo {
	f := &rules.Promo{
		ID: ev.ID, Partner: ev.Partner, PartnerRole: ev.PartnerRole,
		Kind: ev.Kind, Value: ev.Value, Fraction: math.NaN(),
		Priority: ev.Priority, Stacking: ev.Stacking,
		Start: ev.Start, End: ev.End, Currency: ev.Currency,
		FundedBy: ev.FundedBy, ExpectedUplift: ev.ExpectedUplift,
		Channels: ev.Channels, Regions: ev.Regions,
		SKUs: ev.SKUs, Categories: ev.Categories, Brands: ev.Brands,
	}
	if ev.AllSKUs {
		f.SKUs = []string{"*"}
	}
	if ev.Kind == event.KindPercent {
		f.Fraction = ev.Value / 100
	}
	if f.Stacking == "" {
		f.Stacking = event.StackStackable
	}
	return f
}
