package main

import (
	"encoding/json"
	"encoding/xml"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/promoguard/promoguard/rules"
)

// copyPack copies examples/rules and examples/tests to a temporary
// directory, keeping their layout (the tests name ../rules/...).
func copyPack(t *testing.T) string {
	t.Helper()
	return copyPackFrom(t, "../../examples")
}

func copyPackFrom(t *testing.T, examples string) string {
	t.Helper()
	dir := t.TempDir()
	// the stacking policies example: its rules, and the channels file its
	// test names
	for _, sub := range []string{"rules", "tests", "rules-policies", "channels.yaml"} {
		if filepath.Ext(sub) == ".yaml" {
			data, err := os.ReadFile(filepath.Join(examples, sub))
			if err != nil {
				t.Fatal(err)
			}
			if err := os.WriteFile(filepath.Join(dir, sub), data, 0o644); err != nil {
				t.Fatal(err)
			}
			continue
		}
		if err := os.MkdirAll(filepath.Join(dir, sub), 0o755); err != nil {
			t.Fatal(err)
		}
		files, _ := filepath.Glob(filepath.Join(examples, sub, "*"))
		if len(files) == 0 {
			t.Fatalf("no examples/%s", sub)
		}
		for _, f := range files {
			data, err := os.ReadFile(f)
			if err != nil {
				t.Fatal(err)
			}
			if err := os.WriteFile(filepath.Join(dir, sub, filepath.Base(f)), data, 0o644); err != nil {
				t.Fatal(err)
			}
		}
	}
	return dir
}

// edit replaces old by new, once, in a file.
func edit(t *testing.T, path, old, new string) {
	t.Helper()
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if strings.Count(string(data), old) != 1 {
		t.Fatalf("%s: %q is not there exactly once", path, old)
	}
	if err := os.WriteFile(path, []byte(strings.Replace(string(data), old, new, 1)), 0o644); err != nil {
		t.Fatal(err)
	}
}

// TestTestExamples: the pack's tests pass and every rule of the pack is
// exercised.
func TestTestExamples(t *testing.T) {
	pack, err := rules.Load([]string{"../../examples/rules", "../../examples/rules-policies"}, nil)
	if err != nil {
		t.Fatal(err)
	}
	code, out, errOut := runCLI(t, "test", "../../examples/tests")
	if code != 0 {
		t.Fatalf("exit %d:\n%s%s", code, out, errOut)
	}
	n := len(pack.Rules)
	if want := fmt.Sprintf("coverage: %d of %d rules exercised (fired in at least one test)\n", n, n); !strings.Contains(out, want) {
		t.Errorf("want %q in:\n%s", want, out)
	}
	if !regexp.MustCompile(`(?m)^PASS: \d+ passed, 0 failed$`).MatchString(out) || strings.Contains(out, "\x1b[") {
		t.Errorf("no plain PASS line:\n%s", out)
	}
}

// TestTestFailure: a wrong expectation exits 1 with a diff naming the
// case, the rule and the difference.
func TestTestFailure(t *testing.T) {
	dir := copyPack(t)
	tests := filepath.Join(dir, "tests", "margin_test.yaml")
	edit(t, tests, "effective: 719.2, corrected: 760.87,", "effective: 719.2, corrected: 770,")
	edit(t, tests, "values: {margin: 0.0266963292547,", "values: {margin: 0.05,")
	code, out, errOut := runCLI(t, "test", filepath.Join(dir, "tests"))
	if code != 1 {
		t.Fatalf("exit %d, want 1:\n%s%s", code, out, errOut)
	}
	for _, want := range []string{
		"--- FAIL margin-floor fires now for Friday when a promotion breaks the tv floor (" + tests + ":5:11)",
		"    after step 1:\n",
		"wrong value in alert margin/margin-floor tv-55@web firing",
		"values.margin: expected 0.05, got 0.0266963292547",
		"wrong value in correction tv-55@web (bound by margin/margin-floor) active",
		"corrected: expected 770, got 760.87",
		"expected at " + tests + ":",
		"FAIL " + tests + ": 1 of 7 tests failed",
		"FAIL: ",
	} {
		if !strings.Contains(out, want) {
			t.Errorf("output lacks %q:\n%s", want, out)
		}
	}
}

