package ruletest

import (
	"bytes"
	"testing"

	"github.com/promoguard/promoguard/rules/testspec"
)

// TestTolerance: numbers without `tolerance:` compare to 1e-9 relative (with
// a 1e-9 absolute floor near zero), so a margin of 0.0268 does not pass for
// 0.0267 as it did under the old absolute 0.001; `tolerance:` on an
// expectation is an absolute bound of its own.
//
// The event: price 1000, cost 973.3, category tv (floor 8 %):
//
//	margin    (1000 - 973.3) / 1000 = 26.7 / 1000 = 0.0267
//	floor     973.3 / (1 - 0.08) = 973.3 / 0.92 = 1057.9347826086956...
//	corrected the floor rounded up to the cent: 1057.94
func TestTolerance(t *testing.T) {
	const ev = `
    events:
      - {type: price, sku: tv, channel: web, price: 1000, cost: 973.3, currency: EUR, category: tv, ts: 2026-11-23T08:00:00Z}
    expect:
`
	for _, c := range []struct {
		name   string
		expect string
		pass   bool
	}{
		{"the margin as computed", `alerts: [{rule: margin-floor, values: {margin: 0.0267}}]`, true},
		// |0.0268 - 0.0267| = 1e-4: within the old 0.001, far beyond
		// 1e-9 × 0.0268 = 2.68e-11 and the 1e-9 floor
		{"a margin off by a hundredth of a point", `alerts: [{rule: margin-floor, values: {margin: 0.0268}}]`, false},
		// 1e-8 off: beyond the 1e-9 floor that near-zero numbers get
		{"a margin off by 1e-8", `alerts: [{rule: margin-floor, values: {margin: 0.02670001}}]`, false},
		// 1e-10 off: within the 1e-9 absolute floor
		{"a margin off by 1e-10", `alerts: [{rule: margin-floor, values: {margin: 0.0267000001}}]`, true},
		{"an absolute tolerance of its own", `alerts: [{rule: margin-floor, values: {margin: 0.0268}, tolerance: 0.001}]`, true},
		{"an absolute tolerance too small", `alerts: [{rule: margin-floor, values: {margin: 0.0268}, tolerance: 0.00005}]`, false},
		{"the corrected price", `corrections: [{sku: tv, corrected: 1057.94}]`, true},
		// 1057.934782609 is the floor to 12 digits: 4e-10 off, 4e-13 relative
		{"the floor to 12 digits", `corrections: [{sku: tv, floor: 1057.934782609}]`, true},
		// 1057.935 is 2.2e-4 off: within the old 0.001, beyond
		// 1e-9 × 1057.935 = 1.06e-6
		{"the floor to a tenth of a cent", `corrections: [{sku: tv, floor: 1057.935}]`, false},
		{"the floor to a tenth of a cent, with its tolerance", `corrections: [{sku: tv, floor: 1057.935, tolerance: 0.001}]`, true},
		{"a cent off, with a tolerance of zero", `corrections: [{sku: tv, corrected: 1057.93, tolerance: 0}]`, false},
		{"exact, with a tolerance of zero", `corrections: [{sku: tv, corrected: 1057.94, tolerance: 0}]`, true},
	} {
		t.Run(c.name, func(t *testing.T) {
			files := setup(t, "  - name: tol"+ev+"      "+c.expect+"\n")
			rep, err := run(t, files, Options{})
			if err != nil {
				t.Fatal(err)
			}
			if got := rep.Failed == 0 && rep.Passed == 1; got != c.pass {
				var b bytes.Buffer
				WriteText(&b, rep, TextOptions{})
				t.Errorf("passed %v, want %v:\n%s", got, c.pass, b.String())
			}
		})
	}
}

// TestWithin: the comparison itself, near zero and at scale.
func TestWithin(t *testing.T) {
	def := testspec.DefaultTolerance
	for _, c := range []struct {
		want, got, tol float64
		ok             bool
	}{
		{0, 0, def, true},
		{0, 1e-12, def, true}, // float noise around zero: the absolute floor
		{0, -1e-9, def, true},
		{0, 2e-9, def, false},
		{0.1, 0.1 + 2e-17, def, true}, // 0.1 computed as 0.10000000000000002
		{0.0267, 0.0268, def, false},
		{1e9, 1e9 + 0.5, def, true}, // 5e-10 relative
		{1e9, 1e9 + 2, def, false},  // 2e-9 relative
		{760.87, 760.88, def, false},
		{-0.1123, -0.1124, def, false},
		{0.0267, 0.0268, 0.001, true},
		{0.0267, 0.0268, 0, false},
		{5, 5, 0, true},
	} {
		if got := within(c.want, c.got, c.tol); got != c.ok {
			t.Errorf("within(%v, %v, %v) = %v, want %v", c.want, c.got, c.tol, got, c.ok)
		}
	}
}
