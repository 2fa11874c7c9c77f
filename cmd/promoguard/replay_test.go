package main

import (
	"bufio"
	"bytes"
	"encoding/json"
	"errors"
	"io"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"

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
