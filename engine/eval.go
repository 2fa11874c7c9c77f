package engine

import (
	"container/heap"
	"maps"
	"math"
	"reflect"
	"slices"
	"strings"
	"time"

	"github.com/promoguard/promoguard/event"

	"github.com/promoguard/promoguard/rules"
)

var (
	factStock    = rules.Fact("stock").Bit
	factHistory  = rules.Fact("history").Bit
	factOverlaps = rules.Fact("overlaps").Bit
	factChannels = rules.Fact("channels").Bit
)

// segment is one calendar range of a sku: nothing that feeds a fact changes
// within it.
type segment struct {
	key   time.Time // the boundary that started it; zero for a present segment nothing started
	start time.Time // the instant its facts are computed at: the watermark for the present one
	end   time.Time // zero: nothing changes within the horizon
}

// chanCtx is one channel of a sku in one segment.
type chanCtx struct {
	name string
	ch   *channelState
	rec  *priceRec
	res  stackResult
	// the memo (memo.go): the context's, whether it is new, what changed
	// since it was written, and the facts that may differ for calendar and
	// now-scope rules
	memo                             *ctxMemo
	fresh, recChanged, activeChanged bool
	dirty, dirtyNow                  rules.FactSet
	hist                             *rules.History // the channel's history facts, computed once
}

// span is a segment as outputs show it, kept as values so that building a
// context allocates nothing: a zero start or end is null. none marks a
// context shown without a segment (now scope).
type span struct {
	start, end time.Time
	none       bool
}

func segSpan(seg segment) span { return span{start: seg.key, end: seg.end} }

// toRange is the span as an output's segment.
func (s span) toRange() *event.Range {
	if s.none {
		return nil
	}
	r := &event.Range{}
	if !s.start.IsZero() {
		t := s.start
		r.Start = &t
	}
	if !s.end.IsZero() {
		t := s.end
		r.End = &t
	}
	return r
}

// alertCtx is what an alert transition needs to know of its context.
type alertCtx struct {
	sku, channel, promo string
	segKey              time.Time // identity; zero in now and promo scope
	rng                 span      // the segment shown in outputs
	at                  time.Time
	active              []*promoState
	env                 any // a boxed rules.Facts, shared by every rule of the context
	// built-in alerts give their message and values here
	message string
	values  map[string]any
	// lazy builds env when a rule first needs it (envOf); ctxID identifies
	// env for an Evaluator
	lazy  *lazyEnv
	ctxID uint64
	fp    *rules.Facts // env unboxed, for an Evaluator where lazy has none
	// the context's memo and the facts changed since it was written; nil
	// where results are not memoized
	memo  *ctxMemo
	dirty rules.FactSet
	// noAlerts says the context has no alert key yet, so rules need not
	// look theirs up
	noAlerts bool
}

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

// segments splits the time from the watermark to the horizon at every
// boundary of the sku: a promotion covering it starting or ending, a
// scheduled price of any of its channels taking effect. It also returns
// the first boundary ahead and when the first boundary beyond the horizon
// enters it.
func (e *Engine) segments(s *skuState, promos []*promoState) (segs []segment, nextBoundary, nextEntry time.Time) {
	w := e.wm
	limit := w.Add(e.opt.Horizon)
	bs := e.bsBuf[:0]
	defer func() { e.bsBuf = bs[:0] }()
	key := s.lastCrossed
	consider := func(b time.Time) {
		// a boundary at or before the watermark that no timer crossed (a
		// promotion registered after its start, a price effective at
		// once) starts nothing: the present segment keeps its key
		switch {
		case !b.After(w):
		case !b.After(limit):
			bs = append(bs, b)
		default:
			nextEntry = earliest(nextEntry, b.Add(-e.opt.Horizon))
		}
	}
	for _, p := range promos {
		consider(p.ev.Start)
		consider(p.ev.End)
	}
	for _, name := range s.names {
		ch := s.channels[name]
		for _, r := range ch.sched {
			consider(r.validFrom)
		}
	}
	slices.SortFunc(bs, time.Time.Compare)
	bs = slices.CompactFunc(bs, time.Time.Equal)
	segs = append(e.segBuf[:0], segment{key: key, start: w})
	defer func() { e.segBuf = segs[:0] }()
	for _, b := range bs {
		segs[len(segs)-1].end = b
		segs = append(segs, segment{key: b, start: b})
	}
	if len(bs) > 0 {
		nextBoundary = bs[0]
	}
	return segs, nextBoundary, nextEntry
}

