package file

import (
	"fmt"
	"io"
	"slices"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/promoguard/promoguard/engine"
	"github.com/promoguard/promoguard/event"
)

// Summary is what replay says on stderr when it is done, as text (Text) or
// as one JSON object.
type Summary struct {
	RulesVersion    string                `json:"rules_version"`
	Files           []string              `json:"files"`
	Lines           int64                 `json:"lines"`
	Skipped         int64                 `json:"skipped"` // blank and comment lines
	EventsRead      int64                 `json:"events_read"`
	Applied         int64                 `json:"applied"`
	Late            int64                 `json:"late"`
	DeadLetters     int64                 `json:"dead_letters"`
	DeadByReason    map[string]int64      `json:"dead_letters_by_reason"`
	Outputs         map[string]int64      `json:"outputs"` // records written, by kind
	Rules           []RuleSummary         `json:"rules"`
	Corrections     map[event.State]int64 `json:"corrections"`
	Timers          int64                 `json:"timers"`
	Evaluations     int64                 `json:"evaluations"`
	RuleErrors      int64                 `json:"rule_errors"`
	FirstRuleErrors []*RuleErrorSummary   `json:"first_rule_errors"`
	Watermark       *time.Time            `json:"watermark"`
	Until           *time.Time            `json:"until,omitempty"`
	WallSeconds     float64               `json:"wall_seconds"`
	EventsPerSecond float64               `json:"events_per_second"`
}

// RuleSummary is one rule's line of a Summary.
type RuleSummary struct {
	Rule        string `json:"rule"`
	Firing      int64  `json:"firing"`
	Resolved    int64  `json:"resolved"`
	Evaluations int64  `json:"evaluations"`
	Errors      int64  `json:"errors"`
}

// NewSummary gathers the summary of a replay of files by r, through d, with
// the records w wrote and the rule errors errs kept, in wall time.
func NewSummary(d *engine.Driver, r *Reader, w *RecordWriter, errs *RuleErrors, wall time.Duration) *Summary {
	eng := d.Engine()
	st := eng.Stats()
	dead := map[string]int64{}
	for reason, n := range d.Stats().DeadByReason {
		dead[string(reason)] = n
	}
	s := &Summary{
		RulesVersion: eng.Rules().Version,
		Lines:        r.Lines, Skipped: r.Skipped, EventsRead: r.Events,
		Applied: st.Events, Late: st.Late,
		DeadByReason: dead, Outputs: w.Counts(), Corrections: st.Corrections,
		Timers: st.Timers, Evaluations: st.Evaluations, RuleErrors: st.RuleErrors,
		FirstRuleErrors: errs.first,
		WallSeconds:     wall.Seconds(),
	}
	if s.Corrections == nil {
		s.Corrections = map[event.State]int64{}
	}
	if s.FirstRuleErrors == nil {
		s.FirstRuleErrors = []*RuleErrorSummary{}
	}
	for _, f := range r.files {
		s.Files = append(s.Files, f.Label())
	}
	for _, n := range dead {
		s.DeadLetters += n
	}
	if wm := eng.Watermark(); !wm.IsZero() {
		s.Watermark = &wm
	}
	if wall > 0 {
		s.EventsPerSecond = float64(r.Events) / wall.Seconds()
	}
	// the rules in load order, then the built-in ones that did something
	seen := map[string]bool{}
	add := func(id string) {
		rs := st.ByRule[id]
		if rs == nil {
			rs = &engine.RuleStats{}
		}
		seen[id] = true
		s.Rules = append(s.Rules, RuleSummary{Rule: id, Firing: rs.Firing, Resolved: rs.Resolved, Evaluations: rs.Evaluations, Errors: rs.Errors})
	}
	for _, rule := range eng.Rules().Rules {
		add(rule.ID())
	}
	var extra []string
	for id := range st.ByRule {
		if !seen[id] {
			extra = append(extra, id)
		}
	}
	sort.Strings(extra)
	for _, id := range extra {
		add(id)
	}
	return s
}