// TestTestLoadErrors: a broken rule file or test file exits 2 with
// file:line:col.
func TestTestLoadErrors(t *testing.T) {
	dir := copyPack(t)
	edit(t, filepath.Join(dir, "rules", "margin.yaml"), "if: has_cost && margin < lookup", "if: has_cost && margn < lookup")
	code, out, errOut := runCLI(t, "test", filepath.Join(dir, "tests"))
	if code != 2 || out != "" {
		t.Fatalf("exit %d, want 2:\n%s%s", code, out, errOut)
	}
	want := filepath.Join(dir, "rules", "margin.yaml") + ":16:21: group margin rule margin-floor: unknown name margn; did you mean margin? [unknown_fact]"
	if !strings.Contains(errOut, want) || !strings.Contains(errOut, "^") {
		t.Errorf("want %q in:\n%s", want, errOut)
	}

	dir = copyPack(t)
	tests := filepath.Join(dir, "tests", "map_test.yaml")
	edit(t, tests, "rule: map/below-map\n", "rule: map/below-mpa\n")
	edit(t, tests, "price: 219.99,", "price: -219.99,")
	code, out, errOut = runCLI(t, "test", "--format", "json", tests)
	if code != 2 {
		t.Fatalf("exit %d, want 2:\n%s%s", code, out, errOut)
	}
	var doc struct {
		Errors rules.Errors `json:"errors"`
	}
	if err := json.Unmarshal([]byte(out), &doc); err != nil {
		t.Fatalf("%v:\n%s", err, out)
	}
	if len(doc.Errors) != 2 || doc.Errors[0].Code != "unknown_rule" || doc.Errors[0].Line != 11 ||
		doc.Errors[1].Code != "bad_event" || doc.Errors[1].File != tests {
		t.Errorf("errors %+v", doc.Errors)
	}

	// a test file that does not parse does not hide the others' problems
	edit(t, filepath.Join(dir, "tests", "pricewar_test.yaml"), "- until: 2026-11-29T12:00:00Z", "- until: 2026-11-29 noon")
	code, _, errOut = runCLI(t, "test", filepath.Join(dir, "tests"))
	for _, want := range []string{"map_test.yaml:11:", "[unknown_rule]", "map_test.yaml:31:16: not a valid event: price: must not be negative", "pricewar_test.yaml:57:16: until: \"2026-11-29 noon\" is not an RFC 3339 time", "3 errors\n"} {
		if code != 2 || !strings.Contains(errOut, want) {
			t.Errorf("exit %d, want 2 and %q in:\n%s", code, want, errOut)
		}
	}
}

func TestTestFlags(t *testing.T) {
	junit := filepath.Join(t.TempDir(), "junit.xml")
	code, out, errOut := runCLI(t, "test", "--run", "^below-cost", "--format", "json", "--junit", junit, "../../examples/tests")
	if code != 0 {
		t.Fatalf("exit %d:\n%s%s", code, out, errOut)
	}
	var rep struct {
		Passed int `json:"passed"`
		Cases  []struct {
			Name string `json:"name"`
		} `json:"cases"`
		Coverage []struct {
			Rule  string `json:"rule"`
			Fired int    `json:"fired"`
		} `json:"coverage"`
	}
	if err := json.Unmarshal([]byte(out), &rep); err != nil {
		t.Fatalf("%v:\n%s", err, out)
	}
	if rep.Passed != 3 || len(rep.Coverage) != 2 {
		t.Errorf("--run ^below-cost ran %+v", rep)
	}
	for _, c := range rep.Cases {
		if !strings.HasPrefix(c.Name, "below-cost") {
			t.Errorf("ran %q", c.Name)
		}
	}
	data, err := os.ReadFile(junit)
	if err != nil {
		t.Fatal(err)
	}
	var ju struct {
		Tests int `xml:"tests,attr"`
	}
	if err := xml.Unmarshal(data, &ju); err != nil || ju.Tests != 3 {
		t.Errorf("junit %d tests, %v:\n%s", ju.Tests, err, data)
	}

	code, out, _ = runCLI(t, "test", "-v", "--no-color", "--run", "below-map", "../../examples/tests/map_test.yaml")
	if code != 0 || !strings.Contains(out, "--- PASS below-map stays quiet") || !strings.Contains(out, "map/below-map") || strings.Contains(out, "\x1b[") {
		t.Errorf("-v: exit %d\n%s", code, out)
	}
	if code, _, errOut := runCLI(t, "test", "--run", "(", "../../examples/tests"); code != 2 || !strings.Contains(errOut, "--run") {
		t.Errorf("bad regexp: exit %d: %s", code, errOut)
	}
	if code, _, errOut := runCLI(t, "test", "--run", "no such test", "../../examples/tests"); code != 1 || !strings.Contains(errOut, "no test case matches") {
		t.Errorf("no match: exit %d: %s", code, errOut)
	}
	if code, _, errOut := runCLI(t, "test", "../../examples/rules"); code != 2 || !strings.Contains(errOut, "no_tests") {
		t.Errorf("a directory without tests: exit %d: %s", code, errOut)
	}
}

// TestReadmeTest keeps the README's `promoguard test` output true, and
// runs its example test file against the example pack: it must pass.
func TestReadmeTest(t *testing.T) {
	t.Chdir("../..")
	want := readmeBlock(t, "bin/promoguard test examples/tests")
	t.Run("output", func(t *testing.T) {
		code, out, errOut := runCLI(t, "test", "examples/tests")
		if code != 0 || out != want {
			t.Errorf("exit %d; README.md shows:\n%s\ntest prints:\n%s%s", code, want, out, errOut)
		}
	})
	t.Run("example", func(t *testing.T) {
		readme, err := os.ReadFile("README.md")
		if err != nil {
			t.Fatal(err)
		}
		_, after, ok := strings.Cut(string(readme), "```yaml\n# margin_test.yaml, next to a rules/ directory\n")
		if !ok {
			t.Fatal("README.md no longer has the example test file")
		}
		example, _, _ := strings.Cut(after, "```")
		dir := copyPackFrom(t, "examples")
		p := filepath.Join(dir, "tests", "readme_test.yaml")
		if err := os.WriteFile(p, []byte(example), 0o644); err != nil {
			t.Fatal(err)
		}
		code, out, errOut := runCLI(t, "test", "-v", p)
		if code != 0 || !strings.Contains(out, "PASS: 3 passed, 0 failed") {
			t.Errorf("the README's example test file: exit %d\n%s%s", code, out, errOut)
		}
	})
}
