package rules

import (
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strings"
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

// FuzzExpr compiles arbitrary text as a rule's condition, bound and message
// and, when it loads, evaluates it on a realistic context. Whatever the text,
// loading and evaluating must return (an error is fine): no panic, no stack
// overflow, no runaway allocation — the static limits and the VM's budget
// must hold.
func FuzzExpr(f *testing.F) {
	for _, seed := range []string{
		"has_cost && margin < 0.12",
		`any(overlaps, .a.stacking == "exclusive" && .a.partner != .b.partner)`,
		`len(filter(promos, .fraction > 0.3)) > 0 && sku + "-" + channel != ""`,
		`let d = in_days(segment.end - at); d > 1 && stock.available < stock.daily_velocity * d`,
		`lookup(t, category, 0.1) > 0 && on_ladder(promo_discount, [0, 0.1, 0.2])`,
		`join(map(promos, .id), ",") contains "bf"`,
		`channels["web"].effective_price < effective_price * 0.9`,
		`map(1..1000, {1..1000}) != nil`,
		`sum(map(promos, .value)) / len(promos) > 10`,
		`history.changes_1h > 3 || history.max_drop_24h > 0.2`,
	} {
		f.Add(seed)
	}
	env := any(benchFacts())
	f.Fuzz(func(t *testing.T, src string) {
		if strings.ContainsAny(src, "\r\n") {
			src = strings.NewReplacer("\r", " ", "\n", " ").Replace(src)
		}
		file := "group: g\ntables: {t: {tv: 0.1}}\nrules:\n  - name: r\n    if: |\n      " + src +
			"\n  - name: b\n    if: 'true'\n    floor: |\n      " + src +
			"\n  - name: m\n    if: 'true'\n    message: |\n      {{ " + src + " }}\n"
		rs, err := LoadSource("fuzz.yaml", []byte(file), nil)
		if err != nil {
			return
		}
		vm := NewVM()
		for _, r := range rs.Rules {
			_, _ = r.If.Bool(vm, env)
			if r.Floor != nil {
				_, _ = r.Floor.Float(vm, env)
			}
			if r.Message != nil {
				_, _ = r.Message.Render(vm, env)
			}
		}
	})
}
