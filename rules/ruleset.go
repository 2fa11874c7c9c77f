package rules

import (
	"fmt"
	"math"
	"reflect"
	"time"

	"github.com/promoguard/promoguard/event"

	"github.com/expr-lang/expr/vm"
)

// RuleSet is a loaded, fully compiled set of rule groups. It is immutable
// and safe to share between goroutines; each goroutine evaluates with its
// own *vm.VM (see NewVM).
type RuleSet struct {
	Groups []*Group
	// Rules lists every rule of every group in load order; Rule.Index is the
	// rule's position here.
	Rules []*Rule
	// Files are the rule files loaded, in load order.
	Files []string
	// Version identifies the rule set: a hash of every rule file and table
	// file loaded. Outputs carry it as rules_version.
	Version string
}

// ByScope returns the rules of one scope, in load order.
func (rs *RuleSet) ByScope(s Scope) []*Rule {
	var out []*Rule
	for _, r := range rs.Rules {
		if r.Scope == s {
			out = append(out, r)
		}
	}
	return out
}

// ReservedGroup is the group of the engine's built-in checks
// (currency_mismatch, unsatisfiable); no rule file may use it.
const ReservedGroup = "promoguard"

// Group is one `group:` of a rule file.
type Group struct {
	Name        string
	Description string
	File        string
	Pos         Pos
	// Vars and Tables hold the group's constants as the rules see them:
	// int (a whole number), float64, string, bool, []float64, []string,
	// map[string]float64, map[string]string.
	Vars   map[string]any
	Tables map[string]any
	Rules  []*Rule
}

// Severity of an alert.
type Severity uint8

const (
	SeverityInfo Severity = iota
	SeverityWarning
	SeverityCritical
)

var severityNames = [...]string{"info", "warning", "critical"}

func (s Severity) String() string { return severityNames[s] }

// SeverityNames returns the severities' names, lowest first.
func SeverityNames() []string { return severityNames[:] }

// ParseSeverity returns the severity with the given name.
func ParseSeverity(s string) (Severity, bool) {
	for i, n := range severityNames {
		if n == s {
			return Severity(i), true
		}
	}
	return 0, false
}

// EventSet is a set of event types, one bit each.
type EventSet uint8

// AllEvents is the default `on` of a rule.
const AllEvents EventSet = 1<<event.NumTypes - 1

// Has reports whether t is in the set.
func (s EventSet) Has(t event.Type) bool { return s&(1<<t) != 0 }

// Rule is one compiled rule.
type Rule struct {
	Group       *Group
	Name        string
	Description string
	Index       int // position in RuleSet.Rules
	Pos         Pos
	Scope       Scope
	On          EventSet
	Severity    Severity
	If          *Expr
	Floor       *Expr // nil when the rule sets no floor
	Ceiling     *Expr // nil when the rule sets no ceiling
	Message     *Template
	Labels      map[string]string
	For         time.Duration
	Repeat      time.Duration // 0: never re-notify
	// Reads is every fact the rule's expressions read (condition, bounds
	// and message): a rule none of whose facts changed gives the same result.
	Reads FactSet
}

// ID is "group/rule", unique within a rule set.
func (r *Rule) ID() string { return r.Group.Name + "/" + r.Name }

// Expr is one compiled expression.
type Expr struct {
	Source  string
	Pos     Pos // where the expression starts in its file
	Program *vm.Program
	// Reads is the set of top-level facts the expression reads and Paths the
	// facts as written, one level deep ("margin", "stock.available"): what
	// an alert's `values` shows.
	Reads FactSet
	Paths []string
	typ   reflect.Type // the checker's result type
}

// DefaultMemoryBudget bounds what one expression evaluation may allocate
// (in expr's units: elements of ranges, arrays, maps, closure scopes).
const DefaultMemoryBudget = 100_000

// NewVM returns a VM for one goroutine, with the rule language's memory
// budget. A VM must not be shared between goroutines.
func NewVM() *vm.VM {
	return &vm.VM{MemoryBudget: DefaultMemoryBudget}
}

// Bool evaluates a condition. env must be a Facts value (not a pointer),
// ideally boxed once and reused across rules.
func (e *Expr) Bool(v *vm.VM, env any) (bool, error) {
	out, err := v.Run(e.Program, env)
	if err != nil {
		return false, err
	}
	b, _ := out.(bool)
	return b, nil
}

// Float evaluates a bound. A NaN or infinite result is an error: it must
// never become a corrected price.
func (e *Expr) Float(v *vm.VM, env any) (float64, error) {
	out, err := v.Run(e.Program, env)
	if err != nil {
		return math.NaN(), err
	}
	f := toFloat(out)
	if math.IsNaN(f) || math.IsInf(f, 0) {
		return f, fmt.Errorf("%s: bound is %v", e.Pos, f)
	}
	return f, nil
}
