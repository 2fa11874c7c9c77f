package engine

import (
	"container/heap"
	"slices"
	"time"

	"github.com/promoguard/promoguard/event"

	"github.com/expr-lang/expr/vm"

	"github.com/promoguard/promoguard/rules"
)

// Options configure an Engine. The zero value is usable: New fills defaults.
type Options struct {
	// Horizon is how far ahead of the watermark the calendar is evaluated.
	// Default 30 days.
	Horizon time.Duration
	// AllowedLateness holds the watermark this far behind the highest event
	// ts seen. Default 0.
	AllowedLateness time.Duration
	// HistoryWindow is how long price history is kept: it must cover the
	// history facts (24 h). Default 24 h.
	HistoryWindow time.Duration
	// OnRuleError, when set, hears of every runtime error of a rule. The
	// engine counts them in Stats either way.
	OnRuleError func(RuleError)
	// PromoRules, when set, says whether this engine runs the promo-scope
	// rules of a promotion. The daemon gives every partition's engine all
	// promotions but lets one partition own each, so that a sitewide
	// promotion raises one alert, not one per partition. Nil: all.
	PromoRules func(promoID string) bool
	// RuleClock, when set, times every rule evaluation into
	// RuleStats.Nanos: it returns a monotonic instant in nanoseconds. The
	// engine never reads the wall clock itself; nil means no timing (a clock
	// read costs about as much as a simple condition).
	RuleClock func() int64
	// Evaluator, when set, evaluates rule conditions and bounds instead of
	// their compiled expr programs, on the same facts. It exists so that
	// `promoguard bench` can run other evaluators (hand-written Go, CEL,
	// Rego) on the engine's own path; nil means expr, as users run it.
	Evaluator Evaluator
	// Channels is the stacking policy of each channel (DESIGN §3); a
	// channel not in it, and every channel when it is nil, stacks compound.
	Channels rules.Channels
}

// policy is the stacking policy of a channel.
func (e *Engine) policy(channel string) rules.Policy {
	if e.opt.Channels == nil {
		return rules.PolicyCompound
	}
	return e.opt.Channels[channel]
}

// Evaluator evaluates rule expressions in place of their expr programs.
type Evaluator interface {
	// Eval evaluates x — r.If (a bool), r.Floor or r.Ceiling (a float64) —
	// on facts f. ctx identifies the facts: every call with the same ctx
	// has the same facts, so an evaluator may convert them once per ctx.
	// f is the engine's and is rebuilt for the next context: it must not
	// be kept.
	Eval(r *rules.Rule, x *rules.Expr, f *rules.Facts, ctx uint64) (any, error)
}

// RuleError is a rule that failed at run time on one context. The other
// rules of the context still run.
type RuleError struct {
	Rule    *rules.Rule
	SKU     string
	Channel string
	Promo   string
	Err     error
}

// DefaultHorizon is how far ahead of the watermark the calendar is
// evaluated when Options.Horizon is not set. The CLI and the daemon config
// show and use this value.
const DefaultHorizon = 30 * 24 * time.Hour

func (o *Options) withDefaults() Options {
	out := *o
	if out.Horizon <= 0 {
		out.Horizon = DefaultHorizon
	}
	if out.HistoryWindow < 24*time.Hour {
		out.HistoryWindow = 24 * time.Hour
	}
	if out.AllowedLateness < 0 {
		out.AllowedLateness = 0
	}
	return out
}

