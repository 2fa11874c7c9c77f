package engine

// Hand-computed stacking under each policy (DESIGN §3, README "Stacking
// policies"): the same active promotions, priced by each channel's policy.

import (
	"math"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/promoguard/promoguard/event"
	"github.com/promoguard/promoguard/rules"
)

// pp is a promotion for the policy tables: id, priority, kind, value, then
// options "exclusive", "stop", "cur=GBP", "with=a|b" (combines_with),
// "partner=x", "role=manufacturer".
func pp(id string, prio int, kind string, value float64, opts ...string) *promoState {
	start := time.Date(2026, 11, 27, 0, 0, 0, 0, time.UTC)
	ev := &event.Promo{ID: id, Partner: "p-" + id, Kind: kind, Value: value, Priority: prio,
		Start: start, End: start.Add(96 * time.Hour), Stacking: event.StackStackable, AllSKUs: true,
		ExpectedUplift: math.NaN()}
	if kind != event.KindPercent {
		ev.Currency = "EUR"
	}
	for _, o := range opts {
		k, v, _ := strings.Cut(o, "=")
		switch k {
		case "exclusive":
			ev.Stacking = event.StackExclusive
		case "stop":
			ev.Stacking = event.StackStop
		case "cur":
			ev.Currency = v
		case "with":
			ev.CombinesWith = strings.Split(v, "|")
		case "partner":
			ev.Partner = v
		case "role":
			ev.PartnerRole = v
		}
	}
	return &promoState{ev: ev, fact: newPromoFact(ev)}
}

func canonical(ps ...*promoState) []*promoState {
	ps = slices.Clone(ps)
	slices.SortFunc(ps, canonicalCmp)
	return ps
}

func ids(ps []*rules.Promo) string {
	var out []string
	for _, p := range ps {
		out = append(out, p.ID)
	}
	return strings.Join(out, ",")
}

var (
	compound   = rules.PolicyCompound
	bestDeal   = rules.PolicyBestDeal
	seqStop    = rules.PolicySequentialStop
	additive   = rules.PolicyAdditive
	combinable = rules.PolicyCombinable
	allPol     = []rules.Policy{compound, bestDeal, seqStop, additive, combinable}
)

