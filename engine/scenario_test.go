package engine

// Scenario tests: the engine against DESIGN §2–§7, driven as replay drives
// it (decoded NDJSON lines through a Sequencer, Advance for --until).
//
// A scenario is a rule file and a script. Script lines:
//
//	> INPUT      feed INPUT, then flush the Sequencer
//	>> INPUT     feed INPUT without flushing (to build a run of equal ts)
//	OUTPUT       an expected output, produced by the inputs since the
//	             previous expected block
//	# comment
//
// INPUT is a JSON event line (decoded with Decode; a time written as
// 2026-11-01T10:00Z is expanded to 2026-11-01T10:00:00Z), or one of
// `advance TIME`, `tombstone ID TIME`, `reload NAME` (a rule file from
// the case's reloads), `flush`.
//
// Outputs are written compactly (see scLine):
//
//	alert GROUP/RULE STATE[/REASON] SKU/CHANNEL at=TIME [promos=ID,...] [msg="..."]
//	alert GROUP/RULE STATE[/REASON] promo=ID at=TIME
//	correction SKU/CHANNEL active eff=X corr=Y by=GROUP/RULE at=TIME [rules=A,B]
//	correction SKU/CHANNEL withdrawn/REASON eff=X at=TIME
//
// (a withdrawal's eff is the effective price in effect at its instant once
// the correction is gone: null when the channel has no price then)
//	dead_letter REASON
//
// Every output is also checked against invariants that hold whatever the
// scenario (scInvariants): it marshals to JSON without NaN or Inf, ids are
// unique, lifecycles alternate, corrected prices are finite and on the
// currency's grid.

import (
	"encoding/json"
	"fmt"
	"math"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/promoguard/promoguard/event"

	"github.com/promoguard/promoguard/rules"
)

type scCase struct {
	name    string
	rules   string            // the rule file (YAML)
	reloads map[string]string // rule files for `> reload NAME`
	opts    Options
	msg     bool // show alert messages in output lines
	script  string
	// check, when set, inspects the run further (stats, values, JSON).
	check func(t *testing.T, r *scRun)
}

// scRun is the result of running a scenario.
type scRun struct {
	eng   *Engine
	outs  []event.Output
	lines []string // scLine of each output
	// the script as run: inputs and the outputs each block produced
	transcript []string
}

// scStep is one block of a script: the inputs, and the outputs they must
// produce.
type scStep struct {
	inputs []string // raw input lines, without the leading > or >>
	flush  []bool
	want   []string
}

var scShortTime = regexp.MustCompile(`(\d{4}-\d\d-\d\dT\d\d:\d\d)Z`)

func scExpand(s string) string { return scShortTime.ReplaceAllString(s, "${1}:00Z") }

func scTime(t testing.TB, s string) time.Time {
	t.Helper()
	tm, err := time.Parse(time.RFC3339Nano, scExpand(s))
	if err != nil {
		t.Fatalf("bad time %q: %v", s, err)
	}
	return tm
}

// scFmtTime writes a time compactly: 2026-11-01T10:00Z when it has no
// seconds.
func scFmtTime(t time.Time) string {
	t = t.UTC()
	if t.Second() == 0 && t.Nanosecond() == 0 {
		return t.Format("2006-01-02T15:04Z")
	}
	return t.Format(time.RFC3339Nano)
}

func scNum(n event.Number) string {
	f := float64(n)
	if math.IsNaN(f) || math.IsInf(f, 0) {
		return "null"
	}
	return strconv.FormatFloat(f, 'f', -1, 64)
}

// scLine writes an output compactly, with the fields the scenarios check.
func scLine(o event.Output, msg bool) string {
	var b strings.Builder
	switch {
	case o.Alert != nil:
		a := o.Alert
		fmt.Fprintf(&b, "alert %s/%s %s", a.Group, a.Rule, a.State)
		if a.Reason != "" {
			b.WriteString("/" + string(a.Reason))
		}
		if a.SKU == "" && a.Promo != "" {
			b.WriteString(" promo=" + a.Promo)
		} else {
			fmt.Fprintf(&b, " %s/%s", a.SKU, a.Channel)
		}
		b.WriteString(" at=" + scFmtTime(a.At))
		if len(a.Promos) > 0 && a.SKU != "" {
			b.WriteString(" promos=" + strings.Join(a.Promos, ","))
		}
		if msg {
			fmt.Fprintf(&b, " msg=%q", a.Message)
		}
	case o.Correction != nil:
		c := o.Correction
		fmt.Fprintf(&b, "correction %s/%s %s", c.SKU, c.Channel, c.State)
		if c.Reason != "" {
			b.WriteString("/" + string(c.Reason))
		}
		fmt.Fprintf(&b, " eff=%s", scNum(c.EffectivePrice))
		if c.State == event.StateActive {
			fmt.Fprintf(&b, " corr=%s by=%s", scNum(c.CorrectedPrice), c.BoundBy)
		}
		b.WriteString(" at=" + scFmtTime(c.At))
		if c.State == event.StateActive && !(len(c.Rules) == 1 && c.Rules[0] == c.BoundBy) {
			b.WriteString(" rules=" + strings.Join(c.Rules, ","))
		}
	case o.DeadLetter != nil:
		b.WriteString("dead_letter " + string(o.DeadLetter.Reason))
	default:
		b.WriteString("EMPTY OUTPUT")
	}
	return b.String()
}

func scParse(t *testing.T, script string) []scStep {
	t.Helper()
	var steps []scStep
	cur := -1
	wantOpen := false // the current step already has expectations
	for _, raw := range strings.Split(script, "\n") {
		line := strings.TrimSpace(raw)
		switch {
		case line == "" || strings.HasPrefix(line, "#"):
		case strings.HasPrefix(line, ">"):
			flush := true
			in := strings.TrimPrefix(line, ">")
			if strings.HasPrefix(in, ">") {
				flush, in = false, in[1:]
			}
			if cur < 0 || wantOpen {
				steps = append(steps, scStep{})
				cur, wantOpen = len(steps)-1, false
			}
			steps[cur].inputs = append(steps[cur].inputs, strings.TrimSpace(in))
			steps[cur].flush = append(steps[cur].flush, flush)
		default:
			if cur < 0 {
				t.Fatalf("expected output %q before any input", line)
			}
			steps[cur].want = append(steps[cur].want, line)
			wantOpen = true
		}
	}
	return steps
}

func scLoad(t *testing.T, name, src string) *rules.RuleSet {
	t.Helper()
	rs, err := rules.LoadSource(name, []byte(src), nil)
	if err != nil {
		t.Fatalf("rules %s do not load: %v", name, err)
	}
	return rs
}

// scRunCase runs a scenario and returns what it did; mismatches are
// reported on t with both transcripts and a diff.
func scRunCase(t *testing.T, c scCase) *scRun {
	t.Helper()
	rs := scLoad(t, c.name+".yaml", c.rules)
	e := New(rs, c.opts)
	seq := NewSequencer(e)
	run := &scRun{eng: e}
	steps := scParse(t, c.script)
	var wantT, gotT []string
	var outs []event.Output
	for si, st := range steps {
		var got []event.Output
		for i, in := range st.inputs {
			gotT = append(gotT, "> "+in)
			wantT = append(wantT, "> "+in)
			got = scInput(t, c, seq, in, got)
			if st.flush[i] {
				got = seq.Flush(got)
			}
		}
		if si == len(steps)-1 {
			got = seq.Flush(got)
		}
		for _, o := range got {
			gotT = append(gotT, "    "+scLine(o, c.msg))
			run.lines = append(run.lines, scLine(o, c.msg))
		}
		for _, w := range st.want {
			wantT = append(wantT, "    "+w)
		}
		outs = append(outs, got...)
	}
	run.outs = outs
	run.transcript = gotT
	if !slices.Equal(wantT, gotT) {
		t.Errorf("outputs differ from the spec (- want, + got):\n%s", scDiff(wantT, gotT))
	}
	scInvariants(t, outs)
	if c.check != nil {
		c.check(t, run)
	}
	return run
}

func scInput(t *testing.T, c scCase, seq *Sequencer, in string, out []event.Output) []event.Output {
	t.Helper()
	fields := strings.Fields(in)
	switch {
	case strings.HasPrefix(in, "{"):
		data := []byte(scExpand(in))
		ev, err := event.Decode(data, event.DecodeOptions{})
		if err != nil {
			return append(out, event.NewDeadLetter(err, data, "script"))
		}
		return seq.Push(ev, out)
	case fields[0] == "advance" && len(fields) == 2:
		return seq.Advance(scTime(t, fields[1]), out)
	case fields[0] == "tombstone" && len(fields) == 3:
		return seq.Push(event.Tombstone(fields[1], scTime(t, fields[2]), "script"), out)
	case fields[0] == "reload" && len(fields) == 2:
		src, ok := c.reloads[fields[1]]
		if !ok {
			t.Fatalf("no reload %q", fields[1])
		}
		out = seq.Flush(out)
		return seq.Engine().Reload(scLoad(t, fields[1]+".yaml", src), out)
	case fields[0] == "flush":
		return seq.Flush(out)
	}
	t.Fatalf("bad script input %q", in)
	return out
}

// scDiff is a line diff (longest common subsequence).
func scDiff(a, b []string) string {
	n, m := len(a), len(b)
	l := make([][]int, n+1)
	for i := range l {
		l[i] = make([]int, m+1)
	}
	for i := n - 1; i >= 0; i-- {
		for j := m - 1; j >= 0; j-- {
			if a[i] == b[j] {
				l[i][j] = l[i+1][j+1] + 1
			} else {
				l[i][j] = max(l[i+1][j], l[i][j+1])
			}
		}
	}
	var sb strings.Builder
	i, j := 0, 0
	for i < n || j < m {
		switch {
		case i < n && j < m && a[i] == b[j]:
			sb.WriteString("  " + a[i] + "\n")
			i, j = i+1, j+1
		case j < m && (i == n || l[i][j+1] >= l[i+1][j]):
			sb.WriteString("+ " + b[j] + "\n")
			j++
		default:
			sb.WriteString("- " + a[i] + "\n")
			i++
		}
	}
	return sb.String()
}

var scReasons = map[event.Reason]bool{
	event.ReasonCleared: true, event.ReasonCancelled: true, event.ReasonSuperseded: true,
	event.ReasonEnded: true, event.ReasonRuleRemoved: true, event.ReasonDelisted: true,
}

// scInvariants checks what must hold of any output stream.
func scInvariants(t *testing.T, outs []event.Output) {
	t.Helper()
	ids := map[string]string{}
	alertState := map[string]string{} // fingerprint -> last state
	corrState := map[string]string{}
	for i, o := range outs {
		line := scLine(o, false)
		b, err := json.Marshal(o)
		if err != nil {
			t.Errorf("output %d (%s) does not marshal: %v", i, line, err)
			continue
		}
		if s := string(b); strings.Contains(s, "NaN") || strings.Contains(s, "Inf") {
			t.Errorf("output %d (%s) carries NaN/Inf: %s", i, line, s)
		}
		var back event.Output
		if err := json.Unmarshal(b, &back); err != nil {
			t.Errorf("output %d (%s) does not read back: %v", i, line, err)
		}
		var at, wm time.Time
		switch {
		case o.Alert != nil:
			at, wm = o.Alert.At, o.Alert.Watermark
		case o.Correction != nil:
			at, wm = o.Correction.At, o.Correction.Watermark
		}
		if o.DeadLetter == nil && (wm.IsZero() || at.Before(wm)) {
			t.Errorf("output %d (%s): at %s before its watermark %s (at = max(segment start, watermark))", i, line, at, wm)
		}
		switch {
		case o.Alert != nil:
			a := o.Alert
			if a.ID == "" || a.Fingerprint == "" {
				t.Errorf("output %d (%s): empty id or fingerprint", i, line)
			}
			if prev, dup := ids[a.ID]; dup {
				t.Errorf("output %d (%s): id %s already used by %s", i, line, a.ID, prev)
			}
			ids[a.ID] = line
			if a.RulesVersion == "" {
				t.Errorf("output %d (%s): no rules_version", i, line)
			}
			last := alertState[a.Fingerprint]
			switch a.State {
			case event.StateFiring:
				if a.Reason != "" {
					t.Errorf("output %d (%s): firing with a reason", i, line)
				}
			case event.StateResolved:
				if !scReasons[a.Reason] {
					t.Errorf("output %d (%s): resolved with reason %q", i, line, a.Reason)
				}
				if last != string(event.StateFiring) {
					t.Errorf("output %d (%s): resolved, but it was not firing", i, line)
				}
			default:
				t.Errorf("output %d (%s): state %q", i, line, a.State)
			}
			alertState[a.Fingerprint] = string(a.State)
			if a.Promos == nil || a.Partners == nil {
				t.Errorf("output %d (%s): promos/partners null, want []", i, line)
			}
		case o.Correction != nil:
			c := o.Correction
			if prev, dup := ids[c.ID]; dup {
				t.Errorf("output %d (%s): id %s already used by %s", i, line, c.ID, prev)
			}
			ids[c.ID] = line
			last := corrState[c.Fingerprint]
			switch c.State {
			case event.StateActive:
				p := float64(c.CorrectedPrice)
				if math.IsNaN(p) || math.IsInf(p, 0) || p < 0 {
					t.Errorf("output %d (%s): corrected price %v", i, line, p)
				}
				scale := 2
				if c.Currency == "JPY" || c.Currency == "KRW" {
					scale = 0
				} else if c.Currency == "KWD" || c.Currency == "BHD" {
					scale = 3
				}
				if q := p * math.Pow10(scale); math.Abs(q-math.Round(q)) > 1e-6 {
					t.Errorf("output %d (%s): corrected price %v is not on the %s grid", i, line, p, c.Currency)
				}
				if c.BoundBy == "" || !slices.Contains(c.Rules, c.BoundBy) {
					t.Errorf("output %d (%s): bound_by %q not among rules %v", i, line, c.BoundBy, c.Rules)
				}
				if math.Abs(p-float64(c.EffectivePrice)) < 0.005 {
					t.Errorf("output %d (%s): a correction equal to the effective price", i, line)
				}
			case event.StateWithdrawn:
				if !scReasons[c.Reason] {
					t.Errorf("output %d (%s): withdrawn with reason %q", i, line, c.Reason)
				}
				if last != string(event.StateActive) {
					t.Errorf("output %d (%s): withdrawn, but it was not active", i, line)
				}
			default:
				t.Errorf("output %d (%s): state %q", i, line, c.State)
			}
			corrState[c.Fingerprint] = string(c.State)
		}
	}
}

