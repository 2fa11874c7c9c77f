package ruletest

import (
	"fmt"
	"maps"
	"math"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/promoguard/promoguard/event"

	"github.com/promoguard/promoguard/rules"
	"github.com/promoguard/promoguard/rules/testspec"
)

// Kinds of failure.
const (
	KindMissing    = "missing"     // an expected record was not emitted
	KindUnexpected = "unexpected"  // a record no expectation matched
	KindWrongValue = "wrong_value" // the record was emitted, but fields differ
	KindNotQuiet   = "not_quiet"   // a rule of quiet: emitted an alert
	KindRuleError  = "rule_error"  // a rule failed at run time
	KindStep       = "bad_step"    // a step could not run (until: before the watermark)
)

// Failure is one difference between what a case expected and what the
// engine emitted.
type Failure struct {
	// Checkpoint says where in the case: "after step 2", "at the end".
	Checkpoint string `json:"checkpoint"`
	// Pos is the expectation's position (for missing and wrong values) or
	// the checkpoint's (for unexpected records).
	Pos     rules.Pos `json:"pos"`
	Kind    string    `json:"kind"`
	Record  string    `json:"record,omitempty"` // alert or correction
	Rule    string    `json:"rule,omitempty"`   // group/rule of an alert, bound_by of a correction
	SKU     string    `json:"sku,omitempty"`
	Channel string    `json:"channel,omitempty"`
	Promo   string    `json:"promo,omitempty"`
	State   string    `json:"state,omitempty"`
	// Fields are the differences of a wrong value.
	Fields []FieldDiff `json:"fields,omitempty"`
	// Got is the record emitted (unexpected, wrong value, not quiet), on
	// one line.
	Got     string `json:"got,omitempty"`
	Message string `json:"message,omitempty"`
}

// FieldDiff is one field whose value differs.
type FieldDiff struct {
	Field    string `json:"field"`
	Expected string `json:"expected"`
	Got      string `json:"got"`
}

// compare checks one window's records against a checkpoint's expectations.
func compare(label string, pos rules.Pos, exp *testspec.Expect, recs []event.Output) []*Failure {
	var alerts []*event.Alert
	var corrs []*event.Correction
	for _, o := range recs {
		switch {
		case o.Alert != nil:
			alerts = append(alerts, o.Alert)
		case o.Correction != nil:
			corrs = append(corrs, o.Correction)
		}
	}
	var out []*Failure
	// quiet rules first: their records are reported once, as not quiet
	quiet := make([]bool, len(alerts))
	for _, q := range exp.Quiet {
		for i, a := range alerts {
			if q.Matches(alertID(a)) {
				quiet[i] = true
				out = append(out, &Failure{Checkpoint: label, Pos: q.Pos, Kind: KindNotQuiet, Record: "alert",
					Rule: alertID(a), SKU: a.SKU, Channel: a.Channel, Promo: a.Promo, State: string(a.State), Got: describeAlert(a),
					Message: "quiet: " + q.Name + " emitted an alert"})
			}
		}
	}
	if exp.CheckAlerts {
		var rest []*event.Alert
		for i, a := range alerts {
			if !quiet[i] {
				rest = append(rest, a)
			}
		}
		out = append(out, matchAll(label, pos, exp.Alerts, rest, alertSide)...)
	}
	if exp.CheckCorrections {
		out = append(out, matchAll(label, pos, exp.Corrections, corrs, correctionSide)...)
	}
	return out
}

func alertID(a *event.Alert) string { return a.Group + "/" + a.Rule }

// side is how one kind of record is matched: identity says whether an
// expectation is about a record (the same rule and subject), diffs lists
// the other fields that differ.
type side[E, R any] struct {
	record   string
	identity func(E, R) bool
	diffs    func(E, R) []FieldDiff
	expected func(E) *Failure // a missing record's description
	got      func(R) *Failure // an unexpected record's description
	pos      func(E) rules.Pos
}

