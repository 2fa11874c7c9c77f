package engine_test

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"os"
	"slices"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/promoguard/promoguard/bench"
	"github.com/promoguard/promoguard/engine"
	"github.com/promoguard/promoguard/event"
	"github.com/promoguard/promoguard/rules"
)

// hostileFile holds group hostile: rules that load but fail at run time
// (runaway iteration, division by zero, NaN and infinite bounds, a missing
// table key, an index out of range), one that is merely huge, and one that
// behaves. It loads together with examples/rules.
const hostileFile = "testdata/hostile/hostile.yaml"

// hostileErrs are the rules of hostileFile that must fail at run time on
// the example events and on the generated stream; the others must not.
var hostileErrs = []string{
	"runaway-map", "runaway-filter", "div-zero-condition", "div-zero-floor", "nan-ceiling", "inf-floor",
	"missing-table-key", "some-skus-fail", "first-promo", "now-modulo",
}

// hostileRun is what one run of an engine over a stream gave.
type hostileRun struct {
	outs  []event.Output
	stats engine.Stats
	// what OnRuleError heard: errors by rule id, and the problems with
	// them (a RuleError without its rule, error or context)
	reported map[string]int64
	bad      []string
	// the skus some-skus-fail failed for, the channels missing-table-key
	// failed on
	failedSKUs, failedChannels map[string]bool
}

// onRuleError checks and counts one RuleError.
func (r *hostileRun) onRuleError(re engine.RuleError) {
	if re.Rule == nil || re.Err == nil {
		r.bad = append(r.bad, fmt.Sprintf("a RuleError without its rule or error: %+v", re))
		return
	}
	id := re.Rule.ID()
	r.reported[id]++
	switch {
	case re.Rule.Scope == rules.ScopePromo:
		if re.Promo == "" || re.SKU != "" {
			r.bad = append(r.bad, fmt.Sprintf("%s: promo-scope error names promo %q, sku %q", id, re.Promo, re.SKU))
		}
	case re.SKU == "" || re.Channel == "":
		r.bad = append(r.bad, fmt.Sprintf("%s: error names sku %q, channel %q: %v", id, re.SKU, re.Channel, re.Err))
	}
	switch id {
	case "hostile/some-skus-fail":
		r.failedSKUs[re.SKU] = true
	case "hostile/missing-table-key":
		r.failedChannels[re.Channel] = true
	}
}

// runLines decodes and applies every line (comments, blank lines and bad
// events skipped: the decoder's business, not the rules') as replay does,
// then moves the watermark to until.
func runLines(t *testing.T, rs *rules.RuleSet, lines [][]byte, until time.Time) *hostileRun {
	t.Helper()
	r := &hostileRun{reported: map[string]int64{}, failedSKUs: map[string]bool{}, failedChannels: map[string]bool{}}
	e := engine.New(rs, engine.Options{OnRuleError: r.onRuleError})
	seq := engine.NewSequencer(e)
	for _, line := range lines {
		if l := bytes.TrimSpace(line); len(l) == 0 || l[0] == '#' {
			continue
		}
		ev, err := event.Decode(line, event.DecodeOptions{})
		if err != nil {
			continue
		}
		r.outs = seq.Push(ev, r.outs)
	}
	r.outs = seq.Finish(r.outs)
	r.outs = seq.Advance(until, r.outs)
	r.stats = e.Stats()
	return r
}

func loadRules(t *testing.T, paths ...string) *rules.RuleSet {
	t.Helper()
	rs, err := rules.Load(paths, nil)
	if err != nil {
		t.Fatal(err)
	}
	return rs
}

