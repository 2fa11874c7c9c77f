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
// rules on ac, and its now-scope rules on nc (the present segment only,
// else nil), into a list of results. A scope whose results the memo holds,
// all false, is counted without being looked at (settled). The list is the
// engine's scratch, good until the next context.
func (e *Engine) evalContext(s *skuState, ac, nc *alertCtx, trig *trigger) []result {
	res := e.scratchResults()
	if !e.settled(ac, trig, &e.calOn) {
		res = e.evalRules(res, e.calendar, s.alerts, ac, trig, true)
	}
	if nc != nil && !e.settled(nc, trig, &e.nowOn) {
		res = e.evalRules(res, e.now, s.alerts, nc, trig, true)
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
// taken from the memo — and appended to res; then the floors and ceilings
// of the rules whose alerts fire, when withBounds says the context takes
// them. The facts are built when the first rule needs them, once.
func (e *Engine) evalRules(res []result, rs []*rules.Rule, m map[akey]*alertState, c *alertCtx, trig *trigger, withBounds bool) []result {
	from := len(res)
	seg := segNum(c.segKey)
	valid, held := c.memo.recall()
	var evaluated, nowHeld, failed uint64
	var env any
	for _, r := range rs {
		// rs are rules of the engine's set: Index is their place in it
		k := akey{rule: e.ruleIDs[r.Index], channel: c.channel, seg: seg}
		var st *alertState
		if !c.noAlerts {
			st = m[k]
		}
		if st == nil && !admits(trig, r) {
			continue
		}
		rstat := e.ruleStat[r.Index]
		rstat.Evaluations++
		e.stats.Evaluations++
		x := result{rule: r, ctx: c, key: k, st: st}
		bit := uint64(1) << r.Index // 0 beyond memoRules, where the memo is off
		switch {
		case valid&bit != 0:
			x.held = held&bit != 0
			rstat.Reused++
			e.stats.Reused++
		default:
			if env == nil {
				env = e.envOf(c)
			}
			t0 := e.clock()
			ok, err := e.cond(r, c, env)
			rstat.Nanos += e.clock() - t0
			if err != nil {
				e.ruleError(r, c, err)
				x.failed = true
				failed |= bit
				break
			}
			x.held = ok
			evaluated |= bit
			if ok {
				nowHeld |= bit
			}
		}
		if x.held {
			rstat.Held++
		}
		res = append(res, x)
	}
	c.memo.remember(evaluated, nowHeld, failed)
	if !withBounds {
		return res
	}
	for i := from; i < len(res); i++ {
		x := &res[i]
		r := x.rule
		if !x.held || (r.Floor == nil && r.Ceiling == nil) || !firesAfter(x.st, r, e.wm) {
			continue
		}
		if mb, ok := c.memo.bound(uint64(1)<<r.Index, r.Index); ok {
			x.floor, x.ceiling, x.hasFloor, x.hasCeiling = mb.lo, mb.hi, mb.hasLo, mb.hasHi
			continue
		}
		if env == nil {
			env = e.envOf(c)
		}
		t0 := e.clock()
		e.bounds(x, env)
		e.ruleStat[r.Index].Nanos += e.clock() - t0
	}
	return res
}

// admits reports whether a trigger lets rule r start an alert: its `on`
// meets the trigger's event, or a reload added or changed it. A key with an
// alert is looked at whatever the trigger.
func admits(trig *trigger, r *rules.Rule) bool {
	return trig.on&r.On != 0 || (trig.fresh != nil && r.Index >= 0 && r.Index < len(trig.fresh) && trig.fresh[r.Index])
}

// clock reads Options.RuleClock; without one it is always 0, so that the
// rules' Nanos stay 0.
func (e *Engine) clock() int64 {
	if e.opt.RuleClock == nil {
		return 0
	}
	return e.opt.RuleClock()
}

// bounds evaluates the floor and ceiling of x's rule on its context's facts
// env, and memoizes them unless one failed: an error is not remembered, so
// that it is counted each time.
func (e *Engine) bounds(x *result, env any) {
	r, c := x.rule, x.ctx
	failed := false
	if r.Floor != nil {
		if v, err := e.bound(r, r.Floor, c, env); err != nil {
			e.ruleError(r, c, err)
			failed = true
		} else {
			x.floor, x.hasFloor = v, true
		}
	}
	if r.Ceiling != nil {
		if v, err := e.bound(r, r.Ceiling, c, env); err != nil {
			e.ruleError(r, c, err)
			failed = true
		} else {
			x.ceiling, x.hasCeiling = v, true
		}
	}
	if !failed {
		c.memo.keepBound(uint64(1)<<r.Index, memoBound{rule: r.Index, lo: x.floor, hi: x.ceiling, hasLo: x.hasFloor, hasHi: x.hasCeiling})
	}
}

// cond evaluates r's condition on c, whose facts are env.
func (e *Engine) cond(r *rules.Rule, c *alertCtx, env any) (bool, error) {
	if ev := e.opt.Evaluator; ev != nil {
		v, err := ev.Eval(r, r.If, e.factsOf(c), c.ctxID)
		b, _ := v.(bool)
		return b, err
	}
	return r.If.Bool(e.vm, env)
}

// bound evaluates r's floor or ceiling x on c, whose facts are env.
func (e *Engine) bound(r *rules.Rule, x *rules.Expr, c *alertCtx, env any) (float64, error) {
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
	return x.Float(e.vm, env)
}

type boundError struct {
	x *rules.Expr
	v any
}

func (b *boundError) Error() string {
	return fmt.Sprintf("%s: bound is %v", b.x.Pos, b.v)
}
