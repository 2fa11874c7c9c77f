package ruletest

import (
	"bytes"
	"encoding/json"
	"encoding/xml"
	"errors"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/promoguard/promoguard/rules"
	"github.com/promoguard/promoguard/rules/testspec"
)

const marginRules = `
group: margin
tables:
  floors: {tv: 0.08}
rules:
  - name: margin-floor
    if: has_cost && margin < lookup(floors, category, 0.12)
    floor: cost / (1 - lookup(floors, category, 0.12))
    severity: critical
    message: '{{sku}} on {{channel}}: margin {{pct(margin)}}'
    labels: {owner: pricing}
  - name: below-cost
    if: has_cost && effective_price < cost
    floor: cost
    severity: critical
  - name: strict-lookup
    if: has_map_price && lookup(floors, category) > 1
`

// setup writes the rule file and a test file into a temp dir and loads the
// test file.
func setup(t *testing.T, tests string) []*testspec.File {
	t.Helper()
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "margin.yaml"), []byte(marginRules), 0o644); err != nil {
		t.Fatal(err)
	}
	p := filepath.Join(dir, "margin_test.yaml")
	if err := os.WriteFile(p, []byte("rule_files: [margin.yaml]\ntests:\n"+tests), 0o644); err != nil {
		t.Fatal(err)
	}
	files, err := testspec.LoadPaths([]string{p}, nil)
	if err != nil {
		t.Fatalf("load: %v", err)
	}
	return files
}

func run(t *testing.T, files []*testspec.File, opts Options) (*Report, error) {
	t.Helper()
	r, err := New(opts)
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	return r.Run(files)
}

const events = `
      - {type: price, sku: tv, channel: web, price: 899, cost: 700, currency: EUR, category: tv, ts: 2026-11-23T08:00:00Z}
      - {type: promo, id: bf, partner: acme, discount: {kind: percent, value: 30}, skus: [tv], start: 2026-11-27T00:00:00Z, end: 2026-12-01T00:00:00Z, ts: 2026-11-23T10:00:00Z}
`

// margin: (899 × 0.7 - 700) / 629.3 = -70.7 / 629.3 = -0.11234705228 (alert
// values keep 12 significant digits; numbers compare to 1e-9 relative).
func TestPass(t *testing.T) {
	files := setup(t, `
  - name: both fire, then end
    events:`+events+`
    steps:
      - expect:
          alerts:
            - {rule: margin/margin-floor, sku: tv, channel: web, at: 2026-11-27T00:00:00Z, labels: {owner: pricing}, values: {margin: -0.11234705228}}
            - {rule: below-cost, sku: tv}
          corrections:
            - {sku: tv, channel: web, corrected: 760.87, effective: 629.3, bound_by: margin/margin-floor}
      - until: 2026-12-01T00:00:00Z
    expect:
      alerts:
        - {rule: margin/margin-floor, state: resolved, reason: ended}
        - {rule: margin/below-cost, state: resolved, reason: ended}
      corrections:
        - {sku: tv, channel: web, state: withdrawn, reason: ended}
`)
	rep, err := run(t, files, Options{})
	if err != nil {
		t.Fatal(err)
	}
	if rep.Failed != 0 || rep.Passed != 1 {
		var b bytes.Buffer
		WriteText(&b, rep, TextOptions{})
		t.Fatalf("want a pass:\n%s", b.String())
	}
	if got := rep.Cases[0].Fired; !slices.Equal(got, []string{"margin/below-cost", "margin/margin-floor"}) {
		t.Errorf("fired %v", got)
	}
	// coverage: strict-lookup never fired; it was proven quiet
	for _, c := range rep.Coverage {
		switch c.Rule {
		case "margin/strict-lookup":
			if c.Fired != 0 || c.Quiet != 1 {
				t.Errorf("%s: %+v", c.Rule, c)
			}
		default:
			if c.Fired != 1 || c.Quiet != 0 {
				t.Errorf("%s: %+v", c.Rule, c)
			}
		}
	}
	if u := rep.Uncovered(); len(u) != 1 || u[0].Rule != "margin/strict-lookup" {
		t.Errorf("uncovered %v", u)
	}
}

