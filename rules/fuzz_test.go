package rules

import (
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"testing"
)

// FuzzLoad feeds arbitrary bytes to the loader as a rule file. It must never
// panic or hang, and it must either return a rule set whose every rule is
// compiled or a sorted list of positioned errors.
func FuzzLoad(f *testing.F) {
	for _, pattern := range []string{"testdata/good/*.yaml", "testdata/bad/*.yaml", "../examples/rules/*.yaml"} {
		files, _ := filepath.Glob(pattern)
		for _, p := range files {
			data, err := os.ReadFile(p)
			if err != nil {
				f.Fatal(err)
			}
			f.Add(data)
		}
	}
	f.Add([]byte("group: g\nrules:\n  - {name: a, if: 'price > 0', message: '{{sku}}'}\n"))
	opts := &Options{
		ReadFile: func(name string) ([]byte, error) {
			if filepath.Base(name) == "t.csv" {
				return []byte("k,v\na,1\n"), nil
			}
			return nil, fs.ErrNotExist
		},
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		rs, err := LoadSource("fuzz.yaml", data, opts)
		if err != nil {
			var es Errors
			if !errors.As(err, &es) || len(es) == 0 {
				t.Fatalf("error is not a non-empty Errors: %T %v", err, err)
			}
			if !slices.IsSortedFunc(es, func(a, b *Error) int {
				if a.Line != b.Line {
					return a.Line - b.Line
				}
				return a.Col - b.Col
			}) {
				t.Fatalf("errors not sorted: %v", es)
			}
			for _, e := range es {
				if e.File != "fuzz.yaml" || e.Line < 0 || e.Col < 0 || e.Code == "" || e.Message == "" {
					t.Fatalf("malformed error %+v", e)
				}
			}
			return
		}
		for _, r := range rs.Rules {
			if r.If == nil || r.If.Program == nil || r.Group == nil {
				t.Fatalf("rule %s not compiled", r.Name)
			}
		}
	})
}
