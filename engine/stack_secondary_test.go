package engine_test

// The secondary results of stacking (DESIGN §3), read through the public
// API: events in, Explain out. Each probe rule below has `floor:` set to
// the fact under test, so Explain reports the exact number a rule reads on
// each calendar segment (a message would round it to 4 decimals).

import (
	"fmt"
	"maps"
	"math"
	"regexp"
	"slices"
	"strings"
	"testing"

	"github.com/promoguard/promoguard/engine"
	"github.com/promoguard/promoguard/event"
	"github.com/promoguard/promoguard/rules"
)

const probeRules = `
group: probe
rules:
  - name: demand
    if: "true"
    floor: stock.expected_promo_demand
  - name: effective
    if: "true"
    floor: effective_price
  - name: applied0
    if: len(promos) > 0
    floor: promos[0].fraction
  - name: applied1
    if: len(promos) > 1
    floor: promos[1].fraction
  - name: applied2
    if: len(promos) > 2
    floor: promos[2].fraction
  - name: blocked0
    if: len(blocked) > 0
    floor: blocked[0].fraction
  - name: blocked1
    if: len(blocked) > 1
    floor: blocked[1].fraction
  - name: blocked2
    if: len(blocked) > 2
    floor: blocked[2].fraction
  - name: napplied
    if: "true"
    floor: len(promos)
  - name: nblocked
    if: "true"
    floor: len(blocked)
`

// probeSeg is what one segment's probes read: the active promotions in
// canonical order, and the probes' numbers by rule name (a probe whose
// condition is false, or whose number is NaN, is absent).
type probeSeg struct {
	start  string // 2026-11-03T00:00, or now for the segment open at the watermark
	active string // ids, comma-separated
	nums   map[string]float64
}

// probe feeds events (ts written as 2026-11-01T12:00 gain :00Z), flushes,
// and explains sku on channel web.
func probe(t *testing.T, sku string, events ...string) []probeSeg {
	t.Helper()
	rs, err := rules.LoadSource("probe.yaml", []byte(probeRules), nil)
	if err != nil {
		t.Fatal(err)
	}
	seq := engine.NewSequencer(engine.New(rs, engine.Options{}))
	var out []event.Output
	for _, line := range events {
		line = shortTime(line)
		ev, err := event.Decode([]byte(line), event.DecodeOptions{})
		if err != nil {
			t.Fatalf("%s: %v", line, err)
		}
		out = seq.Push(ev, out)
	}
	seq.Flush(out)
	x, ok := seq.Engine().Explain(sku, "web")
	if !ok {
		t.Fatalf("no price of %s/web", sku)
	}
	var segs []probeSeg
	for _, s := range x.Segments {
		ps := probeSeg{start: "now", active: strings.Join(s.Promos, ","), nums: map[string]float64{}}
		if s.Segment != nil && s.Segment.Start != nil {
			ps.start = s.Segment.Start.UTC().Format("2006-01-02T15:04")
		}
		for _, r := range s.Rules {
			if r.Error != "" {
				t.Fatalf("segment %s: %s: %s", ps.start, r.Rule, r.Error)
			}
			if r.Floor != nil && !math.IsNaN(float64(*r.Floor)) {
				ps.nums[strings.TrimPrefix(r.Rule, "probe/")] = float64(*r.Floor)
			}
		}
		segs = append(segs, ps)
	}
	return segs
}

var shortTimeRe = regexp.MustCompile(`(\d{4}-\d\d-\d\dT\d\d:\d\d)"`)

func shortTime(s string) string { return shortTimeRe.ReplaceAllString(s, `${1}:00Z"`) }

// want is one expected segment: its start, the active promotions, how many
// are applied and blocked, then probe name, number pairs.
func want(start, active string, napplied, nblocked int, kv ...any) probeSeg {
	s := probeSeg{start: start, active: active, nums: map[string]float64{"napplied": float64(napplied), "nblocked": float64(nblocked)}}
	for i := 0; i < len(kv); i += 2 {
		s.nums[kv[i].(string)] = kv[i+1].(float64)
	}
	return s
}

