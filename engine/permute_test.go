package engine

// Order independence and determinism (DESIGN §2, §4, §6): events with the
// same ts give the same outputs whatever order they arrive in; the same
// input gives the same bytes; ids are a function of (kind, fingerprint,
// state, watermark) and never collide.

import (
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"os"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/promoguard/promoguard/event"

	"github.com/promoguard/promoguard/rules"
)

// scPermRuns is a stream in runs of equal timestamps: the example rule pack
// and testdata/scenarios/extra.yaml see promotions, stock and prices of two
// skus, duplicates of one key with different payloads, edits, a tombstone,
// a cancellation and a delisting, all within runs.
var scPermRuns = [][]string{
	{ // 2026-11-20T00:00Z: 8 events
		`{"type":"promo","id":"BF1","partner":"acme","partner_role":"manufacturer","discount":{"kind":"percent","value":20},"start":"2026-11-27T00:00Z","end":"2026-12-01T00:00Z","brands":["acme"],"priority":10,"expected_uplift":2,"ts":"2026-11-20T00:00Z"}`,
		`{"type":"promo","id":"BF2","partner":"amz","partner_role":"marketplace","discount":{"kind":"amount","value":10},"currency":"EUR","stacking":"exclusive","channels":["amazon"],"start":"2026-11-28T00:00Z","end":"2026-11-30T00:00Z","categories":["audio"],"priority":5,"ts":"2026-11-20T00:00Z"}`,
		`{"type":"promo","id":"BF3","partner":"shop","discount":{"kind":"percent","value":15},"start":"2026-11-20T00:00Z","end":"2026-11-22T00:00Z","skus":["*"],"ts":"2026-11-20T00:00Z"}`,
		`{"type":"stock","sku":"S1","warehouse":"w1","on_hand":5,"daily_velocity":3,"ts":"2026-11-20T00:00Z"}`,
		`{"type":"stock","sku":"S1","warehouse":"w2","on_hand":2,"ts":"2026-11-20T00:00Z"}`,
		`{"type":"price","sku":"S1","channel":"web","price":100,"list_price":120,"cost":70,"map_price":85,"currency":"EUR","category":"audio","brand":"acme","ts":"2026-11-20T00:00Z"}`,
		`{"type":"price","sku":"S1","channel":"web","price":95,"list_price":120,"cost":70,"map_price":85,"currency":"EUR","category":"audio","brand":"acme","ts":"2026-11-20T00:00Z"}`,
		`{"type":"price","sku":"S1","channel":"amazon","price":99.99,"cost":70,"currency":"EUR","category":"audio","brand":"acme","ts":"2026-11-20T00:00Z"}`,
	},
	{ // 2026-11-20T00:00Z + 1 ns: a price of another sku alone
		`{"type":"price","sku":"S2","channel":"web","price":50,"cost":45,"currency":"EUR","category":"cables","brand":"globex","ts":"2026-11-20T00:00:00.000000001Z"}`,
	},
	{ // 2026-11-20T01:00Z: 6 events
		`{"type":"price","sku":"S1","channel":"web","price":80,"list_price":120,"cost":70,"map_price":85,"currency":"EUR","category":"audio","brand":"acme","ts":"2026-11-20T01:00Z"}`,
		`tombstone BF3 2026-11-20T01:00Z`,
		`{"type":"promo","id":"BF4","partner":"globex","discount":{"kind":"percent","value":30},"stacking":"exclusive","start":"2026-11-28T00:00Z","end":"2026-11-29T00:00Z","skus":["S1","S2"],"priority":10,"ts":"2026-11-20T01:00Z"}`,
		`{"type":"stock","sku":"S1","warehouse":"w1","on_hand":0,"ts":"2026-11-20T01:00Z"}`,
		`{"type":"price","sku":"S2","channel":"web","price":40,"cost":45,"currency":"EUR","category":"cables","brand":"globex","ts":"2026-11-20T01:00Z"}`,
		`{"type":"promo","id":"BF1","partner":"acme","partner_role":"manufacturer","discount":{"kind":"percent","value":25},"start":"2026-11-27T00:00Z","end":"2026-12-01T00:00Z","brands":["acme"],"priority":10,"expected_uplift":2,"ts":"2026-11-20T01:00Z"}`,
	},
	{ // 2026-11-27T00:00Z, a boundary instant: 5 events
		`{"type":"price","sku":"S1","channel":"web","price":100,"list_price":120,"cost":70,"map_price":85,"currency":"EUR","category":"audio","brand":"acme","ts":"2026-11-27T00:00Z"}`,
		`{"type":"price","sku":"S1","channel":"amazon","status":"delisted","ts":"2026-11-27T00:00Z"}`,
		`{"type":"stock","sku":"S2","warehouse":"w1","on_hand":100,"daily_velocity":1,"ts":"2026-11-27T00:00Z"}`,
		`{"type":"promo","id":"BF2","status":"cancelled","ts":"2026-11-27T00:00Z"}`,
		`{"type":"promo","id":"BF5","partner":"shop","discount":{"kind":"fixed_price","value":60},"currency":"EUR","channels":["web"],"start":"2026-11-27T00:00Z","end":"2026-11-28T00:00Z","skus":["S1","S2"],"ts":"2026-11-27T00:00Z"}`,
	},
}

