package engine

// Scale: what the review's scale probes measured, as counts the normal suite
// asserts (evaluations, outputs, timers, state sizes, allocations: never
// times), and as benchmarks at larger sizes reporting the same
// counts with b.ReportMetric (go test -run '^$' -bench Scale ./engine/).
// The bounds are the structure's: per context, per rule, per calendar
// segment; a change that makes any of them grow with the number of
// promotions, channels or events breaks them.

import (
	"fmt"
	"testing"
	"time"

	"github.com/promoguard/promoguard/event"
	"github.com/promoguard/promoguard/rules"
)

var scaleT0 = time.Date(2026, 11, 1, 0, 0, 0, 0, time.UTC)

var scaleChannels = []string{"web", "amazon", "zalando"}

// scaleSitewide prices skus × 3 channels, registers a sitewide 40 % for
// [48h, 96h) and cancels it. It returns the outputs and evaluations of the
// registration and of the cancellation.
func scaleSitewide(e *Engine, skus int) (regOut, regEval, cancelOut, cancelEval int) {
	var out []event.Output
	for i := range skus {
		for _, ch := range scaleChannels {
			out = e.Apply(rvPrice(fmt.Sprintf("sku-%05d", i), ch, 100+float64(i%100), scaleT0), out[:0])
		}
	}
	ev0 := e.Stats().Evaluations
	p := rvPromo("site", scaleT0, scaleT0.Add(48*time.Hour), scaleT0.Add(96*time.Hour), 40)
	p.AllSKUs = true
	out = e.Apply(&event.Event{Type: event.TypePromo, TS: scaleT0.Add(time.Hour), Raw: []byte("site"), Promo: p}, out[:0])
	ev1 := e.Stats().Evaluations
	regOut, regEval = len(out), int(ev1-ev0)
	out = e.Apply(&event.Event{Type: event.TypePromo, TS: scaleT0.Add(2 * time.Hour), Raw: []byte("c"), Promo: &event.Promo{ID: "site", Cancelled: true}}, out[:0])
	return regOut, regEval, len(out), int(e.Stats().Evaluations - ev1)
}

// scalePromos registers n promotions on one sku × 3 channels, staggered by
// an hour, each 20 days long (2n calendar boundaries), then one price event,
// then advances 30 days past them all.
type promosCounts struct {
	regOut, regEval     int
	priceOut, priceEval int
	advOut, advTimers   int
}

func scalePromos(e *Engine, n int) promosCounts {
	var c promosCounts
	var out []event.Output
	for _, ch := range scaleChannels {
		out = e.Apply(rvPrice("s", ch, 100, scaleT0), out[:0])
	}
	ev0 := e.Stats().Evaluations
	for i := range n {
		p := rvPromo(fmt.Sprintf("p%03d", i), scaleT0, scaleT0.Add(time.Duration(i)*time.Hour+time.Hour), scaleT0.Add(time.Duration(i)*time.Hour+20*24*time.Hour), 1)
		p.SKUs = []string{"s"}
		out = e.Apply(&event.Event{Type: event.TypePromo, TS: scaleT0.Add(time.Minute), Raw: []byte(p.ID), Promo: p}, out[:0])
		c.regOut += len(out)
	}
	ev1 := e.Stats().Evaluations
	c.regEval = int(ev1 - ev0)
	out = e.Apply(rvPrice("s", "web", 101, scaleT0.Add(2*time.Minute)), out[:0])
	c.priceOut, c.priceEval = len(out), int(e.Stats().Evaluations-ev1)
	tm := e.Stats().Timers
	out = e.Advance(scaleT0.Add(30*24*time.Hour), out[:0])
	c.advOut, c.advTimers = len(out), int(e.Stats().Timers-tm)
	return c
}

// scaleChannelsOn prices one sku, under a 50 % promotion, on n channels,
// then changes the price of one of them. The parity rule reads every
// channel, so each new channel re-evaluates the ones before it.
func scaleChannelsOn(e *Engine, n int) (regOut, regEval, oneOut, oneEval int) {
	var out []event.Output
	p := rvPromo("p", scaleT0, scaleT0.Add(24*time.Hour), scaleT0.Add(48*time.Hour), 50)
	p.SKUs = []string{"s"}
	out = e.Apply(&event.Event{Type: event.TypePromo, TS: scaleT0, Raw: []byte("p"), Promo: p}, out)
	for i := range n {
		out = e.Apply(rvPrice("s", fmt.Sprintf("ch-%04d", i), 100, scaleT0.Add(time.Duration(i)*time.Second)), out[:0])
		regOut += len(out)
	}
	ev := e.Stats().Evaluations
	regEval = int(ev)
	out = e.Apply(rvPrice("s", "ch-0000", 99, scaleT0.Add(time.Hour)), out[:0])
	return regOut, regEval, len(out), int(e.Stats().Evaluations - ev)
}

