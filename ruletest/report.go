package ruletest

import (
	"cmp"
	"encoding/json"
	"encoding/xml"
	"fmt"
	"io"
	"slices"
	"strings"

	"github.com/promoguard/promoguard/rules"
	"github.com/promoguard/promoguard/rules/testspec"
)

// Report is the result of a run.
type Report struct {
	Cases  []*CaseResult `json:"cases"`
	Passed int           `json:"passed"`
	Failed int           `json:"failed"`
	// Coverage lists every rule some case loaded, by file and rule id. A
	// rule is exercised when it fired (emitted a firing alert) in at least
	// one case that ran, whether that case passed or not.
	Coverage []*RuleCoverage `json:"coverage"`
}

// CaseResult is one case's outcome.
type CaseResult struct {
	File         string     `json:"file"`
	Name         string     `json:"name"`
	Pos          rules.Pos  `json:"pos"`
	Passed       bool       `json:"passed"`
	Failures     []*Failure `json:"failures,omitempty"`
	Records      int        `json:"records"` // output records the engine emitted
	Fired        []string   `json:"fired"`   // rules that fired, sorted
	RulesVersion string     `json:"rules_version"`
}

// RuleCoverage is how the cases exercised one rule.
type RuleCoverage struct {
	Rule string `json:"rule"` // group/rule
	File string `json:"file"` // the rule file
	// Fired counts the cases in which the rule fired.
	Fired int `json:"fired"`
	// Quiet counts the passing cases that prove it quiet: it was loaded,
	// never fired, and every checkpoint of the case checked its alerts
	// (alerts: written, or the rule in quiet:, or expect_none).
	Quiet int `json:"quiet"`
}

// Exercised reports whether the rule fired in some case.
func (c *RuleCoverage) Exercised() bool { return c.Fired > 0 }

// Uncovered lists the rules no case exercised.
func (r *Report) Uncovered() []*RuleCoverage {
	var out []*RuleCoverage
	for _, c := range r.Coverage {
		if !c.Exercised() {
			out = append(out, c)
		}
	}
	return out
}

type coverage struct {
	rules map[string]*RuleCoverage // by file and id
}

func newCoverage() *coverage { return &coverage{rules: map[string]*RuleCoverage{}} }

func (cv *coverage) add(p *prepared, res *CaseResult, run *caseRun) {
	fired := map[string]bool{}
	for _, id := range res.Fired {
		fired[id] = true
	}
	for _, r := range p.rs.Rules {
		id := r.ID()
		key := r.Group.File + "\x00" + id
		c := cv.rules[key]
		if c == nil {
			c = &RuleCoverage{Rule: id, File: r.Group.File}
			cv.rules[key] = c
		}
		switch {
		case fired[id]:
			c.Fired++
		case res.Passed && provesQuiet(run, id):
			c.Quiet++
		}
	}
}

// provesQuiet says whether every window of a run checked the alerts of
// rule id. A window without expectations counts only when nothing was done
// in it.
func provesQuiet(run *caseRun, id string) bool {
	for _, w := range run.windows {
		if w.expect == nil {
			if w.hasActions {
				return false
			}
			continue
		}
		if w.expect.CheckAlerts || slices.ContainsFunc(w.expect.Quiet, func(q testspec.RuleRef) bool { return q.Matches(id) }) {
			continue
		}
		return false
	}
	return true
}

func (cv *coverage) list() []*RuleCoverage {
	out := make([]*RuleCoverage, 0, len(cv.rules))
	for _, c := range cv.rules {
		out = append(out, c)
	}
	slices.SortFunc(out, func(a, b *RuleCoverage) int {
		return cmp.Or(cmp.Compare(a.File, b.File), cmp.Compare(a.Rule, b.Rule))
	})
	return out
}

// TextOptions shape the text report.
type TextOptions struct {
	// Color writes ANSI colours (for a terminal).
	Color bool
	// Verbose lists every case, passing ones too, and every rule's
	// coverage.
	Verbose bool
}

type palette struct{ red, green, yellow, dim, bold, reset string }