func checkProbes(t *testing.T, got, wantSegs []probeSeg) {
	t.Helper()
	if len(got) != len(wantSegs) {
		t.Errorf("%d segments, want %d:\n got %v\nwant %v", len(got), len(wantSegs), got, wantSegs)
		return
	}
	for i, w := range wantSegs {
		g := got[i]
		if g.start != w.start || g.active != w.active {
			t.Errorf("segment %d: start %s active [%s], want %s [%s]", i, g.start, g.active, w.start, w.active)
		}
		keys := slices.AppendSeq(slices.Collect(maps.Keys(g.nums)), maps.Keys(w.nums))
		slices.Sort(keys)
		for _, k := range slices.Compact(keys) {
			gv, gok := g.nums[k]
			wv, wok := w.nums[k]
			switch {
			case gok != wok:
				t.Errorf("segment %d (%s): %s = %s, want %s", i, g.start, k, optNum(gv, gok), optNum(wv, wok))
			case gok && math.Abs(gv-wv) > 1e-9*max(1, math.Abs(wv)):
				t.Errorf("segment %d (%s): %s = %v, want %v", i, g.start, k, gv, wv)
			}
		}
	}
}

func optNum(v float64, ok bool) string {
	if !ok {
		return "(absent)"
	}
	return fmt.Sprint(v)
}

// Two warehouses selling 3 and 2 a day: a daily velocity of 5. The
// watermark is 2026-11-01T12:00, the last event's time.
var (
	stockW1 = `{"type":"stock","sku":"S","warehouse":"w1","on_hand":100,"daily_velocity":3,"ts":"2026-11-01T12:00"}`
	stockW2 = `{"type":"stock","sku":"S","warehouse":"w2","on_hand":50,"daily_velocity":2,"ts":"2026-11-01T12:00"}`
	priceS  = `{"type":"price","sku":"S","channel":"web","price":200,"currency":"EUR","ts":"2026-11-01T12:00"}`
)

func promo(id, rest string) string {
	return `{"type":"promo","id":"` + id + `","partner":"p-` + id + `","skus":["S"],"start":"2026-10-01T00:00","ts":"2026-11-01T12:00",` + rest + `}`
}

// TestStackPromoDemand: stock.expected_promo_demand is velocity × uplift ×
// days left, where uplift is the largest expected_uplift among the APPLIED
// promotions (1 when none gives one) and the days run from the segment's
// instant (its start, or the watermark) to the latest end among the applied.
func TestStackPromoDemand(t *testing.T) {
	for _, c := range []struct {
		name   string
		events []string
		want   []probeSeg
	}{{
		name: "the largest uplift and the latest end of the applied",
		events: []string{stockW1, stockW2, priceS,
			promo("P1", `"discount":{"kind":"percent","value":10},"expected_uplift":2,"end":"2026-11-05T00:00"`),
			promo("P2", `"discount":{"kind":"percent","value":5},"expected_uplift":3,"end":"2026-11-03T00:00"`)},
		want: []probeSeg{
			// P1 and P2: uplift max(2, 3) = 3; from 11-01 12:00 to the
			// latest end 11-05 00:00 = 3.5 days: 5 × 3 × 3.5 = 52.5.
			// effective 200 × 0.9 × 0.95 = 171
			want("now", "P1,P2", 2, 0, "demand", 52.5, "effective", 171.0, "applied0", 0.1, "applied1", 0.05),
			// P1 alone: uplift 2; 11-03 to 11-05 = 2 days: 5 × 2 × 2 = 20
			want("2026-11-03T00:00", "P1", 1, 0, "demand", 20.0, "effective", 180.0, "applied0", 0.1),
			// none applied: 0
			want("2026-11-05T00:00", "", 0, 0, "demand", 0.0, "effective", 200.0),
		},
	}, {
		name: "uplift 1 when no applied promotion gives one",
		events: []string{stockW1, stockW2, priceS,
			promo("P", `"discount":{"kind":"percent","value":10},"end":"2026-11-04T00:00"`)},
		want: []probeSeg{
			// 5 × 1 × 2.5 days (11-01 12:00 to 11-04 00:00) = 12.5
			want("now", "P", 1, 0, "demand", 12.5, "effective", 180.0, "applied0", 0.1),
			want("2026-11-04T00:00", "", 0, 0, "demand", 0.0, "effective", 200.0),
		},
	}, {
		name: "an uplift below 1 is not raised by a promotion without one",
		events: []string{stockW1, stockW2, priceS,
			promo("H", `"discount":{"kind":"percent","value":10},"expected_uplift":0.5,"end":"2026-11-03T00:00"`),
			promo("N", `"discount":{"kind":"percent","value":20},"end":"2026-11-05T00:00"`)},
		want: []probeSeg{
			// H gives 0.5, N none: uplift 0.5, not 1; latest end 11-05:
			// 5 × 0.5 × 3.5 = 8.75. effective 200 × 0.9 × 0.8 = 144
			want("now", "H,N", 2, 0, "demand", 8.75, "effective", 144.0, "applied0", 0.1, "applied1", 0.2),
			// N alone: uplift 1, 2 days: 5 × 1 × 2 = 10
			want("2026-11-03T00:00", "N", 1, 0, "demand", 10.0, "effective", 160.0, "applied0", 0.2),
			want("2026-11-05T00:00", "", 0, 0, "demand", 0.0, "effective", 200.0),
		},
	}, {
		name: "a blocked promotion's uplift and end do not count",
		events: []string{stockW1, stockW2, priceS,
			promo("E", `"discount":{"kind":"percent","value":25},"stacking":"exclusive","priority":5,"expected_uplift":1.5,"end":"2026-11-03T00:00"`),
			promo("B", `"discount":{"kind":"percent","value":10},"expected_uplift":4,"end":"2026-11-09T00:00"`)},
		want: []probeSeg{
			// E applied, B blocked: uplift 1.5 and end 11-03 (not 4 and
			// 11-09): 5 × 1.5 × 1.5 days = 11.25; effective 200 × 0.75 = 150
			want("now", "E,B", 1, 1, "demand", 11.25, "effective", 150.0, "applied0", 0.25, "blocked0", 0.1),
			// B alone: 5 × 4 × 6 days (11-03 to 11-09) = 120
			want("2026-11-03T00:00", "B", 1, 0, "demand", 120.0, "effective", 180.0, "applied0", 0.1),
			want("2026-11-09T00:00", "", 0, 0, "demand", 0.0, "effective", 200.0),
		},
	}} {
		t.Run(c.name, func(t *testing.T) {
			checkProbes(t, probe(t, "S", c.events...), c.want)
		})
	}
}