const (
	scaleHistoryRead   = "group: h\nrules:\n  - name: war\n    scope: now\n    if: history.changes_1h > 3\n"
	scaleHistoryUnread = "group: h\nrules:\n  - name: cheap\n    if: effective_price < 1\n"
)

// scaleHistory makes n price changes (100, 101, 100, ...) within the first
// hour on one channel, then advances 26 h and applies one more price. It
// returns the history's length after the changes, changes_1h then, and the
// history's length after the advance and after the last price.
func scaleHistory(e *Engine, n int) (histLen, changes, histAdvanced, histAfter int) {
	var out []event.Output
	step := time.Hour / time.Duration(n)
	for i := range n {
		out = e.Apply(rvPrice("s", "web", 100+float64(i%2), scaleT0.Add(time.Duration(i)*step)), out[:0])
	}
	ch := e.skus["s"].channels["web"]
	histLen, changes = len(ch.hist), ch.history(e.wm).Changes1h
	out = e.Advance(scaleT0.Add(26*time.Hour), out[:0])
	histAdvanced = len(ch.hist)
	e.Apply(rvPrice("s", "web", 102, scaleT0.Add(26*time.Hour+time.Minute)), out[:0])
	return histLen, changes, histAdvanced, len(ch.hist)
}

func atMost(t *testing.T, what string, got, bound int) {
	t.Helper()
	if got > bound {
		t.Errorf("%s: %d, more than %d", what, got, bound)
	}
}

func TestScaleCounts(t *testing.T) {
	rs := rvScaleRules(t)
	nRules := len(rs.Rules)
	// a context evaluates at most the calendar rules on each of its
	// segments and the now rules once; a promotion the promo rules once
	var nCal, nNow, nPromo int
	for _, r := range rs.Rules {
		switch r.Scope {
		case rules.ScopeCalendar:
			nCal++
		case rules.ScopeNow:
			nNow++
		case rules.ScopePromo:
			nPromo++
		}
	}
	t.Run("sitewide", func(t *testing.T) {
		const skus = 200
		ctxs := skus * len(scaleChannels)
		regOut, regEval, cancelOut, cancelEval := scaleSitewide(New(rs, Options{}), skus)
		// the promotion splits each context's calendar in 3 segments
		// (before, during, after)
		atMost(t, "evaluations registering", regEval, ctxs*(3*nCal+nNow)+nPromo)
		// cancelling leaves one segment
		atMost(t, "evaluations cancelling", cancelEval, ctxs*(nCal+nNow)+nPromo)
		if regOut == 0 || cancelOut != regOut {
			t.Errorf("registering emitted %d records, cancelling %d: each firing must resolve and each correction be withdrawn", regOut, cancelOut)
		}
	})
	t.Run("overlapping promotions", func(t *testing.T) {
		const n = 20
		c := scalePromos(New(rs, Options{}), n)
		// 2n boundaries: at most 2n+1 segments per channel
		atMost(t, "evaluations of one price event", c.priceEval, len(scaleChannels)*((2*n+1)*nCal+nNow))
		// registering the i-th promotion re-evaluates at most the 2i+1
		// segments of the 3 channels: sum over i < n of 3 (2i+1) nRules
		atMost(t, "evaluations registering", c.regEval, len(scaleChannels)*n*n*nRules)
		// timers: a bounded number per boundary, not per boundary × promotion
		atMost(t, "timers advancing through every boundary", c.advTimers, 4*2*n)
	})
	t.Run("channels", func(t *testing.T) {
		const n = 40
		_, regEval, oneOut, oneEval := scaleChannelsOn(New(rs, Options{}), n)
		// one price re-evaluates the sku's n channels (parity reads them
		// all) on its 3 segments, and no more
		atMost(t, "evaluations of one price event", oneEval, n*(3*nCal+nNow))
		atMost(t, "outputs of one price event", oneOut, 2*nRules)
		atMost(t, "evaluations registering", regEval, nRules*3*n*(n+1)/2)
	})
	for _, c := range []struct {
		name, rules string
		advanced    int // the history's length after the 26 h advance
	}{
		// a rule reads history: its timer trims it to the point in effect
		{"history read", scaleHistoryRead, 1},
		// none does: no timer; it is trimmed at the next price
		{"history unread", scaleHistoryUnread, 400},
	} {
		t.Run(c.name, func(t *testing.T) {
			const n = 400
			histLen, changes, adv, after := scaleHistory(New(scLoad(t, "h.yaml", c.rules), Options{}), n)
			// every price is a change but the first
			if histLen != n || changes != n-1 {
				t.Errorf("history length %d, changes_1h %d; want %d and %d", histLen, changes, n, n-1)
			}
			if adv != c.advanced {
				t.Errorf("history length %d after 26 h, want %d", adv, c.advanced)
			}
			// the point in effect 24 h before, and the new one
			atMost(t, "history length after a price 26 h later", after, 2)
		})
	}
	t.Run("allocations of a price event", func(t *testing.T) {
		e := New(rs, Options{})
		scalePromos(e, 10)
		var out []event.Output
		i := 0
		allocs := testing.AllocsPerRun(50, func() {
			i++
			out = e.Apply(rvPrice("s", "web", 100+float64(i%2), scaleT0.Add(31*24*time.Hour+time.Duration(i)*time.Minute)), out[:0])
		})
		// measured 57 (Go 1.26): the event, its records and the facts of
		// the 3 contexts; twice that leaves room, not for a per-rule or
		// per-promotion allocation
		if allocs > 120 {
			t.Errorf("%v allocations per price event, more than 120", allocs)
		}
	})
}