func TestStackPolicies(t *testing.T) {
	// mixed: 20 %, 10 %, 10 EUR off, in canonical order
	mixed := canonical(pp("P1", 3, "percent", 20), pp("P2", 3, "percent", 10), pp("A1", 2, "amount", 10))
	// the same, P1 and A1 combining with each other (by partner and by *)
	mixedWith := canonical(pp("P1", 3, "percent", 20, "with=*"), pp("P2", 3, "percent", 10),
		pp("A1", 2, "amount", 10, "with=p-P1"))
	// a fixed price ahead of a percentage
	fixed := canonical(pp("F1", 1, "fixed_price", 75), pp("P1", 0, "percent", 20))
	// an exclusive between a stackable before it and one after it
	excl := canonical(pp("S1", 5, "percent", 10), pp("X1", 3, "amount", 30, "exclusive"), pp("T1", 1, "percent", 50))
	// a stop ahead of a deeper promotion
	stop := canonical(pp("S1", 5, "percent", 10, "stop"), pp("T1", 1, "percent", 20))
	// ties: A and B both give 90 alone; with each other 81
	ties := canonical(pp("B", 0, "percent", 10), pp("A", 0, "amount", 10))
	tiesWith := canonical(pp("B", 0, "percent", 10, "with=*"), pp("A", 0, "amount", 10, "with=*"))
	// equal fixed prices: every set gives 50
	tiesFixed := canonical(pp("A", 0, "fixed_price", 50, "with=*"), pp("B", 0, "fixed_price", 50, "with=*"))
	// an exclusive in another currency, and a percentage
	mismatch := canonical(pp("M1", 9, "amount", 20, "cur=GBP", "exclusive", "with=*"), pp("P1", 0, "percent", 10, "with=*"))
	// percentages beyond 100 % in all
	deep := canonical(pp("P1", 1, "percent", 60), pp("P2", 0, "percent", 50))
	// combines_with by partner role: the manufacturer's and the marketplace's
	roles := canonical(pp("M", 2, "percent", 10, "role=manufacturer", "with=marketplace"),
		pp("K", 1, "amount", 5, "role=marketplace", "with=manufacturer"),
		pp("D", 0, "percent", 12, "role=distributor", "with=*"))

	cases := []struct {
		name    string
		price   float64
		active  []*promoState
		pol     rules.Policy
		eff     float64
		applied string
		blocked string
	}{
		{"mixed compound: 100×0.8×0.9−10", 100, mixed, compound, 62, "P1,P2,A1", ""},
		{"mixed sequential_stop: no stop, as compound", 100, mixed, seqStop, 62, "P1,P2,A1", ""},
		{"mixed additive: 100×(1−0.3)−10", 100, mixed, additive, 60, "P1,P2,A1", ""},
		{"mixed best_deal: 20 % alone is lowest", 100, mixed, bestDeal, 80, "P1", "P2,A1"},
		{"mixed combinable without combines_with: singletons only", 100, mixed, combinable, 80, "P1", "P2,A1"},
		{"mixed combinable: P1+A1 both ways, 100×0.8−10", 100, mixedWith, combinable, 70, "P1,A1", "P2"},

		{"fixed compound: 75 then 20 %", 100, fixed, compound, 60, "F1,P1", ""},
		{"fixed sequential_stop", 100, fixed, seqStop, 60, "F1,P1", ""},
		{"fixed additive: 20 % then the fixed price sets 75", 100, fixed, additive, 75, "F1,P1", ""},
		{"fixed best_deal: 75 beats 80", 100, fixed, bestDeal, 75, "F1", "P1"},

		{"exclusive compound: X1 alone", 200, excl, compound, 170, "X1", "S1,T1"},
		{"exclusive sequential_stop: S1, then X1 stops", 200, excl, seqStop, 150, "S1,X1", "T1"},
		{"exclusive additive: X1 alone", 200, excl, additive, 170, "X1", "S1,T1"},
		{"exclusive best_deal: 50 % alone", 200, excl, bestDeal, 100, "T1", "S1,X1"},
		{"exclusive combinable: singletons, T1", 200, excl, combinable, 100, "T1", "S1,X1"},

		{"stop compound", 100, stop, compound, 90, "S1", "T1"},
		{"stop sequential_stop", 100, stop, seqStop, 90, "S1", "T1"},
		{"stop additive", 100, stop, additive, 90, "S1", "T1"},
		{"stop best_deal: the deeper one after the stop", 100, stop, bestDeal, 80, "T1", "S1"},
		{"stop combinable: stop means nothing", 100, stop, combinable, 80, "T1", "S1"},

		{"ties best_deal: first in canonical order (A)", 100, ties, bestDeal, 90, "A", "B"},
		{"ties combinable without partners: first (A)", 100, ties, combinable, 90, "A", "B"},
		{"ties combinable: both, (100−10)×0.9", 100, tiesWith, combinable, 81, "A,B", ""},
		{"ties combinable, equal sets: the one holding the earliest difference", 100, tiesFixed, combinable, 50, "A,B", ""},
		{"ties best_deal, equal fixed prices: A", 100, tiesFixed, bestDeal, 50, "A", "B"},

		{"roles combinable: manufacturer+marketplace, 100×0.9−5", 100, roles, combinable, 85, "M,K", "D"},
		{"roles best_deal: 12 % alone", 100, roles, bestDeal, 88, "D", "M,K"},

		{"additive caps at 100 %", 100, deep, additive, 0, "P1,P2", ""},
		{"compound 60 % then 50 %", 100, deep, compound, 20, "P1,P2", ""},
	}
	for _, mm := range allPol {
		cases = append(cases, struct {
			name    string
			price   float64
			active  []*promoState
			pol     rules.Policy
			eff     float64
			applied string
			blocked string
		}{"currency mismatch never applies: " + mm.String(), 100, mismatch, mm, 90, "P1", ""})
	}
	for _, c := range cases {
		r := stack(c.pol, c.price, "EUR", c.active, false)
		if math.Abs(r.effective-c.eff) > 1e-9 || ids(r.applied) != c.applied || ids(r.blocked) != c.blocked {
			t.Errorf("%s: effective %v applied [%s] blocked [%s], want %v [%s] [%s]",
				c.name, r.effective, ids(r.applied), ids(r.blocked), c.eff, c.applied, c.blocked)
		}
		if r.policy != c.pol {
			t.Errorf("%s: policy %v, want %v", c.name, r.policy, c.pol)
		}
		if strings.HasPrefix(c.name, "currency") && (len(r.mismatch) != 1 || r.mismatch[0].ev.ID != "M1") {
			t.Errorf("%s: mismatch %v, want M1", c.name, r.mismatch)
		}
	}
}

