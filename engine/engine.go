package engine

import (
	"time"

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

func (o *Options) withDefaults() Options {
	out := *o
	if out.Horizon <= 0 {
		out.Horizon = 30 * 24 * time.Hour
	}
	if out.HistoryWindow < 24*time.Hour {
		out.HistoryWindow = 24 * time.Hour
	}
	if out.AllowedLateness < 0 {
		out.AllowedLateness = 0
	}
	return out
}

// Stats counts what an Engine did.
type Stats struct {
	Events      int64 // events applied
	Late        int64 // events ignored as older than the state they would replace
	Timers      int64 // timer firings
	Evaluations int64 // rule evaluations
	RuleErrors  int64 // runtime errors of rules
	// ByRule counts per rule id ("group/rule"): evaluations, errors, and
	// alert transitions.
	ByRule map[string]*RuleStats
	// Corrections counts correction records by state.
	Corrections map[string]int64
}

// RuleStats counts one rule's work.
type RuleStats struct {
	Evaluations int64
	Errors      int64
	Firing      int64 // firing records emitted (repeats included)
	Resolved    int64 // resolved records emitted
}
