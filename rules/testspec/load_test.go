package testspec

import (
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/promoguard/promoguard/rules"
)

var update = flag.Bool("update", false, "rewrite the golden files in testdata/")

// TestGolden parses every testdata/good/*.good_test.yaml, which must be
// valid and whose parsed form must match the .summary beside it, and every
// testdata/bad/*.bad_test.yaml, whose errors must match the .errors file
// beside it: position, code and message, sorted.
func TestGolden(t *testing.T) {
	good, _ := filepath.Glob("testdata/good/*.good_test.yaml")
	bad, _ := filepath.Glob("testdata/bad/*.bad_test.yaml")
	if len(good) == 0 || len(bad) == 0 {
		t.Fatal("no golden files")
	}
	for _, p := range good {
		t.Run(filepath.Base(p), func(t *testing.T) {
			f, err := Load(p, nil)
			if err != nil {
				t.Fatalf("want valid, got:\n%s", err.(rules.Errors).Pretty())
			}
			checkGolden(t, strings.TrimSuffix(p, ".yaml")+".summary", summary(f))
		})
	}
	for _, p := range bad {
		t.Run(filepath.Base(p), func(t *testing.T) {
			_, err := Load(p, nil)
			if err == nil {
				t.Fatal("want errors, got a valid file")
			}
			es, ok := err.(rules.Errors)
			if !ok {
				t.Fatalf("want rules.Errors, got %T: %v", err, err)
			}
			var b strings.Builder
			for _, e := range es {
				fmt.Fprintf(&b, "%d:%d %s: %s\n", e.Line, e.Col, e.Code, e.Message)
				if e.File != p {
					t.Errorf("error in %s, want file %s", e.File, p)
				}
			}
			if !slices.IsSortedFunc(es, func(a, b *rules.Error) int {
				if a.Line != b.Line {
					return a.Line - b.Line
				}
				return a.Col - b.Col
			}) {
				t.Errorf("errors not sorted by position")
			}
			checkGolden(t, strings.TrimSuffix(p, ".yaml")+".errors", b.String())
		})
	}
}

// summary writes what a parsed file holds, one fact per line.
func summary(f *File) string {
	var b strings.Builder
	fmt.Fprintf(&b, "rule_files %v\n", f.RuleFiles)
	for _, c := range f.Cases {
		fmt.Fprintf(&b, "case %q at %d:%d rule_files %v (%d:%d) horizon %s lateness %s expect_none %t\n",
			c.Name, c.Pos.Line, c.Pos.Col, c.RuleFiles, c.RuleFilesPos.Line, c.RuleFilesPos.Col, c.Horizon, c.Lateness, c.ExpectNone)
		for _, st := range c.Steps {
			fmt.Fprintf(&b, "  %s at %d:%d", st.Label, st.Pos.Line, st.Pos.Col)
			if st.Advance > 0 {
				fmt.Fprintf(&b, " advance %s", st.Advance)
			}
			if !st.Until.IsZero() {
				fmt.Fprintf(&b, " until %s", st.Until.Format(time.RFC3339))
			}
			b.WriteByte('\n')
			for _, ev := range st.Events {
				fmt.Fprintf(&b, "    event %d:%d %s\n", ev.Pos.Line, ev.Pos.Col, ev.JSON)
			}
			if st.Expect != nil {
				writeExpect(&b, st.Expect)
			}
		}
		if c.Expect != nil {
			b.WriteString("  end\n")
			writeExpect(&b, c.Expect)
		}
	}
	return b.String()
}

func writeExpect(b *strings.Builder, e *Expect) {
	fmt.Fprintf(b, "    expect at %d:%d alerts=%t corrections=%t\n", e.Pos.Line, e.Pos.Col, e.CheckAlerts, e.CheckCorrections)
	for _, a := range e.Alerts {
		fmt.Fprintf(b, "      alert %d:%d %+v\n", a.Pos.Line, a.Pos.Col, *a)
	}
	for _, c := range e.Corrections {
		fmt.Fprintf(b, "      correction %d:%d %+v\n", c.Pos.Line, c.Pos.Col, *c)
	}
	for _, q := range e.Quiet {
		fmt.Fprintf(b, "      quiet %s at %d:%d\n", q.Name, q.Pos.Line, q.Pos.Col)
	}
}

func checkGolden(t *testing.T, path, got string) {
	t.Helper()
	if *update {
		if err := os.WriteFile(path, []byte(got), 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (run go test ./rules/testspec -run TestGolden -update to create it)", err)
	}
	if string(want) != got {
		t.Errorf("%s differs:\n--- want\n%s--- got\n%s", path, want, got)
	}
}

// TestLoadPaths finds *_test.yaml files under a directory, recursively and
// in order, loads a file given by name whatever its name, and reports a
// directory without test files and a path that does not exist.
func TestLoadPaths(t *testing.T) {
	dir := t.TempDir()
	write := func(name, text string) {
		p := filepath.Join(dir, name)
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(text), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	const ok = "rule_files: r.yaml\ntests:\n  - {name: a, events: [{type: price, sku: x, channel: web, price: 1, ts: 2026-11-23T08:00:00Z}], expect_none: true}\n"
	write("b_test.yaml", ok)
	write("sub/a_test.yaml", ok)
	write("rules.yaml", "group: g\n")
	write("notes_test.yml", "not loaded")
	write("other.yaml", ok)
	write("empty/readme.md", "")
	files, err := LoadPaths([]string{dir, filepath.Join(dir, "other.yaml")}, nil)
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, f := range files {
		rel, _ := filepath.Rel(dir, f.Path)
		names = append(names, rel)
		if want := filepath.Join(filepath.Dir(f.Path), "r.yaml"); f.Cases[0].RuleFiles[0] != want {
			t.Errorf("%s: rule file %s, want %s (relative to the test file)", rel, f.Cases[0].RuleFiles[0], want)
		}
	}
	if want := []string{"b_test.yaml", "sub/a_test.yaml", "other.yaml"}; !slices.Equal(names, want) {
		t.Errorf("loaded %v, want %v", names, want)
	}

	_, err = LoadPaths([]string{filepath.Join(dir, "empty"), filepath.Join(dir, "missing")}, nil)
	es, _ := err.(rules.Errors)
	var codes []string
	for _, e := range es {
		codes = append(codes, string(e.Code))
	}
	if want := []string{string(CodeNoTests), string(rules.CodeReadFile)}; !slices.Equal(codes, want) {
		t.Errorf("codes %v, want %v (%v)", codes, want, err)
	}
}

// TestSnippet puts the source line and a caret under errors.
func TestSnippet(t *testing.T) {
	_, err := Parse("t.yaml", []byte("tests:\n  - name: x\n    evnts: []\n"))
	es := err.(rules.Errors)
	if len(es) == 0 || !strings.Contains(es.Pretty(), "    evnts: []\n") || !strings.Contains(es[0].Snippet, "^") {
		t.Errorf("no snippet:\n%s", es.Pretty())
	}
}
