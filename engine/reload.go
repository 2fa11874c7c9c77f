package engine

import (
	"maps"
	"reflect"
	"slices"

	"github.com/promoguard/promoguard/event"
	"github.com/promoguard/promoguard/rules"
)

// Reload swaps the rule set atomically — no event is evaluated by a mix of
// old and new rules — resolves the alerts of removed rules and re-evaluates
// every key.
func (e *Engine) Reload(rs *rules.RuleSet, out []event.Output) []event.Output {
	byID := make(map[string]*rules.Rule, len(rs.Rules))
	for _, r := range rs.Rules {
		byID[r.ID()] = r
	}
	// a rule the reload added or changed is new to every context, so it
	// looks at each whatever its `on`; an unchanged rule keeps its `on`, so
	// a reload of the same files changes no output
	fresh := make([]bool, len(rs.Rules))
	for i, r := range rs.Rules {
		old := e.ruleByID[r.ID()]
		fresh[i] = old == nil || !sameRule(old, r)
	}
	e.setRules(rs)
	fix := func(m map[akey]*alertState) {
		removed := removeSorted(m, func(_ akey, st *alertState) bool {
			if st.rule.Index < 0 {
				return false // built-in
			}
			if nr := byID[st.rule.ID()]; nr != nil && nr.Scope == st.rule.Scope {
				st.rule = nr
				return false
			}
			return true
		}, alertFP)
		for _, st := range removed {
			if st.firing {
				out = e.emitAlert(st, event.StateResolved, event.ReasonRuleRemoved, nil, out)
			}
		}
	}
	for _, id := range sortedKeys(e.skus) {
		fix(e.skus[id].alerts)
	}
	for _, id := range sortedKeys(e.promos) {
		fix(e.promos[id].alerts)
	}
	return e.reevaluate(fresh, out)
}

// reevaluate evaluates every sku and promotion after the rule set changed;
// fresh marks the rules that are new or changed.
func (e *Engine) reevaluate(fresh []bool, out []event.Output) []event.Output {
	trig := trigger{typ: "reload", ts: e.wm, vanish: event.ReasonSuperseded, fresh: fresh}
	for _, id := range sortedKeys(e.skus) {
		out = e.evalSKU(e.skus[id], trig, out)
	}
	for _, id := range sortedKeys(e.promos) {
		out = e.evalPromo(e.promos[id], trig, out)
	}
	return out
}

// sameRule reports whether two loads of a rule behave alike: the same
// expressions, scope, event types, timing, severity, labels, and the same
// vars and tables of its group (a table edited in its CSV file changes the
// rule without changing its text).
func sameRule(a, b *rules.Rule) bool {
	src := func(e *rules.Expr) string {
		if e == nil {
			return ""
		}
		return e.Source
	}
	msg := func(t *rules.Template) string {
		if t == nil {
			return ""
		}
		return t.Source
	}
	return src(a.If) == src(b.If) && src(a.Floor) == src(b.Floor) && src(a.Ceiling) == src(b.Ceiling) &&
		msg(a.Message) == msg(b.Message) && a.Scope == b.Scope && a.On == b.On && a.For == b.For &&
		a.Repeat == b.Repeat && a.Severity == b.Severity && maps.Equal(a.Labels, b.Labels) &&
		reflect.DeepEqual(a.Group.Vars, b.Group.Vars) && reflect.DeepEqual(a.Group.Tables, b.Group.Tables)
}

func sortedKeys[V any](m map[string]V) []string {
	ks := make([]string, 0, len(m))
	for k := range m {
		ks = append(ks, k)
	}
	slices.Sort(ks)
	return ks
}

func (e *Engine) setRules(rs *rules.RuleSet) {
	e.rs = rs
	e.calendar = rs.ByScope(rules.ScopeCalendar)
	e.now = rs.ByScope(rules.ScopeNow)
	e.promoRules = rs.ByScope(rules.ScopePromo)
	e.readsHistory = false
	e.reads = 0
	e.ruleIDs = make([]string, len(rs.Rules))
	e.ruleByID = make(map[string]*rules.Rule, len(rs.Rules))
	e.ruleStat = make([]*RuleStats, len(rs.Rules))
	for i, r := range rs.Rules {
		if r.Reads.Has(rules.Fact("history").Bit) {
			e.readsHistory = true
		}
		e.reads |= r.Reads
		id := r.ID()
		if e.stats.ByRule[id] == nil {
			e.stats.ByRule[id] = &RuleStats{}
		}
		e.ruleIDs[i], e.ruleStat[i] = id, e.stats.ByRule[id]
		e.ruleByID[id] = r
	}
	for _, r := range BuiltinRules() {
		if e.stats.ByRule[r.ID()] == nil {
			e.stats.ByRule[r.ID()] = &RuleStats{}
		}
	}
	e.setMemoRules()
}