// matchAll pairs expectations with records: first every exact match (a
// maximum bipartite matching, so that a loose expectation never takes the
// record a precise one needs), then, among the rest, each expectation with
// a record of the same identity as a wrong value, and what is left as
// missing or unexpected.
func matchAll[E, R any](label string, pos rules.Pos, exps []E, recs []R, s side[E, R]) []*Failure {
	match := make([][]bool, len(exps))
	for i, e := range exps {
		match[i] = make([]bool, len(recs))
		for j, r := range recs {
			match[i][j] = s.identity(e, r) && len(s.diffs(e, r)) == 0
		}
	}
	recOf := make([]int, len(exps)) // record matched to each expectation, -1 none
	expOf := make([]int, len(recs)) // expectation matched to each record, -1 none
	for i := range recOf {
		recOf[i] = -1
	}
	for j := range expOf {
		expOf[j] = -1
	}
	var try func(i int, seen []bool) bool
	try = func(i int, seen []bool) bool {
		for j := range recs {
			if !match[i][j] || seen[j] {
				continue
			}
			seen[j] = true
			if expOf[j] < 0 || try(expOf[j], seen) {
				expOf[j], recOf[i] = i, j
				return true
			}
		}
		return false
	}
	for i := range exps {
		try(i, make([]bool, len(recs)))
	}
	var out []*Failure
	for i, e := range exps {
		if recOf[i] >= 0 {
			continue
		}
		best, bestDiffs := -1, []FieldDiff(nil)
		for j, r := range recs {
			if expOf[j] >= 0 || !s.identity(e, r) {
				continue
			}
			if d := s.diffs(e, r); best < 0 || len(d) < len(bestDiffs) {
				best, bestDiffs = j, d
			}
		}
		f := s.expected(e)
		f.Checkpoint, f.Pos, f.Record = label, s.pos(e), s.record
		if best >= 0 {
			expOf[best] = i
			g := s.got(recs[best])
			f.Kind, f.Fields, f.Got = KindWrongValue, bestDiffs, g.Got
			if f.Rule == "" {
				f.Rule = g.Rule // a correction's bound_by when the expectation gave none
			}
		} else {
			f.Kind = KindMissing
		}
		out = append(out, f)
	}
	for j, r := range recs {
		if expOf[j] >= 0 {
			continue
		}
		f := s.got(r)
		f.Checkpoint, f.Pos, f.Record, f.Kind = label, pos, s.record, KindUnexpected
		out = append(out, f)
	}
	return out
}

var alertSide = side[*testspec.AlertExpectation, *event.Alert]{
	record: "alert",
	identity: func(e *testspec.AlertExpectation, a *event.Alert) bool {
		return e.Rule.Matches(alertID(a)) && str(e.SKU, a.SKU) && str(e.Channel, a.Channel) && str(e.Promo, a.Promo)
	},
	diffs: alertDiffs,
	expected: func(e *testspec.AlertExpectation) *Failure {
		return &Failure{Rule: e.Rule.Name, SKU: e.SKU, Channel: e.Channel, Promo: e.Promo, State: string(e.State)}
	},
	got: func(a *event.Alert) *Failure {
		return &Failure{Rule: alertID(a), SKU: a.SKU, Channel: a.Channel, Promo: a.Promo, State: string(a.State), Got: describeAlert(a)}
	},
	pos: func(e *testspec.AlertExpectation) rules.Pos { return e.Pos },
}

var correctionSide = side[*testspec.CorrectionExpectation, *event.Correction]{
	record: "correction",
	identity: func(e *testspec.CorrectionExpectation, c *event.Correction) bool {
		return str(e.SKU, c.SKU) && str(e.Channel, c.Channel)
	},
	diffs: correctionDiffs,
	expected: func(e *testspec.CorrectionExpectation) *Failure {
		return &Failure{Rule: e.BoundBy, SKU: e.SKU, Channel: e.Channel, State: string(e.State)}
	},
	got: func(c *event.Correction) *Failure {
		return &Failure{Rule: c.BoundBy, SKU: c.SKU, Channel: c.Channel, State: string(c.State), Got: describeCorrection(c)}
	},
	pos: func(e *testspec.CorrectionExpectation) rules.Pos { return e.Pos },
}

