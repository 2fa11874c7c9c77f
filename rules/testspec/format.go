package testspec

import (
	"strings"
	"time"

	"github.com/promoguard/promoguard/event"
	"github.com/promoguard/promoguard/internal/yamlpos"

	"github.com/promoguard/promoguard/rules"
)

// The problems a test file can have, besides the codes it shares with rule
// files (yaml_syntax, read_file, schema, unknown_field, missing_field,
// duplicate_key, bad_duration). Codes never change meaning once published.
const (
	CodeNoTests       rules.Code = "no_tests"           // a file holds no test case, or a directory no *_test.yaml file
	CodeDuplicateTest rules.Code = "duplicate_test"     // two test cases with one name in a file
	CodeBadTime       rules.Code = "bad_time"           // a time that is not RFC 3339
	CodeBadValue      rules.Code = "bad_value"          // a value outside its list (state, severity, reason) or range (tolerance, count)
	CodeBadEvent      rules.Code = "bad_event"          // an input event that is not a valid event (event.Decode says why)
	CodeBadSeries     rules.Code = "bad_series"         // a series whose lists, count and times do not agree
	CodeBadStep       rules.Code = "bad_step"           // a step with no action or two, or an advance before any event
	CodeConflict      rules.Code = "conflicting_fields" // fields that exclude each other, such as expect_none with expect
	CodeUnknownRule   rules.Code = "unknown_rule"       // an expectation names a rule that the case's rule files do not define
	CodeBadRuleFiles  rules.Code = "bad_rule_files"     // a case's rule files do not load (their own errors are reported too)
)

// Numeric expectations (prices, values) that set no `tolerance:` match a
// number within RelTolerance of the larger of the two magnitudes, or within
// AbsTolerance, for numbers near zero. Relative, because an absolute bound
// fits one scale only: 0.001 let a margin of 0.0268 pass for 0.0267 and
// still told a price of 1e9 from its float noise. 1e-9 is far above the
// noise of the engine's float arithmetic (about 1e-15 relative) and of the
// 12 significant digits alert values keep (5e-13), and far below any
// difference a test means: a cent on a price up to ten million. A number
// written with fewer digits than the record's (0.0267 for 0.026702...) does
// not match: write it in full, or set `tolerance:`.
const (
	RelTolerance = 1e-9
	AbsTolerance = 1e-9
)

// DefaultTolerance is the Tolerance of an expectation without `tolerance:`:
// negative, for the relative comparison above. A `tolerance:` of its own (a
// number from 0) is an absolute bound instead.
const DefaultTolerance = -1.0

// names turns the wire format's typed codes into the strings a loader
// offers as choices.
func names[T ~string](xs []T) []string {
	out := make([]string, len(xs))
	for i, x := range xs {
		out[i] = string(x)
	}
	return out
}

// File is one test file.
type File struct {
	Path string
	src  *yamlpos.Source
	// RuleFiles is the file-level rule_files, resolved against the test
	// file's directory; a case without its own uses these.
	RuleFiles []string
	Cases     []*Case
}

// Snippet renders the line of the file at p with a caret under the
// column, for errors found after loading (a bad event, an unknown rule).
func (f *File) Snippet(p rules.Pos) string {
	if f == nil || f.src == nil || p.File != f.Path {
		return ""
	}
	return f.src.Snippet(p)
}

// Case is one test case: rule files, a sequence of steps, expectations.
type Case struct {
	Name string
	File string    // the test file
	Pos  rules.Pos // where the case starts
	// RuleFiles are the rule files and directories to load, resolved
	// against the test file's directory, in order; RuleFilesPos is where
	// they are written (the case's key, or the file's).
	RuleFiles    []string
	RuleFilesPos rules.Pos
	// Horizon and Lateness are the engine options (0: the engine's
	// defaults, 30 days and none).
	Horizon  time.Duration
	Lateness time.Duration
	// Channels is the file's channels section: the stacking policy of each
	// channel it names, over those the runner is given (nil: none named).
	Channels rules.Channels
	// Steps run in order; a case's top-level events: list is its first
	// step.
	Steps []*Step
	// Expect is checked after the last step, against the records emitted
	// since the previous checkpoint; nil when the case has none.
	Expect *Expect
	// ExpectNone asserts that the case emits no alert and no correction at
	// all.
	ExpectNone    bool
	ExpectNonePos rules.Pos
}

// Step is one point of a case's sequence: events to apply, or a move of
// the watermark, optionally followed by a checkpoint.
type Step struct {
	Pos rules.Pos
	// Label names the step in reports: "events" for a case's top-level
	// events, "step N" (from 1) for the entries of steps:.
	Label string
	// Exactly one of Events, Advance and Until is set, or none for a step
	// that is only a checkpoint.
	Events  []Event
	Advance time.Duration // move the watermark this far on
	Until   time.Time     // move the watermark to this instant
	// Expect, when set, is checked after the step, against the records
	// emitted since the previous checkpoint.
	Expect *Expect
}

// Event is one input event as the JSON the engine decodes (DESIGN §2),
// built from the YAML mapping written in the test, with where it was
// written.
type Event struct {
	JSON []byte
	Pos  rules.Pos
}

// Expect is one checkpoint's expectations. A list that is written is checked
// exactly: every record of that kind emitted in the window must match one
// expectation and every expectation one record. A list that is not written
// is not checked.
type Expect struct {
	Pos              rules.Pos
	Alerts           []*AlertExpectation
	CheckAlerts      bool // alerts: was written (an empty list asserts none)
	Corrections      []*CorrectionExpectation
	CheckCorrections bool // corrections: was written
	// Quiet lists rules that must emit no alert record in the window,
	// whether or not alerts: is written.
	Quiet []RuleRef
}

// RuleRef names a rule: "group/rule", or "rule" for a rule of that name in
// any group.
type RuleRef struct {
	Name string
	Pos  rules.Pos
}

// AlertExpectation is one expected alert record. Empty strings and zero
// times match anything.
type AlertExpectation struct {
	Pos      rules.Pos
	Rule     RuleRef
	SKU      string
	Channel  string
	Promo    string      // the promotion of a promo-scope alert
	State    event.State // default firing
	Reason   event.Reason
	Severity string
	Message  string
	At       time.Time
	// Watermark is when the transition happened, in event time.
	Watermark time.Time
	// Labels must all be on the alert (others may be too).
	Labels map[string]string
	// Values must all be among the alert's values, numbers within
	// Tolerance (see DefaultTolerance); null matches a fact that was NaN. Each value is nil, bool,
	// float64, string, []any or map[string]any.
	Values    map[string]any
	Tolerance float64
}

// CorrectionExpectation is one expected correction record. Empty strings,
// zero times and unset numbers match anything.
type CorrectionExpectation struct {
	Pos       rules.Pos
	SKU       string
	Channel   string
	State     event.State // default active
	Reason    event.Reason
	Corrected Number // corrected_price
	Effective Number // effective_price
	Floor     Number
	Ceiling   Number
	BoundBy   string
	At        time.Time
	Watermark time.Time
	Tolerance float64
}

// Number is an optional expected number: unset matches anything, null
// matches NaN (what a record writes as null).
type Number struct {
	Set   bool
	Null  bool
	Value float64
}

// Valid reports whether the reference names a rule (a reference whose
// problem was reported is empty).
func (r RuleRef) Valid() bool { return r.Name != "" }

// Matches reports whether the reference names the rule whose id is
// group/rule.
func (r RuleRef) Matches(id string) bool {
	if strings.Contains(r.Name, "/") {
		return r.Name == id
	}
	_, name, _ := strings.Cut(id, "/")
	return r.Name == name
}
