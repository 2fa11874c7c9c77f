package rules

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
)

// TestLoadPaths covers how paths expand: files and directories together, a
// directory's YAML files in name order, and paths that cannot be read.
func TestLoadPaths(t *testing.T) {
	dir := t.TempDir()
	write := func(name, body string) string {
		p := filepath.Join(dir, name)
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(body), 0o644); err != nil {
			t.Fatal(err)
		}
		return p
	}
	write("pack/b.yaml", "group: b\nrules: [{name: r, if: price > 0}]\n")
	write("pack/a.yml", "group: a\nrules: [{name: r, if: price > 0}]\n")
	write("pack/notes.txt", "not a rule file")
	write("pack/sub/c.yaml", "group: c\nrules: [{name: r, if: price > 0}]\n")
	single := write("single.yaml", "group: s\nrules: [{name: r, if: price > 0}]\n")
	write("empty/readme.md", "")

	rs, err := Load([]string{filepath.Join(dir, "pack"), single}, nil)
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, g := range rs.Groups {
		names = append(names, g.Name)
	}
	if got := strings.Join(names, ","); got != "a,b,s" {
		t.Errorf("groups %s, want a,b,s (directories are not recursive, files in name order)", got)
	}
	for i, r := range rs.Rules {
		if r.Index != i {
			t.Errorf("rule %s has Index %d, want %d", r.ID(), r.Index, i)
		}
	}

	for _, tt := range []struct {
		path string
		code Code
	}{
		{filepath.Join(dir, "missing.yaml"), CodeReadFile},
		{filepath.Join(dir, "empty"), CodeNoRules},
	} {
		_, err := Load([]string{tt.path}, nil)
		var es Errors
		if !errors.As(err, &es) || len(es) != 1 || es[0].Code != tt.code || es[0].File != tt.path {
			t.Errorf("%s: got %v, want one %s error", tt.path, err, tt.code)
		}
	}
}

// TestVersion: rules_version changes with any rule or table file and not
// with the directory the files live in.
func TestVersion(t *testing.T) {
	load := func(dir, rule, csv string) string {
		t.Helper()
		if err := os.WriteFile(filepath.Join(dir, "r.yaml"), []byte(rule), 0o644); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(dir, "t.csv"), []byte(csv), 0o644); err != nil {
			t.Fatal(err)
		}
		rs, err := Load([]string{dir}, nil)
		if err != nil {
			t.Fatal(err)
		}
		return rs.Version
	}
	rule := "group: g\ntables: {t: t.csv}\nrules: [{name: r, if: 'lookup(t, sku, 0) > 0'}]\n"
	v1 := load(t.TempDir(), rule, "k,v\na,1\n")
	v2 := load(t.TempDir(), rule, "k,v\na,1\n")
	v3 := load(t.TempDir(), rule, "k,v\na,2\n")
	v4 := load(t.TempDir(), rule+"# comment\n", "k,v\na,1\n")
	if v1 != v2 {
		t.Errorf("same files in another directory: %s != %s", v1, v2)
	}
	if v1 == v3 || v1 == v4 {
		t.Errorf("a changed table or rule file kept version %s", v1)
	}
}

// TestConcurrentEval runs one loaded rule set from several goroutines, each
// with its own VM, under the race detector: programs and templates are
// shared, VMs are not.
func TestConcurrentEval(t *testing.T) {
	rs, err := Load([]string{"../examples/rules"}, nil)
	if err != nil {
		t.Fatal(err)
	}
	var env any = benchFacts()
	var wg sync.WaitGroup
	for g := 0; g < 4; g++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			vm := NewVM()
			for i := 0; i < 200; i++ {
				for _, r := range rs.ByScope(ScopeCalendar) {
					fired, err := r.If.Bool(vm, env)
					if err != nil {
						t.Error(err)
						return
					}
					if fired && r.Message != nil {
						if _, err := r.Message.Render(vm, env); err != nil {
							t.Error(err)
							return
						}
					}
				}
			}
		}()
	}
	wg.Wait()
}