// evalSKU evaluates every (channel, segment) of s and reconciles the whole
// set of its alerts and corrections: keys that no longer exist are
// resolved or withdrawn.
func (e *Engine) evalSKU(s *skuState, trig trigger, out []event.Output) []event.Output {
	e.markSKU(s)
	e.epoch++
	ep := e.epoch
	w := e.wm
	for _, name := range s.names {
		ch := s.channels[name]
		ch.settle(w)
		ch.trimHistory(w, e.opt.HistoryWindow)
	}
	promos := e.coveringInto(e.covBuf[:0], s)
	e.covBuf = promos[:0]
	segs, nb, ne := e.segments(s, promos)
	// every context first, so that the keys which are gone are resolved
	// and withdrawn before the keys replacing them fire: a consumer keyed
	// by sku and channel then ends with the new state
	all := e.contexts(s, segs, promos)
	out = e.reconcileKeys(s, segs, all, &trig, out)
	e.noteAlerts(s)
	prevKeys := s.segKeys
	s.segKeys = make([]int64, 0, len(segs))
	for _, seg := range segs {
		s.segKeys = append(s.segKeys, segNum(seg.key))
	}
	for i, seg := range segs {
		ctxs := all[i]
		if len(ctxs) == 0 {
			continue
		}
		// a future segment that was not there before (a split, a boundary
		// entering the horizon, a held promotion meeting its first price)
		// is a new context: every rule looks at it, whatever its `on`, so
		// a conflict already known is not held back until it goes live.
		// The present segment keeps `on`: it changes only at a crossing.
		strig := trig
		if i > 0 && !slices.Contains(prevKeys, segNum(seg.key)) {
			strig.on = rules.AllEvents
		}
		// the channels fact, built if a rule needs it
		chl := &e.segChl
		*chl = segChannels{ctxs: ctxs}
		rng := segSpan(seg)
		for ci := range ctxs {
			c := &ctxs[ci]
			ac := e.calendarCtx(s, c, seg, rng, chl, &strig)
			// phase 1: the rules of the context into a list of results
			res := e.results[:0]
			if !e.settled(ac, &strig, &e.calOn) {
				res = e.evalRules(res, e.calendar, s.alerts, ac, &strig, true)
			}
			if i == 0 && len(e.now) > 0 {
				// keyed without a segment, and shown without one
				nc := e.nowCtx(ac, c, seg)
				if !e.settled(nc, &strig, &e.nowOn) {
					res = e.evalRules(res, e.now, s.alerts, nc, &strig, true)
				}
			}
			// phase 2: the alert and correction lifecycles over them
			out = e.settleContext(s, c, seg, ac, res, &strig, ep, out)
			clear(res)
			e.results = res[:0]
		}
	}
	out = e.reconcile(s, &trig, ep, out)
	e.scheduleSKU(s, nb, ne)
	e.endMemos(s)
	return out
}

// fraction is 1 - x/of: how much x takes off of; NaN when of is not a
// positive price.
func fraction(x, of float64) float64 {
	if !(of > 0) || math.IsNaN(x) {
		return math.NaN()
	}
	return 1 - x/of
}

func maxTime(a, b time.Time) time.Time {
	if a.After(b) {
		return a
	}
	return b
}

// facts builds the facts of one (sku, channel, segment).
func (e *Engine) facts(s *skuState, c *chanCtx, seg segment, chmap map[string]rules.ChannelFacts, trig trigger) rules.Facts {
	var f rules.Facts
	e.factsInto(&f, s, c, seg, chmap, trig)
	return f
}

// factsInto builds the facts of one (sku, channel, segment) into f.
func (e *Engine) factsInto(f *rules.Facts, s *skuState, c *chanCtx, seg segment, chmap map[string]rules.ChannelFacts, trig trigger) {
	rec, res, w := c.rec, &c.res, e.wm
	at := maxTime(seg.start, w)
	*f = rules.Facts{
		SKU: s.id, Channel: c.name,
		Category: cmpOr(rec.category, s.category), Brand: cmpOr(rec.brand, s.brand), Seller: rec.seller,
		Currency: rec.currency, Region: rec.region,
		ListPrice: rec.list, Price: rec.price, Cost: rec.cost, MapPrice: rec.mapPrice,
		HasCost: !math.IsNaN(rec.cost), HasListPrice: !math.IsNaN(rec.list), HasMapPrice: !math.IsNaN(rec.mapPrice),
		EffectivePrice: res.effective,
		Discount:       fraction(res.effective, rec.list),
		PromoDiscount:  fraction(res.effective, rec.price),
		Margin:         math.NaN(),
		Promos:         res.applied,
		Blocked:        res.blocked,
		Overlaps:       res.overlaps,
		Channels:       chmap,
		Segment:        rules.Segment{Start: cmpOrTime(seg.key, seg.start), End: seg.end},
		Event:          rules.Event{Type: trig.typ, TS: trig.ts},
		At:             at,
		Now:            w,
	}
	if f.HasCost && res.effective > 0 {
		f.Margin = (res.effective - rec.cost) / res.effective
	}
	// facts no rule reads are not computed: history walks the price
	// history, stock the warehouses
	if e.reads.Has(factStock) {
		f.Stock = s.stockFacts(res, at)
	}
	if e.reads.Has(factHistory) {
		if c.hist != nil {
			f.History = *c.hist
		} else {
			f.History = c.ch.history(w)
		}
	}
}

