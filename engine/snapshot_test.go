package engine

import (
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/promoguard/promoguard/event"

	"github.com/promoguard/promoguard/rules"
)

// changelog is a compacted topic as the restorer sees it: the latest value
// of each key. puts counts the entries written, to show Changes writes only
// what changed.
type changelog struct {
	m    map[string][]byte
	puts int
}

func (c *changelog) put(k string, v []byte) error {
	c.puts++
	if v == nil {
		delete(c.m, k)
		return nil
	}
	c.m[k] = append([]byte(nil), v...)
	return nil
}

func (c *changelog) restore(t testing.TB, rs *rules.RuleSet, opts Options) (*Engine, json.RawMessage, []event.Output) {
	t.Helper()
	r := NewRestorer()
	for k, v := range c.m {
		if err := r.Add(k, v); err != nil {
			t.Fatal(err)
		}
	}
	e, meta, out, err := r.Engine(rs, opts, nil)
	if err != nil {
		t.Fatal(err)
	}
	return e, meta, out
}

func decodeAll(t testing.TB, lines []string) []*event.Event {
	t.Helper()
	evs := make([]*event.Event, 0, len(lines))
	for _, l := range lines {
		if f := strings.Fields(l); f[0] == "tombstone" {
			evs = append(evs, scPermEvent(t, l))
			continue
		}
		ev, err := event.Decode([]byte(scExpand(l)), event.DecodeOptions{})
		if err != nil {
			t.Fatalf("%s: %v", l, err)
		}
		evs = append(evs, ev)
	}
	return evs
}

// runCheckpointed feeds evs as the daemon does: in batches, each ending
// with a flush of the sequencer and the changes written to the changelog.
// At each cut (an index where the ts changes) the engine is thrown away and
// restored from the changelog. It returns every output.
func runCheckpointed(t testing.TB, rs *rules.RuleSet, opts Options, evs []*event.Event, until time.Time, cuts map[int]bool, batch int) []event.Output {
	t.Helper()
	cl := &changelog{m: map[string][]byte{}}
	e := New(rs, opts)
	e.TrackChanges()
	seq := NewSequencer(e)
	var outs []event.Output
	checkpoint := func(i int) {
		outs = seq.Flush(outs)
		meta := json.RawMessage(fmt.Sprintf(`{"next":%d}`, i))
		if err := e.Changes(meta, cl.put); err != nil {
			t.Fatal(err)
		}
	}
	for i, ev := range evs {
		atBoundary := i > 0 && !ev.TS.Equal(evs[i-1].TS)
		if atBoundary && (cuts[i] || i%batch == 0) {
			checkpoint(i)
		}
		if atBoundary && cuts[i] {
			var meta json.RawMessage
			var out []event.Output
			e, meta, out = cl.restore(t, rs, opts)
			if len(out) != 0 {
				t.Fatalf("restore with the same rules emitted %d records", len(out))
			}
			if string(meta) != fmt.Sprintf(`{"next":%d}`, i) {
				t.Fatalf("meta %s at %d", meta, i)
			}
			seq = NewSequencer(e)
		}
		outs = seq.Push(ev, outs)
	}
	outs = seq.Finish(outs)
	return seq.Advance(until, outs)
}

func TestSnapshotResume(t *testing.T) {
	type tc struct {
		name  string
		rs    *rules.RuleSet
		opts  Options
		evs   []*event.Event
		until time.Time
	}
	var cases []tc
	var perm []string
	for _, run := range scPermRuns {
		perm = append(perm, run...)
	}
	cases = append(cases, tc{"example-pack", scPermRules(t), Options{}, decodeAll(t, perm), scPermUntil})
	// combines_with must survive a restore for combinable to price alike
	var pol []string
	for _, run := range scPolicyRuns {
		pol = append(pol, run...)
	}
	cases = append(cases, tc{"policies", scPermRules(t), Options{Channels: rules.Channels{"web": rules.PolicyCombinable, "amazon": rules.PolicyBestDeal}},
		decodeAll(t, pol), scPermUntil})
	fuzzRules := scLoad(t, "f.yaml", rvFuzzRules)
	for seed := range 5 {
		rng := rand.New(rand.NewPCG(uint64(seed), 7))
		opts := Options{}
		if seed%3 == 1 {
			opts.AllowedLateness = 20 * time.Minute
		}
		cases = append(cases, tc{fmt.Sprint("random", seed), fuzzRules, opts, decodeAll(t, rvGenEvents(rng, 60)),
			time.Date(2026, 1, 20, 0, 0, 0, 0, time.UTC)})
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			want := rvJSON(runCheckpointed(t, c.rs, c.opts, c.evs, c.until, nil, 1<<30))
			var bounds []int
			for i := 1; i < len(c.evs); i++ {
				if !c.evs[i].TS.Equal(c.evs[i-1].TS) {
					bounds = append(bounds, i)
				}
			}
			// a restart at a dozen boundaries, one at a time, then at
			// every boundary
			step := max(1, len(bounds)/12)
			for i := 0; i < len(bounds); i += step {
				b := bounds[i]
				got := rvJSON(runCheckpointed(t, c.rs, c.opts, c.evs, c.until, map[int]bool{b: true}, 3))
				if got != want {
					t.Fatalf("restart before event %d changed the output:\n%s", b, firstDiff(want, got))
				}
			}
			all := map[int]bool{}
			for _, b := range bounds {
				all[b] = true
			}
			if got := rvJSON(runCheckpointed(t, c.rs, c.opts, c.evs, c.until, all, 1)); got != want {
				t.Fatalf("a restart at every boundary changed the output:\n%s", firstDiff(want, got))
			}
		})
	}
}

