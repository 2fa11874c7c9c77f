package bench

import (
	"bytes"
	"regexp"
	"testing"

	"github.com/promoguard/promoguard/event"

	"github.com/promoguard/promoguard/engine"
	"github.com/promoguard/promoguard/rules"
)

// replayAll runs events through one engine and returns the encoded outputs.
func replayAll(t *testing.T, rs *rules.RuleSet, evs []Event, opts engine.Options) []byte {
	t.Helper()
	seq := engine.NewSequencer(engine.New(rs, opts))
	var out []event.Output
	var buf bytes.Buffer
	emit := func() {
		for _, o := range out {
			b, err := o.MarshalJSON()
			if err != nil {
				t.Fatal(err)
			}
			buf.Write(b)
			buf.WriteByte('\n')
		}
		out = out[:0]
	}
	for _, ev := range evs {
		d, err := event.Decode(ev.Line, event.DecodeOptions{})
		if err != nil {
			t.Fatal(err)
		}
		out = seq.Push(d, out)
		emit()
	}
	out = seq.Finish(out)
	emit()
	return buf.Bytes()
}

// keysOrder hides the order of a list built from keys() of a map, which
// Go randomizes (the parity rule's message).
var keysOrder = regexp.MustCompile(`deeper than on [^"]*"`)

// TestNativeMatchesExpr checks the hand-written rules against expr: the
// same events through the engine give the same records, byte for byte.
func TestNativeMatchesExpr(t *testing.T) {
	rs, err := rules.Load([]string{"../examples/rules"}, nil)
	if err != nil {
		t.Fatal(err)
	}
	native, cov := NewNative(rs)
	if len(cov.Translated) == 0 {
		t.Fatal("no rule of examples/rules is translated")
	}
	t.Logf("translated %d rules; not translated: %v", len(cov.Translated), cov.Untranslated)
	evs := generate(t, Config{SKUs: 400, Events: 12000, Shape: Burst, Seed: 5, PromoShare: 0.01, Rate: 2})
	want := replayAll(t, rs, evs, engine.Options{})
	got := replayAll(t, rs, evs, engine.Options{Evaluator: native})
	want, got = keysOrder.ReplaceAll(want, []byte("X")), keysOrder.ReplaceAll(got, []byte("X"))
	if !bytes.Equal(want, got) {
		w, g := bytes.Split(want, []byte("\n")), bytes.Split(got, []byte("\n"))
		for i := range min(len(w), len(g)) {
			if !bytes.Equal(w[i], g[i]) {
				t.Fatalf("record %d differs:\nexpr   %s\nnative %s", i, w[i], g[i])
			}
		}
		t.Fatalf("expr wrote %d records, native %d", len(w), len(g))
	}
	if bytes.Count(want, []byte("\n")) < 100 {
		t.Errorf("only %d records: the stream exercises too little", bytes.Count(want, []byte("\n")))
	}
}