// TestStackFractions: the fraction a promotion reports. Percent: value/100.
// An applied amount: value / the running price it applies to, at most 1; an
// applied fixed price: 1 - value / that running price. A blocked amount or
// fixed price: the same against the channel's price (before any promotion),
// not the running price at the point it was blocked.
func TestStackFractions(t *testing.T) {
	for _, c := range []struct {
		name   string
		events []string
		want   []probeSeg
	}{{
		name: "blocked by an exclusive: fractions of the channel's price",
		events: []string{priceS,
			promo("X", `"discount":{"kind":"percent","value":20},"stacking":"exclusive","priority":5,"end":"2026-11-03T00:00"`),
			promo("A", `"discount":{"kind":"amount","value":30},"currency":"EUR","priority":3,"end":"2026-11-03T00:00"`),
			promo("F", `"discount":{"kind":"fixed_price","value":150},"currency":"EUR","priority":2,"end":"2026-11-03T00:00"`),
			promo("Q", `"discount":{"kind":"percent","value":10},"priority":1,"end":"2026-11-03T00:00"`)},
		want: []probeSeg{
			// X applied: 200 × 0.8 = 160. Blocked, against 200 (not 160):
			// A 30 / 200 = 0.15; F 1 - 150/200 = 0.25; Q 10/100 = 0.1
			want("now", "X,A,F,Q", 1, 3, "effective", 160.0, "applied0", 0.2, "blocked0", 0.15, "blocked1", 0.25, "blocked2", 0.1),
			want("2026-11-03T00:00", "", 0, 0, "effective", 200.0),
		},
	}, {
		name: "blocked by a stop: fractions of the channel's price",
		events: []string{priceS,
			promo("S1", `"discount":{"kind":"percent","value":50},"stacking":"stop","priority":5,"end":"2026-11-03T00:00"`),
			promo("A", `"discount":{"kind":"amount","value":30},"currency":"EUR","priority":3,"end":"2026-11-03T00:00"`),
			promo("F", `"discount":{"kind":"fixed_price","value":250},"currency":"EUR","priority":2,"end":"2026-11-03T00:00"`)},
		want: []probeSeg{
			// S1 applied: 200 × 0.5 = 100. Blocked against 200: A 30/200 =
			// 0.15 (not 30/100 = 0.3); F 1 - 250/200 = -0.25, a rise (not
			// 1 - 250/100 = -1.5)
			want("now", "S1,A,F", 1, 2, "effective", 100.0, "applied0", 0.5, "blocked0", 0.15, "blocked1", -0.25),
			want("2026-11-03T00:00", "", 0, 0, "effective", 200.0),
		},
	}, {
		name: "applied: fractions of the running price",
		events: []string{priceS,
			promo("P", `"discount":{"kind":"percent","value":25},"priority":2,"end":"2026-11-03T00:00"`),
			promo("A", `"discount":{"kind":"amount","value":30},"currency":"EUR","priority":1,"end":"2026-11-03T00:00"`),
			promo("F", `"discount":{"kind":"fixed_price","value":100},"currency":"EUR","priority":0,"end":"2026-11-03T00:00"`)},
		want: []probeSeg{
			// P: 200 × 0.75 = 150; A on 150: 30/150 = 0.2, 150 - 30 = 120;
			// F on 120: 1 - 100/120 = 1/6, effective 100
			want("now", "P,A,F", 3, 0, "effective", 100.0, "applied0", 0.25, "applied1", 0.2, "applied2", 1.0/6),
			want("2026-11-03T00:00", "", 0, 0, "effective", 200.0),
		},
	}, {
		name: "an amount above the price takes a fraction of 1, applied or blocked",
		events: []string{
			`{"type":"price","sku":"S","channel":"web","price":20,"currency":"EUR","ts":"2026-11-01T12:00"}`,
			promo("A", `"discount":{"kind":"amount","value":30},"currency":"EUR","stacking":"stop","priority":5,"end":"2026-11-03T00:00"`),
			promo("B", `"discount":{"kind":"amount","value":50},"currency":"EUR","priority":1,"end":"2026-11-03T00:00"`)},
		want: []probeSeg{
			// A applied: min(30/20, 1) = 1 (not 1.5), the price floors at 0;
			// B blocked by A's stop: min(50/20, 1) = 1 (not 2.5)
			want("now", "A,B", 1, 1, "effective", 0.0, "applied0", 1.0, "blocked0", 1.0),
			want("2026-11-03T00:00", "", 0, 0, "effective", 20.0),
		},
	}} {
		t.Run(c.name, func(t *testing.T) {
			checkProbes(t, probe(t, "S", c.events...), c.want)
		})
	}
}