// TestStackPolicyCompoundIsDefault: the zero policy is compound, and a
// channel the Channels map does not name stacks compound.
func TestStackPolicyCompoundIsDefault(t *testing.T) {
	var zero rules.Policy
	if zero != rules.PolicyCompound || zero.String() != "compound" {
		t.Fatalf("zero policy %v", zero)
	}
	e := New(&rules.RuleSet{}, Options{Channels: rules.Channels{"amazon": rules.PolicyBestDeal}})
	if e.policy("web") != compound || e.policy("amazon") != bestDeal {
		t.Fatalf("policies web %v amazon %v", e.policy("web"), e.policy("amazon"))
	}
}

// TestStackCombinableGreedy: beyond maxCombinable usable promotions the
// search is greedy in canonical order.
func TestStackCombinableGreedy(t *testing.T) {
	var ps []*promoState
	for i := range maxCombinable + 2 {
		ps = append(ps, pp(string(rune('a'+i)), 100-i, "percent", 1, "with=*"))
	}
	// the second does not combine with the first: greedy keeps the first
	ps[1] = pp("b", 99, "percent", 50)
	r := stack(combinable, 100, "EUR", canonical(ps...), false)
	want := 100 * math.Pow(0.99, maxCombinable+1)
	if math.Abs(r.effective-want) > 1e-9 || len(r.applied) != maxCombinable+1 || ids(r.blocked) != "b" {
		t.Fatalf("greedy: %v applied %d blocked [%s], want %v, %d, [b]", r.effective, len(r.applied), ids(r.blocked), want, maxCombinable+1)
	}
	// exhaustively, with maxCombinable of them, the 50 % alone wins
	r = stack(combinable, 100, "EUR", canonical(ps[:maxCombinable]...), false)
	if ids(r.applied) != "b" || r.effective != 50 {
		t.Fatalf("exhaustive: %v applied [%s], want 50 [b]", r.effective, ids(r.applied))
	}
}

// TestStackPolicyOrderInvariant: every policy gives the same result for
// every order of the same promotions, once put in canonical order.
func TestStackPolicyOrderInvariant(t *testing.T) {
	ps := []*promoState{pp("A", 1, "percent", 10, "with=*"), pp("B", 1, "amount", 5, "stop", "with=*"),
		pp("C", 2, "fixed_price", 70, "with=B"), pp("D", 0, "percent", 30, "exclusive"), pp("E", 1, "amount", 3, "cur=GBP")}
	for _, pol := range allPol {
		base := stack(pol, 100, "EUR", canonical(ps...), false)
		scPermutations(len(ps), 200, func(p []int) {
			perm := make([]*promoState, len(ps))
			for i, j := range p {
				perm[i] = ps[j]
			}
			r := stack(pol, 100, "EUR", canonical(perm...), false)
			if r.effective != base.effective || ids(r.applied) != ids(base.applied) || ids(r.blocked) != ids(base.blocked) {
				t.Fatalf("%v: order %v gives %v, want %v", pol, p, r.effective, base.effective)
			}
		})
	}
}

