package main

import (
	"bufio"
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/promoguard/promoguard/connectors/file"
	"github.com/promoguard/promoguard/event"
)

const (
	replayRules  = "testdata/replay/rules.yaml"
	replayEvents = "testdata/replay/events.ndjson"
)

// runReplay runs the CLI with stdin, returning the exit code and the two
// streams.
func runReplay(t *testing.T, stdin io.Reader, args ...string) (code int, stdout, stderr string) {
	t.Helper()
	var o, e bytes.Buffer
	code = run(args, env{stdin: stdin, stdout: &o, stderr: &e})
	return code, o.String(), e.String()
}

// records decodes NDJSON output records, failing on any line that is not
// one.
func records(t *testing.T, out string) []event.Output {
	t.Helper()
	var recs []event.Output
	for i, line := range strings.Split(strings.TrimSuffix(out, "\n"), "\n") {
		if line == "" {
			if out == "" {
				break
			}
			t.Fatalf("line %d is empty", i+1)
		}
		var o event.Output
		if err := json.Unmarshal([]byte(line), &o); err != nil {
			t.Fatalf("line %d is not an output record: %v\n%s", i+1, err, line)
		}
		recs = append(recs, o)
	}
	return recs
}

func deadLetters(recs []event.Output) []*event.DeadLetter {
	var dls []*event.DeadLetter
	for _, o := range recs {
		if o.DeadLetter != nil {
			dls = append(dls, o.DeadLetter)
		}
	}
	return dls
}

func alerts(recs []event.Output, rule string, state event.State) []*event.Alert {
	var as []*event.Alert
	for _, o := range recs {
		if o.Alert != nil && o.Alert.Rule == rule && o.Alert.State == state {
			as = append(as, o.Alert)
		}
	}
	return as
}

func writeFile(t *testing.T, dir, name, data string) string {
	t.Helper()
	p := filepath.Join(dir, name)
	if err := os.WriteFile(p, []byte(data), 0o644); err != nil {
		t.Fatal(err)
	}
	return p
}

func TestReplayRecords(t *testing.T) {
	code, out, errOut := runReplay(t, nil, "replay", "--rules", replayRules, replayEvents)
	if code != 0 {
		t.Fatalf("exit %d, stderr:\n%s", code, errOut)
	}
	recs := records(t, out)
	kinds := map[string]int{}
	for _, o := range recs {
		kinds[o.Kind()]++
	}
	if kinds[event.KindAlert] == 0 || kinds[event.KindCorrection] == 0 || kinds[event.KindDeadLetter] == 0 {
		t.Errorf("want alerts, corrections and dead letters, got %v", kinds)
	}
	// every line is one compact JSON object
	for i, line := range strings.Split(strings.TrimSuffix(out, "\n"), "\n") {
		var buf bytes.Buffer
		if err := json.Compact(&buf, []byte(line)); err != nil || buf.String() != line || line[0] != '{' {
			t.Errorf("line %d is not one compact JSON object: %s", i+1, line)
		}
	}

	// the bad lines, and only they, are dead letters naming file:line;
	// the comment and blank lines (1, 4, 9) are skipped
	type dl struct{ source, reason string }
	var got []dl
	for _, d := range deadLetters(recs) {
		got = append(got, dl{d.Source, string(d.Reason)})
		if d.Payload == "" || d.Error == "" {
			t.Errorf("dead letter without payload or error: %+v", d)
		}
	}
	want := []dl{
		{replayEvents + ":6", string(event.BadNegative)},
		{replayEvents + ":8", string(event.BadJSON)},
	}
	if !slices.Equal(got, want) {
		t.Errorf("dead letters:\n got %v\nwant %v", got, want)
	}

	for _, re := range []string{
		`(?m)^replay: 7 events from 1 file in \S+ \(\d+ events/s\), rules_version [0-9a-f]{16}$`,
		`(?m)^  applied +5$`,
		`(?m)^  dead letters +2  malformed_json 1, negative_value 1$`,
		`(?m)^  skipped +3  blank or comment lines$`,
		`(?m)^  watermark +2025-11-20T09:30:00Z$`,
		`(?m)^  rule +firing  resolved  evaluations  errors$`,
		`(?m)^  replay/below-cost +1 +0 +\d+ +0$`,
		`(?m)^  replay/category-floor +2 +0 +\d+ +1$`,
		`(?m)^rule errors: 1\n  replay/category-floor: sku SKU-2 on web: lookup: table has no key "cables"`,
	} {
		if !regexp.MustCompile(re).MatchString(errOut) {
			t.Errorf("stderr does not match %s:\n%s", re, errOut)
		}
	}
}

