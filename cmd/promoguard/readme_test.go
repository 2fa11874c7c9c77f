package main

import (
	"flag"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
)

var update = flag.Bool("update", false, "rewrite examples/expected/black-friday.ndjson from the current output")

// readmeBlock returns the text of the README code block that starts with
// the command line cmd.
func readmeBlock(t *testing.T, cmd string) string {
	t.Helper()
	readme, err := os.ReadFile("README.md")
	if err != nil {
		t.Fatal(err)
	}
	_, after, ok := strings.Cut(string(readme), "$ "+cmd+"\n")
	if !ok {
		t.Fatalf("README.md no longer shows %q", cmd)
	}
	block, _, _ := strings.Cut(after, "```")
	return block
}

var timing = regexp.MustCompile(`in [0-9.]+[µm]?s \([0-9]+ events/s\)`)

// TestReadmeReplay keeps the quickstart's replay true: the summary the
// README shows, the table excerpt, and the full output kept next to the
// example events (regenerate it with go test ./cmd/promoguard -run
// TestReadmeReplay -update, and review the diff).
func TestReadmeReplay(t *testing.T) {
	t.Chdir("../..")
	const golden = "examples/expected/black-friday.ndjson"
	out := filepath.Join(t.TempDir(), "out.ndjson")

	// the README shows the shell glob; the test expands it as a shell would
	cmd := "bin/promoguard replay --rules examples/rules --out bin/black-friday.out.ndjson examples/events/*.ndjson"
	want := readmeBlock(t, cmd)
	events, err := filepath.Glob("examples/events/*.ndjson")
	if err != nil || len(events) == 0 {
		t.Fatalf("no example events: %v", err)
	}
	code, _, summary := runCLI(t, append([]string{"replay", "--rules", "examples/rules", "--out", out}, events...)...)
	if code != 0 {
		t.Fatalf("exit %d:\n%s", code, summary)
	}
	if got := timing.ReplaceAllString(summary, "in 3ms (9000 events/s)"); got != want {
		t.Errorf("README.md shows:\n%s\nreplay prints:\n%s", want, got)
	}
	got, err := os.ReadFile(out)
	if err != nil {
		t.Fatal(err)
	}
	matchGolden(t, golden, got)

	cmd = "bin/promoguard replay -q --records table --rules examples/rules examples/events/black-friday.ndjson"
	excerpt := readmeBlock(t, cmd)
	code, table, errOut := runCLI(t, "replay", "-q", "--records", "table", "--rules", "examples/rules", "examples/events/black-friday.ndjson")
	if code != 0 || errOut != "" {
		t.Fatalf("exit %d:\n%s", code, errOut)
	}
	matchExcerpt(t, excerpt, table)
}

// TestReadmeOutputs keeps the example records of the README's Outputs
// section true: each is a line of the example's expected output.
func TestReadmeOutputs(t *testing.T) {
	t.Chdir("../..")
	readme, err := os.ReadFile("README.md")
	if err != nil {
		t.Fatal(err)
	}
	_, after, ok := strings.Cut(string(readme), "Each output is a JSON record; `replay` writes one per line.\n\n```json\n")
	if !ok {
		t.Fatal("README.md no longer has the Outputs example")
	}
	block, _, _ := strings.Cut(after, "```")
	golden, err := os.ReadFile("examples/expected/black-friday.ndjson")
	if err != nil {
		t.Fatal(err)
	}
	for _, line := range strings.Split(strings.TrimSpace(block), "\n") {
		if !strings.Contains(string(golden), line+"\n") {
			t.Errorf("README.md shows a record the example does not produce:\n%s", line)
		}
	}
}

// TestReadmePolicies keeps the stacking policies example true: the replay
// of the example week with examples/rules-policies and the channels'
// policies gives examples/expected-policies/black-friday.ndjson (-update
// rewrites it), with effective-price-gap alerts: with every channel
// compound the same replay has none (examples/expected/ is that week
// without the rule).
func TestReadmePolicies(t *testing.T) {
	t.Chdir("../..")
	const golden = "examples/expected-policies/black-friday.ndjson"
	excerpt := readmeBlock(t, "bin/promoguard replay -q --records table --rules examples/rules --rules examples/rules-policies --channels examples/channels.yaml examples/events/black-friday.ndjson")
	code, table, errOut := runCLI(t, "replay", "-q", "--records", "table", "--rules", "examples/rules", "--rules", "examples/rules-policies",
		"--channels", "examples/channels.yaml", "examples/events/black-friday.ndjson")
	if code != 0 || errOut != "" {
		t.Fatalf("exit %d:\n%s", code, errOut)
	}
	matchExcerpt(t, excerpt, table)
	out := filepath.Join(t.TempDir(), "out.ndjson")
	code, _, errOut = runCLI(t, "replay", "-q", "--rules", "examples/rules", "--rules", "examples/rules-policies",
		"--channels", "examples/channels.yaml", "--out", out, "examples/events/black-friday.ndjson")
	if code != 0 {
		t.Fatalf("exit %d:\n%s", code, errOut)
	}
	got, err := os.ReadFile(out)
	if err != nil {
		t.Fatal(err)
	}
	matchGolden(t, golden, got)
	if !strings.Contains(string(got), `"rule":"effective-price-gap","group":"policies"`) {
		t.Error("the policies example fires no effective-price-gap alert")
	}
}

// matchGolden compares a replay's output with the golden file kept beside
// the example (-update rewrites it).
func matchGolden(t *testing.T, golden string, got []byte) {
	t.Helper()
	if *update {
		if err := os.WriteFile(golden, got, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	if keep, err := os.ReadFile(golden); err != nil || string(keep) != string(got) {
		t.Errorf("replay output differs from %s (err %v); if the change is intended, run with -update and review the diff", golden, err)
	}
}

// matchExcerpt checks that every line of a README excerpt of a table
// appears in the table printed, in that order; "..." elides.
func matchExcerpt(t *testing.T, excerpt, table string) {
	t.Helper()
	rest := table
	for _, line := range strings.Split(strings.TrimSuffix(excerpt, "\n"), "\n") {
		if line == "..." {
			continue
		}
		i := strings.Index(rest, line+"\n")
		if i < 0 {
			t.Errorf("README.md shows a line replay --records table does not print (in that order):\n%s", line)
			return
		}
		rest = rest[i+len(line)+1:]
	}
}