// str matches an optional expected string.
func str(want, got string) bool { return want == "" || want == got }

type differ struct{ out []FieldDiff }

func (d *differ) add(field, want, got string) {
	d.out = append(d.out, FieldDiff{Field: field, Expected: want, Got: got})
}

func (d *differ) str(field, want, got string) {
	if want != "" && want != got {
		d.add(field, strconv.Quote(want), quoteOrNone(got))
	}
}

func (d *differ) time(field string, want, got time.Time) {
	if !want.IsZero() && !want.Equal(got) {
		d.add(field, fmtTime(want), fmtTimeOrNone(got))
	}
}

func (d *differ) num(field string, want testspec.Number, got float64, tol float64) {
	if !want.Set {
		return
	}
	nan := math.IsNaN(got) || math.IsInf(got, 0)
	switch {
	case want.Null && nan:
	case want.Null:
		d.add(field, "null", fmtNum(got))
	case nan:
		d.add(field, fmtNum(want.Value), "null")
	case !within(want.Value, got, tol):
		d.add(field, fmtNum(want.Value), fmtNum(got))
	}
}

func alertDiffs(e *testspec.AlertExpectation, a *event.Alert) []FieldDiff {
	var d differ
	d.str("state", string(e.State), string(a.State))
	d.str("reason", string(e.Reason), string(a.Reason))
	d.str("severity", e.Severity, a.Severity)
	d.time("at", e.At, a.At)
	d.time("watermark", e.Watermark, a.Watermark)
	d.str("message", e.Message, a.Message)
	for _, k := range slices.Sorted(maps.Keys(e.Labels)) {
		got, ok := a.Labels[k]
		if !ok {
			d.add("labels."+k, strconv.Quote(e.Labels[k]), "(absent)")
		} else if got != e.Labels[k] {
			d.add("labels."+k, strconv.Quote(e.Labels[k]), strconv.Quote(got))
		}
	}
	for _, k := range slices.Sorted(maps.Keys(e.Values)) {
		got, ok := a.Values[k]
		switch {
		case !ok:
			d.add("values."+k, fmtValue(e.Values[k]), "(absent: the condition does not read it)")
		case !valueEqual(e.Values[k], got, e.Tolerance):
			d.add("values."+k, fmtValue(e.Values[k]), fmtValue(got))
		}
	}
	return d.out
}

func correctionDiffs(e *testspec.CorrectionExpectation, c *event.Correction) []FieldDiff {
	var d differ
	d.str("state", string(e.State), string(c.State))
	d.str("reason", string(e.Reason), string(c.Reason))
	d.num("corrected", e.Corrected, float64(c.CorrectedPrice), e.Tolerance)
	d.num("effective", e.Effective, float64(c.EffectivePrice), e.Tolerance)
	d.num("floor", e.Floor, float64(c.Floor), e.Tolerance)
	d.num("ceiling", e.Ceiling, float64(c.Ceiling), e.Tolerance)
	d.str("bound_by", e.BoundBy, c.BoundBy)
	d.time("at", e.At, c.At)
	d.time("watermark", e.Watermark, c.Watermark)
	return d.out
}

// within reports whether got matches the expected want: within tol, an
// expectation's own absolute `tolerance:`, when tol is from 0; else (tol is
// testspec.DefaultTolerance) within testspec.RelTolerance of the larger magnitude or
// testspec.AbsTolerance, whichever is larger.
func within(want, got, tol float64) bool {
	d := math.Abs(want - got)
	if tol >= 0 {
		return d <= tol
	}
	return d <= max(testspec.RelTolerance*max(math.Abs(want), math.Abs(got)), testspec.AbsTolerance)
}