func TestReplayOversize(t *testing.T) {
	dir := t.TempDir()
	big := `{"type":"price","sku":"SKU-1","channel":"web","price":20,"ts":"2025-11-20T08:00:00Z","note":"` +
		strings.Repeat("x", 5<<20) + `"}`
	events := writeFile(t, dir, "big.ndjson", strings.Join([]string{
		`{"type":"price","sku":"SKU-1","channel":"web","price":20,"cost":12,"ts":"2025-11-20T08:00:00Z"}`,
		big,
		`{"type":"price","sku":"SKU-1","channel":"web","price":10,"cost":12,"ts":"2025-11-20T09:00:00Z"}`,
	}, "\r\n")+"\r\n")
	code, out, errOut := runReplay(t, nil, "replay", "--rules", replayRules, events)
	if code != 0 {
		t.Fatalf("exit %d, stderr:\n%s", code, errOut)
	}
	recs := records(t, out)
	dls := deadLetters(recs)
	if len(dls) != 1 {
		t.Fatalf("want 1 dead letter, got %d", len(dls))
	}
	d := dls[0]
	sum := sha256.Sum256([]byte(big))
	if d.Reason != event.BadSize || d.Source != events+":2" || !d.Truncated ||
		d.SHA256 != hex.EncodeToString(sum[:]) || len(d.Payload) != event.MaxDeadLetterPayload ||
		!strings.HasPrefix(big, d.Payload) {
		t.Errorf("oversize dead letter: reason %s source %s truncated %v sha256 %s payload %d bytes",
			d.Reason, d.Source, d.Truncated, d.SHA256, len(d.Payload))
	}
	if want := fmt.Sprintf("line is %d bytes, more than the limit of %d", len(big), 4<<20); d.Error != want {
		t.Errorf("error %q, want %q", d.Error, want)
	}
	// the line after it still counts: the price below cost fires
	if len(alerts(recs, "below-cost", event.StateFiring)) != 1 {
		t.Errorf("the line after the oversize one was not applied:\n%s", out)
	}
}

func TestReplayMaxLine(t *testing.T) {
	dir := t.TempDir()
	events := writeFile(t, dir, "e.ndjson",
		`{"type":"price","sku":"SKU-1","channel":"web","price":20,"ts":"2025-11-20T08:00:00Z"}`+"\n")
	code, out, errOut := runReplay(t, nil, "replay", "--rules", replayRules, "--max-line", "50", events)
	if code != 0 {
		t.Fatalf("exit %d, stderr:\n%s", code, errOut)
	}
	dls := deadLetters(records(t, out))
	if len(dls) != 1 || dls[0].Reason != event.BadSize || !dls[0].Truncated || len(dls[0].Payload) != 50 {
		t.Errorf("want one truncated oversize dead letter, got:\n%s", out)
	}
}

