package main

import (
	"bytes"
	"regexp"
	"testing"

	"github.com/promoguard/promoguard/event"

	"github.com/promoguard/promoguard/bench"
	"github.com/promoguard/promoguard/engine"
	"github.com/promoguard/promoguard/rules"
)

func replay(t *testing.T, rs *rules.RuleSet, in *bench.Input, ev engine.Evaluator) []byte {
	t.Helper()
	d := engine.NewDriver(engine.New(rs, engine.Options{Evaluator: ev}), engine.DriverOptions{})
	var out []event.Output
	var buf bytes.Buffer
	emit := func() {
		for _, o := range out {
			if o.DeadLetter != nil {
				t.Fatalf("generated event refused: %s", o.DeadLetter.Error)
			}
			b, err := o.MarshalJSON()
			if err != nil {
				t.Fatal(err)
			}
			buf.Write(b)
			buf.WriteByte('\n')
		}
		out = out[:0]
	}
	for _, line := range in.Lines {
		out = d.Step(engine.Record{Value: line}, out)
		emit()
	}
	out = d.Finish(out)
	emit()
	// the parity rule's message lists keys() of a map, in Go's random order
	return regexp.MustCompile(`deeper than on [^"]*"`).ReplaceAll(buf.Bytes(), []byte("X"))
}

// TestPeersMatchExpr checks that the CEL and Rego translations are the same
// rules: the same events through the engine give the same records as expr.
func TestPeersMatchExpr(t *testing.T) {
	rs, err := rules.Load([]string{"../../examples/rules"}, nil)
	if err != nil {
		t.Fatal(err)
	}
	in, err := bench.Generate(bench.Config{SKUs: 120, Events: 2500, Shape: bench.Burst, Seed: 5, PromoShare: 0.02, Rate: 2}, nil)
	if err != nil {
		t.Fatal(err)
	}
	want := replay(t, rs, in, nil)
	if n := bytes.Count(want, []byte("\n")); n < 100 {
		t.Fatalf("only %d records: the stream exercises too little", n)
	}
	c, cov, err := NewCEL(rs)
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("cel: not translated %v", cov.Untranslated)
	g, gcov, err := NewRego(rs)
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("rego: not translated %v", gcov.Untranslated)
	for name, ev := range map[string]engine.Evaluator{"cel": c, "rego": g} {
		got := replay(t, rs, in, ev)
		if !bytes.Equal(want, got) {
			w, g := bytes.Split(want, []byte("\n")), bytes.Split(got, []byte("\n"))
			for i := range min(len(w), len(g)) {
				if !bytes.Equal(w[i], g[i]) {
					t.Fatalf("%s: record %d differs:\nexpr %s\n%s %s", name, i, w[i], name, g[i])
				}
			}
			t.Fatalf("%s: expr wrote %d records, %s %d", name, len(w), name, len(g))
		}
	}
}