var scPermUntil = time.Date(2026, 12, 2, 0, 0, 0, 0, time.UTC)

func scPermRules(t testing.TB) *rules.RuleSet {
	t.Helper()
	rs, err := rules.Load([]string{"../examples/rules", "testdata/scenarios/extra.yaml"}, nil)
	if err != nil {
		t.Fatalf("rules: %v", err)
	}
	return rs
}

func scPermEvent(t testing.TB, line string) *event.Event {
	t.Helper()
	if f := strings.Fields(line); f[0] == "tombstone" {
		ts, err := time.Parse(time.RFC3339Nano, scExpand(f[2]))
		if err != nil {
			t.Fatal(err)
		}
		return event.Tombstone(f[1], ts, "perm")
	}
	ev, err := event.Decode([]byte(scExpand(line)), event.DecodeOptions{})
	if err != nil {
		t.Fatalf("decode %s: %v", line, err)
	}
	return ev
}

// scPermFeed feeds the runs (each in the given order) through a Sequencer,
// advances to until, and returns every output as a JSON line.
func scPermFeed(t testing.TB, rs *rules.RuleSet, runs [][]string) []string {
	t.Helper()
	return scPermFeedOpts(t, rs, runs, Options{})
}

// scPermFeedOpts is scPermFeed with engine options (a channel's policy).
func scPermFeedOpts(t testing.TB, rs *rules.RuleSet, runs [][]string, opts Options) []string {
	t.Helper()
	e := New(rs, opts)
	seq := NewSequencer(e)
	var out []event.Output
	for _, run := range runs {
		for _, l := range run {
			out = seq.Push(scPermEvent(t, l), out)
		}
	}
	out = seq.Advance(scPermUntil, out)
	lines := make([]string, len(out))
	for i, o := range out {
		b, err := json.Marshal(o)
		if err != nil {
			t.Fatalf("marshal %s: %v", scLine(o, false), err)
		}
		lines[i] = string(b)
	}
	return lines
}

// scPermutations calls f with every permutation of n indexes (Heap's
// algorithm), or with limit random ones when n! exceeds it.
func scPermutations(n, limit int, f func([]int)) {
	p := make([]int, n)
	for i := range p {
		p[i] = i
	}
	total := 1
	for i := 2; i <= n; i++ {
		total *= i
	}
	if total > limit {
		rng := rand.New(rand.NewPCG(uint64(n), 7))
		for range limit {
			rng.Shuffle(n, func(i, j int) { p[i], p[j] = p[j], p[i] })
			f(p)
		}
		return
	}
	c := make([]int, n)
	f(p)
	for i := 0; i < n; {
		if c[i] < i {
			if i%2 == 0 {
				p[0], p[i] = p[i], p[0]
			} else {
				p[c[i]], p[i] = p[i], p[c[i]]
			}
			f(p)
			c[i]++
			i = 0
		} else {
			c[i] = 0
			i++
		}
	}
}

func TestPermutationsOfEqualTimestamps(t *testing.T) {
	rs := scPermRules(t)
	base := scPermFeed(t, rs, scPermRuns)
	if len(base) < 10 {
		t.Fatalf("the stream gives only %d outputs: too few to show anything", len(base))
	}
	// every order of a run of up to 5 events, 200 random orders of a
	// longer one (each order is a whole replay: ~5 ms, ~50 ms with -race)
	limit := 200
	if testing.Short() {
		limit = 24
	}
	for ri, run := range scPermRuns {
		if len(run) < 2 {
			continue
		}
		tried, failed := 0, 0
		scPermutations(len(run), limit, func(p []int) {
			tried++
			if failed > 0 {
				return
			}
			runs := slices.Clone(scPermRuns)
			perm := make([]string, len(run))
			for i, j := range p {
				perm[i] = run[j]
			}
			runs[ri] = perm
			got := scPermFeed(t, rs, runs)
			if !slices.Equal(got, base) {
				failed++
				t.Errorf("run %d in order %v gives other outputs than in the given order (- given, + permuted):\n%s",
					ri, p, scDiff(base, got))
			}
		})
		t.Logf("run %d: %d events, %d orders tried", ri, len(run), tried)
	}
}