func TestReplaySkipsBlankAndComments(t *testing.T) {
	dir := t.TempDir()
	events := writeFile(t, dir, "e.ndjson", "\ufeff# a comment after a byte order mark\n\n   \n\t# indented\r\n"+
		`{"type":"price","sku":"SKU-1","channel":"web","price":20,"ts":"2025-11-20T08:00:00Z"}`+"\n"+
		"#\n"+
		`  {"type":"oops"}`) // no final newline
	code, out, errOut := runReplay(t, nil, "replay", "--rules", replayRules, events)
	if code != 0 {
		t.Fatalf("exit %d, stderr:\n%s", code, errOut)
	}
	dls := deadLetters(records(t, out))
	if len(dls) != 1 || dls[0].Source != events+":7" || dls[0].Reason != event.BadType {
		t.Errorf("want one unknown_type dead letter at line 7, got:\n%s", out)
	}
	if !strings.Contains(errOut, "replay: 2 events from 1 file") || !regexp.MustCompile(`(?m)^  skipped +5 `).MatchString(errOut) {
		t.Errorf("summary:\n%s", errOut)
	}
}

func TestReplayStdin(t *testing.T) {
	data, err := os.ReadFile(replayEvents)
	if err != nil {
		t.Fatal(err)
	}
	_, fromFile, _ := runReplay(t, nil, "replay", "--rules", replayRules, replayEvents)
	code, fromStdin, errOut := runReplay(t, bytes.NewReader(data), "replay", "--rules", replayRules, "-")
	if code != 0 {
		t.Fatalf("exit %d, stderr:\n%s", code, errOut)
	}
	if want := strings.ReplaceAll(fromFile, `"source":"`+replayEvents+`:`, `"source":"stdin:`); fromStdin != want {
		t.Errorf("stdin gives other records than the file:\n%s\nwant:\n%s", fromStdin, want)
	}
	if !strings.Contains(errOut, "from 1 file") {
		t.Errorf("summary:\n%s", errOut)
	}
}

// Files are read in order through one sequencer: a promotion in the first
// file applies to the prices of the second, and each dead letter names its
// file.
func TestReplaySeveralFiles(t *testing.T) {
	dir := t.TempDir()
	a := writeFile(t, dir, "a.ndjson",
		`{"type":"promo","id":"P","partner":"acme","discount":{"kind":"percent","value":50},"start":"2025-11-21T00:00:00Z","end":"2025-11-22T00:00:00Z","skus":["SKU-1"],"ts":"2025-11-20T08:00:00Z"}`+"\nbad\n")
	b := writeFile(t, dir, "b.ndjson",
		"bad\n"+`{"type":"price","sku":"SKU-1","channel":"web","price":20,"cost":12,"ts":"2025-11-20T09:00:00Z"}`+"\n")
	code, out, errOut := runReplay(t, nil, "replay", "--rules", replayRules, a, b)
	if code != 0 {
		t.Fatalf("exit %d, stderr:\n%s", code, errOut)
	}
	recs := records(t, out)
	var sources []string
	for _, d := range deadLetters(recs) {
		sources = append(sources, d.Source)
	}
	if want := []string{a + ":2", b + ":1"}; !slices.Equal(sources, want) {
		t.Errorf("dead letters from %v, want %v", sources, want)
	}
	if f := alerts(recs, "below-cost", event.StateFiring); len(f) != 1 || !slices.Equal(f[0].Promos, []string{"P"}) {
		t.Errorf("the promotion of a.ndjson did not apply to the price of b.ndjson:\n%s", out)
	}
}

func TestReplayOut(t *testing.T) {
	_, want, _ := runReplay(t, nil, "replay", "--rules", replayRules, replayEvents)
	path := filepath.Join(t.TempDir(), "out.ndjson")
	code, out, errOut := runReplay(t, nil, "replay", "--rules", replayRules, "--out", path, replayEvents)
	if code != 0 {
		t.Fatalf("exit %d, stderr:\n%s", code, errOut)
	}
	if out != "" {
		t.Errorf("stdout should be empty with --out, got:\n%s", out)
	}
	got, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if string(got) != want {
		t.Errorf("--out file differs from stdout:\n%s\nwant:\n%s", got, want)
	}

	code, _, errOut = runReplay(t, nil, "replay", "--rules", replayRules, "--out", filepath.Join(t.TempDir(), "no", "such", "dir"), replayEvents)
	if code != 1 || !strings.Contains(errOut, "promoguard: create ") {
		t.Errorf("uncreatable --out: exit %d, stderr:\n%s", code, errOut)
	}
}

