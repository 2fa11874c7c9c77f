package engine

import (
	"fmt"
	"math"
	"slices"
	"strings"
	"time"

	"github.com/promoguard/promoguard/event"

	"github.com/promoguard/promoguard/rules"
)

// alertState is one alert key's place in the lifecycle: pending (condition
// true, `for` not yet elapsed) or firing.
type alertState struct {
	rule        *rules.Rule
	fp          string
	channel     string
	segKey      time.Time
	atFrom      time.Time // start of its segment or promotion: at = max(atFrom, watermark)
	rng         span      // its segment as last seen
	activeSince time.Time // watermark when the condition was first seen true
	firing      bool
	lastSent    time.Time    // watermark of the last firing record
	promos      []string     // the active promotions of its context
	last        *event.Alert // the last record emitted
	epoch       uint64       // the evaluation that last visited it
}

// due is when the alert must be looked at again without an event: its
// `for` elapsing, or its `repeat`.
func (st *alertState) due() time.Time {
	switch {
	case !st.firing && st.rule.For > 0:
		return st.activeSince.Add(st.rule.For)
	case st.firing && st.rule.Repeat > 0:
		return st.lastSent.Add(st.rule.Repeat)
	}
	return time.Time{}
}

// The built-in alerts, in their own group.
var (
	builtinGroup = &rules.Group{Name: rules.ReservedGroup, Description: "built-in checks"}
	// currency_mismatch: an amount or fixed-price promotion in another
	// currency than the channel's price is not applied.
	ruleCurrencyMismatch = &rules.Rule{Group: builtinGroup, Name: "currency_mismatch", Index: -1,
		Severity: rules.SeverityWarning, On: rules.AllEvents}
	// unsatisfiable: the fired rules' floors and ceilings cannot all hold.
	ruleUnsatisfiable = &rules.Rule{Group: builtinGroup, Name: "unsatisfiable", Index: -2,
		Severity: rules.SeverityCritical, On: rules.AllEvents}
)

// BuiltinRules lists the built-in checks: their alerts belong to group
// "promoguard". They are not part of any rule set and cannot be disabled.
func BuiltinRules() []*rules.Rule {
	return []*rules.Rule{ruleCurrencyMismatch, ruleUnsatisfiable}
}

// transition moves an alert key along the lifecycle given its condition.
func (e *Engine) transition(m map[akey]*alertState, k akey, st *alertState, r *rules.Rule, cond bool, c *alertCtx, trig *trigger, ep uint64, out []event.Output) []event.Output {
	w := e.wm
	if !cond {
		if st != nil {
			if st.firing {
				out = e.emitAlert(st, event.StateResolved, clearReason(st.promos, trig), c, out)
			}
			delete(m, k)
		}
		return out
	}
	if st == nil {
		fp := fingerprint(r.Group.Name, r.Name, c.sku, c.channel, instant(c.segKey), c.promo)
		st = &alertState{rule: r, fp: fp, channel: c.channel, segKey: c.segKey, activeSince: w}
		m[k] = st
	}
	st.epoch = ep
	st.promos = promoIDs(st.promos[:0], c.active)
	st.rng = c.rng
	st.atFrom = c.rng.start
	switch {
	case !st.firing && firesAfter(st, r, w):
		st.firing = true
		st.lastSent = w
		st.last = e.alertRecord(st, c)
		out = e.emitAlert(st, event.StateFiring, "", c, out)
	case st.firing && r.Repeat > 0 && w.Sub(st.lastSent) >= r.Repeat:
		st.lastSent = w
		st.last = e.alertRecord(st, c)
		out = e.emitAlert(st, event.StateFiring, "", c, out)
	}
	return out
}

// firesAfter reports whether the alert of a rule whose condition holds at
// watermark w fires once moved along: it fires already, or its `for` has
// elapsed (a new alert is active from w). Phase 1 evaluates bounds only
// then.
func firesAfter(st *alertState, r *rules.Rule, w time.Time) bool {
	if st == nil {
		return r.For <= 0
	}
	return st.firing || w.Sub(st.activeSince) >= r.For
}

