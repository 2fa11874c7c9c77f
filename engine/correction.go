package engine

import (
	"fmt"
	"math"
	"slices"
	"time"

	"github.com/promoguard/promoguard/event"
	"github.com/promoguard/promoguard/rules"
)

// bounds collects the floors and ceilings of the fired rules of one
// (sku, channel, segment).
type bounds struct {
	floor, ceiling     float64 // NaN: none
	floorBy, ceilingBy *rules.Rule
	rules              []*rules.Rule
}

// newBounds starts empty bounds whose rule list reuses buf.
func newBounds(buf []*rules.Rule) bounds {
	return bounds{floor: math.NaN(), ceiling: math.NaN(), rules: buf}
}

func (b *bounds) add(r *rules.Rule, floor, ceiling float64, hasFloor, hasCeiling bool) {
	if hasFloor && (math.IsNaN(b.floor) || floor > b.floor) {
		b.floor, b.floorBy = floor, r
	}
	if hasCeiling && (math.IsNaN(b.ceiling) || ceiling < b.ceiling) {
		b.ceiling, b.ceilingBy = ceiling, r
	}
	if hasFloor || hasCeiling {
		b.rules = append(b.rules, r)
	}
}

// corrState is one correction key: the last corrected price emitted.
type corrState struct {
	fp      string
	channel string
	segKey  time.Time
	active  bool
	price   float64
	promos  []string
	rng     span // its segment as last seen
	last    *event.Correction
	epoch   uint64
}

// correct computes the corrected price of one (sku, channel, segment) from
// the bounds its fired rules set, and emits a correction when it changes.
func (e *Engine) correct(s *skuState, c *chanCtx, ac *alertCtx, b *bounds, trig *trigger, ep uint64, out []event.Output) []event.Output {
	ck := akey{channel: c.name, seg: segNum(ac.segKey)}
	var cs *corrState
	if len(s.corrections) > 0 {
		cs = s.corrections[ck]
	}
	eff := c.res.effective
	hasFloor, hasCeiling := !math.IsNaN(b.floor), !math.IsNaN(b.ceiling)
	scale, incr := e.minorUnit(c.rec.currency)
	half := math.Pow10(-scale) / 2
	// the bounds cannot all hold when they cross, or when no price on the
	// currency's grid lies between them (a floor of 10.001 and a ceiling
	// of 10.004 in EUR)
	crossed := hasFloor && hasCeiling && b.floor > b.ceiling+rules.Tolerance
	unsat := crossed || hasFloor && hasCeiling && roundMoney(b.floor, scale, incr, +1) > roundMoney(b.ceiling, scale, incr, -1)+half

	// the built-in unsatisfiable alert
	uk := akey{rule: "promoguard/unsatisfiable", channel: c.name, seg: segNum(ac.segKey)}
	var ust *alertState
	if !ac.noAlerts {
		ust = s.alerts[uk]
	}
	if st := ust; st != nil || unsat {
		uc := *ac
		if unsat {
			why := "is above"
			if !crossed {
				why = "leaves no price in " + cmpOr(c.rec.currency, "cents") + " below"
			}
			uc.message = fmt.Sprintf("%s on %s: floor %s (%s) %s ceiling %s (%s); correcting to the floor",
				s.id, c.name, rules.FormatValue(b.floor), b.floorBy.ID(), why, rules.FormatValue(b.ceiling), b.ceilingBy.ID())
			uc.values = map[string]any{"floor": tidy(b.floor), "ceiling": tidy(b.ceiling), "floor_by": b.floorBy.ID(), "ceiling_by": b.ceilingBy.ID()}
		}
		out = e.transition(s.alerts, uk, st, ruleUnsatisfiable, unsat, &uc, trig, ep, out)
	}

	if len(b.rules) == 0 || math.IsNaN(eff) {
		if cs != nil {
			if cs.active {
				out = e.withdraw(cs, e.withdrawReason(cs, trig), eff, out)
			}
			delete(s.corrections, ck)
		}
		return out
	}
	var target float64
	var by *rules.Rule
	switch {
	case unsat:
		target, by = roundMoney(b.floor, scale, incr, +1), b.floorBy
	case hasFloor && eff < b.floor-rules.Tolerance:
		target, by = roundMoney(b.floor, scale, incr, +1), b.floorBy
		target = e.withEnding(target, c.rec.price, scale, +1, b)
	case hasCeiling && eff > b.ceiling+rules.Tolerance:
		target, by = roundMoney(b.ceiling, scale, incr, -1), b.ceilingBy
		target = e.withEnding(target, c.rec.price, scale, -1, b)
		// a price never goes below 0, whatever a ceiling says
		target = math.Max(target, 0)
	default:
		target = eff
	}
	if cs == nil {
		fp := fingerprint(builtinGroup.Name, "correction", s.id, c.name, instant(ac.segKey), "")
		cs = &corrState{fp: fp, channel: c.name, segKey: ac.segKey}
		s.corrections[ck] = cs
	}
	cs.epoch = ep
	cs.rng = ac.rng
	if by == nil || math.Abs(target-eff) < half {
		// the bounds hold already
		if cs.active {
			out = e.withdraw(cs, e.withdrawReason(cs, trig), eff, out)
		}
		delete(s.corrections, ck)
		return out
	}
	cs.promos = promoIDs(cs.promos[:0], c.res.active)
	if cs.active && math.Abs(target-cs.price) < half {
		return out
	}
	ids := make([]string, 0, len(b.rules))
	slices.SortFunc(b.rules, func(x, y *rules.Rule) int { return x.Index - y.Index })
	for _, r := range b.rules {
		ids = append(ids, r.ID())
	}
	w := e.wm
	rec := &event.Correction{
		ID: e.id(event.KindCorrection, cs.fp, event.StateActive), Fingerprint: cs.fp,
		State: event.StateActive, SKU: s.id, Channel: c.name, Watermark: w, At: ac.at, Segment: ac.rng.toRange(),
		Currency: c.rec.currency, EffectivePrice: event.Number(tidy(eff)), CorrectedPrice: event.Number(target),
		Floor: event.Number(tidy(b.floor)), Ceiling: event.Number(tidy(b.ceiling)), BoundBy: by.ID(), Rules: ids, RulesVersion: e.rs.Version,
	}
	cs.active, cs.price, cs.last = true, target, rec
	e.stats.Corrections[event.StateActive]++
	return append(out, event.Output{Correction: rec})
}

