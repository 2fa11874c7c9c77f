package rules

import (
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

var update = flag.Bool("update", false, "rewrite the golden files in testdata/")

// TestGolden loads every testdata/good/*.good.yaml, which must be valid, and
// every testdata/bad/*.bad.yaml, whose errors must match the .errors file
// beside it: code, position and message, sorted.
func TestGolden(t *testing.T) {
	good, _ := filepath.Glob("testdata/good/*.good.yaml")
	bad, _ := filepath.Glob("testdata/bad/*.bad.yaml")
	if len(good) == 0 || len(bad) == 0 {
		t.Fatal("no golden files")
	}
	for _, f := range good {
		t.Run(filepath.Base(f), func(t *testing.T) {
			rs, err := Load([]string{f}, nil)
			if err != nil {
				t.Fatalf("want valid, got:\n%v", err.(Errors).Pretty())
			}
			checkGolden(t, strings.TrimSuffix(f, ".yaml")+".summary", summaryText(rs))
		})
	}
	for _, f := range bad {
		t.Run(filepath.Base(f), func(t *testing.T) {
			_, err := Load([]string{f}, nil)
			if err == nil {
				t.Fatal("want errors, got a valid rule set")
			}
			es, ok := err.(Errors)
			if !ok {
				t.Fatalf("want Errors, got %T: %v", err, err)
			}
			var b strings.Builder
			for _, e := range es {
				fmt.Fprintf(&b, "%d:%d %s group=%s rule=%s: %s\n", e.Line, e.Col, e.Code, e.Group, e.Rule, e.Message)
				if e.File != f {
					t.Errorf("error in %s, want file %s", e.File, f)
				}
			}
			checkGolden(t, strings.TrimSuffix(f, ".yaml")+".errors", b.String())
		})
	}
}

func summaryText(rs *RuleSet) string {
	var b strings.Builder
	for _, r := range rs.Rules {
		fmt.Fprintf(&b, "%s scope=%s on=%03b severity=%s for=%s repeat=%s floor=%t ceiling=%t reads=%s paths=%s\n",
			r.ID(), r.Scope, r.On, r.Severity, r.For, r.Repeat, r.Floor != nil, r.Ceiling != nil, r.Reads,
			strings.Join(r.If.Paths, ","))
	}
	return b.String()
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
		t.Fatalf("%v (run go test ./rules -run TestGolden -update to create it)", err)
	}
	if string(want) != got {
		t.Errorf("%s differs:\n--- want\n%s--- got\n%s", path, want, got)
	}
}