// TestHostileRules runs the example rule pack with and without the hostile
// rules over the Black Friday events and over a generated stream. Nothing
// panics; every failure of a hostile rule is counted in Stats and reported
// to OnRuleError with its rule and context; every output of the other rules
// (and the built-in checks) is exactly what the example pack alone gives;
// the well-behaved hostile rule fires; and no NaN or infinity reaches an
// output, in its fields or in its JSON.
func TestHostileRules(t *testing.T) {
	examples := loadRules(t, "../examples/rules")
	hostile := loadRules(t, "../examples/rules", hostileFile)
	bf, err := os.ReadFile("../examples/events/black-friday.ndjson")
	if err != nil {
		t.Fatal(err)
	}
	// 5,000 events: the runaway rules spend their whole memory budget on
	// every evaluation, which the race detector makes slow
	in, err := bench.Generate(bench.Config{SKUs: 300, Events: 5000, Seed: 7}, nil)
	if err != nil {
		t.Fatal(err)
	}
	generated := in.Lines
	for _, tc := range []struct {
		name  string
		lines [][]byte
		until time.Time
	}{
		{"black-friday", bytes.Split(bf, []byte("\n")), time.Date(2026, 12, 2, 0, 0, 0, 0, time.UTC)},
		// and on until every generated promotion has ended
		{"generated", generated, bench.DefaultStart.AddDate(0, 0, 45)},
	} {
		t.Run(tc.name, func(t *testing.T) {
			want := runLines(t, examples, tc.lines, tc.until)
			got := runLines(t, hostile, tc.lines, tc.until)
			checkHostileErrors(t, got)
			checkHostileFiring(t, got)
			checkSameOutputs(t, nonHostile(want.outs), nonHostile(got.outs))
			checkNoNaN(t, got.outs)
			for _, r := range examples.Rules {
				// the pack has errors of its own on the generated stream
				// (ladder/stacked-off-ladder: a NaN floor), the same ones
				if w, g := want.stats.ByRule[r.ID()], got.stats.ByRule[r.ID()]; w.Firing != g.Firing || w.Resolved != g.Resolved || w.Errors != g.Errors {
					t.Errorf("%s: firing %d resolved %d errors %d alone, %d %d %d with the hostile rules",
						r.ID(), w.Firing, w.Resolved, w.Errors, g.Firing, g.Resolved, g.Errors)
				}
			}
			t.Logf("%d records, %d of them the hostile rules'; %d rule errors", len(got.outs), len(got.outs)-len(nonHostile(got.outs)), got.stats.RuleErrors)
		})
	}
}

// checkHostileErrors: each failing hostile rule failed, every failure is in
// Stats and was reported with its rule and context, and no other hostile
// rule failed.
func checkHostileErrors(t *testing.T, r *hostileRun) {
	t.Helper()
	for _, b := range r.bad[:min(len(r.bad), 10)] {
		t.Error(b)
	}
	var sum, reported int64
	for _, n := range r.reported {
		reported += n
	}
	if reported != r.stats.RuleErrors {
		t.Errorf("%d errors reported, Stats.RuleErrors %d", reported, r.stats.RuleErrors)
	}
	for id, rs := range r.stats.ByRule {
		sum += rs.Errors
		if r.reported[id] != rs.Errors {
			t.Errorf("%s: %d errors in Stats.ByRule, %d reported", id, rs.Errors, r.reported[id])
		}
		group, name, _ := strings.Cut(id, "/")
		if group != "hostile" {
			continue
		}
		if want := slices.Contains(hostileErrs, name); want != (rs.Errors > 0) {
			t.Errorf("%s: %d errors (%d evaluations)", id, rs.Errors, rs.Evaluations)
		}
	}
	if sum != r.stats.RuleErrors {
		t.Errorf("Stats.ByRule errors add up to %d, Stats.RuleErrors %d", sum, r.stats.RuleErrors)
	}
	if r.failedChannels["amazon"] || len(r.failedChannels) == 0 {
		t.Errorf("missing-table-key failed on %v: want every channel but amazon", r.failedChannels)
	}
}

// checkHostileFiring: the well-behaved rule fires; some-skus-fail fails for
// some skus and fires for others, never both for one sku; missing-table-key
// fires only where the table has the key.
func checkHostileFiring(t *testing.T, r *hostileRun) {
	t.Helper()
	if s := r.stats.ByRule["hostile/well-behaved"]; s.Firing == 0 || s.Errors != 0 {
		t.Errorf("well-behaved: %d firing, %d errors", s.Firing, s.Errors)
	}
	failed, fired := r.failedSKUs, map[string]bool{}
	for _, o := range r.outs {
		a := o.Alert
		if a == nil || a.Group != "hostile" || a.State != event.StateFiring {
			continue
		}
		switch a.Rule {
		case "some-skus-fail":
			fired[a.SKU] = true
		case "missing-table-key":
			if a.Channel != "amazon" {
				t.Errorf("missing-table-key fired on %s", a.Channel)
			}
		case "div-zero-condition", "runaway-map", "runaway-filter", "now-modulo", "huge-sum":
			t.Errorf("%s fired: %s on %s", a.Rule, a.SKU, a.Channel)
		}
	}
	if len(failed) == 0 || len(fired) == 0 {
		t.Errorf("some-skus-fail failed for %d skus and fired for %d: want some of each", len(failed), len(fired))
	}
	for sku := range fired {
		if failed[sku] {
			t.Errorf("some-skus-fail both failed and fired for %s", sku)
		}
	}
}