// TestDiff checks the failures of wrong expectations: a wrong value names
// the field with expected and got, a missing record its expectation's
// position, an unexpected record the record.
func TestDiff(t *testing.T) {
	files := setup(t, `
  - name: wrong
    events:`+events+`
    expect:
      alerts:
        - {rule: margin/margin-floor, sku: tv, channel: web, severity: warning, values: {margin: 0.5, cost: 700, nope: 1}}
        - {rule: margin/below-cost, sku: tv, channel: ebay}
      corrections:
        - {sku: tv, channel: web, corrected: 800}
`)
	rep, err := run(t, files, Options{})
	if err != nil {
		t.Fatal(err)
	}
	if rep.Failed != 1 {
		t.Fatalf("want a failure, got %+v", rep)
	}
	fs := rep.Cases[0].Failures
	byKind := map[string][]*Failure{}
	for _, f := range fs {
		byKind[f.Kind] = append(byKind[f.Kind], f)
		if f.Checkpoint != "at the end" {
			t.Errorf("checkpoint %q", f.Checkpoint)
		}
	}
	if len(byKind[KindWrongValue]) != 2 || len(byKind[KindMissing]) != 1 || len(byKind[KindUnexpected]) != 1 {
		t.Fatalf("failures %+v", fs)
	}
	wv := byKind[KindWrongValue][0]
	want := []FieldDiff{
		{Field: "severity", Expected: `"warning"`, Got: `"critical"`},
		{Field: "values.cost", Expected: "700", Got: "(absent: the condition does not read it)"},
		{Field: "values.margin", Expected: "0.5", Got: "-0.11234705228"},
		{Field: "values.nope", Expected: "1", Got: "(absent: the condition does not read it)"},
	}
	if wv.Rule != "margin/margin-floor" || wv.Record != "alert" || !slices.Equal(wv.Fields, want) {
		t.Errorf("wrong value %+v\nfields %+v", wv, wv.Fields)
	}
	if wv.Pos.Line != 11 || wv.Pos.Col != 11 {
		t.Errorf("wrong value at %s, want the expectation's position 11:11", wv.Pos)
	}
	cv := byKind[KindWrongValue][1]
	if cv.Record != "correction" || len(cv.Fields) != 1 || cv.Fields[0].Field != "corrected" || cv.Fields[0].Got != "760.87" {
		t.Errorf("correction diff %+v", cv)
	}
	if m := byKind[KindMissing][0]; m.Rule != "margin/below-cost" || m.Channel != "ebay" || m.Pos.Line != 12 {
		t.Errorf("missing %+v", m)
	}
	if u := byKind[KindUnexpected][0]; u.Rule != "margin/below-cost" || u.Channel != "web" || !strings.Contains(u.Got, "margin/below-cost tv@web firing") {
		t.Errorf("unexpected %+v", u)
	}

	var b bytes.Buffer
	if err := WriteText(&b, rep, TextOptions{}); err != nil {
		t.Fatal(err)
	}
	text := b.String()
	for _, s := range []string{
		"--- FAIL wrong (",
		"wrong value in alert margin/margin-floor tv@web firing",
		`severity: expected "warning", got "critical"`,
		"missing alert margin/below-cost tv@ebay firing",
		"unexpected alert margin/below-cost tv@web firing",
		"wrong value in correction tv@web (bound by margin/margin-floor) active",
		"corrected: expected 800, got 760.87",
		"FAIL: 0 passed, 1 failed\n",
	} {
		if !strings.Contains(text, s) {
			t.Errorf("text report lacks %q:\n%s", s, text)
		}
	}
	if strings.Contains(text, "\x1b[") {
		t.Error("colour without Color")
	}
	b.Reset()
	WriteText(&b, rep, TextOptions{Color: true})
	if !strings.Contains(b.String(), "\x1b[31m--- FAIL\x1b[0m") {
		t.Errorf("no colour:\n%q", b.String())
	}
}

// TestMatching pairs expectations with records so that a loose expectation
// never takes the record that a precise one needs, whatever their order.
func TestMatching(t *testing.T) {
	files := setup(t, `
  - name: loose first
    events:
      - {type: price, sku: a, channel: web, price: 10, cost: 20, currency: EUR, ts: 2026-11-23T08:00:00Z}
      - {type: price, sku: b, channel: web, price: 10, cost: 20, currency: EUR, ts: 2026-11-23T08:00:00Z}
    expect:
      alerts:
        - {rule: margin-floor}
        - {rule: margin-floor, sku: a}
        - {rule: below-cost}
        - {rule: below-cost}
`)
	rep, err := run(t, files, Options{})
	if err != nil || rep.Failed != 0 {
		t.Fatalf("err %v, report %+v", err, rep.Cases[0].Failures)
	}
}

