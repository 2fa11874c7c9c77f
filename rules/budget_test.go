package rules

import (
	"errors"
	"fmt"
	"math"
	"strings"
	"testing"
)

// doubling builds a let chain that doubles a string n times: step is an
// expression of A, the previous string.
func doubling(n int, step string) string {
	var b strings.Builder
	b.WriteString("let v0 = sku; ")
	for i := 1; i <= n; i++ {
		fmt.Fprintf(&b, "let v%d = %s; ", i, strings.ReplaceAll(step, "A", fmt.Sprintf("v%d", i-1)))
	}
	fmt.Fprintf(&b, "len(v%d) > 0", n)
	return b.String()
}

// TestRuntimeBudget checks what the static limits cannot: rules that would
// build ever larger lists or strings stop with an error at run time instead
// of taking the process's memory, and the same VM then runs the next rule.
// A division by zero is +Inf, and a bound that is NaN or Inf is an error, so
// it can never become a corrected price.
func TestRuntimeBudget(t *testing.T) {
	rs, err := LoadSource("hostile.yaml", []byte(`
group: hostile
rules:
  - name: many-ranges
    if: 'len(map(1..1000, {1..1000})) > 0'
  - name: string-doubling
    if: '`+doubling(40, "A + A")+`'
  - name: join-doubling
    if: '`+doubling(40, "join([A, A])")+`'
  - name: inf-bound
    if: price > 0
    floor: price / cost
  - name: nan-bound
    if: price > 0
    ceiling: margin
  - name: fine
    if: price > 10 && sku + "-x" == "tv-x" && join(["a", "b"], "-") == "a-b"
`), nil)
	if err != nil {
		t.Fatal(err)
	}
	vm := NewVM()
	var env any = Facts{SKU: "tv", Price: 1e9, Cost: 0, Margin: math.NaN()}
	by := map[string]*Rule{}
	for _, r := range rs.Rules {
		by[r.Name] = r
	}
	for name, want := range map[string]string{
		"many-ranges":     "memory budget exceeded",
		"string-doubling": "string longer than",
		"join-doubling":   "string longer than",
	} {
		_, err := by[name].If.Bool(vm, env)
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("%s: want an error with %q, got %v", name, want, err)
		}
	}
	if f, err := by["inf-bound"].Floor.Float(vm, env); err == nil {
		t.Errorf("inf-bound: want an error, got %v", f)
	}
	if f, err := by["nan-bound"].Ceiling.Float(vm, env); err == nil {
		t.Errorf("nan-bound: want an error, got %v", f)
	}
	if ok, err := by["fine"].If.Bool(vm, env); err != nil || !ok {
		t.Errorf("fine after the failures: %v %v", ok, err)
	}
}

// TestHostileAtLoad: what can only be unbounded is refused when the rule
// loads, with a positioned error.
func TestHostileAtLoad(t *testing.T) {
	tests := []struct {
		name, expr string
		code       Code
	}{
		{"range sized by a fact", "len(1..int(price)) > 0", CodeRangeTooLarge},
		{"nested iteration over a fact range", "let r = 1..int(price); all(r, {all(r, {true})})", CodeRangeTooLarge},
		{"replace amplifies", `replace(sku, "x", "xxxxxxxxxx") != ""`, CodeUnknownFact},
		{"split builds lists", `len(split(sku, "")) > 0`, CodeUnknownFact},
		{"toJSON escapes grow", `toJSON(sku) != ""`, CodeUnknownFact},
		{"concat of lists", `len(concat(promos, promos)) > 0`, CodeUnknownFact},
		{"wall clock", `now() > at`, ""},
		{"deep brackets", strings.Repeat("(", 100) + "true" + strings.Repeat(")", 100), CodeTooComplex},
		{"a megabyte of brackets", strings.Repeat("(", 1<<20) + "true" + strings.Repeat(")", 1<<20), CodeTooComplex},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			src := "group: g\nrules:\n  - name: r\n    if: '" + tt.expr + "'\n"
			_, err := LoadSource("h.yaml", []byte(src), nil)
			var es Errors
			if !errors.As(err, &es) {
				t.Fatalf("loaded; want an error")
			}
			if tt.code != "" && es[0].Code != tt.code {
				t.Errorf("got %v, want code %s", es[0], tt.code)
			}
			if es[0].Line != 4 {
				t.Errorf("error not positioned on the expression: %v", es[0])
			}
		})
	}
}