// nonHostile returns the outputs of every group but hostile.
func nonHostile(outs []event.Output) []event.Output {
	var out []event.Output
	for _, o := range outs {
		if o.Alert == nil || o.Alert.Group != "hostile" {
			out = append(out, o)
		}
	}
	return out
}

// checkSameOutputs compares two runs' outputs, record by record, apart
// from rules_version.
func checkSameOutputs(t *testing.T, want, got []event.Output) {
	t.Helper()
	enc := func(o event.Output) string {
		switch {
		case o.Alert != nil:
			a := *o.Alert
			a.RulesVersion = ""
			o.Alert = &a
		case o.Correction != nil:
			c := *o.Correction
			c.RulesVersion = ""
			o.Correction = &c
		}
		b, err := o.AppendJSON(nil)
		if err != nil {
			t.Fatalf("encoding %+v: %v", o, err)
		}
		return string(b)
	}
	for i := range max(len(want), len(got)) {
		var w, g string
		if i < len(want) {
			w = enc(want[i])
		}
		if i < len(got) {
			g = enc(got[i])
		}
		if w != g {
			t.Fatalf("with the hostile rules, record %d of %d (%d without) differs:\nwithout %s\nwith    %s", i, len(got), len(want), w, g)
		}
	}
	if len(want) == 0 {
		t.Fatal("no records to compare")
	}
}

// checkNoNaN: no output holds a NaN or an infinity where a number is
// shown — an active correction's prices and bounds, an alert's values —
// and every output encodes, with AppendJSON and encoding/json alike, to
// JSON that reads back.
func checkNoNaN(t *testing.T, outs []event.Output) {
	t.Helper()
	finite := func(f float64) bool { return !math.IsNaN(f) && !math.IsInf(f, 0) }
	for i, o := range outs {
		fail := func(format string, args ...any) {
			t.Helper()
			b, _ := o.AppendJSON(nil)
			t.Fatalf("record %d: %s\n%s", i, fmt.Sprintf(format, args...), b)
		}
		if c := o.Correction; c != nil {
			if c.State == event.StateActive && (!finite(float64(c.CorrectedPrice)) || c.CorrectedPrice < 0) {
				fail("corrected price %v", float64(c.CorrectedPrice))
			}
			for _, x := range []event.Number{c.EffectivePrice, c.Floor, c.Ceiling} {
				if math.IsInf(float64(x), 0) {
					fail("an infinite price or bound")
				}
			}
			if c.State == event.StateActive && math.IsNaN(float64(c.Floor)) && math.IsNaN(float64(c.Ceiling)) {
				fail("an active correction with no bound")
			}
		}
		if a := o.Alert; a != nil {
			if err := finiteValues(a.Values); err != nil {
				fail("values: %v", err)
			}
		}
		fast, err := o.AppendJSON(nil)
		if err != nil {
			fail("AppendJSON: %v", err)
		}
		slow, err := json.Marshal(o)
		if err != nil {
			fail("json.Marshal: %v", err)
		}
		if !bytes.Equal(fast, slow) {
			fail("AppendJSON and json.Marshal differ:\n%s", slow)
		}
		var back map[string]any
		if err := json.Unmarshal(fast, &back); err != nil {
			fail("does not read back: %v", err)
		}
		if s := string(fast); strings.Contains(s, "NaN") || strings.Contains(s, "Inf") {
			// a message or an id could spell them, but none of these does
			fail("NaN or Inf in the JSON")
		}
	}
}