// TestStackCategoryAndBrand: a promotion that lists categories and brands
// covers a sku only when both match, whether it arrives before or after the
// prices, and a sku that changes brand leaves it.
func TestStackCategoryAndBrand(t *testing.T) {
	cb := `{"type":"promo","id":"CB","partner":"a","discount":{"kind":"percent","value":10},"categories":["audio"],"brands":["acme"],"start":"2026-10-01T00:00","end":"2026-11-03T00:00","ts":"2026-11-01T12:00"}`
	price := func(sku, category, brand string) string {
		return `{"type":"price","sku":"` + sku + `","channel":"web","price":100,"currency":"EUR","category":"` + category + `","brand":"` + brand + `","ts":"2026-11-01T12:00"}`
	}
	covered := []probeSeg{
		want("now", "CB", 1, 0, "effective", 90.0, "applied0", 0.1),
		want("2026-11-03T00:00", "", 0, 0, "effective", 100.0),
	}
	none := []probeSeg{want("now", "", 0, 0, "effective", 100.0)}
	for _, c := range []struct {
		sku, category, brand string
		want                 []probeSeg
	}{
		{"both", "audio", "acme", covered},
		{"category-only", "audio", "other", none},
		{"brand-only", "video", "acme", none},
		{"neither", "video", "other", none},
	} {
		t.Run(c.sku+"/promotion first", func(t *testing.T) {
			checkProbes(t, probe(t, c.sku, cb, price(c.sku, c.category, c.brand)), c.want)
		})
		t.Run(c.sku+"/prices first", func(t *testing.T) {
			checkProbes(t, probe(t, c.sku, price(c.sku, c.category, c.brand), cb), c.want)
		})
	}
	t.Run("a sku that changes brand leaves it", func(t *testing.T) {
		moved := strings.Replace(price("both", "audio", "other"), "12:00", "13:00", 1)
		got := probe(t, "both", price("both", "audio", "acme"), cb, moved)
		// nothing covers it at the watermark, 13:00
		checkProbes(t, got, []probeSeg{want("now", "", 0, 0, "effective", 100.0)})
	})
}
