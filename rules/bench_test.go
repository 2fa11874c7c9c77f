package rules

import (
	"testing"
	"time"
)

// benchFacts is one realistic calendar context: a TV on the web shop with
// two stacked promotions, an overlap, three channels and stock.
func benchFacts() Facts {
	t0 := time.Date(2026, 11, 27, 0, 0, 0, 0, time.UTC)
	p1 := &Promo{ID: "bf-tv", Partner: "acme", Kind: "percent", Value: 20, Fraction: 0.2, Priority: 10, Stacking: "stackable", Start: t0, End: t0.Add(72 * time.Hour), FundedBy: map[string]float64{"acme": 1}}
	p2 := &Promo{ID: "mkt-5", Partner: "marketplace", Kind: "amount", Value: 5, Fraction: 0.0125, Priority: 10, Stacking: "stackable", Start: t0, End: t0.Add(24 * time.Hour), Currency: "EUR"}
	return Facts{
		SKU: "tv-55-oled", Channel: "web", Category: "tv", Brand: "acme", Currency: "EUR",
		ListPrice: 499, Price: 399, Cost: 330, MapPrice: 349, HasCost: true, HasListPrice: true, HasMapPrice: true,
		EffectivePrice: 314.2, Discount: 1 - 314.2/499, PromoDiscount: 1 - 314.2/399, Margin: (314.2 - 330) / 314.2,
		Promos:   []*Promo{p1, p2},
		Overlaps: []*Overlap{{A: p1, B: p2, Reason: "same_priority"}},
		Stock:    Stock{OnHand: 120, Reserved: 20, Available: 100, DailyVelocity: 15, DaysOfCover: 6.7, ExpectedPromoDemand: 135},
		Channels: map[string]ChannelFacts{
			"web": {Price: 399, EffectivePrice: 314.2, Currency: "EUR"},
			"app": {Price: 399, EffectivePrice: 319.2, Currency: "EUR"},
			"mkt": {Price: 409, EffectivePrice: 409, Currency: "EUR"},
		},
		History: History{Changes1h: 2, MaxDrop24h: 0.2, Low24h: 314.2},
		Segment: Segment{Start: t0, End: t0.Add(24 * time.Hour)},
		Event:   Event{Type: "promo", TS: t0.Add(-48 * time.Hour)},
		At:      t0, Now: t0.Add(-48 * time.Hour),
	}
}

func loadExamples(b *testing.B) *RuleSet {
	b.Helper()
	rs, err := Load([]string{"../examples/rules"}, nil)
	if err != nil {
		b.Fatal(err)
	}
	return rs
}

// BenchmarkEvalRule evaluates the example pack's calendar-scope conditions
// on one context, the way the engine does: the Facts value boxed once and
// reused, one VM. One op is one rule, so ns/op is ns/rule and allocs/op is
// allocs/rule.
func BenchmarkEvalRule(b *testing.B) {
	rs := loadExamples(b)
	rules := rs.ByScope(ScopeCalendar)
	vm := NewVM()
	var env any = benchFacts()
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; b.Loop(); i++ {
		r := rules[i%len(rules)]
		fired, err := r.If.Bool(vm, env)
		if err != nil {
			b.Fatal(err)
		}
		if fired && r.Floor != nil {
			if _, err := r.Floor.Float(vm, env); err != nil {
				b.Fatal(err)
			}
		}
	}
}

// BenchmarkEvalRuleEach shows the cost of each rule on its own.
func BenchmarkEvalRuleEach(b *testing.B) {
	rs := loadExamples(b)
	var env any = benchFacts()
	for _, r := range rs.ByScope(ScopeCalendar) {
		b.Run(r.ID(), func(b *testing.B) {
			vm := NewVM()
			b.ReportAllocs()
			for b.Loop() {
				if _, err := r.If.Bool(vm, env); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

// BenchmarkEnvBoxing compares boxing the Facts once per context with boxing
// per rule and with a pointer env (every field load allocates).
func BenchmarkEnvBoxing(b *testing.B) {
	rs := loadExamples(b)
	r := rs.Rules[0] // margin-floor: reads has_cost, margin, category
	f := benchFacts()
	b.Run("boxed-once", func(b *testing.B) {
		vm := NewVM()
		var env any = f
		b.ReportAllocs()
		for b.Loop() {
			_, _ = r.If.Bool(vm, env)
		}
	})
	b.Run("boxed-per-rule", func(b *testing.B) {
		vm := NewVM()
		b.ReportAllocs()
		for b.Loop() {
			_, _ = r.If.Bool(vm, f)
		}
	})
	b.Run("pointer", func(b *testing.B) {
		vm := NewVM()
		b.ReportAllocs()
		for b.Loop() {
			_, _ = r.If.Bool(vm, &f)
		}
	})
}

// BenchmarkLoadExamples is the cost of loading and compiling the example
// pack: what a reload or a rule unit-test case pays.
func BenchmarkLoadExamples(b *testing.B) {
	b.ReportAllocs()
	for b.Loop() {
		loadExamples(b)
	}
}