func cmpOr(a, b string) string {
	if a != "" {
		return a
	}
	return b
}

func cmpOrTime(a, b time.Time) time.Time {
	if !a.IsZero() {
		return a
	}
	return b
}

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

// goneAlerts removes from m the alerts this evaluation did not visit and
// returns them in fingerprint order.
func goneAlerts(m map[akey]*alertState, ep uint64) []*alertState {
	return removeSorted(m, func(_ akey, st *alertState) bool { return st.epoch != ep }, alertFP)
}

func (e *Engine) ruleError(r *rules.Rule, c *alertCtx, err error) {
	e.stats.RuleErrors++
	e.ruleStats(r).Errors++
	if e.opt.OnRuleError != nil {
		e.opt.OnRuleError(RuleError{Rule: r, SKU: c.sku, Channel: c.channel, Promo: c.promo, Err: err})
	}
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
func corrFP(cs *corrState) string   { return cs.fp }

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
	return stack(rec.price, rec.currency, active, false).effective
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

// clearReason says why a condition stopped holding.
func clearReason(promos []string, trig *trigger) event.Reason {
	if trig.cancelled != "" && slices.Contains(promos, trig.cancelled) {
		return event.ReasonCancelled
	}
	return event.ReasonCleared
}

func (e *Engine) scheduleSKU(s *skuState, nb, ne time.Time) {
	w := e.wm
	s.nextBoundary, s.nextEntry = nb, ne
	next := earliest(nb, ne)
	for _, st := range s.alerts {
		next = earliest(next, st.due())
	}
	s.nextHistory = time.Time{}
	if e.readsHistory {
		for _, name := range s.names {
			s.nextHistory = earliest(s.nextHistory, s.channels[name].historyExpiry(w))
		}
		next = earliest(next, s.nextHistory)
	}
	if !next.After(w) {
		next = time.Time{}
	}
	if !next.Equal(s.timerAt) {
		s.timerAt = next
		if !next.IsZero() {
			heap.Push(&e.timers, timer{at: next, sku: s})
		}
	}
}

func (e *Engine) skuTimer(s *skuState, out []event.Output) []event.Output {
	w := e.wm
	trig := trigger{typ: "timer", ts: w, vanish: event.ReasonEnded}
	if w.Equal(s.nextBoundary) {
		s.lastCrossed = w
		trig.on |= 1<<event.TypePrice | 1<<event.TypePromo
	}
	if w.Equal(s.nextEntry) {
		trig.on |= 1<<event.TypePrice | 1<<event.TypePromo
	}
	if w.Equal(s.nextHistory) {
		// a price change leaving the history window changes the history
		// facts as a price event would
		trig.on |= 1 << event.TypePrice
	}
	s.timerAt = time.Time{}
	return e.evalSKU(s, trig, out)
}

// evalPromo runs the promo-scope rules on one promotion.
func (e *Engine) evalPromo(p *promoState, trig trigger, out []event.Output) []event.Output {
	e.markPromo(p.ev.ID)
	e.epoch++
	ep := e.epoch
	w := e.wm
	if len(e.promoRules) > 0 && (e.opt.PromoRules == nil || e.opt.PromoRules(p.ev.ID)) {
		at := maxTime(p.ev.Start, w)
		f := rules.Facts{Promo: *p.fact, Event: rules.Event{Type: trig.typ, TS: trig.ts}, At: at, Now: w}
		start, end := p.ev.Start, p.ev.End
		c := &alertCtx{promo: p.ev.ID, rng: span{start: start, end: end}, at: at, active: []*promoState{p}, env: f}
		res := e.evalRules(e.results[:0], e.promoRules, p.alerts, c, &trig, false)
		out = e.settleRules(p.alerts, res, nil, &trig, ep, out)
		clear(res)
		e.results = res[:0]
	}
	for _, st := range goneAlerts(p.alerts, ep) {
		if st.firing {
			out = e.emitAlert(st, event.StateResolved, vanishReason("", st.promos, &trig), nil, out)
		}
	}
	e.schedulePromo(p)
	return out
}

func (e *Engine) schedulePromo(p *promoState) {
	next := p.ev.End
	for _, st := range p.alerts {
		next = earliest(next, st.due())
	}
	if !next.After(e.wm) {
		next = time.Time{}
	}
	if !next.Equal(p.timerAt) {
		p.timerAt = next
		if !next.IsZero() {
			heap.Push(&e.timers, timer{at: next, promo: p})
		}
	}
}

func (e *Engine) promoTimer(p *promoState, out []event.Output) []event.Output {
	p.timerAt = time.Time{}
	if !p.ev.End.After(e.wm) {
		return e.closePromo(p, event.ReasonEnded, out)
	}
	return e.evalPromo(p, trigger{typ: "timer", ts: e.wm, vanish: event.ReasonEnded}, out)
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
