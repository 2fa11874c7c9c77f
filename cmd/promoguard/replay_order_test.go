package main

import (
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/promoguard/promoguard/event"
)

// forRules has a rule that must hold for an hour.
const forRules = `group: slow
rules:
  - name: thin-margin
    if: has_cost && margin < 0.30
    for: 1h
`

func TestReplayUntil(t *testing.T) {
	dir := t.TempDir()
	rulesPath := writeFile(t, dir, "slow.yaml", forRules)
	events := writeFile(t, dir, "e.ndjson", strings.Join([]string{
		`{"type":"price","sku":"SKU-1","channel":"web","price":10,"cost":8,"ts":"2025-11-20T08:00:00Z"}`,
		`{"type":"stock","sku":"SKU-1","warehouse":"berlin","on_hand":5,"ts":"2025-11-20T08:30:00Z"}`,
	}, "\n")+"\n")

	code, out, errOut := runReplay(t, nil, "replay", "--rules", rulesPath, events)
	if code != 0 {
		t.Fatalf("exit %d, stderr:\n%s", code, errOut)
	}
	if n := len(alerts(records(t, out), "thin-margin", event.StateFiring)); n != 0 {
		t.Errorf("without --until the replay stops at the last event, yet %d alerts fired:\n%s", n, out)
	}

	code, out, errOut = runReplay(t, nil, "replay", "--rules", rulesPath, "--until", "2025-11-20T12:00:00Z", events)
	if code != 0 {
		t.Fatalf("exit %d, stderr:\n%s", code, errOut)
	}
	f := alerts(records(t, out), "thin-margin", event.StateFiring)
	if len(f) != 1 || !f[0].At.Equal(time.Date(2025, 11, 20, 9, 0, 0, 0, time.UTC)) {
		t.Errorf("--until: want one firing at 09:00, got:\n%s", out)
	}
	if !regexp.MustCompile(`(?m)^  watermark +2025-11-20T12:00:00Z$`).MatchString(errOut) {
		t.Errorf("the watermark should be at --until:\n%s", errOut)
	}

	// an --until in the past moves nothing, and says so
	code, _, errOut = runReplay(t, nil, "replay", "--rules", rulesPath, "--until", "2025-11-20T08:10:00Z", events)
	if code != 0 || !strings.Contains(errOut, "--until 2025-11-20T08:10:00Z is before the watermark 2025-11-20T08:30:00Z") {
		t.Errorf("exit %d, stderr:\n%s", code, errOut)
	}
}

// genEvents returns a few days of events for a handful of skus, sorted by
// ts, many of them sharing a ts.
func genEvents(seed uint64) []string {
	rng := rand.New(rand.NewPCG(seed, 1))
	base := time.Date(2025, 11, 20, 0, 0, 0, 0, time.UTC)
	skus := []string{"SKU-1", "SKU-2", "SKU-3", "SKU-4"}
	channels := []string{"web", "amazon"}
	type ev struct {
		ts   time.Time
		line string
	}
	var evs []ev
	for i := 0; i < 300; i++ {
		ts := base.Add(time.Duration(rng.IntN(40)) * 3 * time.Hour)
		sku := skus[rng.IntN(len(skus))]
		t := ts.Format(time.RFC3339)
		var line string
		switch rng.IntN(4) {
		case 0:
			start := ts.Add(time.Duration(rng.IntN(72)) * time.Hour)
			line = fmt.Sprintf(`{"type":"promo","id":"P%d","partner":"partner-%d","discount":{"kind":"percent","value":%d},"start":%q,"end":%q,"skus":[%q],"priority":%d,"stacking":%q,"ts":%q}`,
				rng.IntN(6), rng.IntN(3), 5+rng.IntN(60), start.Format(time.RFC3339), start.Add(time.Duration(1+rng.IntN(48))*time.Hour).Format(time.RFC3339),
				sku, rng.IntN(2), []string{"stackable", "exclusive", "stop"}[rng.IntN(3)], t)
		case 1:
			line = fmt.Sprintf(`{"type":"stock","sku":%q,"warehouse":"w%d","on_hand":%d,"ts":%q}`, sku, rng.IntN(2), rng.IntN(100), t)
		default:
			price := 10 + rng.IntN(40)
			line = fmt.Sprintf(`{"type":"price","sku":%q,"channel":%q,"price":%d,"cost":%d,"map_price":%d,"list_price":%d,"currency":"EUR","category":"audio","ts":%q}`,
				sku, channels[rng.IntN(2)], price, 5+rng.IntN(20), 8+rng.IntN(20), price+rng.IntN(10), t)
		}
		evs = append(evs, ev{ts, line})
	}
	slices.SortStableFunc(evs, func(a, b ev) int { return a.ts.Compare(b.ts) })
	lines := make([]string, len(evs))
	for i, e := range evs {
		lines[i] = e.line
	}
	return lines
}

func replayLines(t *testing.T, lines []string, args ...string) string {
	t.Helper()
	path := writeFile(t, t.TempDir(), "e.ndjson", strings.Join(lines, "\n")+"\n")
	code, out, errOut := runReplay(t, nil, append(append([]string{"replay", "-q", "--rules", "../../examples/rules", "--rules", replayRules}, args...), path)...)
	if code != 0 {
		t.Fatalf("exit %d, stderr:\n%s", code, errOut)
	}
	return out
}

func TestReplayDeterministic(t *testing.T) {
	lines := genEvents(1)
	a := replayLines(t, lines, "--until", "2025-12-01T00:00:00Z")
	if len(records(t, a)) < 50 {
		t.Fatalf("the generated events give too few records to test with:\n%s", a)
	}
	if b := replayLines(t, lines, "--until", "2025-12-01T00:00:00Z"); a != b {
		t.Errorf("two runs of the same input differ:\n%s", firstDiff(a, b))
	}
}

func TestReplayPermutedEqualTimestamps(t *testing.T) {
	lines := genEvents(2)
	want := replayLines(t, lines, "--until", "2025-12-01T00:00:00Z")
	tsOf := func(line string) string {
		var v struct{ TS string }
		json.Unmarshal([]byte(line), &v)
		return v.TS
	}
	runs := 0
	for seed := uint64(0); seed < 3; seed++ {
		rng := rand.New(rand.NewPCG(seed, 7))
		perm := slices.Clone(lines)
		for i := 0; i < len(perm); {
			j := i + 1
			for j < len(perm) && tsOf(perm[j]) == tsOf(perm[i]) {
				j++
			}
			if j-i > 1 {
				runs++
			}
			rng.Shuffle(j-i, func(a, b int) { perm[i+a], perm[i+b] = perm[i+b], perm[i+a] })
			i = j
		}
		if slices.Equal(perm, lines) {
			t.Fatal("the shuffle changed nothing")
		}
		if got := replayLines(t, perm, "--until", "2025-12-01T00:00:00Z"); got != want {
			t.Errorf("seed %d: permuted equal-timestamp lines change the output:\n%s", seed, firstDiff(want, got))
		}
	}
	if runs == 0 {
		t.Fatal("no run of equal timestamps to permute")
	}
}

func firstDiff(a, b string) string {
	as, bs := strings.Split(a, "\n"), strings.Split(b, "\n")
	for i := range min(len(as), len(bs)) {
		if as[i] != bs[i] {
			return fmt.Sprintf("line %d:\n- %s\n+ %s", i+1, as[i], bs[i])
		}
	}
	return fmt.Sprintf("%d lines against %d", len(as), len(bs))
}
