package rules

import (
	"math"
	"strings"
	"testing"
)

// TestRuntimeBudget checks what the static limits cannot: a range whose
// size comes from a fact is stopped by the VM's memory budget with an
// error, not an out-of-memory crash, and the same VM then runs the next
// rule normally. A division by zero is +Inf, and a bound that is NaN or Inf
// is an error, so it can never become a corrected price.
func TestRuntimeBudget(t *testing.T) {
	rs, err := LoadSource("hostile.yaml", []byte(`
group: hostile
rules:
  - name: runaway
    if: 'len(filter(1..int(price), # % 7 == 0)) > 0'
  - name: nested-runaway
    if: 'any(1..int(price), {any(1..int(price), {# < 0})})'
  - name: inf-bound
    if: price > 0
    floor: price / cost
  - name: nan-bound
    if: price > 0
    ceiling: margin
  - name: fine
    if: price > 10
`), nil)
	if err != nil {
		t.Fatal(err)
	}
	vm := NewVM()
	var env any = Facts{Price: 1e9, Cost: 0, Margin: math.NaN()}
	by := map[string]*Rule{}
	for _, r := range rs.Rules {
		by[r.Name] = r
	}
	for _, name := range []string{"runaway", "nested-runaway"} {
		_, err := by[name].If.Bool(vm, env)
		if err == nil || !strings.Contains(err.Error(), "memory budget exceeded") {
			t.Errorf("%s: want memory budget error, got %v", name, err)
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
