package rules

import (
	"errors"
	"fmt"
	"io/fs"
	"math"
	"os"
	"path/filepath"
	"reflect"
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
// must hold. And what it returns is typed and deterministic: a condition
// the checker compiled as bool yields a bool (Bool would read any other
// value as false), a bound a float64 (Float an error for NaN and ±Inf), a
// message a string; evaluated again, on the same VM or a new one, each
// gives the same value and the same error.
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
		`!is_nan(margin) && near(price_ending(price, 0.99), price) || has_ending(price, 0.99)`,
		`join(keys(channels), ",") != "" && clamp(margin, 0, 1) >= snap_down(margin, [0, 0.5])`,
		`snap_down(effective_price * (1 - lookup(t, category, 0.05)), [9.99, 19.99, 99.99])`,
		`clamp(price_ending(price * 0.9, 0.99), cost, list_price)`,
		`max(map_price, cost / (1 - 0.12)) + in_days(segment.end - at)`,
		`is_nan(margin) || margin > 1`,
	} {
		f.Add(seed)
	}
	env := any(benchFacts())
	// result is what an evaluation returned, comparable across runs (a
	// NaN is equal to itself in its %v form)
	result := func(v any, err error) string { return fmt.Sprintf("%T %#v %v", v, v, err) }
	// typed says whether the checker gave e the result type k; then the
	// cast to it that AsBool and AsFloat64 compile in must not fail: a
	// builtin returned a value of another type than it declares
	typed := func(e *Expr, k reflect.Kind) bool { return e.typ != nil && e.typ.Kind() == k }
	castFailed := func(err error, to string) bool {
		return err != nil && strings.Contains(err.Error(), "invalid operation: "+to+"(")
	}
	f.Fuzz(func(t *testing.T, src string) {
		if strings.ContainsAny(src, "\r\n") {
			src = strings.NewReplacer("\r", " ", "\n", " ").Replace(src)
		}
		// each form on its own: a text is rarely both a condition and a bound
		load := func(rule string) *Rule {
			rs, err := LoadSource("fuzz.yaml", []byte("group: g\ntables: {t: {tv: 0.1}}\nrules:\n  - name: r\n"+rule), nil)
			if err != nil {
				return nil
			}
			return rs.Rules[0]
		}
		vm := NewVM()
		if r := load("    if: |\n      " + src + "\n"); r != nil {
			// the program's own value is a bool
			raw, err := vm.Run(r.If.Program, env)
			if _, ok := raw.(bool); err == nil && !ok || typed(r.If, reflect.Bool) && castFailed(err, "bool") {
				t.Fatalf("condition %q yields %T %v (%v), not a bool", src, raw, raw, err)
			}
			b, berr := r.If.Bool(vm, env)
			if got, want := result(b, berr), result(raw == true, err); got != want {
				t.Fatalf("condition %q: Bool gives %s, the program %s", src, got, want)
			}
			if again := result(r.If.Bool(vm, env)); again != result(b, berr) {
				t.Fatalf("condition %q gives %s, then %s", src, result(b, berr), again)
			}
			if again := result(r.If.Bool(NewVM(), env)); again != result(b, berr) {
				t.Fatalf("condition %q gives %s, then on a new VM %s", src, result(b, berr), again)
			}
		}
		if r := load("    if: 'true'\n    floor: |\n      " + src + "\n"); r != nil {
			raw, err := vm.Run(r.Floor.Program, env)
			if _, ok := raw.(float64); err == nil && !ok || typed(r.Floor, reflect.Float64) && castFailed(err, "float64") {
				t.Fatalf("bound %q yields %T %v (%v), not a float64", src, raw, raw, err)
			}
			x, ferr := r.Floor.Float(vm, env)
			if finite := !math.IsNaN(x) && !math.IsInf(x, 0); ferr == nil && !finite || ferr != nil && err == nil && finite {
				t.Fatalf("bound %q: %v with error %v", src, x, ferr)
			}
			if again := result(r.Floor.Float(vm, env)); again != result(x, ferr) {
				t.Fatalf("bound %q gives %s, then %s", src, result(x, ferr), again)
			}
			if again := result(r.Floor.Float(NewVM(), env)); again != result(x, ferr) {
				t.Fatalf("bound %q gives %s, then on a new VM %s", src, result(x, ferr), again)
			}
		}
		if r := load("    if: 'true'\n    message: |\n      {{ " + src + " }}\n"); r != nil {
			s, merr := r.Message.Render(vm, env)
			if again := result(r.Message.Render(vm, env)); again != result(s, merr) {
				t.Fatalf("message {{ %s }} gives %s, then %s", src, result(s, merr), again)
			}
		}
	})
}
