package testspec

import (
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"slices"
	"testing"

	"github.com/promoguard/promoguard/rules"
)

// FuzzLoadTests feeds arbitrary bytes to the loader as a test file. It must
// never panic or hang, and it must either return a file whose every case is
// complete — a name, rule files, at least one step, an expectation, events
// that are JSON objects — or a sorted list of positioned errors.
func FuzzLoadTests(f *testing.F) {
	for _, pattern := range []string{"testdata/good/*.yaml", "testdata/bad/*.yaml", "../../examples/tests/*_test.yaml"} {
		files, _ := filepath.Glob(pattern)
		for _, p := range files {
			data, err := os.ReadFile(p)
			if err != nil {
				f.Fatal(err)
			}
			f.Add(data)
		}
	}
	f.Add([]byte("rule_files: r.yaml\ntests:\n  - {name: a, steps: [{series: {event: {type: price}, start: 2026-01-01T00:00:00Z, every: 1m, count: 3}}], expect_none: true}\n"))
	f.Fuzz(func(t *testing.T, data []byte) {
		file, err := Parse("fuzz_test.yaml", data)
		if err != nil {
			var es rules.Errors
			if !errors.As(err, &es) || len(es) == 0 {
				t.Fatalf("error is not a non-empty rules.Errors: %T %v", err, err)
			}
			if !slices.IsSortedFunc(es, func(a, b *rules.Error) int {
				if a.Line != b.Line {
					return a.Line - b.Line
				}
				return a.Col - b.Col
			}) {
				t.Fatalf("errors not sorted: %v", es)
			}
			for _, e := range es {
				if e.File != "fuzz_test.yaml" || e.Line < 0 || e.Col < 0 || e.Code == "" || e.Message == "" {
					t.Fatalf("malformed error %+v", e)
				}
			}
			return
		}
		if len(file.Cases) == 0 {
			t.Fatal("a valid file with no case")
		}
		for _, c := range file.Cases {
			if c.Name == "" || len(c.RuleFiles) == 0 || len(c.Steps) == 0 {
				t.Fatalf("incomplete case %+v", c)
			}
			checks := c.ExpectNone || c.Expect != nil
			for _, st := range c.Steps {
				checks = checks || st.Expect != nil
				for _, ev := range st.Events {
					var m map[string]any
					if err := json.Unmarshal(ev.JSON, &m); err != nil {
						t.Fatalf("event at %s is not a JSON object: %v\n%s", ev.Pos, err, ev.JSON)
					}
				}
			}
			if !checks {
				t.Fatalf("case %q checks nothing", c.Name)
			}
		}
	})
}