// scFind returns the outputs whose line starts with prefix.
func (r *scRun) find(prefix string) []event.Output {
	var out []event.Output
	for i, l := range r.lines {
		if strings.HasPrefix(l, prefix) {
			out = append(out, r.outs[i])
		}
	}
	return out
}

func scJSON(t *testing.T, o event.Output) string {
	t.Helper()
	b, err := json.Marshal(o)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

func TestScenarios(t *testing.T) {
	for _, c := range scCases {
		t.Run(c.name, func(t *testing.T) { scRunCase(t, c) })
	}
}

// Rule files shared by several scenarios.
const (
	// scShowRules shows the stacking of every context with promotions.
	scShowRules = `
group: g
rules:
  - name: show
    if: len(promos) + len(blocked) > 0
    message: 'eff={{effective_price}} promos={{join(map(promos, .id), ",")}} blocked={{join(map(blocked, .id), ",")}}'
`
	// scShowOverlapRules also shows the overlaps.
	scShowOverlapRules = `
group: g
rules:
  - name: show
    if: len(promos) + len(blocked) > 0
    message: 'eff={{effective_price}} promos={{join(map(promos, .id), ",")}} blocked={{join(map(blocked, .id), ",")}} ov={{join(map(overlaps, .a.id + "/" + .b.id + ":" + .reason), ",")}}'
`
	scClashRules = `
group: overlap
rules:
  - name: exclusive-clash
    on: [promo]
    if: any(overlaps, .reason == "exclusive")
`
	scBelowCostRules = `
group: margin
rules:
  - name: below-cost
    on: [price, promo]
    if: has_cost && effective_price < cost
    severity: critical
    floor: cost
`
	scLadderRules = `
group: ladder
vars: {ladder: [0, 0.1, 0.2, 0.3]}
rules:
  - name: off-ladder
    scope: promo
    on: [promo]
    if: promo.kind == "percent" && !on_ladder(promo.fraction, ladder)
`
)

var scCases = []scCase{
	// ---- DESIGN §3: stacking -------------------------------------------
	{
		name:  "stack/percent-compounds-amount-subtracts-never-below-zero",
		rules: scShowRules, msg: true,
		script: `
> {"type":"promo","id":"P1","partner":"a","discount":{"kind":"percent","value":20},"start":"2026-10-01T00:00Z","end":"2027-01-01T00:00Z","skus":["A"],"priority":3,"ts":"2026-11-01T00:00Z"}
> {"type":"promo","id":"P2","partner":"a","discount":{"kind":"percent","value":10},"start":"2026-10-01T00:00Z","end":"2027-01-01T00:00Z","skus":["A"],"priority":2,"ts":"2026-11-01T00:00Z"}
> {"type":"promo","id":"P3","partner":"a","discount":{"kind":"amount","value":5},"currency":"EUR","start":"2026-10-01T00:00Z","end":"2027-01-01T00:00Z","skus":["A"],"priority":1,"ts":"2026-11-01T00:00Z"}
> {"type":"promo","id":"Q1","partner":"a","discount":{"kind":"amount","value":150},"currency":"EUR","start":"2026-10-01T00:00Z","end":"2027-01-01T00:00Z","skus":["B"],"priority":1,"ts":"2026-11-01T00:00Z"}
> {"type":"promo","id":"Q2","partner":"a","discount":{"kind":"percent","value":10},"start":"2026-10-01T00:00Z","end":"2027-01-01T00:00Z","skus":["B"],"ts":"2026-11-01T00:00Z"}
> {"type":"price","sku":"A","channel":"web","price":100,"currency":"EUR","ts":"2026-11-01T00:00Z"}
    alert g/show firing A/web at=2026-11-01T00:00Z promos=P1,P2,P3 msg="eff=67 promos=P1,P2,P3 blocked="
> {"type":"price","sku":"B","channel":"web","price":100,"currency":"EUR","ts":"2026-11-01T00:00Z"}
    alert g/show firing B/web at=2026-11-01T00:00Z promos=Q1,Q2 msg="eff=0 promos=Q1,Q2 blocked="
`,
	},
	{
		name:  "stack/canonical-order-priority-start-id",
		rules: scShowRules, msg: true,
		script: `
# A: priority 1 fixed price before priority 0 percent: 50 * 0.9
> {"type":"promo","id":"F1","partner":"a","discount":{"kind":"fixed_price","value":50},"currency":"EUR","start":"2026-10-01T00:00Z","end":"2027-01-01T00:00Z","skus":["A"],"priority":1,"ts":"2026-11-01T00:00Z"}
> {"type":"promo","id":"F2","partner":"a","discount":{"kind":"percent","value":10},"start":"2026-10-01T00:00Z","end":"2027-01-01T00:00Z","skus":["A"],"ts":"2026-11-01T00:00Z"}
# B: the percent has the priority, then the fixed price sets 50
> {"type":"promo","id":"G1","partner":"a","discount":{"kind":"percent","value":10},"start":"2026-10-01T00:00Z","end":"2027-01-01T00:00Z","skus":["B"],"priority":1,"ts":"2026-11-01T00:00Z"}
> {"type":"promo","id":"G2","partner":"a","discount":{"kind":"fixed_price","value":50},"currency":"EUR","start":"2026-10-01T00:00Z","end":"2027-01-01T00:00Z","skus":["B"],"ts":"2026-11-01T00:00Z"}
# C: same priority, earlier start first: H2 (fixed 50) then H1 (-5)
> {"type":"promo","id":"H1","partner":"a","discount":{"kind":"amount","value":5},"currency":"EUR","start":"2026-10-15T00:00Z","end":"2027-01-01T00:00Z","skus":["C"],"ts":"2026-11-01T00:00Z"}
> {"type":"promo","id":"H2","partner":"a","discount":{"kind":"fixed_price","value":50},"currency":"EUR","start":"2026-10-01T00:00Z","end":"2027-01-01T00:00Z","skus":["C"],"ts":"2026-11-01T00:00Z"}
# D: same priority and start, id ascending: I1 (-5) then I2 (fixed 50)
> {"type":"promo","id":"I2","partner":"a","discount":{"kind":"fixed_price","value":50},"currency":"EUR","start":"2026-10-01T00:00Z","end":"2027-01-01T00:00Z","skus":["D"],"ts":"2026-11-01T00:00Z"}
> {"type":"promo","id":"I1","partner":"a","discount":{"kind":"amount","value":5},"currency":"EUR","start":"2026-10-01T00:00Z","end":"2027-01-01T00:00Z","skus":["D"],"ts":"2026-11-01T00:00Z"}
> {"type":"price","sku":"A","channel":"web","price":100,"currency":"EUR","ts":"2026-11-01T00:00Z"}
    alert g/show firing A/web at=2026-11-01T00:00Z promos=F1,F2 msg="eff=45 promos=F1,F2 blocked="
> {"type":"price","sku":"B","channel":"web","price":100,"currency":"EUR","ts":"2026-11-01T00:00Z"}
    alert g/show firing B/web at=2026-11-01T00:00Z promos=G1,G2 msg="eff=50 promos=G1,G2 blocked="
> {"type":"price","sku":"C","channel":"web","price":100,"currency":"EUR","ts":"2026-11-01T00:00Z"}
    alert g/show firing C/web at=2026-11-01T00:00Z promos=H2,H1 msg="eff=45 promos=H2,H1 blocked="
> {"type":"price","sku":"D","channel":"web","price":100,"currency":"EUR","ts":"2026-11-01T00:00Z"}
    alert g/show firing D/web at=2026-11-01T00:00Z promos=I1,I2 msg="eff=50 promos=I1,I2 blocked="
`,
	},
	{
		name:  "stack/exclusive-blocks-every-other-including-exclusives-and-stop",
		rules: scShowOverlapRules, msg: true,
		script: `
> {"type":"promo","id":"X1","partner":"a","discount":{"kind":"percent","value":10},"start":"2026-10-01T00:00Z","end":"2027-01-01T00:00Z","skus":["A"],"priority":5,"ts":"2026-11-01T00:00Z"}
> {"type":"promo","id":"X4","partner":"d","discount":{"kind":"percent","value":5},"stacking":"stop","start":"2026-10-01T00:00Z","end":"2027-01-01T00:00Z","skus":["A"],"priority":3,"ts":"2026-11-01T00:00Z"}
> {"type":"promo","id":"X2","partner":"b","discount":{"kind":"percent","value":20},"stacking":"exclusive","start":"2026-10-01T00:00Z","end":"2027-01-01T00:00Z","skus":["A"],"priority":1,"ts":"2026-11-01T00:00Z"}
> {"type":"promo","id":"X3","partner":"c","discount":{"kind":"percent","value":30},"stacking":"exclusive","start":"2026-10-01T00:00Z","end":"2027-01-01T00:00Z","skus":["A"],"priority":0,"ts":"2026-11-01T00:00Z"}
> {"type":"promo","id":"Y2","partner":"b","discount":{"kind":"percent","value":25},"stacking":"exclusive","start":"2026-10-01T00:00Z","end":"2027-01-01T00:00Z","skus":["B"],"ts":"2026-11-01T00:00Z"}
> {"type":"promo","id":"Y1","partner":"b","discount":{"kind":"percent","value":15},"stacking":"exclusive","start":"2026-10-01T00:00Z","end":"2027-01-01T00:00Z","skus":["B"],"ts":"2026-11-01T00:00Z"}
> {"type":"price","sku":"A","channel":"web","price":100,"currency":"EUR","ts":"2026-11-01T00:00Z"}
    alert g/show firing A/web at=2026-11-01T00:00Z promos=X1,X4,X2,X3 msg="eff=80 promos=X2 blocked=X1,X4,X3 ov=X1/X2:exclusive,X1/X3:exclusive,X4/X2:exclusive,X4/X3:exclusive,X2/X3:exclusive"
> {"type":"price","sku":"B","channel":"web","price":100,"currency":"EUR","ts":"2026-11-01T00:00Z"}
    alert g/show firing B/web at=2026-11-01T00:00Z promos=Y1,Y2 msg="eff=85 promos=Y1 blocked=Y2 ov=Y1/Y2:exclusive"
`,
	},
	{
		name:  "stack/stop-blocks-later-and-same-priority-overlaps",
		rules: scShowOverlapRules, msg: true,
		script: `
> {"type":"promo","id":"S1","partner":"a","discount":{"kind":"percent","value":10},"start":"2026-10-01T00:00Z","end":"2027-01-01T00:00Z","skus":["A"],"priority":3,"ts":"2026-11-01T00:00Z"}
> {"type":"promo","id":"S2","partner":"a","discount":{"kind":"percent","value":10},"stacking":"stop","start":"2026-10-01T00:00Z","end":"2027-01-01T00:00Z","skus":["A"],"priority":2,"ts":"2026-11-01T00:00Z"}
> {"type":"promo","id":"S3","partner":"a","discount":{"kind":"amount","value":5},"currency":"EUR","start":"2026-10-01T00:00Z","end":"2027-01-01T00:00Z","skus":["A"],"priority":1,"ts":"2026-11-01T00:00Z"}
> {"type":"promo","id":"T1","partner":"a","discount":{"kind":"percent","value":10},"start":"2026-10-01T00:00Z","end":"2027-01-01T00:00Z","skus":["B"],"ts":"2026-11-01T00:00Z"}
> {"type":"promo","id":"T2","partner":"b","discount":{"kind":"percent","value":10},"start":"2026-10-01T00:00Z","end":"2027-01-01T00:00Z","skus":["B"],"ts":"2026-11-01T00:00Z"}
> {"type":"promo","id":"T3","partner":"a","discount":{"kind":"percent","value":10},"start":"2026-10-01T00:00Z","end":"2027-01-01T00:00Z","skus":["B"],"ts":"2026-11-01T00:00Z"}
> {"type":"price","sku":"A","channel":"web","price":100,"currency":"EUR","ts":"2026-11-01T00:00Z"}
    alert g/show firing A/web at=2026-11-01T00:00Z promos=S1,S2,S3 msg="eff=81 promos=S1,S2 blocked=S3 ov="
> {"type":"price","sku":"B","channel":"web","price":100,"currency":"EUR","ts":"2026-11-01T00:00Z"}
    alert g/show firing B/web at=2026-11-01T00:00Z promos=T1,T2,T3 msg="eff=72.9 promos=T1,T2,T3 blocked= ov=T1/T2:same_priority,T2/T3:same_priority"
`,
	},
	{
		// A promotion in another currency is in neither promos nor blocked,
		// does not take part in the exclusive logic, and fires the built-in
		// currency_mismatch; a percent promotion's currency does not matter;
		// currency codes compare case-insensitively.
		name:  "stack/currency-mismatch",
		rules: scShowRules, msg: false,
		script: `
> {"type":"promo","id":"M1","partner":"a","discount":{"kind":"amount","value":5},"currency":"USD","start":"2026-10-01T00:00Z","end":"2027-01-01T00:00Z","skus":["A"],"ts":"2026-11-01T00:00Z"}
> {"type":"promo","id":"M2","partner":"a","discount":{"kind":"percent","value":10},"currency":"USD","start":"2026-10-01T00:00Z","end":"2027-01-01T00:00Z","skus":["A"],"ts":"2026-11-01T00:00Z"}
> {"type":"promo","id":"M3","partner":"a","discount":{"kind":"amount","value":2},"currency":"EUR","start":"2026-10-01T00:00Z","end":"2027-01-01T00:00Z","skus":["A"],"ts":"2026-11-01T00:00Z"}
> {"type":"promo","id":"M4","partner":"b","discount":{"kind":"amount","value":3},"currency":"GBP","stacking":"exclusive","start":"2026-10-01T00:00Z","end":"2027-01-01T00:00Z","skus":["A"],"ts":"2026-11-01T00:00Z"}
> {"type":"price","sku":"A","channel":"web","price":100,"currency":"eur","ts":"2026-11-01T00:00Z"}
    alert g/show firing A/web at=2026-11-01T00:00Z promos=M1,M2,M3,M4
    alert promoguard/currency_mismatch firing A/web at=2026-11-01T00:00Z promos=M1,M4
> {"type":"promo","id":"M1","status":"cancelled","ts":"2026-11-01T01:00Z"}
> tombstone M4 2026-11-01T02:00Z
    alert promoguard/currency_mismatch resolved/cancelled A/web at=2026-11-01T02:00Z promos=M1,M4
`,
		check: func(t *testing.T, r *scRun) {
			for _, o := range r.find("alert g/show firing") {
				if o.Alert.Message != "" && !strings.Contains(o.Alert.Message, "eff=88 promos=M2,M3 blocked=") {
					t.Errorf("show: %q, want eff=88 promos=M2,M3 blocked= (M1 and M4 are in another currency)", o.Alert.Message)
				}
			}
			for _, o := range r.find("alert promoguard/currency_mismatch firing") {
				if o.Alert.Severity != "warning" {
					t.Errorf("currency_mismatch severity %q, want warning", o.Alert.Severity)
				}
			}
		},
	},
	{
		// the same, with the show message: M1 and M4 neither applied nor blocked
		name:  "stack/currency-mismatch-values",
		rules: scShowRules, msg: true,
		script: `
> {"type":"promo","id":"M1","partner":"a","discount":{"kind":"amount","value":5},"currency":"USD","start":"2026-10-01T00:00Z","end":"2027-01-01T00:00Z","skus":["A"],"ts":"2026-11-01T00:00Z"}
> {"type":"promo","id":"M2","partner":"a","discount":{"kind":"percent","value":10},"currency":"USD","start":"2026-10-01T00:00Z","end":"2027-01-01T00:00Z","skus":["A"],"ts":"2026-11-01T00:00Z"}
> {"type":"promo","id":"M3","partner":"a","discount":{"kind":"amount","value":2},"currency":"EUR","start":"2026-10-01T00:00Z","end":"2027-01-01T00:00Z","skus":["A"],"ts":"2026-11-01T00:00Z"}
> {"type":"promo","id":"M4","partner":"b","discount":{"kind":"amount","value":3},"currency":"GBP","stacking":"exclusive","start":"2026-10-01T00:00Z","end":"2027-01-01T00:00Z","skus":["A"],"ts":"2026-11-01T00:00Z"}
> {"type":"price","sku":"A","channel":"web","price":100,"currency":"eur","ts":"2026-11-01T00:00Z"}
    alert g/show firing A/web at=2026-11-01T00:00Z promos=M1,M2,M3,M4 msg="eff=88 promos=M2,M3 blocked="
    alert promoguard/currency_mismatch firing A/web at=2026-11-01T00:00Z promos=M1,M4 msg="A on web: M1, M4 in USD, GBP not applied to a price in EUR"
`,
	},

	// ---- DESIGN §4: the calendar -----------------------------------------
	{
		// a conflict in the future is reported when it becomes knowable,
		// with at = the start of the segment where it begins; crossing into
		// that segment emits nothing; leaving it resolves the alert (ended)
		name:  "calendar/future-conflict-reported-at-registration",
		rules: scClashRules,
		script: `
> {"type":"price","sku":"A","channel":"web","price":100,"currency":"EUR","ts":"2026-11-01T00:00Z"}
> {"type":"promo","id":"E1","partner":"a","discount":{"kind":"percent","value":10},"stacking":"exclusive","start":"2026-11-10T00:00Z","end":"2026-11-15T00:00Z","skus":["A"],"ts":"2026-11-01T01:00Z"}
> {"type":"promo","id":"E2","partner":"b","discount":{"kind":"percent","value":20},"stacking":"exclusive","start":"2026-11-12T00:00Z","end":"2026-11-20T00:00Z","skus":["A"],"ts":"2026-11-01T02:00Z"}
    alert overlap/exclusive-clash firing A/web at=2026-11-12T00:00Z promos=E1,E2
> advance 2026-11-12T00:00Z
> advance 2026-11-14T00:00Z
> advance 2026-11-16T00:00Z
    alert overlap/exclusive-clash resolved/ended A/web at=2026-11-15T00:00Z promos=E1,E2
`,
	},
	{
		name:  "calendar/future-conflict-cancelled-by-status",
		rules: scClashRules,
		script: `
> {"type":"price","sku":"A","channel":"web","price":100,"currency":"EUR","ts":"2026-11-01T00:00Z"}
> {"type":"promo","id":"E1","partner":"a","discount":{"kind":"percent","value":10},"stacking":"exclusive","start":"2026-11-10T00:00Z","end":"2026-11-15T00:00Z","skus":["A"],"ts":"2026-11-01T01:00Z"}
> {"type":"promo","id":"E2","partner":"b","discount":{"kind":"percent","value":20},"stacking":"exclusive","start":"2026-11-12T00:00Z","end":"2026-11-20T00:00Z","skus":["A"],"ts":"2026-11-01T02:00Z"}
    alert overlap/exclusive-clash firing A/web at=2026-11-12T00:00Z promos=E1,E2
> {"type":"promo","id":"E2","status":"cancelled","ts":"2026-11-01T03:00Z"}
    alert overlap/exclusive-clash resolved/cancelled A/web at=2026-11-12T00:00Z promos=E1,E2
> advance 2026-11-30T00:00Z
`,
	},
	{
		name:  "calendar/future-conflict-cancelled-by-tombstone",
		rules: scClashRules,
		script: `
> {"type":"price","sku":"A","channel":"web","price":100,"currency":"EUR","ts":"2026-11-01T00:00Z"}
> {"type":"promo","id":"E1","partner":"a","discount":{"kind":"percent","value":10},"stacking":"exclusive","start":"2026-11-10T00:00Z","end":"2026-11-15T00:00Z","skus":["A"],"ts":"2026-11-01T01:00Z"}
> {"type":"promo","id":"E2","partner":"b","discount":{"kind":"percent","value":20},"stacking":"exclusive","start":"2026-11-12T00:00Z","end":"2026-11-20T00:00Z","skus":["A"],"ts":"2026-11-01T02:00Z"}
    alert overlap/exclusive-clash firing A/web at=2026-11-12T00:00Z promos=E1,E2
> tombstone E2 2026-11-01T03:00Z
    alert overlap/exclusive-clash resolved/cancelled A/web at=2026-11-12T00:00Z promos=E1,E2
`,
	},
	{
		// the segment of the alert survives the first cancellation (E1 and E2
		// still clash): nothing; the second makes the condition false in a
		// segment that still exists: resolved, reason cancelled
		name:  "calendar/cancel-one-of-three-then-another",
		rules: scClashRules,
		script: `
> {"type":"price","sku":"A","channel":"web","price":100,"currency":"EUR","ts":"2026-11-01T00:00Z"}
> {"type":"promo","id":"E1","partner":"a","discount":{"kind":"percent","value":10},"stacking":"exclusive","start":"2026-11-10T00:00Z","end":"2026-11-20T00:00Z","skus":["A"],"ts":"2026-11-01T01:00Z"}
> {"type":"promo","id":"E2","partner":"b","discount":{"kind":"percent","value":10},"stacking":"exclusive","start":"2026-11-10T00:00Z","end":"2026-11-20T00:00Z","skus":["A"],"ts":"2026-11-01T01:00Z"}
    alert overlap/exclusive-clash firing A/web at=2026-11-10T00:00Z promos=E1,E2
> {"type":"promo","id":"E3","partner":"c","discount":{"kind":"percent","value":10},"stacking":"exclusive","start":"2026-11-10T00:00Z","end":"2026-11-20T00:00Z","skus":["A"],"ts":"2026-11-01T01:00Z"}
> tombstone E3 2026-11-01T02:00Z
> tombstone E2 2026-11-01T03:00Z
    alert overlap/exclusive-clash resolved/cancelled A/web at=2026-11-10T00:00Z promos=E1,E2
`,
	},
	{
		// an edit that moves a promotion's start removes the segment its
		// old start began: the alert keyed by it is superseded, and one
		// keyed by the new start fires
		name:  "calendar/edit-moves-start-superseded",
		rules: scClashRules,
		script: `
> {"type":"price","sku":"A","channel":"web","price":100,"currency":"EUR","ts":"2026-11-01T00:00Z"}
> {"type":"promo","id":"E1","partner":"a","discount":{"kind":"percent","value":10},"stacking":"exclusive","start":"2026-11-05T00:00Z","end":"2026-11-20T00:00Z","skus":["A"],"ts":"2026-11-01T01:00Z"}
> {"type":"promo","id":"E2","partner":"b","discount":{"kind":"percent","value":10},"stacking":"exclusive","start":"2026-11-10T00:00Z","end":"2026-11-20T00:00Z","skus":["A"],"ts":"2026-11-01T01:00Z"}
    alert overlap/exclusive-clash firing A/web at=2026-11-10T00:00Z promos=E1,E2
> {"type":"promo","id":"E2","partner":"b","discount":{"kind":"percent","value":10},"stacking":"exclusive","start":"2026-11-12T00:00Z","end":"2026-11-20T00:00Z","skus":["A"],"ts":"2026-11-01T02:00Z"}
    alert overlap/exclusive-clash resolved/superseded A/web at=2026-11-10T00:00Z promos=E1,E2
    alert overlap/exclusive-clash firing A/web at=2026-11-12T00:00Z promos=E1,E2
`,
	},
	{
		// an edit that takes a sku out of the selector supersedes its alert
		// and withdraws its correction; the newly covered sku gets them
		name:  "calendar/edit-removes-sku-superseded",
		rules: scBelowCostRules,
		script: `
> {"type":"price","sku":"A","channel":"web","price":100,"cost":90,"currency":"EUR","ts":"2026-11-01T00:00Z"}
> {"type":"price","sku":"B","channel":"web","price":100,"cost":90,"currency":"EUR","ts":"2026-11-01T00:00Z"}
> {"type":"promo","id":"P","partner":"a","discount":{"kind":"percent","value":20},"start":"2026-11-10T00:00Z","end":"2026-11-20T00:00Z","skus":["A"],"ts":"2026-11-01T01:00Z"}
    alert margin/below-cost firing A/web at=2026-11-10T00:00Z promos=P
    correction A/web active eff=80 corr=90 by=margin/below-cost at=2026-11-10T00:00Z
> {"type":"promo","id":"P","partner":"a","discount":{"kind":"percent","value":20},"start":"2026-11-10T00:00Z","end":"2026-11-20T00:00Z","skus":["B"],"ts":"2026-11-01T02:00Z"}
    alert margin/below-cost resolved/superseded A/web at=2026-11-10T00:00Z promos=P
    correction A/web withdrawn/superseded eff=100 at=2026-11-10T00:00Z
    alert margin/below-cost firing B/web at=2026-11-10T00:00Z promos=P
    correction B/web active eff=80 corr=90 by=margin/below-cost at=2026-11-10T00:00Z
`,
	},
	{
		// a promotion beyond the horizon is evaluated when its start enters
		// it, as a timer on the watermark
		name:  "calendar/promotion-enters-horizon",
		rules: scClashRules, opts: Options{Horizon: 10 * 24 * time.Hour},
		script: `
> {"type":"price","sku":"A","channel":"web","price":100,"currency":"EUR","ts":"2026-11-01T00:00Z"}
> {"type":"promo","id":"E1","partner":"a","discount":{"kind":"percent","value":10},"stacking":"exclusive","start":"2026-11-20T00:00Z","end":"2026-11-25T00:00Z","skus":["A"],"ts":"2026-11-01T01:00Z"}
> {"type":"promo","id":"E2","partner":"b","discount":{"kind":"percent","value":10},"stacking":"exclusive","start":"2026-11-20T00:00Z","end":"2026-11-25T00:00Z","skus":["A"],"ts":"2026-11-01T01:00Z"}
> advance 2026-11-09T23:59Z
> advance 2026-11-11T00:00Z
    alert overlap/exclusive-clash firing A/web at=2026-11-20T00:00Z promos=E1,E2
> advance 2026-11-26T00:00Z
    alert overlap/exclusive-clash resolved/ended A/web at=2026-11-25T00:00Z promos=E1,E2
`,
	},
	{
		// a scheduled price is a boundary; it changes the channels fact of
		// every other channel of the sku too
		name: "calendar/scheduled-price-boundary",
		rules: `
group: g
rules:
  - name: cheap
    if: price < 60
  - name: parity
    if: '"web" in channels && channels["web"].price < price * 0.9'
`,
		script: `
>> {"type":"price","sku":"A","channel":"web","price":100,"currency":"EUR","ts":"2026-11-01T00:00Z"}
> {"type":"price","sku":"A","channel":"app","price":100,"currency":"EUR","ts":"2026-11-01T00:00Z"}
> {"type":"price","sku":"A","channel":"web","price":50,"currency":"EUR","valid_from":"2026-11-05T00:00Z","ts":"2026-11-01T01:00Z"}
    alert g/parity firing A/app at=2026-11-05T00:00Z
    alert g/cheap firing A/web at=2026-11-05T00:00Z
> advance 2026-11-05T12:00Z
> {"type":"price","sku":"A","channel":"web","price":70,"currency":"EUR","ts":"2026-11-06T00:00Z"}
    alert g/cheap resolved/cleared A/web at=2026-11-06T00:00Z
`,
	},
	{
		// a promotion on another channel is still a boundary of this one
		// (it changes its channels fact); a now-scope rule sees only the
		// present: it fires when the watermark reaches the promotion
		name: "calendar/now-scope-sees-only-the-present",
		rules: `
group: g
rules:
  - name: nowpromo
    scope: now
    if: len(promos) > 0
`,
		script: `
> {"type":"price","sku":"A","channel":"web","price":100,"currency":"EUR","ts":"2026-11-01T00:00Z"}
> {"type":"promo","id":"P","partner":"a","discount":{"kind":"percent","value":10},"start":"2026-11-05T00:00Z","end":"2026-11-10T00:00Z","skus":["A"],"ts":"2026-11-01T01:00Z"}
> advance 2026-11-06T00:00Z
    alert g/nowpromo firing A/web at=2026-11-05T00:00Z promos=P
> advance 2026-11-11T00:00Z
    alert g/nowpromo resolved/cleared A/web at=2026-11-10T00:00Z promos=P
`,
	},
	// ---- DESIGN §5: promo scope ------------------------------------------
	{
		// a sitewide promotion raises ONE promo-scope alert however many skus
		// it covers; an edit that fixes it resolves it (cleared), one that
		// breaks it again fires it again, and its end resolves it (ended)
		name:  "promo-scope/sitewide-one-alert",
		rules: scLadderRules,
		script: `
>> {"type":"price","sku":"A","channel":"web","price":100,"currency":"EUR","ts":"2026-11-01T00:00Z"}
>> {"type":"price","sku":"B","channel":"web","price":100,"currency":"EUR","ts":"2026-11-01T00:00Z"}
> {"type":"price","sku":"C","channel":"app","price":100,"currency":"EUR","ts":"2026-11-01T00:00Z"}
> {"type":"promo","id":"S","partner":"a","discount":{"kind":"percent","value":15},"start":"2026-11-05T00:00Z","end":"2026-11-10T00:00Z","skus":["*"],"ts":"2026-11-01T01:00Z"}
    alert ladder/off-ladder firing promo=S at=2026-11-05T00:00Z
> {"type":"promo","id":"S","partner":"a","discount":{"kind":"percent","value":20},"start":"2026-11-05T00:00Z","end":"2026-11-10T00:00Z","skus":["*"],"ts":"2026-11-01T02:00Z"}
    alert ladder/off-ladder resolved/cleared promo=S at=2026-11-05T00:00Z
> {"type":"promo","id":"S","partner":"a","discount":{"kind":"percent","value":15},"start":"2026-11-05T00:00Z","end":"2026-11-10T00:00Z","skus":["*"],"ts":"2026-11-01T03:00Z"}
    alert ladder/off-ladder firing promo=S at=2026-11-05T00:00Z
> advance 2026-11-11T00:00Z
    alert ladder/off-ladder resolved/ended promo=S at=2026-11-10T00:00Z
`,
		check: func(t *testing.T, r *scRun) {
			for _, o := range r.outs {
				if a := o.Alert; a != nil && (a.Promo != "S" || a.SKU != "" || a.Channel != "") {
					t.Errorf("promo-scope alert with promo=%q sku=%q channel=%q, want promo S and no sku or channel", a.Promo, a.SKU, a.Channel)
				}
			}
		},
	},
	{
		// at = max(segment start, watermark); a promo-scope alert's segment
		// is its promotion's window, whatever resolves it
		name:  "promo-scope/cancelled-by-status",
		rules: scLadderRules,
		script: `
> {"type":"promo","id":"S","partner":"a","discount":{"kind":"percent","value":15},"start":"2026-11-05T00:00Z","end":"2026-11-10T00:00Z","skus":["A"],"ts":"2026-11-01T01:00Z"}
    alert ladder/off-ladder firing promo=S at=2026-11-05T00:00Z
> {"type":"promo","id":"S","status":"cancelled","ts":"2026-11-01T02:00Z"}
    alert ladder/off-ladder resolved/cancelled promo=S at=2026-11-05T00:00Z
`,
	},
	{
		name:  "promo-scope/cancelled-by-tombstone",
		rules: scLadderRules,
		script: `
> {"type":"promo","id":"S","partner":"a","discount":{"kind":"percent","value":15},"start":"2026-11-05T00:00Z","end":"2026-11-10T00:00Z","skus":["A"],"ts":"2026-11-01T01:00Z"}
    alert ladder/off-ladder firing promo=S at=2026-11-05T00:00Z
> tombstone S 2026-11-01T02:00Z
    alert ladder/off-ladder resolved/cancelled promo=S at=2026-11-05T00:00Z
`,
	},

	// ---- DESIGN §6: alerts and corrections --------------------------------
	{
		// a correction is emitted when the corrected price first differs from
		// the effective price, not again for the same price, again when it
		// changes, and withdrawn (with the alert resolved) when the bounds go
		name:  "correction/emitted-on-change-and-withdrawn",
		rules: scBelowCostRules,
		script: `
> {"type":"price","sku":"A","channel":"web","price":10,"cost":12,"currency":"EUR","ts":"2026-11-01T00:00Z"}
    alert margin/below-cost firing A/web at=2026-11-01T00:00Z
    correction A/web active eff=10 corr=12 by=margin/below-cost at=2026-11-01T00:00Z
# the same bounds again: nothing
> {"type":"price","sku":"A","channel":"web","price":10,"cost":12,"currency":"EUR","ts":"2026-11-01T01:00Z"}
# another effective price, the same corrected price: nothing
> {"type":"price","sku":"A","channel":"web","price":11,"cost":12,"currency":"EUR","ts":"2026-11-01T02:00Z"}
# another bound: a new correction
> {"type":"price","sku":"A","channel":"web","price":11,"cost":13,"currency":"EUR","ts":"2026-11-01T03:00Z"}
    correction A/web active eff=11 corr=13 by=margin/below-cost at=2026-11-01T03:00Z
> {"type":"price","sku":"A","channel":"web","price":14,"cost":13,"currency":"EUR","ts":"2026-11-01T04:00Z"}
    alert margin/below-cost resolved/cleared A/web at=2026-11-01T04:00Z
    correction A/web withdrawn/cleared eff=14 at=2026-11-01T04:00Z
`,
		check: func(t *testing.T, r *scRun) {
			s := r.eng.Stats()
			if s.Corrections[event.StateActive] != 2 || s.Corrections[event.StateWithdrawn] != 1 {
				t.Errorf("Stats.Corrections = %v, want active 2, withdrawn 1", s.Corrections)
			}
			for _, o := range r.find("alert margin/below-cost") {
				if o.Alert.Severity != "critical" {
					t.Errorf("severity %q, want critical", o.Alert.Severity)
				}
			}
		},
	},
	{
		// a future promotion's correction is keyed by its segment: emitted
		// at registration with at = its start, withdrawn (cancelled) with it
		name:  "correction/withdrawn-when-promotion-cancelled",
		rules: scBelowCostRules,
		script: `
> {"type":"price","sku":"A","channel":"web","price":100,"cost":90,"currency":"EUR","ts":"2026-11-01T00:00Z"}
> {"type":"promo","id":"P","partner":"a","discount":{"kind":"percent","value":20},"start":"2026-11-10T00:00Z","end":"2026-11-20T00:00Z","skus":["A"],"ts":"2026-11-01T01:00Z"}
    alert margin/below-cost firing A/web at=2026-11-10T00:00Z promos=P
    correction A/web active eff=80 corr=90 by=margin/below-cost at=2026-11-10T00:00Z
> {"type":"promo","id":"P","status":"cancelled","ts":"2026-11-01T02:00Z"}
    alert margin/below-cost resolved/cancelled A/web at=2026-11-10T00:00Z promos=P
    correction A/web withdrawn/cancelled eff=100 at=2026-11-10T00:00Z
`,
	},
	{
		// an active promotion cancelled: the present segment's alert and
		// correction go, reason cancelled, at the watermark
		name:  "correction/withdrawn-when-active-promotion-tombstoned",
		rules: scBelowCostRules,
		script: `
> {"type":"price","sku":"A","channel":"web","price":100,"cost":90,"currency":"EUR","ts":"2026-11-01T00:00Z"}
> {"type":"promo","id":"P","partner":"a","discount":{"kind":"percent","value":20},"start":"2026-10-01T00:00Z","end":"2026-11-20T00:00Z","skus":["A"],"ts":"2026-11-01T01:00Z"}
    alert margin/below-cost firing A/web at=2026-11-01T01:00Z promos=P
    correction A/web active eff=80 corr=90 by=margin/below-cost at=2026-11-01T01:00Z
> tombstone P 2026-11-01T02:00Z
    alert margin/below-cost resolved/cancelled A/web at=2026-11-01T02:00Z promos=P
    correction A/web withdrawn/cancelled eff=100 at=2026-11-01T02:00Z
`,
	},
	{
		// the watermark passing the end of a promotion ends its segment's
		// alert and correction
		name:  "correction/withdrawn-when-segment-ends",
		rules: scBelowCostRules,
		script: `
> {"type":"price","sku":"A","channel":"web","price":100,"cost":90,"currency":"EUR","ts":"2026-11-01T00:00Z"}
> {"type":"promo","id":"P","partner":"a","discount":{"kind":"percent","value":20},"start":"2026-11-10T00:00Z","end":"2026-11-20T00:00Z","skus":["A"],"ts":"2026-11-01T01:00Z"}
    alert margin/below-cost firing A/web at=2026-11-10T00:00Z promos=P
    correction A/web active eff=80 corr=90 by=margin/below-cost at=2026-11-10T00:00Z
> advance 2026-11-15T00:00Z
> advance 2026-11-21T00:00Z
    alert margin/below-cost resolved/ended A/web at=2026-11-20T00:00Z promos=P
    correction A/web withdrawn/ended eff=100 at=2026-11-20T00:00Z
`,
	},
	{
		// floor > ceiling: unsatisfiable fires (critical), the correction goes
		// to the floor and names both rules; it follows the bounds, and
		// everything resolves when they go
		name: "correction/unsatisfiable-goes-to-floor",
		rules: `
group: g
rules:
  - name: lo
    if: has_cost
    floor: cost * 2
  - name: hi
    if: has_cost
    ceiling: cost
`,
		script: `
> {"type":"price","sku":"A","channel":"web","price":30,"cost":20,"currency":"EUR","ts":"2026-11-01T00:00Z"}
    alert g/lo firing A/web at=2026-11-01T00:00Z
    alert g/hi firing A/web at=2026-11-01T00:00Z
    alert promoguard/unsatisfiable firing A/web at=2026-11-01T00:00Z
    correction A/web active eff=30 corr=40 by=g/lo at=2026-11-01T00:00Z rules=g/lo,g/hi
> {"type":"price","sku":"A","channel":"web","price":15,"cost":10,"currency":"EUR","ts":"2026-11-01T01:00Z"}
    correction A/web active eff=15 corr=20 by=g/lo at=2026-11-01T01:00Z rules=g/lo,g/hi
> {"type":"price","sku":"A","channel":"web","price":15,"currency":"EUR","ts":"2026-11-01T02:00Z"}
    alert g/lo resolved/cleared A/web at=2026-11-01T02:00Z
    alert g/hi resolved/cleared A/web at=2026-11-01T02:00Z
    alert promoguard/unsatisfiable resolved/cleared A/web at=2026-11-01T02:00Z
    correction A/web withdrawn/cleared eff=15 at=2026-11-01T02:00Z
`,
		check: func(t *testing.T, r *scRun) {
			for _, o := range r.find("alert promoguard/unsatisfiable firing") {
				if o.Alert.Severity != "critical" {
					t.Errorf("unsatisfiable severity %q, want critical", o.Alert.Severity)
				}
				if o.Alert.Values["floor"] != 40.0 || o.Alert.Values["ceiling"] != 20.0 {
					t.Errorf("unsatisfiable values %v, want floor 40 and ceiling 20", o.Alert.Values)
				}
			}
			for _, o := range r.find("correction A/web active eff=30") {
				c := o.Correction
				if float64(c.Floor) != 40 || float64(c.Ceiling) != 20 {
					t.Errorf("correction floor/ceiling %v/%v, want 40/20", c.Floor, c.Ceiling)
				}
			}
		},
	},
	{
		// ISO 4217 minor units, rounded up when a floor binds and down when a
		// ceiling binds; the channel's .99 ending only within the bounds
		name: "correction/rounding-and-price-endings",
		rules: `
group: g
rules:
  - name: below-cost
    if: has_cost && effective_price < cost
    floor: cost
  - name: cap
    if: has_cost && sku == "F"
    ceiling: cost + 0.2
  - name: cap2
    if: '!has_cost && price > 10'
    ceiling: 'sku == "C" ? 25.509 : 10.009'
`,
		script: `
# EUR: 10.001 rounds up to 10.01
> {"type":"price","sku":"A","channel":"web","price":9,"cost":10.001,"currency":"EUR","ts":"2026-11-01T00:00Z"}
    alert g/below-cost firing A/web at=2026-11-01T00:00Z
    correction A/web active eff=9 corr=10.01 by=g/below-cost at=2026-11-01T00:00Z
# JPY has no minor unit: 1234.5 rounds up to 1235
> {"type":"price","sku":"J","channel":"web","price":1000,"cost":1234.5,"currency":"JPY","ts":"2026-11-01T00:00Z"}
    alert g/below-cost firing J/web at=2026-11-01T00:00Z
    correction J/web active eff=1000 corr=1235 by=g/below-cost at=2026-11-01T00:00Z
# KWD has three decimals: 1.2341 rounds up to 1.235
> {"type":"price","sku":"K","channel":"web","price":1,"cost":1.2341,"currency":"KWD","ts":"2026-11-01T00:00Z"}
    alert g/below-cost firing K/web at=2026-11-01T00:00Z
    correction K/web active eff=1 corr=1.235 by=g/below-cost at=2026-11-01T00:00Z
# a .99 channel: the floor 21.30 moves up to 21.99
> {"type":"price","sku":"E","channel":"web","price":19.99,"cost":21.3,"currency":"EUR","ts":"2026-11-01T00:00Z"}
    alert g/below-cost firing E/web at=2026-11-01T00:00Z
    correction E/web active eff=19.99 corr=21.99 by=g/below-cost at=2026-11-01T00:00Z
# ... but not above a ceiling of 21.50: it stays 21.30
> {"type":"price","sku":"F","channel":"web","price":19.99,"cost":21.3,"currency":"EUR","ts":"2026-11-01T00:00Z"}
    alert g/below-cost firing F/web at=2026-11-01T00:00Z
    alert g/cap firing F/web at=2026-11-01T00:00Z
    correction F/web active eff=19.99 corr=21.3 by=g/below-cost at=2026-11-01T00:00Z rules=g/below-cost,g/cap
# a ceiling of 25.509 rounds down to 25.50, then the .99 ending: 24.99
> {"type":"price","sku":"C","channel":"web","price":29.99,"currency":"EUR","ts":"2026-11-01T00:00Z"}
    alert g/cap2 firing C/web at=2026-11-01T00:00Z
    correction C/web active eff=29.99 corr=24.99 by=g/cap2 at=2026-11-01T00:00Z
# a ceiling of 10.009 rounds down to 10 (no ending on a round price)
> {"type":"price","sku":"D","channel":"web","price":12,"currency":"EUR","ts":"2026-11-01T00:00Z"}
    alert g/cap2 firing D/web at=2026-11-01T00:00Z
    correction D/web active eff=12 corr=10 by=g/cap2 at=2026-11-01T00:00Z
`,
	},
	{
		// the effective price is rounded to the minor unit nowhere, but a
		// correction equal to it (within half a minor unit) is not emitted
		name:  "correction/none-when-already-within-bounds",
		rules: scBelowCostRules,
		script: `
> {"type":"price","sku":"A","channel":"web","price":12,"cost":12,"currency":"EUR","ts":"2026-11-01T00:00Z"}
> {"type":"price","sku":"A","channel":"web","price":12.5,"cost":12,"currency":"EUR","ts":"2026-11-01T01:00Z"}
`,
	},
	// ---- DESIGN §2: order, lateness, held promotions -------------------------
	{
		// events older than the state they would replace are ignored and
		// counted; an old event for a key with no state yet is applied
		name: "input/late-events-ignored-and-counted",
		rules: `
group: g
rules:
  - name: cheap
    if: price < 60
  - name: eff
    if: effective_price < 60
  - name: empty
    if: stock.on_hand < 5
`,
		script: `
> {"type":"price","sku":"A","channel":"web","price":100,"currency":"EUR","ts":"2026-11-01T01:00Z"}
> {"type":"price","sku":"A","channel":"web","price":50,"currency":"EUR","ts":"2026-11-01T00:30Z"}
> {"type":"stock","sku":"A","warehouse":"w1","on_hand":10,"ts":"2026-11-01T01:00Z"}
> {"type":"stock","sku":"A","warehouse":"w1","on_hand":0,"ts":"2026-11-01T00:30Z"}
> {"type":"promo","id":"P","partner":"a","discount":{"kind":"percent","value":10},"start":"2026-10-01T00:00Z","end":"2027-01-01T00:00Z","skus":["A"],"ts":"2026-11-01T01:00Z"}
> {"type":"promo","id":"P","partner":"a","discount":{"kind":"percent","value":50},"start":"2026-10-01T00:00Z","end":"2027-01-01T00:00Z","skus":["A"],"ts":"2026-11-01T00:30Z"}
> tombstone P 2026-11-01T00:45Z
> {"type":"price","sku":"A","channel":"app","price":50,"currency":"EUR","ts":"2026-11-01T00:10Z"}
    alert g/cheap firing A/app at=2026-11-01T01:00Z promos=P
    alert g/eff firing A/app at=2026-11-01T01:00Z promos=P
`,
		check: func(t *testing.T, r *scRun) {
			s := r.eng.Stats()
			if s.Late != 4 {
				t.Errorf("Stats.Late = %d, want 4", s.Late)
			}
			if s.Events != 4 {
				t.Errorf("Stats.Events = %d, want 4", s.Events)
			}
		},
	},
	{
		// a cancelled promotion cannot be brought back by an older event
		name:  "input/late-event-does-not-resurrect-cancelled-promotion",
		rules: scShowRules,
		script: `
> {"type":"price","sku":"A","channel":"web","price":100,"currency":"EUR","ts":"2026-11-01T00:00Z"}
> {"type":"promo","id":"P","partner":"a","discount":{"kind":"percent","value":10},"start":"2026-10-01T00:00Z","end":"2027-01-01T00:00Z","skus":["A"],"ts":"2026-11-01T01:00Z"}
    alert g/show firing A/web at=2026-11-01T01:00Z promos=P
> {"type":"promo","id":"P","status":"cancelled","ts":"2026-11-01T03:00Z"}
    alert g/show resolved/cancelled A/web at=2026-11-01T03:00Z promos=P
> {"type":"promo","id":"P","partner":"a","discount":{"kind":"percent","value":10},"start":"2026-10-01T00:00Z","end":"2027-01-01T00:00Z","skus":["A"],"ts":"2026-11-01T02:00Z"}
`,
		check: func(t *testing.T, r *scRun) {
			if s := r.eng.Stats(); s.Late != 1 {
				t.Errorf("Stats.Late = %d, want 1", s.Late)
			}
		},
	},
	{
		// the canonical order applies a promotion before a price of the same
		// ts, whatever order they arrive in: a rule on [price] sees it
		name: "input/equal-ts-canonical-order",
		rules: `
group: g
rules:
  - name: promo-on-price
    on: [price]
    if: len(promos) > 0
`,
		script: `
>> {"type":"price","sku":"A","channel":"web","price":100,"currency":"EUR","ts":"2026-11-01T00:00Z"}
>> {"type":"promo","id":"P","partner":"a","discount":{"kind":"percent","value":10},"start":"2026-10-01T00:00Z","end":"2027-01-01T00:00Z","skus":["A"],"ts":"2026-11-01T00:00Z"}
> flush
    alert g/promo-on-price firing A/web at=2026-11-01T00:00Z promos=P
`,
	},
	{
		// promotions for skus with no price yet are held, and apply when the
		// prices arrive, by sku, category and brand
		name:  "input/promotion-held-until-prices-arrive",
		rules: scShowRules, msg: true,
		script: `
> {"type":"promo","id":"P","partner":"a","discount":{"kind":"percent","value":20},"start":"2026-10-01T00:00Z","end":"2027-01-01T00:00Z","skus":["A"],"ts":"2026-11-01T00:00Z"}
> {"type":"promo","id":"C","partner":"a","discount":{"kind":"percent","value":10},"start":"2026-10-01T00:00Z","end":"2027-01-01T00:00Z","categories":["audio"],"ts":"2026-11-01T00:00Z"}
> {"type":"promo","id":"B","partner":"a","discount":{"kind":"amount","value":5},"currency":"EUR","start":"2026-10-01T00:00Z","end":"2027-01-01T00:00Z","brands":["acme"],"ts":"2026-11-01T00:00Z"}
> {"type":"price","sku":"A","channel":"web","price":100,"currency":"EUR","category":"audio","brand":"acme","ts":"2026-11-01T01:00Z"}
    alert g/show firing A/web at=2026-11-01T01:00Z promos=B,C,P msg="eff=68.4 promos=B,C,P blocked="
`,
	},
	{
		// categories, brands, and both (a sku must match both)
		name:  "input/category-and-brand-selectors",
		rules: scShowRules, msg: true,
		script: `
> {"type":"promo","id":"PC","partner":"a","discount":{"kind":"percent","value":10},"start":"2026-10-01T00:00Z","end":"2027-01-01T00:00Z","categories":["audio"],"ts":"2026-11-01T00:00Z"}
> {"type":"promo","id":"PB","partner":"a","discount":{"kind":"percent","value":10},"start":"2026-10-01T00:00Z","end":"2027-01-01T00:00Z","brands":["acme"],"ts":"2026-11-01T00:00Z"}
> {"type":"promo","id":"PCB","partner":"a","discount":{"kind":"percent","value":10},"start":"2026-10-01T00:00Z","end":"2027-01-01T00:00Z","categories":["audio"],"brands":["acme"],"ts":"2026-11-01T00:00Z"}
> {"type":"price","sku":"A","channel":"web","price":100,"currency":"EUR","category":"audio","brand":"acme","ts":"2026-11-01T01:00Z"}
    alert g/show firing A/web at=2026-11-01T01:00Z promos=PB,PC,PCB msg="eff=72.9 promos=PB,PC,PCB blocked="
> {"type":"price","sku":"B","channel":"web","price":100,"currency":"EUR","category":"audio","brand":"other","ts":"2026-11-01T01:00Z"}
    alert g/show firing B/web at=2026-11-01T01:00Z promos=PC msg="eff=90 promos=PC blocked="
> {"type":"price","sku":"C","channel":"web","price":100,"currency":"EUR","category":"video","brand":"acme","ts":"2026-11-01T01:00Z"}
    alert g/show firing C/web at=2026-11-01T01:00Z promos=PB msg="eff=90 promos=PB blocked="
> {"type":"price","sku":"D","channel":"web","price":100,"currency":"EUR","category":"video","brand":"other","ts":"2026-11-01T01:00Z"}
# a category promotion after the prices finds its skus
> {"type":"promo","id":"PV","partner":"a","discount":{"kind":"percent","value":50},"start":"2026-10-01T00:00Z","end":"2027-01-01T00:00Z","categories":["video"],"ts":"2026-11-01T02:00Z"}
    alert g/show firing D/web at=2026-11-01T02:00Z promos=PV msg="eff=50 promos=PV blocked="
`,
	},
	{
		name:  "input/channels-and-regions-filters",
		rules: scShowRules, msg: true,
		script: `
> {"type":"promo","id":"PW","partner":"a","discount":{"kind":"percent","value":10},"start":"2026-10-01T00:00Z","end":"2027-01-01T00:00Z","skus":["A"],"channels":["web"],"ts":"2026-11-01T00:00Z"}
> {"type":"promo","id":"PR","partner":"a","discount":{"kind":"percent","value":20},"start":"2026-10-01T00:00Z","end":"2027-01-01T00:00Z","skus":["A"],"regions":["DE"],"ts":"2026-11-01T00:00Z"}
> {"type":"price","sku":"A","channel":"web","price":100,"currency":"EUR","region":"DE","ts":"2026-11-01T01:00Z"}
    alert g/show firing A/web at=2026-11-01T01:00Z promos=PR,PW msg="eff=72 promos=PR,PW blocked="
> {"type":"price","sku":"A","channel":"app","price":100,"currency":"EUR","region":"DE","ts":"2026-11-01T01:00Z"}
    alert g/show firing A/app at=2026-11-01T01:00Z promos=PR msg="eff=80 promos=PR blocked="
> {"type":"price","sku":"A","channel":"shop","price":100,"currency":"EUR","region":"FR","ts":"2026-11-01T01:00Z"}
`,
	},
	{
		// delisting a channel resolves its alerts and withdraws its
		// correction (reason delisted); the other channel is untouched; a
		// new price lists it again
		name:  "input/delisting",
		rules: scBelowCostRules,
		script: `
> {"type":"price","sku":"A","channel":"web","price":10,"cost":12,"currency":"EUR","ts":"2026-11-01T00:00Z"}
    alert margin/below-cost firing A/web at=2026-11-01T00:00Z
    correction A/web active eff=10 corr=12 by=margin/below-cost at=2026-11-01T00:00Z
> {"type":"price","sku":"A","channel":"app","price":10,"cost":12,"currency":"EUR","ts":"2026-11-01T00:30Z"}
    alert margin/below-cost firing A/app at=2026-11-01T00:30Z
    correction A/app active eff=10 corr=12 by=margin/below-cost at=2026-11-01T00:30Z
> {"type":"price","sku":"A","channel":"web","status":"delisted","ts":"2026-11-01T01:00Z"}
    alert margin/below-cost resolved/delisted A/web at=2026-11-01T01:00Z
    correction A/web withdrawn/delisted eff=null at=2026-11-01T01:00Z
> {"type":"price","sku":"A","channel":"web","price":10,"cost":12,"currency":"EUR","ts":"2026-11-01T02:00Z"}
    alert margin/below-cost firing A/web at=2026-11-01T02:00Z
    correction A/web active eff=10 corr=12 by=margin/below-cost at=2026-11-01T02:00Z
`,
	},
	{
		// at-least-once delivery: the same events again change nothing
		name: "input/redelivery-is-idempotent",
		rules: scBelowCostRules + `
  - name: churn
    scope: now
    if: history.changes_1h > 0
  - name: empty
    if: stock.available < 5
`,
		script: `
> {"type":"stock","sku":"A","warehouse":"w1","on_hand":1,"ts":"2026-11-01T00:00Z"}
> {"type":"price","sku":"A","channel":"web","price":10,"cost":12,"currency":"EUR","ts":"2026-11-01T00:00Z"}
    alert margin/below-cost firing A/web at=2026-11-01T00:00Z
    alert margin/empty firing A/web at=2026-11-01T00:00Z
    correction A/web active eff=10 corr=12 by=margin/below-cost at=2026-11-01T00:00Z
> {"type":"price","sku":"A","channel":"web","price":11,"cost":12,"currency":"EUR","ts":"2026-11-01T00:10Z"}
    alert margin/churn firing A/web at=2026-11-01T00:10Z
# the promotion splits the calendar: one alert per segment
> {"type":"promo","id":"P","partner":"a","discount":{"kind":"percent","value":20},"start":"2026-11-10T00:00Z","end":"2026-11-20T00:00Z","skus":["A"],"ts":"2026-11-01T00:10Z"}
    alert margin/below-cost firing A/web at=2026-11-10T00:00Z promos=P
    alert margin/empty firing A/web at=2026-11-10T00:00Z promos=P
    correction A/web active eff=8.8 corr=12 by=margin/below-cost at=2026-11-10T00:00Z
    alert margin/below-cost firing A/web at=2026-11-20T00:00Z
    alert margin/empty firing A/web at=2026-11-20T00:00Z
    correction A/web active eff=11 corr=12 by=margin/below-cost at=2026-11-20T00:00Z
# the same events delivered again: nothing
> {"type":"stock","sku":"A","warehouse":"w1","on_hand":1,"ts":"2026-11-01T00:00Z"}
> {"type":"price","sku":"A","channel":"web","price":11,"cost":12,"currency":"EUR","ts":"2026-11-01T00:10Z"}
> {"type":"promo","id":"P","partner":"a","discount":{"kind":"percent","value":20},"start":"2026-11-10T00:00Z","end":"2026-11-20T00:00Z","skus":["A"],"ts":"2026-11-01T00:10Z"}
`,
	},

	// ---- DESIGN §5: for, repeat, on --------------------------------------
	{
		// for counts watermark time from when the condition was first seen
		// true; the timer fires at the due instant; a false condition resets
		name: "lifecycle/for-driven-by-advance",
		rules: `
group: g
rules:
  - name: slow
    if: price < 60
    for: 1h
`,
		script: `
> {"type":"price","sku":"A","channel":"web","price":50,"currency":"EUR","ts":"2026-11-01T00:00Z"}
> advance 2026-11-01T00:30Z
> advance 2026-11-01T03:00Z
    alert g/slow firing A/web at=2026-11-01T01:00Z
> {"type":"price","sku":"A","channel":"web","price":70,"currency":"EUR","ts":"2026-11-01T04:00Z"}
    alert g/slow resolved/cleared A/web at=2026-11-01T04:00Z
> {"type":"price","sku":"A","channel":"web","price":50,"currency":"EUR","ts":"2026-11-01T05:00Z"}
> {"type":"price","sku":"A","channel":"web","price":70,"currency":"EUR","ts":"2026-11-01T05:30Z"}
> {"type":"price","sku":"A","channel":"web","price":50,"currency":"EUR","ts":"2026-11-01T05:40Z"}
> advance 2026-11-01T08:00Z
    alert g/slow firing A/web at=2026-11-01T06:40Z
`,
	},
	{
		// an event whose ts passes a timer's due instant fires the timer
		// first, at its instant
		name: "lifecycle/for-fires-before-a-later-event",
		rules: `
group: g
rules:
  - name: slow
    if: price < 60
    for: 1h
`,
		script: `
> {"type":"price","sku":"A","channel":"web","price":50,"currency":"EUR","ts":"2026-11-01T00:00Z"}
> {"type":"price","sku":"A","channel":"web","price":70,"currency":"EUR","ts":"2026-11-01T02:00Z"}
    alert g/slow firing A/web at=2026-11-01T01:00Z
    alert g/slow resolved/cleared A/web at=2026-11-01T02:00Z
`,
	},
	{
		name: "lifecycle/repeat-driven-by-advance",
		rules: `
group: g
rules:
  - name: rep
    if: price < 60
    repeat: 1h
`,
		script: `
> {"type":"price","sku":"A","channel":"web","price":50,"currency":"EUR","ts":"2026-11-01T00:00Z"}
    alert g/rep firing A/web at=2026-11-01T00:00Z
> advance 2026-11-01T03:30Z
    alert g/rep firing A/web at=2026-11-01T01:00Z
    alert g/rep firing A/web at=2026-11-01T02:00Z
    alert g/rep firing A/web at=2026-11-01T03:00Z
> {"type":"price","sku":"A","channel":"web","price":50,"currency":"EUR","ts":"2026-11-01T03:45Z"}
> {"type":"price","sku":"A","channel":"web","price":70,"currency":"EUR","ts":"2026-11-01T03:50Z"}
    alert g/rep resolved/cleared A/web at=2026-11-01T03:50Z
> advance 2026-11-01T06:00Z
`,
		check: func(t *testing.T, r *scRun) {
			if s := r.eng.Stats().ByRule["g/rep"]; s == nil || s.Firing != 4 || s.Resolved != 1 {
				t.Errorf("ByRule[g/rep] = %+v, want Firing 4, Resolved 1", s)
			}
		},
	},
	{
		// for and repeat together: firing after for, then every repeat
		name: "lifecycle/for-then-repeat",
		rules: `
group: g
rules:
  - name: both
    if: price < 60
    for: 30m
    repeat: 2h
`,
		script: `
> {"type":"price","sku":"A","channel":"web","price":50,"currency":"EUR","ts":"2026-11-01T00:00Z"}
> advance 2026-11-01T05:00Z
    alert g/both firing A/web at=2026-11-01T00:30Z
    alert g/both firing A/web at=2026-11-01T02:30Z
    alert g/both firing A/web at=2026-11-01T04:30Z
`,
	},
	{
		// on: a rule can start firing only on the listed events; an open
		// alert is re-checked on any event
		name: "lifecycle/on-filters-starting-not-resolving",
		rules: `
group: g
rules:
  - name: via-stock
    on: [stock]
    if: price < 60
  - name: via-promo
    on: promo
    if: price < 60
`,
		script: `
> {"type":"price","sku":"A","channel":"web","price":50,"currency":"EUR","ts":"2026-11-01T00:00Z"}
> {"type":"stock","sku":"A","warehouse":"w1","on_hand":10,"ts":"2026-11-01T01:00Z"}
    alert g/via-stock firing A/web at=2026-11-01T01:00Z
> {"type":"price","sku":"A","channel":"web","price":70,"currency":"EUR","ts":"2026-11-01T02:00Z"}
    alert g/via-stock resolved/cleared A/web at=2026-11-01T02:00Z
> {"type":"price","sku":"A","channel":"web","price":50,"currency":"EUR","ts":"2026-11-01T03:00Z"}
> advance 2026-11-01T05:00Z
> {"type":"promo","id":"P","partner":"a","discount":{"kind":"percent","value":10},"start":"2026-12-20T00:00Z","end":"2026-12-25T00:00Z","skus":["A"],"ts":"2026-11-01T06:00Z"}
    alert g/via-promo firing A/web at=2026-11-01T06:00Z
`,
	},
	// ---- facts -------------------------------------------------------------
	{
		// history facts at the watermark in now scope; they expire as the
		// changes leave the hour and the day, as timers
		name: "facts/history-now-scope",
		rules: `
group: war
rules:
  - name: churn
    scope: now
    if: history.changes_1h >= 3
    message: 'changes={{history.changes_1h}}'
  - name: drop
    scope: now
    if: history.max_drop_24h > 0.2
    message: 'drop={{history.max_drop_24h}} low={{history.low_24h}}'
`,
		msg: true,
		script: `
> {"type":"price","sku":"A","channel":"web","price":100,"currency":"EUR","ts":"2026-11-01T00:00Z"}
> {"type":"price","sku":"A","channel":"web","price":80,"currency":"EUR","ts":"2026-11-01T00:10Z"}
> {"type":"price","sku":"A","channel":"web","price":90,"currency":"EUR","ts":"2026-11-01T00:20Z"}
> {"type":"price","sku":"A","channel":"web","price":70,"currency":"EUR","ts":"2026-11-01T00:30Z"}
    alert war/churn firing A/web at=2026-11-01T00:30Z msg="changes=3"
    alert war/drop firing A/web at=2026-11-01T00:30Z msg="drop=0.2222 low=70"
> advance 2026-11-01T01:15Z
    alert war/churn resolved/cleared A/web at=2026-11-01T01:10Z msg="changes=3"
> advance 2026-11-02T01:00Z
    alert war/drop resolved/cleared A/web at=2026-11-02T00:30Z msg="drop=0.2222 low=70"
`,
	},
	{
		// low_24h counts the price in effect when the day's window opened
		name: "facts/history-low-24h",
		rules: `
group: war
rules:
  - name: low
    scope: now
    if: history.low_24h < 60
    message: 'low={{history.low_24h}}'
`,
		msg: true,
		script: `
> {"type":"price","sku":"A","channel":"web","price":50,"currency":"EUR","ts":"2026-11-01T00:00Z"}
    alert war/low firing A/web at=2026-11-01T00:00Z msg="low=50"
> {"type":"price","sku":"A","channel":"web","price":100,"currency":"EUR","ts":"2026-11-01T12:00Z"}
# 24 h after the rise, 50 is no longer in the window
> advance 2026-11-02T11:00Z
> advance 2026-11-02T13:00Z
    alert war/low resolved/cleared A/web at=2026-11-02T12:00Z msg="low=50"
`,
	},
	{
		// stock facts summed over warehouses; expected_promo_demand over the
		// promotion's remaining days in its segment; NaN with no stock
		name: "facts/stock",
		rules: `
group: stock
rules:
  - name: short
    if: stock.available < stock.expected_promo_demand
    message: 'avail={{stock.available}} demand={{stock.expected_promo_demand}} cover={{stock.days_of_cover}} vel={{stock.daily_velocity}} inbound={{stock.inbound}}'
  - name: nostock
    if: stock.available < 1 || stock.days_of_cover < 1
`,
		msg: true,
		script: `
>> {"type":"stock","sku":"A","warehouse":"w1","on_hand":50,"reserved":10,"inbound":5,"daily_velocity":4,"ts":"2026-11-01T00:00Z"}
>> {"type":"stock","sku":"A","warehouse":"w2","on_hand":40,"daily_velocity":6,"ts":"2026-11-01T00:00Z"}
>> {"type":"price","sku":"A","channel":"web","price":100,"currency":"EUR","ts":"2026-11-01T00:00Z"}
> {"type":"price","sku":"B","channel":"web","price":100,"currency":"EUR","ts":"2026-11-01T00:00Z"}
> {"type":"promo","id":"P","partner":"a","discount":{"kind":"percent","value":20},"expected_uplift":2,"start":"2026-11-05T00:00Z","end":"2026-11-10T00:00Z","skus":["A","B"],"ts":"2026-11-01T01:00Z"}
    alert stock/short firing A/web at=2026-11-05T00:00Z promos=P msg="avail=80 demand=100 cover=8 vel=10 inbound=5"
> {"type":"stock","sku":"A","warehouse":"w1","on_hand":100,"reserved":10,"inbound":5,"daily_velocity":4,"ts":"2026-11-01T02:00Z"}
    alert stock/short resolved/cleared A/web at=2026-11-05T00:00Z promos=P msg="avail=80 demand=100 cover=8 vel=10 inbound=5"
`,
	},
	{
		// a derived fact that cannot be computed is NaN: comparisons with it
		// are false, is_nan sees it, values write it as null
		name: "facts/nan-makes-comparisons-false-and-null-in-values",
		rules: `
group: g
rules:
  - name: nocost
    if: '!has_cost && is_nan(margin)'
  - name: lowmargin
    if: margin < 0.5
  - name: nodiscount
    if: discount < 0.5 || promo_discount > 0.5
  - name: nostock
    if: is_nan(stock.available) && is_nan(stock.on_hand) && is_nan(stock.days_of_cover) && is_nan(stock.expected_promo_demand)
  - name: mg
    if: has_cost && margin < 0.3 && discount > 0.15
`,
		script: `
> {"type":"price","sku":"A","channel":"web","price":100,"currency":"EUR","ts":"2026-11-01T00:00Z"}
    alert g/nocost firing A/web at=2026-11-01T00:00Z
    alert g/nostock firing A/web at=2026-11-01T00:00Z
# with stock, its facts are numbers
> {"type":"stock","sku":"A","warehouse":"w1","on_hand":3,"ts":"2026-11-01T00:10Z"}
    alert g/nostock resolved/cleared A/web at=2026-11-01T00:10Z
# a zero price: margin and promo_discount are NaN
>> {"type":"stock","sku":"Z","warehouse":"w1","on_hand":3,"ts":"2026-11-01T00:20Z"}
> {"type":"price","sku":"Z","channel":"web","price":0,"cost":5,"currency":"EUR","ts":"2026-11-01T00:20Z"}
# margin (80-60)/80 = 0.25, discount 1 - 80/100 = 0.2
>> {"type":"stock","sku":"B","warehouse":"w1","on_hand":3,"ts":"2026-11-01T00:30Z"}
> {"type":"price","sku":"B","channel":"web","price":80,"list_price":100,"cost":60,"currency":"EUR","ts":"2026-11-01T00:30Z"}
    alert g/lowmargin firing B/web at=2026-11-01T00:30Z
    alert g/nodiscount firing B/web at=2026-11-01T00:30Z
    alert g/mg firing B/web at=2026-11-01T00:30Z
`,
		check: func(t *testing.T, r *scRun) {
			for _, o := range r.find("alert g/nocost firing") {
				js := scJSON(t, o)
				if !strings.Contains(js, `"values":{"has_cost":false,"margin":null}`) {
					t.Errorf("values of nocost: %s\nwant has_cost false and margin null", js)
				}
			}
			for _, o := range r.find("alert g/nostock firing") {
				js := scJSON(t, o)
				if !strings.Contains(js, `"values":{"stock.available":null,"stock.days_of_cover":null,"stock.expected_promo_demand":null,"stock.on_hand":null}`) {
					t.Errorf("values of nostock: %s\nwant the four stock facts null", js)
				}
			}
			for _, o := range r.find("alert g/mg firing") {
				v := o.Alert.Values
				if v["margin"] != 0.25 || v["discount"] != 0.2 || v["has_cost"] != true {
					t.Errorf("values of mg: %v, want margin 0.25, discount 0.2, has_cost true", v)
				}
			}
		},
	},
	// ---- DESIGN §7: reload and runtime errors ------------------------------
	{
		name: "reload/unchanged-nothing-removed-rule_removed-new-fires",
		rules: `
group: margin
rules:
  - name: below-cost
    if: has_cost && effective_price < cost
    floor: cost
  - name: cheap
    if: price < 60
`,
		reloads: map[string]string{
			"same": `
group: margin
rules:
  - name: below-cost
    if: has_cost && effective_price < cost
    floor: cost
  - name: cheap
    if: price < 60
`,
			"without-below-cost": `
group: margin
rules:
  - name: cheap
    if: price < 60
`,
			"with-tiny": `
group: margin
rules:
  - name: cheap
    if: price < 60
  - name: tiny
    if: price < 20
`,
			"cheap-changed": `
group: margin
rules:
  - name: cheap
    if: price < 5
  - name: tiny
    if: price < 20
`,
		},
		script: `
> {"type":"price","sku":"A","channel":"web","price":10,"cost":12,"currency":"EUR","ts":"2026-11-01T00:00Z"}
    alert margin/below-cost firing A/web at=2026-11-01T00:00Z
    alert margin/cheap firing A/web at=2026-11-01T00:00Z
    correction A/web active eff=10 corr=12 by=margin/below-cost at=2026-11-01T00:00Z
> reload same
> reload without-below-cost
    alert margin/below-cost resolved/rule_removed A/web at=2026-11-01T00:00Z
    correction A/web withdrawn/rule_removed eff=10 at=2026-11-01T00:00Z
> reload with-tiny
    alert margin/tiny firing A/web at=2026-11-01T00:00Z
> reload cheap-changed
    alert margin/cheap resolved/cleared A/web at=2026-11-01T00:00Z
`,
	},
	{
		// a rule that errors at run time is counted; the other rules still
		// run; a bound that is Inf or NaN never becomes a corrected price
		name: "errors/runtime-errors-counted-others-fire",
		rules: `
group: g
tables:
  t: {audio: 0.2}
rules:
  - name: lookup-err
    if: lookup(t, category) > 0.1
  - name: inf-floor
    if: has_cost
    floor: cost / (price - price)
  - name: nan-ceiling
    if: has_cost
    ceiling: (cost - cost) / (price - price)
  - name: ok
    if: price < 60
    floor: 60
`,
		script: `
> {"type":"price","sku":"A","channel":"web","price":50,"cost":10,"category":"video","currency":"EUR","ts":"2026-11-01T00:00Z"}
    alert g/inf-floor firing A/web at=2026-11-01T00:00Z
    alert g/nan-ceiling firing A/web at=2026-11-01T00:00Z
    alert g/ok firing A/web at=2026-11-01T00:00Z
    correction A/web active eff=50 corr=60 by=g/ok at=2026-11-01T00:00Z
`,
		check: func(t *testing.T, r *scRun) {
			s := r.eng.Stats()
			if s.RuleErrors != 3 {
				t.Errorf("Stats.RuleErrors = %d, want 3", s.RuleErrors)
			}
			for _, id := range []string{"g/lookup-err", "g/inf-floor", "g/nan-ceiling"} {
				if rs := s.ByRule[id]; rs == nil || rs.Errors != 1 {
					t.Errorf("ByRule[%s] = %+v, want 1 error", id, rs)
				}
			}
			for _, o := range r.find("correction") {
				c := o.Correction
				if !slices.Equal(c.Rules, []string{"g/ok"}) {
					t.Errorf("correction rules %v, want [g/ok]: the failed bounds set none", c.Rules)
				}
			}
		},
	},
	{
		// an alert whose condition starts to error is neither resolved nor
		// duplicated; the error is counted on each evaluation
		name: "errors/erroring-condition-keeps-alert",
		rules: `
group: g
tables:
  t: {audio: 0.2}
rules:
  - name: lk
    if: lookup(t, category) > 0.1
`,
		script: `
> {"type":"price","sku":"A","channel":"web","price":50,"category":"audio","currency":"EUR","ts":"2026-11-01T00:00Z"}
    alert g/lk firing A/web at=2026-11-01T00:00Z
> {"type":"price","sku":"A","channel":"web","price":50,"category":"video","currency":"EUR","ts":"2026-11-01T01:00Z"}
> {"type":"price","sku":"A","channel":"web","price":50,"category":"audio","currency":"EUR","ts":"2026-11-01T02:00Z"}
`,
		check: func(t *testing.T, r *scRun) {
			if s := r.eng.Stats(); s.RuleErrors != 1 {
				t.Errorf("Stats.RuleErrors = %d, want 1", s.RuleErrors)
			}
		},
	},
	// ---- DESIGN §6: ids -------------------------------------------------------
	{
		// three events at one watermark (new warehouses, so not late) move
		// one alert firing -> resolved -> firing: two distinct firing records
		// of the same fingerprint at the same watermark. A consumer that
		// de-duplicates by id (DESIGN §6) drops the second one and believes
		// the alert resolved while it fires.
		name: "ids/refire-at-one-watermark-needs-a-distinct-id",
		rules: `
group: g
rules:
  - name: empty
    if: stock.available < 10
`,
		script: `
> {"type":"price","sku":"A","channel":"web","price":50,"currency":"EUR","ts":"2026-11-01T00:00Z"}
> {"type":"stock","sku":"A","warehouse":"w1","on_hand":5,"ts":"2026-11-01T10:00Z"}
    alert g/empty firing A/web at=2026-11-01T10:00Z
> {"type":"stock","sku":"A","warehouse":"w2","on_hand":100,"ts":"2026-11-01T09:00Z"}
    alert g/empty resolved/cleared A/web at=2026-11-01T10:00Z
> {"type":"stock","sku":"A","warehouse":"w3","on_hand":0,"reserved":100,"ts":"2026-11-01T09:00Z"}
    alert g/empty firing A/web at=2026-11-01T10:00Z
`,
	},
	{
		// the same for a correction: three prices of one key at one ts (not
		// late: not older) give active 12, withdrawn, active 12 at one
		// watermark; the two active records share their id
		name:  "ids/reissued-correction-at-one-watermark-needs-a-distinct-id",
		rules: scBelowCostRules,
		script: `
> {"type":"price","sku":"A","channel":"web","price":10,"cost":12,"currency":"EUR","ts":"2026-11-01T10:00Z"}
    alert margin/below-cost firing A/web at=2026-11-01T10:00Z
    correction A/web active eff=10 corr=12 by=margin/below-cost at=2026-11-01T10:00Z
> {"type":"price","sku":"A","channel":"web","price":13,"cost":12,"currency":"EUR","ts":"2026-11-01T10:00Z"}
    alert margin/below-cost resolved/cleared A/web at=2026-11-01T10:00Z
    correction A/web withdrawn/cleared eff=13 at=2026-11-01T10:00Z
> {"type":"price","sku":"A","channel":"web","price":10,"cost":12,"currency":"EUR","ts":"2026-11-01T10:00Z"}
    alert margin/below-cost firing A/web at=2026-11-01T10:00Z
    correction A/web active eff=10 corr=12 by=margin/below-cost at=2026-11-01T10:00Z
`,
	},

	// ---- more edges --------------------------------------------------------
	{
		// the watermark is the highest ts less the allowed lateness: at,
		// timers and boundaries follow it; lateness is per key, not per
		// watermark
		name:  "clock/allowed-lateness",
		rules: "group: g\nrules:\n  - name: cheap\n    scope: now\n    if: price < 60\n  - name: eff\n    if: effective_price < 30\n",
		opts:  Options{AllowedLateness: time.Hour},
		script: `
> {"type":"price","sku":"A","channel":"web","price":50,"currency":"EUR","ts":"2026-11-01T10:00Z"}
    alert g/cheap firing A/web at=2026-11-01T09:00Z
> {"type":"price","sku":"A","channel":"web","price":70,"currency":"EUR","ts":"2026-11-01T09:30Z"}
> {"type":"promo","id":"P","partner":"a","discount":{"kind":"percent","value":50},"start":"2026-11-01T09:30Z","end":"2026-11-01T12:00Z","skus":["A"],"ts":"2026-11-01T10:10Z"}
    alert g/eff firing A/web at=2026-11-01T09:30Z promos=P
> advance 2026-11-01T13:00Z
    alert g/eff resolved/ended A/web at=2026-11-01T12:00Z promos=P
`,
		check: func(t *testing.T, r *scRun) {
			if s := r.eng.Stats(); s.Late != 1 {
				t.Errorf("Stats.Late = %d, want 1", s.Late)
			}
			if w := r.eng.Watermark(); !w.Equal(time.Date(2026, 11, 1, 13, 0, 0, 0, time.UTC)) {
				t.Errorf("watermark %v", w)
			}
		},
	},
	{
		// a ceiling's .99 ending that falls below the floor is not taken
		name: "correction/ending-not-below-floor",
		rules: `
group: g
rules:
  - name: fl
    if: sku == "G"
    floor: 25
  - name: cap
    if: 'true'
    ceiling: 25.509
`,
		script: `
> {"type":"price","sku":"G","channel":"web","price":29.99,"currency":"EUR","ts":"2026-11-01T00:00Z"}
    alert g/fl firing G/web at=2026-11-01T00:00Z
    alert g/cap firing G/web at=2026-11-01T00:00Z
    correction G/web active eff=29.99 corr=25.5 by=g/cap at=2026-11-01T00:00Z rules=g/fl,g/cap
> {"type":"price","sku":"H","channel":"web","price":29.99,"currency":"EUR","ts":"2026-11-01T00:00Z"}
    alert g/cap firing H/web at=2026-11-01T00:00Z
    correction H/web active eff=29.99 corr=24.99 by=g/cap at=2026-11-01T00:00Z
> {"type":"price","sku":"J","channel":"web","price":2999,"currency":"JPY","ts":"2026-11-01T00:00Z"}
    alert g/cap firing J/web at=2026-11-01T00:00Z
    correction J/web active eff=2999 corr=25 by=g/cap at=2026-11-01T00:00Z
`,
	},
	{
		// a now-scope rule's floor binds the present segment's correction
		name: "correction/now-scope-floor",
		rules: `
group: g
rules:
  - name: war
    scope: now
    if: history.changes_1h >= 1 && price < 90
    floor: 90
`,
		script: `
> {"type":"price","sku":"A","channel":"web","price":100,"currency":"EUR","ts":"2026-11-01T00:00Z"}
> {"type":"price","sku":"A","channel":"web","price":80,"currency":"EUR","ts":"2026-11-01T00:10Z"}
    alert g/war firing A/web at=2026-11-01T00:10Z
    correction A/web active eff=80 corr=90 by=g/war at=2026-11-01T00:10Z
> advance 2026-11-01T02:00Z
    alert g/war resolved/cleared A/web at=2026-11-01T01:10Z
    correction A/web withdrawn/cleared eff=80 at=2026-11-01T01:10Z
`,
	},
	{
		// promo-scope repeat and for run on the promotion's own timer
		name: "promo-scope/for-and-repeat",
		rules: `
group: ladder
rules:
  - name: big
    scope: promo
    if: promo.fraction > 0.5
    for: 1h
    repeat: 2h
`,
		script: `
> {"type":"promo","id":"S","partner":"a","discount":{"kind":"percent","value":60},"start":"2026-11-01T00:00Z","end":"2026-11-01T06:00Z","skus":["A"],"ts":"2026-11-01T00:00Z"}
> advance 2026-11-01T08:00Z
    alert ladder/big firing promo=S at=2026-11-01T01:00Z
    alert ladder/big firing promo=S at=2026-11-01T03:00Z
    alert ladder/big firing promo=S at=2026-11-01T05:00Z
    alert ladder/big resolved/ended promo=S at=2026-11-01T06:00Z
`,
	},
	{
		// a reload re-evaluates promo-scope rules too: a removed one resolves
		// (rule_removed), one whose scope changed resolves and fires anew
		name: "reload/promo-scope-and-scope-change",
		rules: `
group: g
rules:
  - name: off
    scope: promo
    if: promo.fraction > 0.1
  - name: cheap
    if: price < 60
`,
		reloads: map[string]string{
			"v2": `
group: g
rules:
  - name: cheap
    scope: now
    if: price < 60
`,
		},
		script: `
> {"type":"price","sku":"A","channel":"web","price":50,"currency":"EUR","ts":"2026-11-01T00:00Z"}
    alert g/cheap firing A/web at=2026-11-01T00:00Z
> {"type":"promo","id":"S","partner":"a","discount":{"kind":"percent","value":20},"start":"2026-11-05T00:00Z","end":"2026-11-10T00:00Z","skus":["B"],"ts":"2026-11-01T00:00Z"}
    alert g/off firing promo=S at=2026-11-05T00:00Z
> reload v2
    alert g/cheap resolved/rule_removed A/web at=2026-11-01T00:00Z
    alert g/off resolved/rule_removed promo=S at=2026-11-05T00:00Z
    alert g/cheap firing A/web at=2026-11-01T00:00Z
`,
	},
	{
		// a message that fails to render is a rule error; the alert still
		// fires, with what could be rendered
		name: "errors/message-error-counted",
		rules: `
group: g
tables:
  t: {audio: 0.2}
rules:
  - name: m
    if: price < 60
    message: 'fee {{lookup(t, category)}} on {{sku}}'
`,
		msg: true,
		script: `
> {"type":"price","sku":"A","channel":"web","price":50,"category":"video","currency":"EUR","ts":"2026-11-01T00:00Z"}
    alert g/m firing A/web at=2026-11-01T00:00Z msg="fee <error> on A"
`,
		check: func(t *testing.T, r *scRun) {
			if s := r.eng.Stats(); s.RuleErrors != 1 {
				t.Errorf("Stats.RuleErrors = %d, want 1", s.RuleErrors)
			}
		},
	},
	{
		// a sku whose category changes leaves a category promotion: its
		// alert goes
		name:  "input/category-change-leaves-promotion",
		rules: scShowRules,
		script: `
> {"type":"promo","id":"PC","partner":"a","discount":{"kind":"percent","value":10},"start":"2026-10-01T00:00Z","end":"2027-01-01T00:00Z","categories":["audio"],"ts":"2026-11-01T00:00Z"}
> {"type":"price","sku":"A","channel":"web","price":100,"currency":"EUR","category":"audio","ts":"2026-11-01T01:00Z"}
    alert g/show firing A/web at=2026-11-01T01:00Z promos=PC
> {"type":"price","sku":"A","channel":"web","price":100,"currency":"EUR","category":"video","ts":"2026-11-01T02:00Z"}
    alert g/show resolved/cleared A/web at=2026-11-01T02:00Z promos=PC
`,
	},
	// ---- the present segment's key -------------------------------------------
	{
		// A promotion for another channel that is already running when it
		// arrives does not change anything web's rules read (no promotion
		// applies to web, app has no price so channels is unchanged). The
		// below-cost alert and correction of web must stay as they are: no
		// resolve/fire, no withdraw/re-issue.
		name:  "segment-key/already-active-promotion-on-another-channel-is-no-churn",
		rules: scBelowCostRules,
		script: `
> {"type":"price","sku":"A","channel":"web","price":10,"cost":12,"currency":"EUR","ts":"2026-11-01T00:00Z"}
    alert margin/below-cost firing A/web at=2026-11-01T00:00Z
    correction A/web active eff=10 corr=12 by=margin/below-cost at=2026-11-01T00:00Z
> {"type":"promo","id":"P","partner":"a","discount":{"kind":"percent","value":10},"channels":["app"],"start":"2026-10-01T00:00Z","end":"2027-01-01T00:00Z","skus":["A"],"ts":"2026-11-01T01:00Z"}
`,
	},
	{
		// for counts from when the condition was first seen true: an
		// unrelated, already running promotion on another channel arriving
		// at 00:50 must not restart the hour
		name: "segment-key/for-not-restarted-by-unrelated-promotion",
		rules: `
group: g
rules:
  - name: slow
    if: price < 60
    for: 1h
`,
		script: `
> {"type":"price","sku":"A","channel":"web","price":50,"currency":"EUR","ts":"2026-11-01T00:00Z"}
> {"type":"promo","id":"P","partner":"a","discount":{"kind":"percent","value":10},"channels":["app"],"start":"2026-10-01T00:00Z","end":"2027-01-01T00:00Z","skus":["A"],"ts":"2026-11-01T00:50Z"}
> advance 2026-11-01T03:00Z
    alert g/slow firing A/web at=2026-11-01T01:00Z
`,
	},

	{
		// Cancelling a running sitewide promotion changes nothing below-cost
		// reads on A/web (10 < 12 with or without 10% off; the correction
		// stays 12): the alert and the correction must stay as they are.
		// Re-keying the present segment instead resolves every alert and
		// withdraws every correction of every sku the promotion covered,
		// and fires and issues them again under new fingerprints.
		name:  "segment-key/cancelling-a-running-promotion-is-no-churn",
		rules: scBelowCostRules,
		script: `
> {"type":"promo","id":"P","partner":"a","discount":{"kind":"percent","value":10},"start":"2026-10-01T00:00Z","end":"2027-01-01T00:00Z","skus":["*"],"ts":"2026-11-01T00:00Z"}
> {"type":"price","sku":"A","channel":"web","price":10,"cost":12,"currency":"EUR","ts":"2026-11-01T00:00Z"}
    alert margin/below-cost firing A/web at=2026-11-01T00:00Z promos=P
    correction A/web active eff=9 corr=12 by=margin/below-cost at=2026-11-01T00:00Z
> tombstone P 2026-11-01T01:00Z
`,
	},
	{
		// A price whose valid_from is its own ts (producers often send it)
		// is simply the price from now on. Taking it for a boundary re-keys
		// the present segment of every channel of the sku on every price
		// update: here the same price again resolves and re-fires the alert
		// and withdraws and re-issues the correction.
		name:  "segment-key/price-effective-now-is-no-boundary",
		rules: scBelowCostRules,
		script: `
> {"type":"price","sku":"A","channel":"web","price":10,"cost":12,"currency":"EUR","valid_from":"2026-11-01T00:00Z","ts":"2026-11-01T00:00Z"}
    alert margin/below-cost firing A/web at=2026-11-01T00:00Z
    correction A/web active eff=10 corr=12 by=margin/below-cost at=2026-11-01T00:00Z
> {"type":"price","sku":"A","channel":"web","price":10,"cost":12,"currency":"EUR","valid_from":"2026-11-01T01:00Z","ts":"2026-11-01T01:00Z"}
> {"type":"price","sku":"A","channel":"app","price":10,"cost":12,"currency":"EUR","valid_from":"2026-11-01T02:00Z","ts":"2026-11-01T02:00Z"}
    alert margin/below-cost firing A/app at=2026-11-01T02:00Z
    correction A/app active eff=10 corr=12 by=margin/below-cost at=2026-11-01T02:00Z
`,
	},

	{
		// a fixed price above the price raises it; 100 % off gives 0
		name:  "stack/fixed-price-above-price-and-percent-100",
		rules: "group: g\nrules:\n  - name: show\n    if: len(promos) > 0\n    message: 'eff={{effective_price}} pd={{promo_discount}} margin={{margin}}'\n",
		msg:   true,
		script: `
> {"type":"promo","id":"F","partner":"a","discount":{"kind":"fixed_price","value":120},"currency":"EUR","start":"2026-10-01T00:00Z","end":"2027-01-01T00:00Z","skus":["A"],"ts":"2026-11-01T00:00Z"}
> {"type":"promo","id":"Z","partner":"a","discount":{"kind":"percent","value":100},"start":"2026-10-01T00:00Z","end":"2027-01-01T00:00Z","skus":["B"],"ts":"2026-11-01T00:00Z"}
> {"type":"price","sku":"A","channel":"web","price":100,"cost":60,"currency":"EUR","ts":"2026-11-01T00:00Z"}
    alert g/show firing A/web at=2026-11-01T00:00Z promos=F msg="eff=120 pd=-0.2 margin=0.5"
> {"type":"price","sku":"B","channel":"web","price":100,"cost":60,"currency":"EUR","ts":"2026-11-01T00:00Z"}
    alert g/show firing B/web at=2026-11-01T00:00Z promos=Z msg="eff=0 pd=1 margin=n/a"
`,
	},
	{
		// the same cause gives the same reason: cancelling a promotion that
		// made a correction necessary withdraws it with reason cancelled,
		// as it resolves an alert whose condition the cancellation made
		// false (here the floor rule keeps firing, its floor no longer binds)
		name: "correction/withdrawn-reason-when-a-cancellation-restores-the-bounds",
		rules: `
group: g
rules:
  - name: floor-cost
    if: has_cost
    floor: cost
  - name: below
    if: has_cost && effective_price < cost
`,
		script: `
> {"type":"price","sku":"A","channel":"web","price":100,"cost":85,"currency":"EUR","ts":"2026-11-01T00:00Z"}
    alert g/floor-cost firing A/web at=2026-11-01T00:00Z
> {"type":"promo","id":"Q","partner":"a","discount":{"kind":"percent","value":5},"start":"2026-11-10T00:00Z","end":"2026-11-20T00:00Z","skus":["A"],"ts":"2026-11-01T01:00Z"}
    alert g/floor-cost firing A/web at=2026-11-10T00:00Z promos=Q
    alert g/floor-cost firing A/web at=2026-11-20T00:00Z
> {"type":"promo","id":"P","partner":"a","discount":{"kind":"percent","value":20},"start":"2026-11-10T00:00Z","end":"2026-11-20T00:00Z","skus":["A"],"ts":"2026-11-01T01:00Z"}
    alert g/below firing A/web at=2026-11-10T00:00Z promos=P,Q
    correction A/web active eff=76 corr=85 by=g/floor-cost at=2026-11-10T00:00Z
> tombstone P 2026-11-01T02:00Z
    alert g/below resolved/cancelled A/web at=2026-11-10T00:00Z promos=P,Q
    correction A/web withdrawn/cancelled eff=95 at=2026-11-10T00:00Z
`,
	},

	{
		// the history facts change when a change leaves the hour: that is a
		// timer on the watermark (DESIGN §4), and a rule whose on is the
		// default (every event) starts firing then, as it would on an event
		name: "facts/history-expiry-can-start-an-alert",
		rules: `
group: war
rules:
  - name: stable
    scope: now
    if: history.changes_1h == 0
`,
		script: `
> {"type":"price","sku":"A","channel":"web","price":100,"currency":"EUR","ts":"2026-11-01T00:00Z"}
    alert war/stable firing A/web at=2026-11-01T00:00Z
> {"type":"price","sku":"A","channel":"web","price":90,"currency":"EUR","ts":"2026-11-01T00:10Z"}
    alert war/stable resolved/cleared A/web at=2026-11-01T00:10Z
> advance 2026-11-01T02:00Z
    alert war/stable firing A/web at=2026-11-01T01:10Z
`,
	},
	{
		// promo-scope facts: funded_by and partner_role; the record's Kafka
		// key is the promotion
		name: "promo-scope/funding-facts",
		rules: `
group: funding
rules:
  - name: shares
    scope: promo
    if: promo.partner_role == "manufacturer" && !near(sum(values(promo.funded_by)), 1)
    message: '{{promo.id}} funded {{pct(sum(values(promo.funded_by)))}}'
`,
		msg: true,
		script: `
> {"type":"promo","id":"S","partner":"acme","partner_role":"manufacturer","funded_by":{"acme":0.7,"shop":0.2},"discount":{"kind":"percent","value":10},"start":"2026-11-05T00:00Z","end":"2026-11-10T00:00Z","skus":["A"],"ts":"2026-11-01T00:00Z"}
    alert funding/shares firing promo=S at=2026-11-05T00:00Z msg="S funded 90%"
> {"type":"promo","id":"S","partner":"acme","partner_role":"manufacturer","funded_by":{"acme":0.7,"shop":0.3},"discount":{"kind":"percent","value":10},"start":"2026-11-05T00:00Z","end":"2026-11-10T00:00Z","skus":["A"],"ts":"2026-11-01T01:00Z"}
    alert funding/shares resolved/cleared promo=S at=2026-11-05T00:00Z msg="S funded 90%"
`,
		check: func(t *testing.T, r *scRun) {
			for _, o := range r.outs {
				if o.Key() != "S" {
					t.Errorf("%s: Kafka key %q, want the promotion id S", scLine(o, false), o.Key())
				}
			}
		},
	},
}
