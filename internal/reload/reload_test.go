package reload

import (
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/rs/zerolog"

	"github.com/promoguard/promoguard/rules"
)

type target struct{ rs *rules.RuleSet }

func (t *target) Rules() *rules.RuleSet    { return t.rs }
func (t *target) Reload(rs *rules.RuleSet) { t.rs = rs }

// TestReload: an unchanged rule set is not handed over, a changed one is,
// and one that does not load leaves the previous running.
func TestReload(t *testing.T) {
	f := filepath.Join(t.TempDir(), "r.yaml")
	write := func(cond string) {
		if err := os.WriteFile(f, []byte("group: g\nrules:\n  - name: r\n    if: "+cond+"\n"), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	write("price < 1")
	rs, err := rules.Load([]string{f}, nil)
	if err != nil {
		t.Fatal(err)
	}
	tg := &target{rs: rs}
	var oks []bool
	r := &Reloader{Paths: []string{f}, Target: tg, Log: zerolog.Nop(),
		Loaded: func(ok bool, _ time.Time, _ int) { oks = append(oks, ok) }}
	if err := r.Reload("test"); err != nil || tg.rs != rs {
		t.Fatalf("unchanged: %v, handed over %t", err, tg.rs != rs)
	}
	write("price < 2")
	if err := r.Reload("test"); err != nil || tg.rs.Version == rs.Version {
		t.Fatalf("changed: %v, version %s", err, tg.rs.Version)
	}
	running := tg.rs
	write("prize < 2")
	if err := r.Reload("test"); err == nil || tg.rs != running {
		t.Fatalf("bad rules: %v, kept %t", err, tg.rs == running)
	}
	if len(oks) != 3 || !oks[0] || !oks[1] || oks[2] {
		t.Errorf("Loaded heard %v", oks)
	}
}