type failWriter struct{}

func (failWriter) Write([]byte) (int, error) { return 0, errors.New("disk full") }

func TestReplayWriteError(t *testing.T) {
	var e bytes.Buffer
	code := run([]string{"replay", "--rules", replayRules, replayEvents}, env{stdout: failWriter{}, stderr: &e})
	if code != 1 || !strings.Contains(e.String(), "promoguard: write stdout: disk full") {
		t.Errorf("exit %d, stderr:\n%s", code, e.String())
	}
}

// forRules has a rule that must hold for an hour.
const forRules = `group: slow
rules:
  - name: thin-margin
    if: has_cost && margin < 0.30
    for: 1h
`

func TestReplayUntil(t *testing.T) {
	dir := t.TempDir()
	rulesPath := writeFile(t, dir, "slow.yaml", forRules)
	events := writeFile(t, dir, "e.ndjson", strings.Join([]string{
		`{"type":"price","sku":"SKU-1","channel":"web","price":10,"cost":8,"ts":"2025-11-20T08:00:00Z"}`,
		`{"type":"stock","sku":"SKU-1","warehouse":"berlin","on_hand":5,"ts":"2025-11-20T08:30:00Z"}`,
	}, "\n")+"\n")

	code, out, errOut := runReplay(t, nil, "replay", "--rules", rulesPath, events)
	if code != 0 {
		t.Fatalf("exit %d, stderr:\n%s", code, errOut)
	}
	if n := len(alerts(records(t, out), "thin-margin", event.StateFiring)); n != 0 {
		t.Errorf("without --until the replay stops at the last event, yet %d alerts fired:\n%s", n, out)
	}

	code, out, errOut = runReplay(t, nil, "replay", "--rules", rulesPath, "--until", "2025-11-20T12:00:00Z", events)
	if code != 0 {
		t.Fatalf("exit %d, stderr:\n%s", code, errOut)
	}
	f := alerts(records(t, out), "thin-margin", event.StateFiring)
	if len(f) != 1 || !f[0].At.Equal(time.Date(2025, 11, 20, 9, 0, 0, 0, time.UTC)) {
		t.Errorf("--until: want one firing at 09:00, got:\n%s", out)
	}
	if !regexp.MustCompile(`(?m)^  watermark +2025-11-20T12:00:00Z$`).MatchString(errOut) {
		t.Errorf("the watermark should be at --until:\n%s", errOut)
	}

	// an --until in the past moves nothing, and says so
	code, _, errOut = runReplay(t, nil, "replay", "--rules", rulesPath, "--until", "2025-11-20T08:10:00Z", events)
	if code != 0 || !strings.Contains(errOut, "--until 2025-11-20T08:10:00Z is before the watermark 2025-11-20T08:30:00Z") {
		t.Errorf("exit %d, stderr:\n%s", code, errOut)
	}
}

func TestReplayUnreadable(t *testing.T) {
	dir := t.TempDir()
	for _, path := range []string{filepath.Join(dir, "missing.ndjson"), dir} {
		code, out, errOut := runReplay(t, nil, "replay", "--rules", replayRules, replayEvents, path)
		if code != 1 {
			t.Errorf("%s: exit %d, want 1", path, code)
		}
		if !strings.HasPrefix(errOut, "promoguard: read events "+path+": ") {
			t.Errorf("%s: stderr does not name the file:\n%s", path, errOut)
		}
		if out != "" {
			t.Errorf("%s: no record should be written when a file cannot be opened:\n%s", path, out)
		}
	}
}

// failReader fails after its data.
type failReader struct{ r io.Reader }