func newPalette(on bool) palette {
	if !on {
		return palette{}
	}
	return palette{red: "\x1b[31m", green: "\x1b[32m", yellow: "\x1b[33m", dim: "\x1b[2m", bold: "\x1b[1m", reset: "\x1b[0m"}
}

// WriteText writes the report for people: every failing case with its
// differences, a line per file (per case with Verbose), the coverage, and
// a last line "PASS: N passed, M failed" (or FAIL).
func WriteText(w io.Writer, r *Report, o TextOptions) error {
	c := newPalette(o.Color)
	ew := &errWriter{w: w}
	var lastFile string
	perFile := map[string][2]int{}
	var files []string
	for _, cr := range r.Cases {
		if _, ok := perFile[cr.File]; !ok {
			files = append(files, cr.File)
		}
		n := perFile[cr.File]
		if cr.Passed {
			n[0]++
		} else {
			n[1]++
		}
		perFile[cr.File] = n
	}
	for _, cr := range r.Cases {
		if cr.Passed && !o.Verbose {
			continue
		}
		if o.Verbose && cr.File != lastFile {
			ew.printf("%s%s%s\n", c.bold, cr.File, c.reset)
			lastFile = cr.File
		}
		if cr.Passed {
			ew.printf("%s--- PASS%s %s %s(%s)%s\n", c.green, c.reset, cr.Name, c.dim, cr.Pos, c.reset)
			if len(cr.Fired) > 0 {
				ew.printf("    fired: %s\n", strings.Join(cr.Fired, ", "))
			}
			continue
		}
		ew.printf("%s--- FAIL%s %s %s(%s)%s\n", c.red, c.reset, cr.Name, c.dim, cr.Pos, c.reset)
		checkpoint := ""
		for _, f := range cr.Failures {
			if f.Checkpoint != checkpoint {
				checkpoint = f.Checkpoint
				ew.printf("    %s:\n", checkpoint)
			}
			writeFailure(ew, f, c)
		}
	}
	if !o.Verbose {
		for _, f := range files {
			n := perFile[f]
			if n[1] == 0 {
				ew.printf("%sok%s   %s: %d test%s\n", c.green, c.reset, f, n[0], plural(n[0]))
			} else {
				ew.printf("%sFAIL%s %s: %d of %d test%s failed\n", c.red, c.reset, f, n[1], n[0]+n[1], plural(n[0]+n[1]))
			}
		}
	}
	unc := r.Uncovered()
	ew.printf("coverage: %d of %d rule%s exercised (fired in at least one test)", len(r.Coverage)-len(unc), len(r.Coverage), plural(len(r.Coverage)))
	if len(unc) > 0 {
		ew.printf("; %snot exercised:%s\n", c.yellow, c.reset)
		for _, u := range unc {
			ew.printf("  %s%s%s (%s)\n", c.yellow, u.Rule, c.reset, u.File)
		}
	} else {
		ew.printf("\n")
	}
	if o.Verbose {
		for _, cv := range r.Coverage {
			ew.printf("  %-40s fired in %d, proven quiet in %d  %s%s%s\n", cv.Rule, cv.Fired, cv.Quiet, c.dim, cv.File, c.reset)
		}
	}
	if r.Failed > 0 {
		ew.printf("%sFAIL%s: %d passed, %d failed\n", c.red, c.reset, r.Passed, r.Failed)
	} else {
		ew.printf("%sPASS%s: %d passed, %d failed\n", c.green, c.reset, r.Passed, r.Failed)
	}
	return ew.err
}

