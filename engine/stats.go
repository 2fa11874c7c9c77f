package engine

import (
	"maps"

	"github.com/promoguard/promoguard/event"
	"github.com/promoguard/promoguard/rules"
)

// Stats counts what an Engine did.
type Stats struct {
	Events      int64 // events applied
	Late        int64 // events ignored as older than the state they would replace
	Timers      int64 // timer firings
	Evaluations int64 // rule evaluations
	// Reused counts the evaluations answered without running the rule: none
	// of the facts it reads had changed since it last ran on the context.
	Reused     int64
	RuleErrors int64 // runtime errors of rules
	// ByRule counts per rule id ("group/rule"): evaluations, errors, and
	// alert transitions.
	ByRule map[string]*RuleStats
	// Corrections counts correction records by state.
	Corrections map[event.State]int64
}

// RuleStats counts one rule's work.
type RuleStats struct {
	Evaluations int64
	Errors      int64
	Firing      int64 // firing records emitted (repeats included)
	Resolved    int64 // resolved records emitted
	Held        int64 // evaluations whose condition held
	Reused      int64 // evaluations answered from the last run on unchanged facts
	Nanos       int64 // time spent in the rule, when Options.RuleClock is set
}

// Stats returns a copy of the engine's counters.
func (e *Engine) Stats() Stats {
	s := e.stats
	s.ByRule = make(map[string]*RuleStats, len(e.stats.ByRule))
	for k, v := range e.stats.ByRule {
		c := *v
		s.ByRule[k] = &c
	}
	s.Corrections = maps.Clone(e.stats.Corrections)
	return s
}

// ruleStats returns the counters of rule r: a rule of the set by its index,
// a built-in by its id.
func (e *Engine) ruleStats(r *rules.Rule) *RuleStats {
	if r.Index >= 0 && r.Index < len(e.rs.Rules) && e.rs.Rules[r.Index] == r {
		return e.ruleStat[r.Index]
	}
	id := r.ID()
	rs := e.stats.ByRule[id]
	if rs == nil {
		rs = &RuleStats{}
		e.stats.ByRule[id] = rs
	}
	return rs
}

// ruleError counts a runtime error of rule r on context c and passes it to
// Options.OnRuleError.
func (e *Engine) ruleError(r *rules.Rule, c *alertCtx, err error) {
	e.stats.RuleErrors++
	e.ruleStats(r).Errors++
	if e.opt.OnRuleError != nil {
		e.opt.OnRuleError(RuleError{Rule: r, SKU: c.sku, Channel: c.channel, Promo: c.promo, Err: err})
	}
}