// Changes writes only the keys that changed, and a restorer given a
// changelog written by other rules resolves the alerts of removed rules.
func TestSnapshotChangesAndRules(t *testing.T) {
	rs := scPermRules(t)
	e := New(rs, Options{})
	cl := &changelog{m: map[string][]byte{}}
	seq := NewSequencer(e)
	var outs []event.Output
	for _, run := range scPermRuns[:1] {
		for _, l := range run {
			outs = seq.Push(scPermEvent(t, l), outs)
		}
	}
	outs = seq.Flush(outs)
	if err := e.Changes(nil, cl.put); err != nil {
		t.Fatal(err)
	}
	full := cl.puts
	if err := e.Changes(nil, cl.put); err != nil {
		t.Fatal(err)
	}
	if cl.puts != full+1 {
		t.Errorf("Changes with nothing changed wrote %d entries, want only the checkpoint", cl.puts-full)
	}
	outs = seq.Push(scPermEvent(t, scPermRuns[1][0]), outs)
	_ = seq.Flush(outs)
	before := cl.puts
	if err := e.Changes(nil, cl.put); err != nil {
		t.Fatal(err)
	}
	if n := cl.puts - before; n != 2 {
		t.Errorf("one sku changed: wrote %d entries, want 2 (the sku and the checkpoint)", n)
	}
	firing := 0
	for _, o := range outs {
		if o.Alert != nil && o.Alert.State == event.StateFiring && o.Alert.Group != rules.ReservedGroup {
			firing++
		}
	}
	if firing == 0 {
		t.Fatal("the scenario fires nothing: the test shows nothing")
	}
	// restore with an empty rule set: every firing alert of a user rule
	// resolves rule_removed
	empty := scLoad(t, "other.yaml", "groups:\n  - group: other\n    rules:\n      - name: r\n        if: price < 0\n")
	_, _, out := cl.restore(t, empty, Options{})
	resolved := 0
	for _, o := range out {
		if o.Correction != nil && o.Correction.State == event.StateWithdrawn {
			continue
		}
		if o.Alert == nil || o.Alert.State != event.StateResolved {
			t.Fatalf("unexpected record %s", scJSON(t, o))
		}
		if o.Alert.Reason == event.ReasonRuleRemoved {
			resolved++
		}
	}
	if resolved == 0 {
		t.Error("restoring under an empty rule set resolved nothing")
	}
}

func TestRestorerErrors(t *testing.T) {
	rs := scPermRules(t)
	for name, entries := range map[string]map[string]string{
		"no checkpoint":  {"sku|A": `{"id":"A"}`},
		"bad version":    {"checkpoint": `{"v":99,"wm":0}`},
		"bad json":       {"checkpoint": `{"v":1,"wm":0}`, "sku|A": `{`},
		"bad checkpoint": {"checkpoint": `[`},
	} {
		r := NewRestorer()
		for k, v := range entries {
			if err := r.Add(k, []byte(v)); err != nil {
				t.Fatal(err)
			}
		}
		if _, _, _, err := r.Engine(rs, Options{}, nil); err == nil {
			t.Errorf("%s: no error", name)
		}
	}
	if err := NewRestorer().Add("what", []byte("x")); err == nil {
		t.Error("unknown key accepted")
	}
}

// firstDiff shows where two outputs part, with a line of context.
func firstDiff(want, got string) string {
	w, g := strings.Split(want, "\n"), strings.Split(got, "\n")
	for i := 0; i < len(w) || i < len(g); i++ {
		var a, b string
		if i < len(w) {
			a = w[i]
		}
		if i < len(g) {
			b = g[i]
		}
		if a != b {
			prev := ""
			if i > 0 {
				prev = w[i-1]
			}
			return fmt.Sprintf("record %d (of %d want, %d got)\n  after: %s\n  want:  %s\n  got:   %s", i, len(w), len(g), prev, a, b)
		}
	}
	return ""
}

// TestSnapshotCombinesWith: a promotion's combines_with is in its changelog
// entry and restored; an entry without it (every entry written before it
// existed, and every promotion without it now) restores as combining with
// none, and is written as before.
func TestSnapshotCombinesWith(t *testing.T) {
	rs := scPermRules(t)
	e := New(rs, Options{})
	for _, line := range scPolicyRuns[len(scPolicyRuns)-1] {
		e.Apply(scPermEvent(t, line), nil)
	}
	e.TrackChanges()
	cl := &changelog{m: map[string][]byte{}}
	if err := e.Changes(nil, cl.put); err != nil {
		t.Fatal(err)
	}
	if got := string(cl.m["promo|PC1"]); !strings.Contains(got, `"CombinesWith":["marketplace"]`) {
		t.Fatalf("PC1's entry lacks combines_with: %s", got)
	}
	// an entry as written before combines_with: no key at all
	old := strings.Replace(string(cl.m["promo|PC3"]), `"CombinesWith":["*"],`, "", 1)
	if old == string(cl.m["promo|PC3"]) {
		t.Fatalf("PC3's entry: %s", old)
	}
	cl.m["promo|PC3"] = []byte(old)
	r, _, _ := cl.restore(t, rs, Options{})
	if got := r.promos["PC1"].ev.CombinesWith; !slices.Equal(got, []string{"marketplace"}) {
		t.Errorf("restored PC1 combines_with %v", got)
	}
	if got := r.promos["PC3"].ev.CombinesWith; got != nil {
		t.Errorf("restored old PC3 combines_with %v, want none", got)
	}
}
