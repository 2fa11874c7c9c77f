package main

import (
	"bytes"
	"encoding/json"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
)

func runCLI(t *testing.T, args ...string) (code int, stdout, stderr string) {
	t.Helper()
	var o, e bytes.Buffer
	code = run(args, env{stdout: &o, stderr: &e})
	return code, o.String(), e.String()
}

// copyExamples copies the example rule pack to a temporary directory.
func copyExamples(t *testing.T) string {
	t.Helper()
	dir := t.TempDir()
	files, _ := filepath.Glob("../../examples/rules/*")
	if len(files) == 0 {
		t.Fatal("no example rules")
	}
	for _, f := range files {
		data, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(dir, filepath.Base(f)), data, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	return dir
}

func TestCheckExamples(t *testing.T) {
	code, out, errOut := runCLI(t, "check", "../../examples/rules")
	if code != 0 {
		t.Fatalf("exit %d, stderr:\n%s", code, errOut)
	}
	for _, g := range []string{"group margin:", "group ladder:", "group overlap:", "group map:"} {
		if !strings.Contains(out, g) {
			t.Errorf("summary lacks %q:\n%s", g, out)
		}
	}
	if !regexp.MustCompile(`(?m)^ok: \d+ groups, \d+ rules in \d+ files \(rules_version [0-9a-f]{16}\)$`).MatchString(out) {
		t.Errorf("no final ok line:\n%s", out)
	}
}

func TestCheckMisspeltFact(t *testing.T) {
	dir := copyExamples(t)
	path := filepath.Join(dir, "margin.yaml")
	data, _ := os.ReadFile(path)
	bad := strings.Replace(string(data), "has_cost && margin <", "has_cost && margn <", 1)
	if bad == string(data) {
		t.Fatal("example changed: nothing to misspell")
	}
	if err := os.WriteFile(path, []byte(bad), 0o644); err != nil {
		t.Fatal(err)
	}
	code, out, errOut := runCLI(t, "check", dir)
	if code != 1 {
		t.Fatalf("exit %d, want 1; stdout:\n%s", code, out)
	}
	want := regexp.MustCompile(regexp.QuoteMeta(path) + `:\d+:\d+: group margin rule margin-floor: unknown name margn; did you mean margin\? \[unknown_fact\]`)
	if !want.MatchString(errOut) {
		t.Errorf("stderr lacks the positioned error:\n%s", errOut)
	}

	code, out, _ = runCLI(t, "check", "--format", "json", dir)
	if code != 1 {
		t.Fatalf("json: exit %d, want 1", code)
	}
	var rep checkReport
	if err := json.Unmarshal([]byte(out), &rep); err != nil {
		t.Fatalf("json: %v\n%s", err, out)
	}
	if rep.Valid || len(rep.Errors) != 1 || rep.Errors[0].Code != "unknown_fact" || rep.Errors[0].Line == 0 || rep.Errors[0].Col == 0 {
		t.Errorf("json report: %+v", rep)
	}
}

func TestCheckJSONValid(t *testing.T) {
	code, out, _ := runCLI(t, "check", "--format=json", "../../examples/rules")
	if code != 0 {
		t.Fatalf("exit %d", code)
	}
	var rep checkReport
	if err := json.Unmarshal([]byte(out), &rep); err != nil {
		t.Fatal(err)
	}
	if !rep.Valid || len(rep.Groups) < 4 || rep.RulesVersion == "" || rep.Errors == nil && !strings.Contains(out, `"errors": []`) {
		t.Errorf("report: %s", out)
	}
}

func TestCLIUsage(t *testing.T) {
	tests := []struct {
		args []string
		code int
	}{
		{[]string{"check"}, 2},                      // no path
		{[]string{"frobnicate"}, 2},                 // unknown command
		{[]string{"check", "--format=xml", "x"}, 2}, // bad enum
		{[]string{"check", "no/such/dir"}, 1},       // an error in the report, positioned at the path
		{[]string{"--help"}, 0},
		{[]string{"check", "--help"}, 0},
	}
	for _, tt := range tests {
		code, _, _ := runCLI(t, tt.args...)
		if code != tt.code {
			t.Errorf("%v: exit %d, want %d", tt.args, code, tt.code)
		}
	}
}

// TestReadmeQuickstart keeps the README true: the output it shows for
// `promoguard check examples/rules` is what the command prints.
func TestReadmeQuickstart(t *testing.T) {
	readme, err := os.ReadFile("../../README.md")
	if err != nil {
		t.Fatal(err)
	}
	const cmd = "$ bin/promoguard check examples/rules\n"
	_, after, ok := strings.Cut(string(readme), cmd)
	if !ok {
		t.Fatalf("README.md no longer shows %q", cmd)
	}
	want, _, _ := strings.Cut(after, "```")
	t.Chdir("../..")
	code, got, errOut := runCLI(t, "check", "examples/rules")
	if code != 0 || got != want {
		t.Errorf("README.md shows:\n%s\nthe command prints (exit %d):\n%s%s", want, code, got, errOut)
	}
}