// Text writes the summary for people.
func (s *Summary) Text(w io.Writer) {
	fmt.Fprintf(w, "replay: %d events from %d file%s in %s (%.0f events/s), rules_version %s\n",
		s.EventsRead, len(s.Files), plural(len(s.Files)), s.wallTime(), s.EventsPerSecond, s.RulesVersion)
	var records int64
	for _, n := range s.Outputs {
		records += n
	}
	rows := []struct {
		label  string
		n      int64
		detail string
	}{
		{"applied", s.Applied, ""},
		{"late", s.Late, "ignored: older than the state they would replace"},
		{"dead letters", s.DeadLetters, counts(s.DeadByReason, nil)},
		{"skipped", s.Skipped, "blank or comment lines"},
		{"records", records, counts(s.Outputs, []string{event.KindAlert, event.KindCorrection, event.KindDeadLetter})},
		{"corrections", sumCounts(s.Corrections), counts(s.Corrections, []event.State{event.StateActive, event.StateWithdrawn})},
		{"rule errors", s.RuleErrors, ""},
		{"evaluations", s.Evaluations, fmt.Sprintf("timer firings %d", s.Timers)},
	}
	nw := 0
	for _, r := range rows {
		nw = max(nw, len(strconv.FormatInt(r.n, 10)))
	}
	for _, r := range rows {
		line := fmt.Sprintf("  %-12s %*d  %s", r.label, nw, r.n, r.detail)
		fmt.Fprintln(w, strings.TrimRight(line, " "))
	}
	wm := "none: no event applied"
	if s.Watermark != nil {
		wm = s.Watermark.Format(time.RFC3339Nano)
	}
	fmt.Fprintf(w, "  %-12s %s\n", "watermark", wm)

	// one line per rule: the id left, the counts right-aligned under their
	// headings
	head := []string{"firing", "resolved", "evaluations", "errors"}
	idw := len("rule")
	cw := make([]int, len(head))
	for i, h := range head {
		cw[i] = len(h)
	}
	cells := make([][4]string, len(s.Rules))
	for i, r := range s.Rules {
		idw = max(idw, len(r.Rule))
		for j, n := range []int64{r.Firing, r.Resolved, r.Evaluations, r.Errors} {
			cells[i][j] = strconv.FormatInt(n, 10)
			cw[j] = max(cw[j], len(cells[i][j]))
		}
	}
	var b strings.Builder
	fmt.Fprintf(&b, "  %-*s", idw, "rule")
	for j, h := range head {
		fmt.Fprintf(&b, "  %*s", cw[j], h)
	}
	b.WriteByte('\n')
	for i, r := range s.Rules {
		fmt.Fprintf(&b, "  %-*s", idw, r.Rule)
		for j := range head {
			fmt.Fprintf(&b, "  %*s", cw[j], cells[i][j])
		}
		b.WriteByte('\n')
	}
	io.WriteString(w, b.String())
}

// wallTime is the wall time for people, to the millisecond.
func (s *Summary) wallTime() string {
	return time.Duration(s.WallSeconds * float64(time.Second)).Round(time.Millisecond).String()
}

// counts renders a count map as "a 1, b 2", keys in the given order
// first, then the others sorted; "" when empty.
func counts[K ~string](m map[K]int64, order []K) string {
	var keys []K
	seen := map[K]bool{}
	for _, k := range order {
		if m[k] > 0 {
			keys = append(keys, k)
		}
		seen[k] = true
	}
	var rest []K
	for k, n := range m {
		if !seen[k] && n > 0 {
			rest = append(rest, k)
		}
	}
	slices.Sort(rest)
	keys = append(keys, rest...)
	if len(keys) == 0 {
		return ""
	}
	parts := make([]string, len(keys))
	for i, k := range keys {
		parts[i] = fmt.Sprintf("%s %d", k, m[k])
	}
	return strings.Join(parts, ", ")
}

func sumCounts[K comparable](m map[K]int64) int64 {
	var n int64
	for _, v := range m {
		n += v
	}
	return n
}

func plural(n int) string {
	if n == 1 {
		return ""
	}
	return "s"
}