// withdrawReason says why a correction whose key still exists is
// withdrawn: a rule that bound it was removed by a reload, a promotion of
// its context was cancelled, or the bounds hold again.
func (e *Engine) withdrawReason(cs *corrState, trig *trigger) event.Reason {
	if trig.typ == "reload" && cs.last != nil {
		for _, id := range cs.last.Rules {
			if e.ruleByID[id] == nil {
				return event.ReasonRuleRemoved
			}
		}
	}
	return clearReason(cs.promos, trig)
}

// withdraw emits the withdrawal of an active correction.
func (e *Engine) withdraw(cs *corrState, reason event.Reason, eff float64, out []event.Output) []event.Output {
	w := e.wm
	rec := *cs.last
	rec.State, rec.Reason = event.StateWithdrawn, reason
	rec.ID = e.id(event.KindCorrection, cs.fp, event.StateWithdrawn)
	rec.Watermark = w
	rec.At = maxTime(cs.segKey, w)
	rec.Segment = endedRange(cs.rng, reason, w)
	rec.CorrectedPrice = event.Number(math.NaN())
	rec.EffectivePrice = event.Number(tidy(eff))
	rec.RulesVersion = e.rs.Version
	cs.active = false
	e.stats.Corrections[event.StateWithdrawn]++
	return append(out, event.Output{Correction: &rec})
}

// withEnding moves a corrected price to the channel's price ending (the
// cents of its regular price, such as .99) in the direction the bound
// moved it, if that stays within the bounds.
func (e *Engine) withEnding(target, regular float64, scale, dir int, b *bounds) float64 {
	if scale == 0 || math.IsNaN(regular) {
		return target
	}
	unit := math.Pow10(-scale)
	ending := math.Round((regular-math.Floor(regular))/unit) * unit
	if ending < unit/2 || ending > 1-unit/2 {
		return target
	}
	y := rules.PriceEnding(target, ending)
	if dir > 0 && y < target-rules.Tolerance {
		y++
	}
	if math.IsNaN(y) || (!math.IsNaN(b.floor) && y < b.floor-rules.Tolerance) || (!math.IsNaN(b.ceiling) && y > b.ceiling+rules.Tolerance) {
		return target
	}
	return roundMoney(y, scale, 1, 0)
}
