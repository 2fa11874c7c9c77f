package engine

import (
	"fmt"
	"math"

	"github.com/promoguard/promoguard/rules"
)

// result is one rule's evaluation on one context. Phase 1 of an evaluation
// (evalRules) lists them; phase 2 (settleContext) moves the alert and
// correction lifecycles over the list.
type result struct {
	rule *rules.Rule
	ctx  *alertCtx
	key  akey
	st   *alertState // the key's alert as phase 1 found it; nil if none
	held bool        // the condition held
	// failed says the condition failed to evaluate: the alert stays as it
	// was
	failed bool
	// the floor and ceiling, evaluated only for a rule whose alert fires
	// (bounds act only then); has* says which evaluated
	floor, ceiling       float64
	hasFloor, hasCeiling bool
}

// evalContext is phase 1 on one (sku, channel, segment): its calendar
// rules, and in the present segment its now-scope rules (keyed and shown
// without a segment), into a list of results. A scope whose results the
// memo holds, all false, is counted without being looked at (settled). The
// list is the engine's scratch, good until the next context.
func (e *Engine) evalContext(s *skuState, c *chanCtx, seg segment, ac *alertCtx, present bool, trig *trigger) []result {
	res := e.scratchResults()
	if !e.settled(ac, trig, &e.calOn) {
		res = e.evalRules(res, e.calendar, s.alerts, ac, trig, true)
	}
	if present && len(e.now) > 0 {
		nc := e.nowCtx(ac, c, seg)
		if !e.settled(nc, trig, &e.nowOn) {
			res = e.evalRules(res, e.now, s.alerts, nc, trig, true)
		}
	}
	e.results = res
	return res
}

// scratchResults is the engine's list of results, emptied: the results of
// the last context are dropped, so they keep nothing alive.
func (e *Engine) scratchResults() []result {
	clear(e.results)
	return e.results[:0]
}

// evalRules is phase 1 for rules rs on context c: each rule the trigger
// admits, or whose key has an alert in m, is evaluated — or its result
// taken from the memo — and appended to res. withBounds says the context
// takes floors and ceilings.
func (e *Engine) evalRules(res []result, rs []*rules.Rule, m map[akey]*alertState, c *alertCtx, trig *trigger, withBounds bool) []result {
	seg := segNum(c.segKey)
	for _, r := range rs {
		k := akey{rule: e.ruleID(r), channel: c.channel, seg: seg}
		var st *alertState
		if !c.noAlerts {
			st = m[k]
		}
		if st == nil && trig.on&r.On == 0 && !trig.isFresh(r) {
			continue
		}
		rstat := e.ruleStats(r)
		rstat.Evaluations++
		e.stats.Evaluations++
		x := result{rule: r, ctx: c, key: k, st: st}
		if e.opt.RuleClock == nil {
			e.evalRule(&x, rstat, withBounds)
		} else {
			t0 := e.opt.RuleClock()
			e.evalRule(&x, rstat, withBounds)
			rstat.Nanos += e.opt.RuleClock() - t0
		}
		res = append(res, x)
	}
	return res
}

// evalRule evaluates one rule into x: its condition, and its floor and
// ceiling when its alert fires, each from the memo when the facts it reads
// have not changed.
func (e *Engine) evalRule(x *result, rstat *RuleStats, withBounds bool) {
	r, c := x.rule, x.ctx
	mc := c.memo
	bit := e.memoBit(mc, r)
	if held, ok := mc.result(bit); ok {
		x.held = held
		rstat.Reused++
		e.stats.Reused++
	} else {
		held, err := e.cond(r, c)
		if err != nil {
			e.ruleError(r, c, err)
			x.failed = true
			mc.forget(bit)
			return
		}
		x.held = held
		mc.keep(bit, held)
	}
	if !x.held {
		return
	}
	rstat.Held++
	if !withBounds || (r.Floor == nil && r.Ceiling == nil) || !firesAfter(x.st, r, e.wm) {
		return
	}
	if mb, ok := mc.bound(bit, r.Index); ok {
		x.floor, x.ceiling, x.hasFloor, x.hasCeiling = mb.lo, mb.hi, mb.hasLo, mb.hasHi
		return
	}
	failed := false
	if r.Floor != nil {
		if v, err := e.bound(r, r.Floor, c); err != nil {
			e.ruleError(r, c, err)
			failed = true
		} else {
			x.floor, x.hasFloor = v, true
		}
	}
	if r.Ceiling != nil {
		if v, err := e.bound(r, r.Ceiling, c); err != nil {
			e.ruleError(r, c, err)
			failed = true
		} else {
			x.ceiling, x.hasCeiling = v, true
		}
	}
	if !failed {
		// an error is not remembered: it is counted each time
		mc.keepBound(bit, memoBound{rule: r.Index, lo: x.floor, hi: x.ceiling, hasLo: x.hasFloor, hasHi: x.hasCeiling})
	}
}

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

// ruleID is r.ID() without building the string on every evaluation.
func (e *Engine) ruleID(r *rules.Rule) string {
	if r.Index >= 0 && r.Index < len(e.rs.Rules) && e.rs.Rules[r.Index] == r {
		return e.ruleIDs[r.Index]
	}
	return r.ID()
}

func (e *Engine) ruleError(r *rules.Rule, c *alertCtx, err error) {
	e.stats.RuleErrors++
	e.ruleStats(r).Errors++
	if e.opt.OnRuleError != nil {
		e.opt.OnRuleError(RuleError{Rule: r, SKU: c.sku, Channel: c.channel, Promo: c.promo, Err: err})
	}
}

// cond evaluates r's condition on c.
func (e *Engine) cond(r *rules.Rule, c *alertCtx) (bool, error) {
	if ev := e.opt.Evaluator; ev != nil {
		v, err := ev.Eval(r, r.If, e.factsOf(c), c.ctxID)
		b, _ := v.(bool)
		return b, err
	}
	return r.If.Bool(e.vm, e.envOf(c))
}

// bound evaluates r's floor or ceiling x on c.
func (e *Engine) bound(r *rules.Rule, x *rules.Expr, c *alertCtx) (float64, error) {
	if ev := e.opt.Evaluator; ev != nil {
		v, err := ev.Eval(r, x, e.factsOf(c), c.ctxID)
		if err != nil {
			return math.NaN(), err
		}
		f, ok := v.(float64)
		if !ok || math.IsNaN(f) || math.IsInf(f, 0) {
			return math.NaN(), &boundError{x: x, v: v}
		}
		return f, nil
	}
	return x.Float(e.vm, e.envOf(c))
}

type boundError struct {
	x *rules.Expr
	v any
}

func (b *boundError) Error() string {
	return fmt.Sprintf("%s: bound is %v", b.x.Pos, b.v)
}