// TestPermutationsHaveTeeth checks that the stream above does depend on
// order when the Sequencer does not put it back in canonical order, so that
// TestPermutationsOfEqualTimestamps can fail.
func TestPermutationsHaveTeeth(t *testing.T) {
	rs := scPermRules(t)
	base := scPermFeed(t, rs, scPermRuns)
	e := New(rs, Options{})
	var out []event.Output
	for _, run := range scPermRuns {
		for i := len(run) - 1; i >= 0; i-- { // reversed, applied as they come
			out = e.Apply(scPermEvent(t, run[i]), out)
		}
	}
	out = e.Advance(scPermUntil, out)
	var got []string
	for _, o := range out {
		b, _ := json.Marshal(o)
		got = append(got, string(b))
	}
	if slices.Equal(got, base) {
		t.Fatal("applying each run in reverse without the Sequencer gives the same outputs: the permutation test cannot see an order dependence")
	}
}

func TestDeterminism(t *testing.T) {
	rs := scPermRules(t)
	a := scPermFeed(t, rs, scPermRuns)
	b := scPermFeed(t, scPermRules(t), scPermRuns)
	if !slices.Equal(a, b) {
		t.Fatalf("the same input twice gives different bytes:\n%s", scDiff(a, b))
	}
	if os.Getenv("SCDUMP") == "perm" {
		for _, l := range a {
			fmt.Println(l)
		}
	}
}

// TestIDs drives the engine timer by timer, so that the watermark of every
// transition is known, and checks that each id is the hash of (kind,
// fingerprint, state, watermark), that equal tuples never meet in one
// stream, and that stepping through the timers one by one gives the same
// outputs as one Advance through the Sequencer.
func TestIDs(t *testing.T) {
	rs := scPermRules(t)
	var evs []*event.Event
	for _, run := range scPermRuns {
		var r []*event.Event
		for _, l := range run {
			r = append(r, scPermEvent(t, l))
		}
		slices.SortStableFunc(r, canonicalEventCmp)
		evs = append(evs, r...)
	}
	e := New(rs, Options{})
	type rec struct {
		o  event.Output
		wm time.Time
	}
	var recs []rec
	step := func(limit time.Time) {
		for {
			nt, ok := e.NextTimer()
			if !ok || nt.After(limit) {
				return
			}
			for _, o := range e.Advance(nt, nil) {
				recs = append(recs, rec{o, e.Watermark()})
			}
		}
	}
	for _, ev := range evs {
		step(ev.TS)
		for _, o := range e.Apply(ev, nil) {
			recs = append(recs, rec{o, e.Watermark()})
		}
	}
	step(scPermUntil)
	for _, o := range e.Advance(scPermUntil, nil) {
		recs = append(recs, rec{o, e.Watermark()})
	}

	var lines []string
	seen := map[string]string{}
	issued := map[string]int{}
	for _, r := range recs {
		b, _ := json.Marshal(r.o)
		lines = append(lines, string(b))
		var id, fp string
		var state event.State
		var wm time.Time
		switch {
		case r.o.Alert != nil:
			id, fp, state, wm = r.o.Alert.ID, r.o.Alert.Fingerprint, r.o.Alert.State, r.o.Alert.Watermark
		case r.o.Correction != nil:
			id, fp, state, wm = r.o.Correction.ID, r.o.Correction.Fingerprint, r.o.Correction.State, r.o.Correction.Watermark
		}
		kind := r.o.Kind()
		if !wm.Equal(r.wm) {
			t.Errorf("%s: watermark %s, but it was emitted at %s", scLine(r.o, false), wm.Format(time.RFC3339Nano), r.wm.Format(time.RFC3339Nano))
		}
		// the n-th repeat of (kind, fingerprint, state) at one watermark
		// hashes n in too
		k := kind + "|" + fp + "|" + string(state) + "|" + instant(r.wm)
		n := issued[k]
		issued[k]++
		want := outputID(kind, fp, state, r.wm)
		if n > 0 {
			want = fingerprintN(16, kind, fp, string(state), instant(r.wm), strconv.Itoa(n))
		}
		if kind != event.KindDeadLetter && id != want {
			t.Errorf("%s: id %s is not the hash of (%s, %s, %s, %s, repeat %d)", scLine(r.o, false), id, kind, fp, state, r.wm.Format(time.RFC3339Nano), n)
		}
		if prev, dup := seen[id]; dup {
			t.Errorf("id %s of %s already used by %s", id, scLine(r.o, false), prev)
		}
		seen[id] = scLine(r.o, false) + " wm=" + r.wm.Format(time.RFC3339)
	}
	want := scPermFeed(t, rs, scPermRuns)
	if !slices.Equal(lines, want) {
		t.Errorf("stepping timer by timer differs from one Advance (- Sequencer, + stepped):\n%s", scDiff(want, lines))
	}
}