// valueEqual compares an expected value with one of an alert's values:
// numbers within tol, lists element by element, maps key by key.
func valueEqual(want, got any, tol float64) bool {
	switch w := want.(type) {
	case nil:
		return got == nil
	case float64:
		g, ok := number(got)
		return ok && within(w, g, tol)
	case bool:
		g, ok := got.(bool)
		return ok && g == w
	case string:
		g, ok := got.(string)
		return ok && g == w
	case []any:
		g, ok := got.([]any)
		if !ok || len(g) != len(w) {
			return false
		}
		for i := range w {
			if !valueEqual(w[i], g[i], tol) {
				return false
			}
		}
		return true
	case map[string]any:
		g, ok := got.(map[string]any)
		if !ok || len(g) != len(w) {
			return false
		}
		for k, v := range w {
			gv, ok := g[k]
			if !ok || !valueEqual(v, gv, tol) {
				return false
			}
		}
		return true
	}
	return false
}

func number(v any) (float64, bool) {
	switch v := v.(type) {
	case float64:
		return v, true
	case int64:
		return float64(v), true
	case int:
		return float64(v), true
	}
	return 0, false
}

func fmtNum(f float64) string {
	if math.IsNaN(f) || math.IsInf(f, 0) {
		return "null"
	}
	return strconv.FormatFloat(f, 'g', 12, 64)
}

func fmtTimeOrNone(t time.Time) string {
	if t.IsZero() {
		return "(none)"
	}
	return fmtTime(t)
}

func quoteOrNone(s string) string {
	if s == "" {
		return "(none)"
	}
	return strconv.Quote(s)
}

// fmtValue writes a value the way the test file would.
func fmtValue(v any) string {
	switch v := v.(type) {
	case nil:
		return "null"
	case float64:
		return fmtNum(v)
	case int64:
		return strconv.FormatInt(v, 10)
	case string:
		return strconv.Quote(v)
	case bool:
		return strconv.FormatBool(v)
	case []any:
		parts := make([]string, len(v))
		for i, x := range v {
			parts[i] = fmtValue(x)
		}
		return "[" + strings.Join(parts, ", ") + "]"
	case map[string]any:
		var parts []string
		for _, k := range slices.Sorted(maps.Keys(v)) {
			parts = append(parts, k+": "+fmtValue(v[k]))
		}
		return "{" + strings.Join(parts, ", ") + "}"
	}
	return fmt.Sprint(v)
}

// subject names what a record is about: sku@channel, or the promotion.
func subject(sku, channel, promo string) string {
	switch {
	case promo != "" && sku == "":
		return "promo " + promo
	case sku == "" && channel == "":
		return "any sku"
	}
	s := sku
	if s == "" {
		s = "*"
	}
	if channel != "" {
		s += "@" + channel
	} else {
		s += "@*"
	}
	return s
}

func describeAlert(a *event.Alert) string {
	var b strings.Builder
	fmt.Fprintf(&b, "%s %s %s", alertID(a), subject(a.SKU, a.Channel, a.Promo), a.State)
	if a.Reason != "" {
		fmt.Fprintf(&b, " (%s)", a.Reason)
	}
	fmt.Fprintf(&b, " %s at %s, watermark %s", a.Severity, fmtTime(a.At), fmtTime(a.Watermark))
	if a.Message != "" {
		fmt.Fprintf(&b, ": %q", a.Message)
	}
	return b.String()
}

func describeCorrection(c *event.Correction) string {
	var b strings.Builder
	fmt.Fprintf(&b, "%s %s", subject(c.SKU, c.Channel, ""), c.State)
	if c.Reason != "" {
		fmt.Fprintf(&b, " (%s)", c.Reason)
	}
	fmt.Fprintf(&b, " %s -> %s %s", fmtNum(float64(c.EffectivePrice)), fmtNum(float64(c.CorrectedPrice)), c.Currency)
	if c.BoundBy != "" {
		fmt.Fprintf(&b, " bound by %s", c.BoundBy)
	}
	fmt.Fprintf(&b, " at %s, watermark %s", fmtTime(c.At), fmtTime(c.Watermark))
	return b.String()
}
