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
	policy    rules.Policy  // the channel's policy, which priced it
	active    []*promoState // every active promotion, canonical order
	applied   []*rules.Promo
	blocked   []*rules.Promo
	mismatch  []*promoState // not applied: another currency than the channel's
	overlaps  []*rules.Overlap
	maxEnd    time.Time // latest end among the applied
	uplift    float64   // largest expected uplift among the applied (1 when none given)
}

// stack applies the active promotions (already in canonical order) to
// price under the channel's policy, as DESIGN §3 says.
// The overlap pairs, quadratic in the active promotions, are listed only
// when withOverlaps is set (some rule reads them).
//
// Under every policy a promotion in another currency than the channel's is
// not applied (and not blocked: the currency_mismatch alert names it) and
// takes no part in the exclusive, stop or combination logic; the effective
// price never goes below 0. Each policy sees the usable promotions in the
// canonical order and nothing else, so every policy is a total function of
// the active set: the order events arrive in never changes a price.
func stack(pol rules.Policy, price float64, currency string, active []*promoState, withOverlaps bool) stackResult {
	r := stackResult{effective: price, active: active, uplift: math.NaN(), policy: pol}
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
	switch pol {
	case rules.PolicyBestDeal:
		r.bestDeal(price, usable)
	case rules.PolicySequentialStop:
		r.sequentialStop(price, usable)
	case rules.PolicyAdditive:
		r.additive(price, usable)
	case rules.PolicyCombinable:
		r.combinable(price, usable)
	default:
		r.compound(price, usable)
	}
	if math.IsNaN(r.uplift) {
		r.uplift = 1
	}
	if withOverlaps {
		r.overlaps = overlaps(active)
	}
	return r
}

// applyOne is running after promotion p: percent multiplies, amount
// subtracts, fixed_price sets; never below 0.
func applyOne(running float64, p *promoState) float64 {
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
	return running
}

// take records p as applied to a price of before.
func (r *stackResult) take(p *promoState, before float64) {
	r.applied = append(r.applied, promoFact(p, before))
	if p.ev.End.After(r.maxEnd) {
		r.maxEnd = p.ev.End
	}
	if u := p.ev.ExpectedUplift; !math.IsNaN(u) && (math.IsNaN(r.uplift) || u > r.uplift) {
		r.uplift = u
	}
}

// compound is the default policy (DESIGN §3): if any usable promotion is
// exclusive, only the first exclusive one applies and every other is
// blocked; otherwise each applies in canonical order to the running price
// (percentages compound) and a stop promotion applies and blocks the ones
// after it.
func (r *stackResult) compound(price float64, usable []*promoState) {
	exclusive := firstExclusive(usable)
	running := price
	stopped := false
	for i, p := range usable {
		if stopped || (exclusive >= 0 && i != exclusive) {
			r.blocked = append(r.blocked, promoFact(p, price))
			continue
		}
		before := running
		running = applyOne(running, p)
		r.take(p, before)
		if p.ev.Stacking == event.StackStop {
			stopped = true
		}
	}
	r.effective = running
}

func firstExclusive(usable []*promoState) int {
	for i, p := range usable {
		if p.ev.Stacking == event.StackExclusive {
			return i
		}
	}
	return -1
}

// sequentialStop models Magento's "discard subsequent rules" and
// commercetools' StopAfterThisDiscount: each promotion applies in canonical
// order to the running price until one marked stop, which applies and
// blocks the rest. These platforms have no exclusivity class, so an
// exclusive promotion acts as a stop: the promotions before it in the
// canonical order still apply (under compound they would be blocked).
func (r *stackResult) sequentialStop(price float64, usable []*promoState) {
	running := price
	stopped := false
	for _, p := range usable {
		if stopped {
			r.blocked = append(r.blocked, promoFact(p, price))
			continue
		}
		before := running
		running = applyOne(running, p)
		r.take(p, before)
		stopped = p.ev.Stacking == event.StackStop || p.ev.Stacking == event.StackExclusive
	}
	r.effective = running
}

// bestDeal models Saleor's catalogue promotions and Spree: only the single
// promotion giving the lowest price, each applied alone to the price,
// applies; of equal prices the first in canonical order wins. Every other
// is blocked; exclusive and stop change nothing, since one applies anyway.
func (r *stackResult) bestDeal(price float64, usable []*promoState) {
	best, bestPrice := -1, price
	for i, p := range usable {
		if v := applyOne(price, p); best < 0 || v < bestPrice {
			best, bestPrice = i, v
		}
	}
	for i, p := range usable {
		if i == best {
			r.take(p, price)
		} else {
			r.blocked = append(r.blocked, promoFact(p, price))
		}
	}
	r.effective = bestPrice
}