// scPolicyRuns is scPermRuns with a run of promotions that the policies
// tell apart: a stop, combines_with both ways and one way, a fixed price.
var scPolicyRuns = append(slices.Clone(scPermRuns), []string{ // 2026-11-27T06:00Z, after the runs above
	`{"type":"promo","id":"PC1","partner":"acme","partner_role":"manufacturer","discount":{"kind":"percent","value":10},"combines_with":["marketplace"],"start":"2026-11-27T12:00Z","end":"2026-11-29T00:00Z","skus":["S1"],"priority":20,"ts":"2026-11-27T06:00Z"}`,
	`{"type":"promo","id":"PC2","partner":"amz","partner_role":"marketplace","discount":{"kind":"amount","value":8},"currency":"EUR","combines_with":["manufacturer"],"start":"2026-11-27T12:00Z","end":"2026-11-29T00:00Z","skus":["S1"],"priority":20,"ts":"2026-11-27T06:00Z"}`,
	`{"type":"promo","id":"PC3","partner":"shop","discount":{"kind":"percent","value":12},"stacking":"stop","combines_with":["*"],"start":"2026-11-27T12:00Z","end":"2026-11-30T00:00Z","skus":["S1","S2"],"priority":30,"ts":"2026-11-27T06:00Z"}`,
	`{"type":"price","sku":"S1","channel":"amazon","price":98,"cost":70,"currency":"EUR","category":"audio","brand":"acme","ts":"2026-11-27T06:00Z"}`,
	`{"type":"stock","sku":"S1","warehouse":"w2","on_hand":4,"ts":"2026-11-27T06:00Z"}`,
})

// TestPermutationsUnderEveryPolicy: the order of equal timestamps never
// changes an output under any stacking policy, web and amazon priced by
// different ones.
func TestPermutationsUnderEveryPolicy(t *testing.T) {
	rs := scPermRules(t)
	pols := []rules.Policy{rules.PolicyCompound, rules.PolicyBestDeal, rules.PolicySequentialStop, rules.PolicyAdditive, rules.PolicyCombinable}
	// every order of the run of promotions the policies tell apart (5
	// events, 120 orders); samples of the runs that
	// TestPermutationsOfEqualTimestamps already walks under compound
	policyRun, limit, other := len(scPolicyRuns)-1, 120, 24
	if testing.Short() {
		limit, other = 24, 8
	}
	compound := scPermFeed(t, rs, scPolicyRuns)
	for i, pol := range pols {
		opts := Options{Channels: rules.Channels{"web": pol, "amazon": pols[(i+1)%len(pols)]}}
		base := scPermFeedOpts(t, rs, scPolicyRuns, opts)
		// teeth: every policy but compound's prices something otherwise
		if differs := !slices.Equal(base, compound); differs != (i > 0 || pols[1] != rules.PolicyCompound) {
			t.Errorf("web %v, amazon %v: outputs differ from all-compound: %v", pol, pols[(i+1)%len(pols)], differs)
		}
		for ri, run := range scPolicyRuns {
			if len(run) < 2 {
				continue
			}
			failed, tried, lim := false, 0, other
			if ri == policyRun {
				lim = limit
			}
			scPermutations(len(run), lim, func(p []int) {
				tried++
				if failed {
					return
				}
				runs := slices.Clone(scPolicyRuns)
				perm := make([]string, len(run))
				for i, j := range p {
					perm[i] = run[j]
				}
				runs[ri] = perm
				if got := scPermFeedOpts(t, rs, runs, opts); !slices.Equal(got, base) {
					failed = true
					t.Errorf("%v: run %d in order %v gives other outputs (- given, + permuted):\n%s", pol, ri, p, scDiff(base, got))
				}
			})
			if ri == policyRun && !testing.Short() && tried != 120 {
				t.Errorf("%v: the policy run was tried in %d orders, not all 120", pol, tried)
			}
		}
	}
}
