package engine

import (
	"fmt"
	"math"
	"math/rand/v2"
	"testing"
	"time"

	"github.com/promoguard/promoguard/rules"
)

// benchWorld is a catalog of skus on three channels with a Black Friday
// calendar of promotions from three partners, and a stream of price and
// stock updates over it.
type benchWorld struct {
	setup  []*Event // prices of every sku and channel, stock, promotions
	stream []*Event // the measured updates
}

func newBenchWorld(skus, updates int) benchWorld {
	rng := rand.New(rand.NewPCG(1, 2))
	t0 := time.Date(2026, 11, 20, 0, 0, 0, 0, time.UTC)
	nan := math.NaN()
	cats := []string{"tv", "audio", "cables", "gaming"}
	brands := []string{"acme", "globex", "initech"}
	channels := []string{"web", "amazon", "zalando"}
	var w benchWorld
	price := func(sku, ch string, cat, brand string, p float64, ts time.Time) *Event {
		return &Event{Type: rules.EventPrice, TS: ts, Raw: []byte(sku + ch), Price: &PriceEvent{
			SKU: sku, Channel: ch, Price: p, ListPrice: math.Round(p*1.2) - 0.01, Cost: p * 0.7, MapPrice: p * 0.8,
			Currency: "EUR", Category: cat, Brand: brand,
		}}
	}
	// promotions first: brand-wide, category-wide and a marketplace exclusive
	promo := func(id, partner string, kind string, v float64, start, end time.Duration, stacking string, prio int) *PromoEvent {
		return &PromoEvent{ID: id, Partner: partner, Kind: kind, Value: v, Start: t0.Add(start), End: t0.Add(end),
			Stacking: stacking, Priority: prio, ExpectedUplift: 2, Currency: "EUR"}
	}
	p1 := promo("bf-acme", "acme", KindPercent, 20, 7*24*time.Hour, 11*24*time.Hour, StackStackable, 10)
	p1.Brands = []string{"acme"}
	p2 := promo("bf-audio", "nordic-dist", KindPercent, 15, 6*24*time.Hour, 10*24*time.Hour, StackStackable, 10)
	p2.Categories = []string{"audio"}
	p3 := promo("amz-cyber", "amazon", KindAmount, 10, 10*24*time.Hour, 12*24*time.Hour, StackExclusive, 20)
	p3.AllSKUs, p3.Channels = true, []string{"amazon"}
	for _, p := range []*PromoEvent{p1, p2, p3} {
		w.setup = append(w.setup, &Event{Type: rules.EventPromo, TS: t0, Raw: []byte(p.ID), Promo: p})
	}
	base := make([]float64, skus)
	for i := range skus {
		sku := fmt.Sprintf("sku-%06d", i)
		base[i] = 10 + float64(rng.IntN(50000))/100
		for _, ch := range channels {
			w.setup = append(w.setup, price(sku, ch, cats[i%len(cats)], brands[i%len(brands)], base[i], t0))
		}
		w.setup = append(w.setup, &Event{Type: rules.EventStock, TS: t0, Raw: []byte(sku), Stock: &StockEvent{
			SKU: sku, Warehouse: "dc-1", OnHand: float64(rng.IntN(500)), DailyVelocity: float64(rng.IntN(40)), Reserved: 0, Inbound: 0,
		}})
	}
	_ = nan
	ts := t0.Add(time.Minute)
	for n := range updates {
		i := rng.IntN(skus)
		sku := fmt.Sprintf("sku-%06d", i)
		ts = ts.Add(time.Duration(rng.IntN(2000)) * time.Millisecond)
		if n%5 == 4 {
			w.stream = append(w.stream, &Event{Type: rules.EventStock, TS: ts, Raw: []byte(sku), Stock: &StockEvent{
				SKU: sku, Warehouse: "dc-1", OnHand: float64(rng.IntN(500)), DailyVelocity: float64(rng.IntN(40)),
			}})
			continue
		}
		p := base[i] * (0.9 + rng.Float64()*0.2)
		w.stream = append(w.stream, price(sku, channels[rng.IntN(len(channels))], cats[i%len(cats)], brands[i%len(brands)], math.Round(p*100)/100, ts))
	}
	return w
}

// BenchmarkApply measures the per-event path of the engine on decoded
// events: state update, calendar segments, stacking, facts, every rule of
// the example pack on every (channel, segment) of the sku, lifecycles.
// One op is one event: ns/op is ns/event, allocs/op is allocs/event.
func BenchmarkApply(b *testing.B) {
	rs, err := rules.Load([]string{"../examples/rules"}, nil)
	if err != nil {
		b.Fatal(err)
	}
	w := newBenchWorld(1000, 20000)
	e := New(rs, Options{})
	var out []Output
	for _, ev := range w.setup {
		out = e.Apply(ev, out[:0])
	}
	before := e.Stats().Evaluations
	b.ReportAllocs()
	b.ResetTimer()
	outputs := 0
	for i := 0; b.Loop(); i++ {
		ev := w.stream[i%len(w.stream)]
		if i >= len(w.stream) {
			// keep time moving forward on the second lap
			c := *ev
			c.TS = ev.TS.Add(time.Duration(i/len(w.stream)) * 2 * time.Hour)
			ev = &c
		}
		out = e.Apply(ev, out[:0])
		outputs += len(out)
	}
	b.ReportMetric(float64(outputs)/float64(b.N), "outputs/event")
	b.ReportMetric(float64(e.Stats().Evaluations-before)/float64(b.N), "rules/event")
}