func (f failReader) Read(p []byte) (int, error) {
	n, err := f.r.Read(p)
	if err == io.EOF {
		return n, errors.New("input/output error")
	}
	return n, err
}

func TestReplayReadErrorMidway(t *testing.T) {
	stdin := failReader{strings.NewReader("bad\n")}
	code, out, errOut := runReplay(t, stdin, "replay", "--rules", replayRules, "-")
	if code != 1 || errOut != "promoguard: read events -: input/output error\n" {
		t.Errorf("exit %d, stderr:\n%s", code, errOut)
	}
	if dls := deadLetters(records(t, out)); len(dls) != 1 {
		t.Errorf("the records before the error should be written:\n%s", out)
	}
}

func TestReplayBadRules(t *testing.T) {
	dir := t.TempDir()
	path := writeFile(t, dir, "bad.yaml", "group: g\nrules:\n  - name: r\n    if: margn < 0.1\n")
	code, out, errOut := runReplay(t, nil, "replay", "--rules", path, replayEvents)
	if code != 2 {
		t.Fatalf("exit %d, want 2", code)
	}
	want := regexp.MustCompile(regexp.QuoteMeta(path) + `:4:9: group g rule r: unknown name margn; did you mean margin\? \[unknown_fact\]\n`)
	if !want.MatchString(errOut) || !strings.HasSuffix(errOut, "1 error\n") {
		t.Errorf("stderr lacks the positioned error:\n%s", errOut)
	}
	if out != "" {
		t.Errorf("stdout: %s", out)
	}

	code, _, errOut = runReplay(t, nil, "replay", "--rules", path, "--format", "json", replayEvents)
	var rep struct{ Errors []struct{ File, Code string } }
	if code != 2 || json.Unmarshal([]byte(errOut), &rep) != nil || len(rep.Errors) != 1 || rep.Errors[0].Code != "unknown_fact" {
		t.Errorf("json: exit %d, stderr:\n%s", code, errOut)
	}

	if code, _, errOut := runReplay(t, nil, "replay", replayEvents); code != 2 || !strings.Contains(errOut, "--rules") {
		t.Errorf("no --rules: exit %d, stderr:\n%s", code, errOut)
	}
}

// genEvents returns a few days of events for a handful of skus, sorted by
// ts, many of them sharing a ts.
func genEvents(seed uint64) []string {
	rng := rand.New(rand.NewPCG(seed, 1))
	base := time.Date(2025, 11, 20, 0, 0, 0, 0, time.UTC)
	skus := []string{"SKU-1", "SKU-2", "SKU-3", "SKU-4"}
	channels := []string{"web", "amazon"}
	type ev struct {
		ts   time.Time
		line string
	}
	var evs []ev
	for i := 0; i < 300; i++ {
		ts := base.Add(time.Duration(rng.IntN(40)) * 3 * time.Hour)
		sku := skus[rng.IntN(len(skus))]
		t := ts.Format(time.RFC3339)
		var line string
		switch rng.IntN(4) {
		case 0:
			start := ts.Add(time.Duration(rng.IntN(72)) * time.Hour)
			line = fmt.Sprintf(`{"type":"promo","id":"P%d","partner":"partner-%d","discount":{"kind":"percent","value":%d},"start":%q,"end":%q,"skus":[%q],"priority":%d,"stacking":%q,"ts":%q}`,
				rng.IntN(6), rng.IntN(3), 5+rng.IntN(60), start.Format(time.RFC3339), start.Add(time.Duration(1+rng.IntN(48))*time.Hour).Format(time.RFC3339),
				sku, rng.IntN(2), []string{"stackable", "exclusive", "stop"}[rng.IntN(3)], t)
		case 1:
			line = fmt.Sprintf(`{"type":"stock","sku":%q,"warehouse":"w%d","on_hand":%d,"ts":%q}`, sku, rng.IntN(2), rng.IntN(100), t)
		default:
			price := 10 + rng.IntN(40)
			line = fmt.Sprintf(`{"type":"price","sku":%q,"channel":%q,"price":%d,"cost":%d,"map_price":%d,"list_price":%d,"currency":"EUR","category":"audio","ts":%q}`,
				sku, channels[rng.IntN(2)], price, 5+rng.IntN(20), 8+rng.IntN(20), price+rng.IntN(10), t)
		}
		evs = append(evs, ev{ts, line})
	}
	slices.SortStableFunc(evs, func(a, b ev) int { return a.ts.Compare(b.ts) })
	lines := make([]string, len(evs))
	for i, e := range evs {
		lines[i] = e.line
	}
	return lines
}

