package engine

import (
	"fmt"
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

// clearReason says why a condition stopped holding.
func clearReason(promos []string, trig *trigger) event.Reason {
	if trig.cancelled != "" && slices.Contains(promos, trig.cancelled) {
		return event.ReasonCancelled
	}
	return event.ReasonCleared
}