// Engine is the deterministic core: it holds the state of one partition
// (or of everything, in replay and test), applies events at their
// timestamps, fires timers as the watermark passes them, and returns the
// output records. It is not safe for concurrent use: run one per
// goroutine.
type Engine struct {
	rs  *rules.RuleSet
	opt Options
	vm  *vm.VM

	wm     time.Time // the watermark
	skus   map[string]*skuState
	promos map[string]*promoState
	// promoTS is the ts of the last event of each promotion id, cancelled
	// ones included, so that an older event for it is recognised as late.
	promoTS map[string]time.Time

	// the promotion index
	promoBySKU   map[string]map[string]*promoState
	promoByCat   map[string]map[string]*promoState
	promoByBrand map[string]map[string]*promoState
	promoAll     map[string]*promoState
	// skus by attribute, to find the skus a selector covers
	skuByCat   map[string]map[string]*skuState
	skuByBrand map[string]map[string]*skuState

	timers   timerHeap
	epoch    uint64
	rounding map[string][2]int // ISO 4217 rounding by currency
	// the currency last looked up in rounding, and its rounding
	lastCurrency string
	lastRounding [2]int
	stats        Stats
	// rule scopes of the current rule set
	calendar, now, promoRules []*rules.Rule
	readsHistory              bool
	reads                     rules.FactSet // every fact some rule reads: the others are not computed
	ruleIDs                   []string      // by rule index
	ruleStat                  []*RuleStats  // by rule index
	ruleByID                  map[string]*rules.Rule
	boundRules                []*rules.Rule // scratch: the rules setting bounds in one context
	results                   []result      // scratch: phase 1 of one context
	// ids issued at the present watermark, by kind, fingerprint and state:
	// a key that goes through the same state twice at one watermark gets a
	// distinct id the second time
	issued   map[string]int
	issuedAt time.Time
	// the skus and promotions changed since the last Changes; nil until
	// TrackChanges
	dirtySKUs, dirtyPromos map[string]struct{}

	// the memo (memo.go): its generation, the rules reading each fact, and
	// scratch reused from one evaluation to the next
	memoGen          uint32
	factReaders      [64]uint64
	calOn, nowOn     [8]uint64 // by EventSet: the calendar and now rules it admits
	ctxSeq           uint64
	ctxBuf           [][]chanCtx
	activeBuf        []*promoState
	alertKeys        []akey
	lazyCal, lazyNow lazyEnv
	acCal, acNow     alertCtx
	segChl           segChannels
	// box makes a facts buffer an expr env: boxFacts, or boxFactsSafe
	// where a test compares the two
	box      func(*rules.Facts) any
	factsCal *rules.Facts // the facts buffers of the lazy envs
	factsNow *rules.Facts
	chmapBuf map[string]rules.ChannelFacts
	bsBuf    []time.Time
	segBuf   []segment
	covBuf   []*promoState
}

// New returns an engine for rule set rs.
func New(rs *rules.RuleSet, opts Options) *Engine {
	e := &Engine{
		opt:          opts.withDefaults(),
		vm:           rules.NewVM(),
		box:          boxFacts,
		skus:         map[string]*skuState{},
		promos:       map[string]*promoState{},
		promoTS:      map[string]time.Time{},
		promoBySKU:   map[string]map[string]*promoState{},
		promoByCat:   map[string]map[string]*promoState{},
		promoByBrand: map[string]map[string]*promoState{},
		promoAll:     map[string]*promoState{},
		skuByCat:     map[string]map[string]*skuState{},
		skuByBrand:   map[string]map[string]*skuState{},
		rounding:     map[string][2]int{},
		issued:       map[string]int{},
		stats:        Stats{ByRule: map[string]*RuleStats{}, Corrections: map[event.State]int64{}},
	}
	e.setRules(rs)
	return e
}

// Rules returns the rule set the engine runs.
func (e *Engine) Rules() *rules.RuleSet { return e.rs }

// Watermark returns the engine's present: the highest event ts applied,
// less the allowed lateness, or the time last passed to Advance.
func (e *Engine) Watermark() time.Time { return e.wm }

// NextTimer returns when the next timer is due.
func (e *Engine) NextTimer() (time.Time, bool) {
	for len(e.timers) > 0 {
		t := e.timers[0]
		if e.timerLive(t) {
			return t.at, true
		}
		heap.Pop(&e.timers)
	}
	return time.Time{}, false
}

// Apply applies one event at its ts and appends the outputs it causes to
// out. The watermark first moves to the event's ts (less the allowed
// lateness), firing the timers due on the way. An event older than the
// state it would replace is ignored and counted as late.
func (e *Engine) Apply(ev *event.Event, out []event.Output) []event.Output {
	if t := ev.TS.Add(-e.opt.AllowedLateness); t.After(e.wm) {
		out = e.Advance(t, out)
	}
	switch {
	case ev.Price != nil:
		return e.applyPrice(ev, out)
	case ev.Stock != nil:
		return e.applyStock(ev, out)
	case ev.Promo != nil:
		return e.applyPromo(ev, out)
	}
	return out
}

// Advance moves the watermark to t, firing every timer due up to it in
// time order (and, at equal times, in key order). It never moves the
// watermark back.
func (e *Engine) Advance(t time.Time, out []event.Output) []event.Output {
	for len(e.timers) > 0 && !e.timers[0].at.After(t) {
		at := e.timers[0].at
		if at.After(e.wm) {
			e.wm = at
		}
		// every timer due at this instant, in key order
		var due []timer
		for len(e.timers) > 0 && e.timers[0].at.Equal(at) {
			tm := heap.Pop(&e.timers).(timer)
			if e.timerLive(tm) {
				due = append(due, tm)
			}
		}
		slices.SortFunc(due, keyCmp)
		due = slices.CompactFunc(due, func(a, b timer) bool { return keyCmp(a, b) == 0 })
		for _, tm := range due {
			e.stats.Timers++
			if tm.promo != nil {
				out = e.promoTimer(tm.promo, out)
			} else {
				out = e.skuTimer(tm.sku, out)
			}
		}
	}
	if t.After(e.wm) {
		e.wm = t
	}
	return out
}