func replayLines(t *testing.T, lines []string, args ...string) string {
	t.Helper()
	path := writeFile(t, t.TempDir(), "e.ndjson", strings.Join(lines, "\n")+"\n")
	code, out, errOut := runReplay(t, nil, append(append([]string{"replay", "-q", "--rules", "../../examples/rules", "--rules", replayRules}, args...), path)...)
	if code != 0 {
		t.Fatalf("exit %d, stderr:\n%s", code, errOut)
	}
	return out
}

func TestReplayDeterministic(t *testing.T) {
	lines := genEvents(1)
	a := replayLines(t, lines, "--until", "2025-12-01T00:00:00Z")
	if len(records(t, a)) < 50 {
		t.Fatalf("the generated events give too few records to test with:\n%s", a)
	}
	if b := replayLines(t, lines, "--until", "2025-12-01T00:00:00Z"); a != b {
		t.Errorf("two runs of the same input differ:\n%s", firstDiff(a, b))
	}
}

func TestReplayPermutedEqualTimestamps(t *testing.T) {
	lines := genEvents(2)
	want := replayLines(t, lines, "--until", "2025-12-01T00:00:00Z")
	tsOf := func(line string) string {
		var v struct{ TS string }
		json.Unmarshal([]byte(line), &v)
		return v.TS
	}
	runs := 0
	for seed := uint64(0); seed < 3; seed++ {
		rng := rand.New(rand.NewPCG(seed, 7))
		perm := slices.Clone(lines)
		for i := 0; i < len(perm); {
			j := i + 1
			for j < len(perm) && tsOf(perm[j]) == tsOf(perm[i]) {
				j++
			}
			if j-i > 1 {
				runs++
			}
			rng.Shuffle(j-i, func(a, b int) { perm[i+a], perm[i+b] = perm[i+b], perm[i+a] })
			i = j
		}
		if slices.Equal(perm, lines) {
			t.Fatal("the shuffle changed nothing")
		}
		if got := replayLines(t, perm, "--until", "2025-12-01T00:00:00Z"); got != want {
			t.Errorf("seed %d: permuted equal-timestamp lines change the output:\n%s", seed, firstDiff(want, got))
		}
	}
	if runs == 0 {
		t.Fatal("no run of equal timestamps to permute")
	}
}

func firstDiff(a, b string) string {
	as, bs := strings.Split(a, "\n"), strings.Split(b, "\n")
	for i := range min(len(as), len(bs)) {
		if as[i] != bs[i] {
			return fmt.Sprintf("line %d:\n- %s\n+ %s", i+1, as[i], bs[i])
		}
	}
	return fmt.Sprintf("%d lines against %d", len(as), len(bs))
}

