package engine

import (
	"fmt"
	"math"
	"math/rand/v2"
	"strings"
	"testing"
	"time"

	"github.com/promoguard/promoguard/event"

	"github.com/promoguard/promoguard/rules"
)

// benchWorld is a catalog of skus on three channels with a Black Friday
// calendar of promotions from three partners, and a stream of price and
// stock updates over it.
type benchWorld struct {
	setup  []*event.Event // prices of every sku and channel, stock, promotions
	stream []*event.Event // the measured updates
}

func newBenchWorld(skus, updates int) benchWorld {
	rng := rand.New(rand.NewPCG(1, 2))
	t0 := time.Date(2026, 11, 20, 0, 0, 0, 0, time.UTC)
	nan := math.NaN()
	cats := []string{"tv", "audio", "cables", "gaming"}
	brands := []string{"acme", "globex", "initech"}
	channels := []string{"web", "amazon", "zalando"}
	var w benchWorld
	price := func(sku, ch string, cat, brand string, p float64, ts time.Time) *event.Event {
		return &event.Event{Type: event.TypePrice, TS: ts, Raw: []byte(sku + ch), Price: &event.Price{
			SKU: sku, Channel: ch, Price: p, ListPrice: math.Round(p*1.2) - 0.01, Cost: p * 0.7, MapPrice: p * 0.8,
			Currency: "EUR", Category: cat, Brand: brand,
		}}
	}
	// promotions first: brand-wide, category-wide and a marketplace exclusive
	promo := func(id, partner string, kind string, v float64, start, end time.Duration, stacking string, prio int) *event.Promo {
		return &event.Promo{ID: id, Partner: partner, Kind: kind, Value: v, Start: t0.Add(start), End: t0.Add(end),
			Stacking: stacking, Priority: prio, ExpectedUplift: 2, Currency: "EUR"}
	}
	p1 := promo("bf-acme", "acme", event.KindPercent, 20, 7*24*time.Hour, 11*24*time.Hour, event.StackStackable, 10)
	p1.Brands = []string{"acme"}
	p2 := promo("bf-audio", "nordic-dist", event.KindPercent, 15, 6*24*time.Hour, 10*24*time.Hour, event.StackStackable, 10)
	p2.Categories = []string{"audio"}
	// they combine with each other under the combinable policy (compound
	// and the others ignore combines_with)
	p1.CombinesWith, p2.CombinesWith = []string{"*"}, []string{"acme"}
	p3 := promo("amz-cyber", "amazon", event.KindAmount, 10, 10*24*time.Hour, 12*24*time.Hour, event.StackExclusive, 20)
	p3.AllSKUs, p3.Channels = true, []string{"amazon"}
	for _, p := range []*event.Promo{p1, p2, p3} {
		w.setup = append(w.setup, &event.Event{Type: event.TypePromo, TS: t0, Raw: []byte(p.ID), Promo: p})
	}
	base := make([]float64, skus)
	for i := range skus {
		sku := fmt.Sprintf("sku-%06d", i)
		base[i] = 10 + float64(rng.IntN(50000))/100
		for _, ch := range channels {
			w.setup = append(w.setup, price(sku, ch, cats[i%len(cats)], brands[i%len(brands)], base[i], t0))
		}
		w.setup = append(w.setup, &event.Event{Type: event.TypeStock, TS: t0, Raw: []byte(sku), Stock: &event.Stock{
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
			w.stream = append(w.stream, &event.Event{Type: event.TypeStock, TS: ts, Raw: []byte(sku), Stock: &event.Stock{
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
func BenchmarkApply(b *testing.B) { benchApply(b, Options{}) }

// BenchmarkApplyPolicy is BenchmarkApply with every channel stacked by one
// policy: the cost of each policy per event (BENCHMARKS.md). Compare with
// benchstat -col /policy.
//
// With the example pack a policy also changes what the rules find (a
// deeper price fires more of them), so pack=quiet runs one rule that reads
// the stacking's results on every context and never fires: the same work
// under every policy but the stacking itself.
func BenchmarkApplyPolicy(b *testing.B) {
	quiet, err := rules.LoadSource("quiet.yaml", []byte(quietPack), nil)
	if err != nil {
		b.Fatal(err)
	}
	// compound runs first and, again, last (as a channels map naming it):
	// the two bound the drift of a run's position in the sequence
	names := append(rules.PolicyNames(), "compound_last")
	for _, pack := range []string{"examples", "quiet"} {
		for _, name := range names {
			pol, _ := rules.ParsePolicy(strings.TrimSuffix(name, "_last"))
			opts := Options{Channels: rules.Channels{"web": pol, "amazon": pol, "zalando": pol}}
			if name == "compound" {
				opts.Channels = nil // the default, as users run it
			}
			rs := (*rules.RuleSet)(nil)
			if pack == "quiet" {
				rs = quiet
			}
			b.Run("pack="+pack+"/policy="+name, func(b *testing.B) { benchApplyRules(b, rs, opts) })
		}
	}
}

const quietPack = `
group: quiet
rules:
  - name: never
    if: effective_price < 0 && len(promos) + len(blocked) > 0 && any(values(channels), .effective_price < 0)
`

func benchApply(b *testing.B, opts Options) { benchApplyRules(b, nil, opts) }

// benchApplyRules is BenchmarkApply with rule set rs (nil: the example
// pack).
func benchApplyRules(b *testing.B, rs *rules.RuleSet, opts Options) {
	if rs == nil {
		var err error
		if rs, err = rules.Load([]string{"../examples/rules"}, nil); err != nil {
			b.Fatal(err)
		}
	}
	w := newBenchWorld(1000, 20000)
	e := New(rs, opts)
	var out []event.Output
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

// benchEngine is an engine with the example pack that has applied the
// bench world's catalog and its first updates, and a sku of it with
// promotions (so several segments).
func benchEngine(b *testing.B) (*Engine, *skuState) {
	b.Helper()
	rs, err := rules.Load([]string{"../examples/rules"}, nil)
	if err != nil {
		b.Fatal(err)
	}
	w := newBenchWorld(1000, 2000)
	e := New(rs, Options{})
	var out []event.Output
	for _, ev := range append(w.setup, w.stream...) {
		out = e.Apply(ev, out[:0])
	}
	s := e.skus["sku-000001"] // acme, audio: two promotions, four segments
	if s == nil {
		b.Fatal("no sku-000001")
	}
	return e, s
}

// BenchmarkFacts measures building the contexts of one sku (every channel
// in every calendar segment: price in effect, active promotions, stacking,
// what changed since the memo) and the facts of each. One op is one sku;
// contexts/op says how many contexts that is.
func BenchmarkFacts(b *testing.B) {
	e, s := benchEngine(b)
	promos := e.covering(s)
	segs, _, _ := e.segments(s, promos)
	n := 0
	f := new(rules.Facts)
	b.ReportAllocs()
	for b.Loop() {
		all := e.contexts(s, segs, promos)
		for i, ctxs := range all {
			chl := segChannels{ctxs: ctxs}
			for ci := range ctxs {
				var chmap map[string]rules.ChannelFacts
				if e.reads.Has(factChannels) {
					chmap = chl.get(e)
				}
				e.factsInto(f, s, &ctxs[ci], segs[i], chmap, trigger{typ: "price", ts: e.wm})
				n++
			}
		}
	}
	b.ReportMetric(float64(n)/float64(b.N), "contexts/op")
}

// BenchmarkEvaluate measures running every calendar rule of the example
// pack on one context's facts, boxed once as the engine does: one op is
// one rule.
func BenchmarkEvaluate(b *testing.B) {
	e, s := benchEngine(b)
	promos := e.covering(s)
	segs, _, _ := e.segments(s, promos)
	all := e.contexts(s, segs, promos)
	// the segment with the most promotions
	best := 0
	for i := range all {
		if len(all[i]) > 0 && len(all[i][0].res.active) > len(all[best][0].res.active) {
			best = i
		}
	}
	chl := segChannels{ctxs: all[best]}
	f := new(rules.Facts)
	e.factsInto(f, s, &all[best][0], segs[best], chl.get(e), trigger{typ: "price", ts: e.wm})
	env := boxFacts(f)
	rs := e.calendar
	b.ReportAllocs()
	for i := 0; b.Loop(); i++ {
		if _, err := rs[i%len(rs)].If.Bool(e.vm, env); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkEncode measures encoding output records as the daemon writes
// them: a firing alert with its values, and an active correction.
func BenchmarkEncode(b *testing.B) {
	rs, err := rules.Load([]string{"../examples/rules"}, nil)
	if err != nil {
		b.Fatal(err)
	}
	w := newBenchWorld(1000, 4000)
	e := New(rs, Options{})
	var outs []event.Output
	for _, ev := range append(w.setup, w.stream...) {
		outs = e.Apply(ev, outs)
	}
	var alert, corr *event.Output
	for i := range outs {
		switch {
		case alert == nil && outs[i].Alert != nil && outs[i].Alert.State == event.StateFiring && len(outs[i].Alert.Values) > 0:
			alert = &outs[i]
		case corr == nil && outs[i].Correction != nil && outs[i].Correction.State == event.StateActive:
			corr = &outs[i]
		}
	}
	if alert == nil || corr == nil {
		b.Fatal("no alert or correction to encode")
	}
	for _, bc := range []struct {
		name string
		o    *event.Output
	}{{"alert", alert}, {"correction", corr}} {
		b.Run(bc.name, func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				data, err := bc.o.MarshalJSON()
				if err != nil {
					b.Fatal(err)
				}
				b.SetBytes(int64(len(data)))
			}
		})
	}
}