// TestQuiet fails a case whose quiet rule fires, without also reporting
// its record as unexpected.
func TestQuiet(t *testing.T) {
	files := setup(t, `
  - name: quiet
    events:`+events+`
    expect:
      alerts: [{rule: margin/margin-floor}]
      quiet: [margin/below-cost]
`)
	rep, err := run(t, files, Options{})
	if err != nil {
		t.Fatal(err)
	}
	fs := rep.Cases[0].Failures
	if len(fs) != 1 || fs[0].Kind != KindNotQuiet || fs[0].Rule != "margin/below-cost" {
		t.Errorf("failures %+v", fs)
	}
}

// TestExpectNone and the run-time failures: a rule error, an until before
// the watermark.
func TestRunFailures(t *testing.T) {
	files := setup(t, `
  - name: none
    events:`+events+`
    expect_none: true
  - name: rule error
    events:
      - {type: price, sku: x, channel: web, price: 10, map_price: 5, currency: EUR, category: toys, ts: 2026-11-23T08:00:00Z}
    expect: {alerts: []}
  - name: until before the watermark
    events:`+events+`
    steps:
      - until: 2026-11-23T09:00:00Z
    expect: {quiet: [strict-lookup]}
`)
	rep, err := run(t, files, Options{})
	if err != nil {
		t.Fatal(err)
	}
	kinds := func(i int) []string {
		var out []string
		for _, f := range rep.Cases[i].Failures {
			out = append(out, f.Kind)
		}
		return out
	}
	if got := kinds(0); !slices.Equal(got, []string{KindUnexpected, KindUnexpected, KindUnexpected}) {
		t.Errorf("expect_none: %v", got)
	}
	if got := kinds(1); !slices.Equal(got, []string{KindRuleError}) || rep.Cases[1].Failures[0].Rule != "margin/strict-lookup" {
		t.Errorf("rule error: %v %+v", got, rep.Cases[1].Failures)
	}
	if got := kinds(2); !slices.Equal(got, []string{KindStep}) || !strings.Contains(rep.Cases[2].Failures[0].Message, "before the watermark 2026-11-23T10:00:00Z") {
		t.Errorf("until: %v %+v", got, rep.Cases[2].Failures)
	}
}

// TestLoadErrors: what keeps a case from running is reported with its
// position, and nothing runs.
func TestLoadErrors(t *testing.T) {
	files := setup(t, `
  - name: unknown rule and bad event
    events:
      - {type: price, sku: tv, channel: web, price: -1, ts: 2026-11-23T08:00:00Z}
    expect:
      alerts: [{rule: margin/margin-flor}, {rule: below-costs}]
      quiet: [nosuch/rule]
  - name: rule files that do not load
    rule_files: [nope.yaml]
    events:
      - {type: price, sku: tv, channel: web, price: 1, ts: 2026-11-23T08:00:00Z}
    expect_none: true
`)
	_, err := run(t, files, Options{})
	var es rules.Errors
	if !errors.As(err, &es) {
		t.Fatalf("want rules.Errors, got %v", err)
	}
	var got []string
	for _, e := range es {
		got = append(got, filepath.Base(e.File)+":"+itoa(e.Line)+":"+itoa(e.Col)+" "+string(e.Code)+" "+e.Message)
	}
	want := []string{
		"margin_test.yaml:6:9 bad_event not a valid event: price: must not be negative, got -1 (negative_value)",
		"margin_test.yaml:8:23 unknown_rule no rule margin/margin-flor in ",
		"margin_test.yaml:8:51 unknown_rule no rule below-costs in ",
		"margin_test.yaml:9:15 unknown_rule no rule nosuch/rule in ",
		"margin_test.yaml:11:17 bad_rule_files rule_files ",
		"nope.yaml:0:0 read_file ",
	}
	if len(got) != len(want) {
		t.Fatalf("errors:\n%s", strings.Join(got, "\n"))
	}
	for i := range want {
		if !strings.HasPrefix(got[i], want[i]) {
			t.Errorf("error %d:\n got %s\nwant %s...", i, got[i], want[i])
		}
	}
	if !strings.Contains(got[1], "did you mean margin/margin-floor?") || !strings.Contains(got[2], "did you mean margin/below-cost?") {
		t.Errorf("no suggestion: %s / %s", got[1], got[2])
	}
	if es[1].Snippet == "" {
		t.Error("no snippet under a test-file error")
	}
}

