package engine

import (
	"math"
	"slices"
	"strings"
	"time"

	"github.com/promoguard/promoguard/event"
	"github.com/promoguard/promoguard/rules"
)

// settleContext is phase 2 on one (sku, channel, segment): it moves the
// alerts of the results along their lifecycle, runs the built-in checks,
// and corrects the price from the bounds of the firing rules.
func (e *Engine) settleContext(s *skuState, c *chanCtx, ac *alertCtx, res []result, trig *trigger, ep uint64, out []event.Output) []event.Output {
	b := newBounds(e.boundRules[:0])
	out = e.settleRules(s.alerts, res, &b, trig, ep, out)
	out = e.checkCurrency(s, c, ac, trig, ep, out)
	out = e.correct(s, c, ac, &b, trig, ep, out)
	e.boundRules = b.rules[:0] // keep the grown buffer for the next context
	return out
}

// settleRules moves the alert of each result in m along the lifecycle, in
// rule order, and adds the bounds of the firing rules to b (nil: the
// context takes none).
func (e *Engine) settleRules(m map[akey]*alertState, res []result, b *bounds, trig *trigger, ep uint64, out []event.Output) []event.Output {
	for i := range res {
		x := &res[i]
		if x.failed {
			if x.st != nil {
				x.st.epoch = ep // an error keeps the alert as it was
			}
			continue
		}
		out = e.transition(m, x.key, x.st, x.rule, x.held, x.ctx, trig, ep, out)
		if b != nil && (x.hasFloor || x.hasCeiling) {
			b.add(x.rule, x.floor, x.ceiling, x.hasFloor, x.hasCeiling)
		}
	}
	return out
}

// goneAlerts removes from m the alerts this evaluation did not visit and
// returns them in fingerprint order.
func goneAlerts(m map[akey]*alertState, ep uint64) []*alertState {
	return removeSorted(m, func(_ akey, st *alertState) bool { return st.epoch != ep }, alertFP)
}

// reconcile resolves the alerts and withdraws the corrections of s whose
// keys this evaluation did not visit: their segment, channel or rule is
// gone.
func (e *Engine) reconcile(s *skuState, trig *trigger, ep uint64, out []event.Output) []event.Output {
	return e.vanish(s,
		removeSorted(s.alerts, func(_ akey, st *alertState) bool { return st.epoch != ep }, alertFP),
		removeSorted(s.corrections, func(_ akey, cs *corrState) bool { return cs.epoch != ep }, corrFP),
		trig, out)
}

// vanish resolves the firing alerts and withdraws the active corrections
// whose keys are gone, with the reason the trigger gives.
func (e *Engine) vanish(s *skuState, alerts []*alertState, corrs []*corrState, trig *trigger, out []event.Output) []event.Output {
	for _, st := range alerts {
		if st.firing {
			out = e.emitAlert(st, event.StateResolved, vanishReason(st.channel, st.promos, trig), nil, out)
		}
	}
	for _, cs := range corrs {
		if cs.active {
			at := maxTime(cs.segKey, e.wm)
			out = e.withdraw(cs, vanishReason(cs.channel, cs.promos, trig), e.effectiveAt(s, cs.channel, at), out)
		}
	}
	return out
}

// removeSorted removes from m the entries for which gone holds and returns
// them in fingerprint order, so outputs never depend on map order.
func removeSorted[V any](m map[akey]V, gone func(akey, V) bool, fp func(V) string) []V {
	var out []V
	for k, v := range m {
		if gone(k, v) {
			out = append(out, v)
			delete(m, k)
		}
	}
	slices.SortFunc(out, func(a, b V) int { return strings.Compare(fp(a), fp(b)) })
	return out
}

func alertFP(st *alertState) string { return st.fp }

func corrFP(cs *corrState) string { return cs.fp }

// effectiveAt is the effective price of one channel of s at instant t (at
// or after the watermark), NaN when the channel has no price then: what a
// withdrawn correction whose segment is gone falls back to.
func (e *Engine) effectiveAt(s *skuState, channel string, t time.Time) float64 {
	ch := s.channels[channel]
	if ch == nil {
		return math.NaN()
	}
	rec := ch.priceAt(t)
	if rec == nil {
		return math.NaN()
	}
	var active []*promoState
	for _, p := range e.covering(s) {
		if !p.ev.Start.After(t) && p.ev.End.After(t) && p.appliesTo(channel, rec.region) {
			active = append(active, p)
		}
	}
	return stack(e.policy(channel), rec.price, rec.currency, active, false).effective
}

// reconcileKeys resolves the alerts and withdraws the corrections of s
// whose (channel, segment) no longer exists, before the evaluation.
func (e *Engine) reconcileKeys(s *skuState, segs []segment, all [][]chanCtx, trig *trigger, out []event.Output) []event.Output {
	exists := func(k akey) bool {
		for i, seg := range segs {
			if segNum(seg.key) != k.seg {
				continue
			}
			for _, c := range all[i] {
				if c.name == k.channel {
					return true
				}
			}
		}
		return false
	}
	alerts := removeSorted(s.alerts, func(k akey, st *alertState) bool {
		if st.rule.Scope == rules.ScopeNow {
			// keyed without a segment: it lives as long as its channel
			// has a price at the watermark
			return !slices.ContainsFunc(all[0], func(c chanCtx) bool { return c.name == k.channel })
		}
		return !exists(akey{channel: k.channel, seg: k.seg})
	}, alertFP)
	corrs := removeSorted(s.corrections, func(k akey, _ *corrState) bool { return !exists(k) }, corrFP)
	return e.vanish(s, alerts, corrs, trig, out)
}

// vanishReason says why a key is gone.
func vanishReason(channel string, promos []string, trig *trigger) event.Reason {
	switch {
	case trig.delisted != "" && trig.delisted == channel:
		return event.ReasonDelisted
	case trig.cancelled != "" && slices.Contains(promos, trig.cancelled):
		return event.ReasonCancelled
	case trig.vanish == event.ReasonCancelled:
		return event.ReasonSuperseded
	}
	return trig.vanish
}

// closePromo resolves a promotion's promo-scope alerts and forgets it.
func (e *Engine) closePromo(p *promoState, reason event.Reason, out []event.Output) []event.Output {
	e.markPromo(p.ev.ID)
	e.unindexPromo(p)
	for _, st := range goneAlerts(p.alerts, 0) {
		if st.firing {
			out = e.emitAlert(st, event.StateResolved, reason, nil, out)
		}
	}
	p.timerAt = time.Time{}
	return out
}
