package rules_test

import (
	"errors"
	"fmt"
	"math"

	"github.com/promoguard/promoguard/rules"
)

// A rule file is loaded once; its conditions then run on Facts values, one
// VM per goroutine.
func ExampleLoadSource() {
	src := []byte(`
group: margin
vars: {min_margin: 0.12}
rules:
  - name: margin-floor
    if: has_cost && margin < min_margin
    floor: cost / (1 - min_margin)
    message: '{{sku}} margin {{pct(margin)}}'
`)
	rs, err := rules.LoadSource("margin.yaml", src, nil)
	if err != nil {
		fmt.Println(err)
		return
	}
	r := rs.Rules[0]
	vm := rules.NewVM()
	var env any = rules.Facts{SKU: "tv-55", Cost: 90, HasCost: true, EffectivePrice: 95, Margin: 5.0 / 95}
	fired, _ := r.If.Bool(vm, env)
	floor, _ := r.Floor.Float(vm, env)
	msg, _ := r.Message.Render(vm, env)
	fmt.Println(r.ID(), fired, math.Round(floor*100)/100, msg)
	fmt.Println("reads:", r.If.Paths)
	// Output:
	// margin/margin-floor true 102.27 tv-55 margin 5.3%
	// reads: [has_cost margin]
}

// Every problem comes back at once, positioned and coded, like a compiler's.
func ExampleErrors() {
	src := []byte(`
group: margin
rules:
  - name: margin-floor
    if: has_cost && margn < 0.12
    severity: urgent
`)
	_, err := rules.LoadSource("margin.yaml", src, nil)
	var es rules.Errors
	if errors.As(err, &es) {
		for _, e := range es {
			fmt.Println(e)
		}
	}
	// Output:
	// margin.yaml:5:21: group margin rule margin-floor: unknown name margn; did you mean margin? [unknown_fact]
	// margin.yaml:6:15: group margin rule margin-floor: unknown severity "urgent" (info, warning or critical) [unknown_severity]
}