// settleContext is phase 2 on one (sku, channel, segment): it moves the
// alerts of the results along their lifecycle, runs the built-in checks,
// and corrects the price from the bounds of the firing rules.
func (e *Engine) settleContext(s *skuState, c *chanCtx, seg segment, ac *alertCtx, res []result, trig *trigger, ep uint64, out []event.Output) []event.Output {
	b := newBounds(e.boundRules[:0])
	out = e.settleRules(s.alerts, res, &b, trig, ep, out)
	out = e.checkCurrency(s, c, ac, trig, ep, out)
	out = e.correct(s, c, seg, ac, &b, trig, ep, out)
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

func promoIDs(dst []string, ps []*promoState) []string {
	for _, p := range ps {
		dst = append(dst, p.ev.ID)
	}
	return dst
}

// alertRecord renders a firing alert: message, labels, the values its
// condition read, the promotions and partners involved.
func (e *Engine) alertRecord(st *alertState, c *alertCtx) *event.Alert {
	r := st.rule
	a := &event.Alert{
		Fingerprint: st.fp, Rule: r.Name, Group: r.Group.Name, Severity: r.Severity.String(),
		SKU: c.sku, Channel: c.channel, Promo: c.promo, Segment: c.rng.toRange(),
		Promos: []string{}, Partners: []string{}, Labels: r.Labels,
	}
	for _, p := range c.active {
		a.Promos = append(a.Promos, p.ev.ID)
		a.Partners = append(a.Partners, p.ev.Partner)
	}
	slices.Sort(a.Partners)
	a.Partners = slices.Compact(a.Partners)
	switch {
	case c.message != "" || r.If == nil:
		a.Message, a.Values = c.message, c.values
	default:
		env := e.envOf(c)
		if f, ok := env.(rules.Facts); ok {
			a.Values = values(&f, r.If.Paths)
		}
		if r.Message != nil {
			msg, err := r.Message.Render(e.vm, env)
			if err != nil {
				e.ruleError(r, c, err)
			}
			a.Message = msg
		} else {
			a.Message = defaultMessage(r, c)
		}
	}
	return a
}

func defaultMessage(r *rules.Rule, c *alertCtx) string {
	switch {
	case c.promo != "":
		return fmt.Sprintf("%s: promotion %s", r.ID(), c.promo)
	default:
		return fmt.Sprintf("%s: %s on %s", r.ID(), c.sku, c.channel)
	}
}

// emitAlert appends a transition record of st: its last firing record with
// the new state, reason, instant and id.
func (e *Engine) emitAlert(st *alertState, state event.State, reason event.Reason, c *alertCtx, out []event.Output) []event.Output {
	w := e.wm
	a := *st.last
	a.State, a.Reason = state, reason
	a.ID = e.id(event.KindAlert, st.fp, state)
	a.Watermark = w
	a.At = maxTime(st.atFrom, w)
	a.Segment = endedRange(st.rng, reason, w)
	if c != nil {
		a.At = c.at
	}
	a.RulesVersion = e.rs.Version
	rs := e.ruleStats(st.rule)
	if state == event.StateFiring {
		rs.Firing++
	} else {
		rs.Resolved++
	}
	return append(out, event.Output{Alert: &a})
}

// checkCurrency runs the built-in currency_mismatch check on a context.
func (e *Engine) checkCurrency(s *skuState, c *chanCtx, ac *alertCtx, trig *trigger, ep uint64, out []event.Output) []event.Output {
	r := ruleCurrencyMismatch
	k := akey{rule: "promoguard/currency_mismatch", channel: c.name, seg: segNum(ac.segKey)}
	var st *alertState
	if !ac.noAlerts {
		st = s.alerts[k]
	}
	mis := c.res.mismatch
	if st == nil && len(mis) == 0 {
		return out
	}
	bc := *ac
	if len(mis) > 0 {
		bc.active = mis
		ids := make([]string, 0, len(mis))
		curs := make([]string, 0, len(mis))
		for _, p := range mis {
			ids = append(ids, p.ev.ID)
			curs = append(curs, p.ev.Currency)
		}
		bc.message = fmt.Sprintf("%s on %s: %s in %s not applied to a price in %s",
			s.id, c.name, strings.Join(ids, ", "), strings.Join(curs, ", "), cmpOr(c.rec.currency, "an unknown currency"))
		bc.values = map[string]any{"currency": c.rec.currency, "promos": ids, "promo_currencies": curs}
	}
	return e.transition(s.alerts, k, st, r, len(mis) > 0, &bc, trig, ep, out)
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
func (e *Engine) correct(s *skuState, c *chanCtx, seg segment, ac *alertCtx, b *bounds, trig *trigger, ep uint64, out []event.Output) []event.Output {
	ck := akey{channel: c.name, seg: segNum(seg.key)}
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
	uk := akey{rule: "promoguard/unsatisfiable", channel: c.name, seg: segNum(seg.key)}
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
		fp := fingerprint(builtinGroup.Name, "correction", s.id, c.name, instant(seg.key), "")
		cs = &corrState{fp: fp, channel: c.name, segKey: seg.key}
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
		State: event.StateActive, SKU: s.id, Channel: c.name, Watermark: w, At: maxTime(seg.start, w), Segment: ac.rng.toRange(),
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

// endedRange is the segment a record shows: as last seen, and for a key that
// ended, ending at the watermark that ended it (a split may have moved its
// end since it was last emitted).
func endedRange(s span, reason event.Reason, w time.Time) *event.Range {
	if !s.none && reason == event.ReasonEnded && (s.end.IsZero() || s.end.After(w)) {
		s.end = w
	}
	return s.toRange()
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