// TestExplainStackSaysWhy: the explanation names the policy's reason for
// each promotion.
func TestExplainStackSaysWhy(t *testing.T) {
	excl := canonical(pp("S1", 5, "percent", 10), pp("X1", 3, "amount", 30, "exclusive"), pp("T1", 1, "percent", 50),
		pp("M1", 0, "amount", 5, "cur=GBP"))
	want := map[rules.Policy][]string{
		compound:   {"S1 blocked blocked by exclusive X1", "X1 applied exclusive:", "T1 blocked blocked by exclusive X1", "M1 currency_mismatch"},
		seqStop:    {"S1 applied in canonical order", "X1 applied", "T1 blocked after X1, which stops the chain"},
		bestDeal:   {"S1 blocked not the best deal: T1 gives 100", "T1 applied the best deal"},
		combinable: {"T1 applied in the best allowed combination (T1)", "S1 blocked does not combine both ways with T1"},
		additive:   {"X1 applied exclusive:"},
	}
	for pol, ws := range want {
		r := stack(pol, 200, "EUR", excl, false)
		var got []string
		for _, x := range explainStack(&r, 200) {
			got = append(got, x.ID+" "+x.Outcome+" "+x.Why)
		}
		all := strings.Join(got, "\n")
		for _, w := range ws {
			if !strings.Contains(all, w) {
				t.Errorf("%v: explanation lacks %q:\n%s", pol, w, all)
			}
		}
	}
}

// BenchmarkStack is stacking alone, per policy, on four active promotions
// (two percentages, an amount and a fixed price; the first three combine):
// the policy's own cost, without the rest of an event's path.
func BenchmarkStack(b *testing.B) {
	active := canonical(pp("P1", 3, "percent", 20, "with=*"), pp("P2", 3, "percent", 10, "with=*"),
		pp("A1", 2, "amount", 10, "with=*"), pp("F1", 1, "fixed_price", 75))
	for _, pol := range allPol {
		b.Run("policy="+pol.String(), func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				r := stack(pol, 100, "EUR", active, false)
				if r.effective < 0 {
					b.Fatal(r.effective)
				}
			}
		})
	}
}

// TestExplainNamesPolicy: Explain names the policy that priced the channel
// and what it made of each promotion; the channels fact carries every
// channel's policy and effective price under it.
func TestExplainNamesPolicy(t *testing.T) {
	rs := scPermRules(t)
	e := New(rs, Options{Channels: rules.Channels{"amazon": rules.PolicyBestDeal}})
	seq := NewSequencer(e)
	for _, run := range scPolicyRuns {
		for _, l := range run {
			seq.Push(scPermEvent(t, l), nil)
		}
	}
	seq.Advance(time.Date(2026, 11, 27, 13, 0, 0, 0, time.UTC), nil)
	x, ok := e.Explain("S1", "amazon")
	if !ok || len(x.Segments) == 0 {
		t.Fatalf("no explanation: %+v", x)
	}
	seg := x.Segments[0]
	if seg.Policy != "best_deal" || len(seg.Stacking) != len(seg.Promos) {
		t.Fatalf("policy %q, stacking %+v for promos %v", seg.Policy, seg.Stacking, seg.Promos)
	}
	applied := 0
	for _, p := range seg.Stacking {
		if p.Outcome == "applied" {
			applied++
		}
	}
	if applied > 1 {
		t.Errorf("best_deal applied %d promotions: %+v", applied, seg.Stacking)
	}
	w, _ := e.Explain("S1", "web")
	if w.Segments[0].Policy != "compound" {
		t.Errorf("web policy %q", w.Segments[0].Policy)
	}
	// the channels fact as a rule sees it
	s := e.skus["S1"]
	segs, _, _ := e.segments(s, e.covering(s))
	all := e.contexts(s, segs, e.covering(s))
	sc := segChannels{ctxs: all[0]}
	m := sc.get(e)
	if m["amazon"].Policy != "best_deal" || m["web"].Policy != "compound" {
		t.Errorf("channels fact policies: %+v", m)
	}
	for _, c := range all[0] {
		if m[c.name].EffectivePrice != c.res.effective {
			t.Errorf("%s: channels effective %v, context %v", c.name, m[c.name].EffectivePrice, c.res.effective)
		}
	}
}