func writeFailure(ew *errWriter, f *Failure, c palette) {
	switch f.Kind {
	case KindMissing:
		ew.printf("      %smissing %s%s %s %s\n", c.red, f.Record, c.reset, expectedName(f), f.State)
		ew.printf("        %sexpected at %s%s\n", c.dim, f.Pos, c.reset)
	case KindWrongValue:
		ew.printf("      %swrong value%s in %s %s %s\n", c.red, c.reset, f.Record, expectedName(f), f.State)
		ew.printf("        %sexpected at %s%s\n", c.dim, f.Pos, c.reset)
		for _, d := range f.Fields {
			ew.printf("        %s: expected %s%s%s, got %s%s%s\n", d.Field, c.green, d.Expected, c.reset, c.red, d.Got, c.reset)
		}
		ew.printf("        %sgot: %s%s\n", c.dim, f.Got, c.reset)
	case KindUnexpected:
		ew.printf("      %sunexpected %s%s %s\n", c.yellow, f.Record, c.reset, f.Got)
	case KindNotQuiet:
		ew.printf("      %snot quiet%s (%s): %s\n", c.red, c.reset, f.Pos, f.Got)
	default:
		ew.printf("      %s%s%s: %s %s(%s)%s\n", c.red, f.Kind, c.reset, f.Message, c.dim, f.Pos, c.reset)
	}
}

func expectedName(f *Failure) string {
	s := subject(f.SKU, f.Channel, f.Promo)
	if f.Record == "correction" {
		if f.Rule != "" {
			return s + " (bound by " + f.Rule + ")"
		}
		return s
	}
	return f.Rule + " " + s
}

// WriteJSON writes the report as one JSON document.
func WriteJSON(w io.Writer, r *Report) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	enc.SetEscapeHTML(false)
	return enc.Encode(r)
}

type junitSuites struct {
	XMLName  xml.Name     `xml:"testsuites"`
	Name     string       `xml:"name,attr"`
	Tests    int          `xml:"tests,attr"`
	Failures int          `xml:"failures,attr"`
	Suites   []junitSuite `xml:"testsuite"`
}

type junitSuite struct {
	Name     string      `xml:"name,attr"`
	Tests    int         `xml:"tests,attr"`
	Failures int         `xml:"failures,attr"`
	Cases    []junitCase `xml:"testcase"`
}

type junitCase struct {
	Name      string        `xml:"name,attr"`
	Classname string        `xml:"classname,attr"`
	Failure   *junitFailure `xml:"failure,omitempty"`
}

type junitFailure struct {
	Message string `xml:"message,attr"`
	Type    string `xml:"type,attr"`
	Text    string `xml:",chardata"`
}

// WriteJUnit writes the report as JUnit XML: a testsuite per test file, a
// testcase per case, a failure with the differences as text.
func WriteJUnit(w io.Writer, r *Report) error {
	out := junitSuites{Name: "promoguard test", Tests: len(r.Cases), Failures: r.Failed}
	index := map[string]int{}
	for _, cr := range r.Cases {
		i, ok := index[cr.File]
		if !ok {
			i = len(out.Suites)
			index[cr.File] = i
			out.Suites = append(out.Suites, junitSuite{Name: cr.File})
		}
		s := &out.Suites[i]
		s.Tests++
		jc := junitCase{Name: cr.Name, Classname: cr.File}
		if !cr.Passed {
			s.Failures++
			var b strings.Builder
			ew := &errWriter{w: &b}
			checkpoint := ""
			for _, f := range cr.Failures {
				if f.Checkpoint != checkpoint {
					checkpoint = f.Checkpoint
					ew.printf("%s:\n", checkpoint)
				}
				writeFailure(ew, f, palette{})
			}
			jc.Failure = &junitFailure{
				Message: fmt.Sprintf("%d difference%s", len(cr.Failures), plural(len(cr.Failures))),
				Type:    cr.Failures[0].Kind,
				Text:    b.String(),
			}
		}
		s.Cases = append(s.Cases, jc)
	}
	if _, err := io.WriteString(w, xml.Header); err != nil {
		return err
	}
	enc := xml.NewEncoder(w)
	enc.Indent("", "  ")
	if err := enc.Encode(out); err != nil {
		return err
	}
	_, err := io.WriteString(w, "\n")
	return err
}

type errWriter struct {
	w   io.Writer
	err error
}

func (e *errWriter) printf(format string, args ...any) {
	if e.err == nil {
		_, e.err = fmt.Fprintf(e.w, format, args...)
	}
}

func plural(n int) string {
	if n == 1 {
		return ""
	}
	return "s"
}