// The benchmarks run the review's probes at sizes `make bench` can afford
// (about a second an operation here; the review's sizes, 20000 skus, 200
// promotions, 1000 channels, take minutes); ns/op is incidental, the
// metrics are the counts.

func BenchmarkScaleSitewide(b *testing.B) {
	rs := rvScaleRules(b)
	for b.Loop() {
		regOut, regEval, _, cancelEval := scaleSitewide(New(rs, Options{}), 1000)
		b.ReportMetric(float64(regOut), "outputs/register")
		b.ReportMetric(float64(regEval), "evals/register")
		b.ReportMetric(float64(cancelEval), "evals/cancel")
	}
}

func BenchmarkScale30Promos(b *testing.B) {
	rs := rvScaleRules(b)
	for b.Loop() {
		c := scalePromos(New(rs, Options{}), 30)
		b.ReportMetric(float64(c.regOut), "outputs/register")
		b.ReportMetric(float64(c.regEval), "evals/register")
		b.ReportMetric(float64(c.priceEval), "evals/price")
		b.ReportMetric(float64(c.advTimers), "timers/advance")
	}
}

func BenchmarkScale60Channels(b *testing.B) {
	rs := rvScaleRules(b)
	for b.Loop() {
		regOut, regEval, _, oneEval := scaleChannelsOn(New(rs, Options{}), 60)
		b.ReportMetric(float64(regOut), "outputs/register")
		b.ReportMetric(float64(regEval), "evals/register")
		b.ReportMetric(float64(oneEval), "evals/price")
	}
}

func BenchmarkScaleHistory(b *testing.B) {
	for _, r := range []struct {
		name, src string
		sizes     []int
	}{
		// each change of a read history costs a timer and a pass over the
		// hour's points: quadratic, 10000 changes take a minute
		{"read", scaleHistoryRead, []int{500, 1000}},
		{"unread", scaleHistoryUnread, []int{1000, 20000}},
	} {
		rs, err := rules.LoadSource("h.yaml", []byte(r.src), nil)
		if err != nil {
			b.Fatal(err)
		}
		for _, n := range r.sizes {
			b.Run(fmt.Sprintf("%s/%d", r.name, n), func(b *testing.B) {
				for b.Loop() {
					histLen, _, adv, _ := scaleHistory(New(rs, Options{}), n)
					b.ReportMetric(float64(histLen), "hist-len")
					b.ReportMetric(float64(adv), "hist-len-advanced")
				}
			})
		}
	}
}

// BenchmarkScaleRecordSize: 40 staggered promotions on one sku and
// channel; the size of the records they produce.
func BenchmarkScaleRecordSize(b *testing.B) {
	rs := rvScaleRules(b)
	for b.Loop() {
		e := New(rs, Options{})
		out := e.Apply(rvPrice("s", "web", 100, scaleT0), nil)
		maxLen, total, n := 0, 0, 0
		for i := range 40 {
			p := rvPromo(fmt.Sprintf("p%03d", i), scaleT0, scaleT0.Add(time.Duration(i)*time.Hour+time.Hour), scaleT0.Add(time.Duration(i)*time.Hour+20*24*time.Hour), 0.1)
			p.SKUs = []string{"s"}
			out = e.Apply(&event.Event{Type: event.TypePromo, TS: scaleT0.Add(time.Minute), Raw: []byte(p.ID), Promo: p}, out[:0])
			for _, o := range out {
				data, err := o.MarshalJSON()
				if err != nil {
					b.Fatal(err)
				}
				total += len(data)
				n++
				maxLen = max(maxLen, len(data))
			}
		}
		b.ReportMetric(float64(n), "records")
		b.ReportMetric(float64(total), "record-bytes")
		b.ReportMetric(float64(maxLen), "max-record-bytes")
	}
}