func TestReplayRuleErrorsBounded(t *testing.T) {
	var lines []string
	for i := range 15 {
		lines = append(lines, fmt.Sprintf(`{"type":"price","sku":"SKU-%02d","channel":"web","price":10,"cost":8,"category":"toys","ts":"2025-11-20T08:00:00Z"}`, i))
	}
	path := writeFile(t, t.TempDir(), "e.ndjson", strings.Join(lines, "\n")+"\n")
	code, _, errOut := runReplay(t, nil, "replay", "--rules", replayRules, path)
	if code != 0 {
		t.Fatalf("exit %d, stderr:\n%s", code, errOut)
	}
	shown := regexp.MustCompile(`(?m)^  replay/category-floor: sku SKU-\d+ on web: lookup: table has no key "toys"`).FindAllString(errOut, -1)
	if len(shown) != 10 || !strings.Contains(errOut, "rule errors: 15\n") || !strings.Contains(errOut, "\n  and 5 more\n") {
		t.Errorf("want 10 errors shown of 15, then 'and 5 more':\n%s", errOut)
	}
}

func TestReplayJSONSummary(t *testing.T) {
	code, out, errOut := runReplay(t, nil, "replay", "--rules", replayRules, "--format", "json", replayEvents)
	if code != 0 {
		t.Fatalf("exit %d, stderr:\n%s", code, errOut)
	}
	var s file.Summary
	dec := json.NewDecoder(strings.NewReader(errOut))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&s); err != nil {
		t.Fatalf("stderr is not one JSON summary: %v\n%s", err, errOut)
	}
	if dec.More() {
		t.Errorf("more than the summary on stderr:\n%s", errOut)
	}
	if s.EventsRead != 7 || s.Applied != 5 || s.DeadLetters != 2 || s.DeadByReason[string(event.BadJSON)] != 1 ||
		s.Skipped != 3 || s.Lines != 10 || s.RuleErrors != 1 || len(s.FirstRuleErrors) != 1 ||
		s.Outputs[event.KindAlert]+s.Outputs[event.KindCorrection]+s.Outputs[event.KindDeadLetter] != int64(len(records(t, out))) ||
		len(s.Rules) != 5 || s.Rules[0].Rule != "replay/below-cost" || s.Rules[4].Rule != "promoguard/unsatisfiable" || s.Watermark == nil {
		t.Errorf("summary: %+v", s)
	}
}

func TestReplayQuiet(t *testing.T) {
	code, out, errOut := runReplay(t, nil, "replay", "-q", "--rules", "../../examples/rules", replayEvents)
	if code != 0 || errOut != "" || out == "" {
		t.Errorf("exit %d, stderr:\n%s", code, errOut)
	}
}

func TestReplayExample(t *testing.T) {
	code, _, errOut := runReplay(t, nil, "replay", "--rules", "../../examples/rules", "../../examples/events")
	if code != 1 || !strings.Contains(errOut, "is a directory") {
		t.Errorf("a directory of events: exit %d, stderr:\n%s", code, errOut)
	}
	files, _ := filepath.Glob("../../examples/events/*.ndjson")
	if len(files) == 0 {
		t.Skip("no example events")
	}
	code, out, errOut := runReplay(t, nil, append([]string{"replay", "--rules", "../../examples/rules"}, files...)...)
	if code != 0 {
		t.Fatalf("exit %d, stderr:\n%s", code, errOut)
	}
	if len(records(t, out)) == 0 {
		t.Errorf("the example events give no record; stderr:\n%s", errOut)
	}
}

func TestReplayHelp(t *testing.T) {
	code, out, _ := runReplay(t, nil, "replay", "--help")
	if code != 0 {
		t.Fatalf("exit %d", code)
	}
	for _, flag := range []string{"--rules=PATH", "--out=FILE", "--until=TIME", "--horizon=DUR", "--lateness=DUR",
		"--max-line=BYTES", "--format=", "--quiet", "<events> ..."} {
		if !strings.Contains(out, flag) {
			t.Errorf("help lacks %s:\n%s", flag, out)
		}
	}
	// one line per flag's help at least: no flag is undocumented
	sc := bufio.NewScanner(strings.NewReader(out))
	for sc.Scan() {
		if l := strings.TrimSpace(sc.Text()); strings.HasPrefix(l, "--") && !strings.Contains(l, "  ") {
			t.Errorf("flag without help: %s", l)
		}
	}
}