func itoa(n int) string { return strconv.Itoa(n) }

// TestMatchAndCache: Match selects cases; cases sharing rule files load
// them once (the cache may drop an entry, so fewer loads than cases is all
// that can be asserted).
func TestMatchAndCache(t *testing.T) {
	var cases strings.Builder
	for _, n := range []string{"one", "two", "three", "four", "skip me"} {
		cases.WriteString("  - name: " + n + "\n    events:" + events + "    expect: {quiet: [strict-lookup]}\n")
	}
	files := setup(t, cases.String())
	reads := 0
	opts := Options{
		Match: regexp.MustCompile(`^(one|two|three|four)$`).MatchString,
		Rules: &rules.Options{ReadFile: func(name string) ([]byte, error) {
			reads++
			return os.ReadFile(name)
		}},
	}
	rep, err := run(t, files, opts)
	if err != nil {
		t.Fatal(err)
	}
	if len(rep.Cases) != 4 || rep.Passed != 4 {
		t.Errorf("ran %d cases, %d passed", len(rep.Cases), rep.Passed)
	}
	if reads == 0 || reads >= 4 {
		t.Errorf("rule file read %d times for 4 cases", reads)
	}
}

// TestReports: JSON decodes to the report; JUnit XML is well formed, with
// a failure per failing case.
func TestReports(t *testing.T) {
	files := setup(t, `
  - name: passes
    events:`+events+`
    expect: {quiet: [strict-lookup]}
  - name: fails <&>
    events:`+events+`
    expect: {alerts: []}
`)
	rep, err := run(t, files, Options{})
	if err != nil {
		t.Fatal(err)
	}
	var b bytes.Buffer
	if err := WriteJSON(&b, rep); err != nil {
		t.Fatal(err)
	}
	var back Report
	if err := json.Unmarshal(b.Bytes(), &back); err != nil {
		t.Fatal(err)
	}
	if back.Passed != 1 || back.Failed != 1 || len(back.Cases[1].Failures) != 2 || back.Cases[1].Failures[0].Kind != KindUnexpected {
		t.Errorf("json: %s", b.String())
	}
	b.Reset()
	if err := WriteJUnit(&b, rep); err != nil {
		t.Fatal(err)
	}
	var ju junitSuites
	if err := xml.Unmarshal(b.Bytes(), &ju); err != nil {
		t.Fatalf("%v\n%s", err, b.String())
	}
	if ju.Tests != 2 || ju.Failures != 1 || len(ju.Suites) != 1 || ju.Suites[0].Cases[1].Failure == nil ||
		ju.Suites[0].Cases[1].Name != "fails <&>" || !strings.Contains(ju.Suites[0].Cases[1].Failure.Text, "unexpected alert margin/margin-floor") {
		t.Errorf("junit:\n%s", b.String())
	}
}

// TestExamples runs the reference pack's tests: every case passes, and
// every rule of the pack fires in some case and is proven quiet in another.
func TestExamples(t *testing.T) {
	files, err := testspec.LoadPaths([]string{"../examples/tests"}, nil)
	if err != nil {
		t.Fatal(err)
	}
	rep, err := run(t, files, Options{})
	if err != nil {
		t.Fatal(err)
	}
	if rep.Failed > 0 {
		var b bytes.Buffer
		WriteText(&b, rep, TextOptions{})
		t.Fatalf("examples fail:\n%s", b.String())
	}
	pack, err := rules.Load([]string{"../examples/rules"}, nil)
	if err != nil {
		t.Fatal(err)
	}
	cov := map[string]*RuleCoverage{}
	for _, c := range rep.Coverage {
		cov[c.Rule] = c
	}
	for _, r := range pack.Rules {
		c := cov[r.ID()]
		switch {
		case c == nil:
			t.Errorf("%s: no test loads it", r.ID())
		case c.Fired == 0:
			t.Errorf("%s: no test makes it fire", r.ID())
		case c.Quiet == 0:
			t.Errorf("%s: no test proves it quiet", r.ID())
		}
	}
}