// finiteValues walks an alert's values for NaN and infinities.
func finiteValues(v any) error {
	switch v := v.(type) {
	case float64:
		if math.IsNaN(v) || math.IsInf(v, 0) {
			return errors.New(fmt.Sprint(v))
		}
	case []any:
		for _, x := range v {
			if err := finiteValues(x); err != nil {
				return err
			}
		}
	case map[string]any:
		keys := make([]string, 0, len(v))
		for k := range v {
			keys = append(keys, k)
		}
		sort.Strings(keys)
		for _, k := range keys {
			if err := finiteValues(v[k]); err != nil {
				return fmt.Errorf("%s: %w", k, err)
			}
		}
	}
	return nil
}

// TestHostileTooLarge: an expression over the node limit is refused when
// the rule loads, with the file, line and column of the expression, and the
// file's other rules are not loaded either (a rule set loads whole or not
// at all).
func TestHostileTooLarge(t *testing.T) {
	src, err := os.ReadFile(hostileFile)
	if err != nil {
		t.Fatal(err)
	}
	// huge-sum's expression, twice as long: over the 1000 nodes
	i := bytes.Index(src, []byte(`if: 'sku != "" && (`))
	if i < 0 {
		t.Fatal("no huge-sum in " + hostileFile)
	}
	line := bytes.Count(src[:i], []byte("\n")) + 1
	col := i - bytes.LastIndexByte(src[:i], '\n')
	start := i + len(`if: 'sku != "" && (`)
	end := start + bytes.Index(src[start:], []byte(") < 0'"))
	sum := src[start:end]
	big := slices.Concat(src[:end], []byte(" + "), sum, src[end:])
	_, err = rules.LoadSource(hostileFile, big, nil)
	var es rules.Errors
	if !errors.As(err, &es) || len(es) != 1 {
		t.Fatalf("want one error, got %v", err)
	}
	e := es[0]
	// the error points into the expression: on its line, after `if: '`
	if e.Code != rules.CodeTooComplex || e.File != hostileFile || e.Line != line || e.Col < col+len("if: '") || e.Group != "hostile" || e.Rule != "huge-sum" {
		t.Errorf("got %s (%s at %d:%d), want %s at %s:%d:%d+", e, e.Code, e.Line, e.Col, rules.CodeTooComplex, hostileFile, line, col+len("if: '"))
	}
	if !strings.HasPrefix(e.Error(), fmt.Sprintf("%s:%d:%d: ", hostileFile, line, e.Col)) {
		t.Errorf("error text %q is not positioned", e.Error())
	}
	// as loaded from its directory next to the example pack
	dir := t.TempDir()
	if err := os.WriteFile(dir+"/hostile.yaml", big, 0o644); err != nil {
		t.Fatal(err)
	}
	if _, err := rules.Load([]string{"../examples/rules", dir}, nil); err == nil || !strings.Contains(err.Error(), fmt.Sprintf("hostile.yaml:%d:", line)) {
		t.Errorf("loaded next to the example pack: %v", err)
	}
}

// TestHugePriceCorrection: a price so large that it has no cents in
// float64 is corrected to a finite price. Rounding it to the cent
// overflowed to +Inf, so the correction was emitted with a corrected price
// of null (found by FuzzRestore's seeds; the events are valid ones).
func TestHugePriceCorrection(t *testing.T) {
	rs := loadRules(t, "../examples/rules")
	e := engine.New(rs, engine.Options{})
	var outs []event.Output
	for _, line := range []string{
		`{"type":"price","sku":"hp","channel":"ebay","price":1e308,"list_price":1.7e308,"cost":120,"map_price":1e308,"currency":"EUR","category":"audio","brand":"acme","ts":"2026-11-23T08:00:00Z"}`,
		`{"type":"promo","id":"half","partner":"acme","discount":{"kind":"percent","value":50},"categories":["audio"],"start":"2026-11-26T00:00:00Z","end":"2026-12-01T00:00:00Z","ts":"2026-11-23T09:00:00Z"}`,
	} {
		ev, err := event.Decode([]byte(line), event.DecodeOptions{})
		if err != nil {
			t.Fatal(err)
		}
		outs = e.Apply(ev, outs)
	}
	n := 0
	for _, o := range outs {
		if c := o.Correction; c != nil && c.State == event.StateActive {
			n++
			if float64(c.CorrectedPrice) != 1e308 {
				t.Errorf("corrected price %v, want the MAP floor 1e308", float64(c.CorrectedPrice))
			}
		}
	}
	if n == 0 {
		t.Fatal("no correction")
	}
	checkNoNaN(t, outs)
}