// additive adds percentages instead of compounding them (20 % + 10 % = 30 %
// off the price, at most 100 %), then subtracts the amounts, then applies
// the fixed prices in canonical order (each sets the price, as under
// compound a later fixed price overrides an earlier one). Which promotions
// take part follows compound's exclusive and stop: the first exclusive
// alone, or the canonical order up to and including the first stop.
func (r *stackResult) additive(price float64, usable []*promoState) {
	// the promotions taking part are usable[lo:hi]: the exclusive alone, or
	// the canonical order up to and including the first stop
	lo, hi := 0, len(usable)
	if x := firstExclusive(usable); x >= 0 {
		lo, hi = x, x+1
	} else {
		for i, p := range usable {
			if p.ev.Stacking == event.StackStop {
				hi = i + 1
				break
			}
		}
	}
	pct, amount := 0.0, 0.0
	for _, p := range usable[lo:hi] {
		switch p.ev.Kind {
		case event.KindPercent:
			pct += p.ev.Value
		case event.KindAmount:
			amount += p.ev.Value
		}
	}
	afterPct := price
	if pct > 0 {
		afterPct = price * (1 - math.Min(pct, 100)/100)
	}
	running := afterPct - amount
	if running < 0 {
		running = 0
	}
	for i, p := range usable {
		switch {
		case i < lo || i >= hi:
			r.blocked = append(r.blocked, promoFact(p, price))
		case p.ev.Kind == event.KindPercent:
			r.take(p, price)
		case p.ev.Kind == event.KindAmount:
			r.take(p, afterPct)
		default:
			r.take(p, running)
			running = applyOne(running, p)
		}
	}
	r.effective = running
}

// maxCombinable is how many usable promotions combinable searches
// exhaustively (2^10 - 1 subsets); beyond it, greedily.
const maxCombinable = 10

// combinable models Shopify's combinesWith: two promotions combine only
// when each one's combines_with names the other (by partner role, partner,
// id, or "*"); an exclusive promotion combines with none, and stop means
// nothing here (combines_with says it). Of the non-empty sets of usable
// promotions that pairwise combine, the one whose promotions, compounded in
// canonical order, give the lowest price applies; of equal prices, the set
// holding the earliest promotion in canonical order where two sets differ.
// With more than maxCombinable usable promotions the search is greedy
// instead: in canonical order, each promotion that combines with every one
// taken so far is taken.
func (r *stackResult) combinable(price float64, usable []*promoState) {
	n := len(usable)
	if n == 0 {
		return
	}
	var chosen uint64
	if n > maxCombinable {
		for i, p := range usable {
			ok := true
			for j := range i {
				if chosen&(1<<j) != 0 && !combine(p, usable[j]) {
					ok = false
					break
				}
			}
			if ok {
				chosen |= 1 << i
			}
		}
	} else {
		var compat [maxCombinable]uint64
		pairs := false
		for i, p := range usable {
			for j := i + 1; j < n; j++ {
				if combine(p, usable[j]) {
					compat[i] |= 1 << j
					compat[j] |= 1 << i
					pairs = true
				}
			}
		}
		if !pairs {
			// only single promotions are allowed: the best one, ties to the
			// first in canonical order, as best_deal chooses
			r.bestDeal(price, usable)
			return
		}
		bestPrice := math.Inf(1)
		for m := uint64(1); m < 1<<n; m++ {
			ok, v := true, price
			for i := range n {
				if m&(1<<i) == 0 {
					continue
				}
				if m&^(1<<i)&^compat[i] != 0 {
					ok = false
					break
				}
				v = applyOne(v, usable[i])
			}
			if !ok {
				continue
			}
			// a tie goes to the set holding the earliest promotion where
			// the two differ
			if d := m ^ chosen; v < bestPrice || v == bestPrice && m&(d&-d) != 0 {
				chosen, bestPrice = m, v
			}
		}
	}
	running := price
	for i, p := range usable {
		if chosen&(1<<i) == 0 {
			r.blocked = append(r.blocked, promoFact(p, price))
			continue
		}
		before := running
		running = applyOne(running, p)
		r.take(p, before)
	}
	r.effective = running
}

// combine reports whether p and q may apply together under combinable:
// both ways, and neither exclusive.
func combine(p, q *promoState) bool {
	return names(p, q) && names(q, p)
}

// names reports whether p's combines_with names q.
func names(p, q *promoState) bool {
	if p.ev.Stacking == event.StackExclusive {
		return false
	}
	for _, s := range p.ev.CombinesWith {
		if s == "*" || s == q.ev.ID || s == q.ev.Partner || s != "" && s == q.ev.PartnerRole {
			return true
		}
	}
	return false
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
		CombinesWith: ev.CombinesWith,
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
