package engine

import (
	"bytes"
	"reflect"
	"testing"
	"time"

	"github.com/promoguard/promoguard/event"
	"github.com/promoguard/promoguard/rules"
)

// boxFacts builds an interface by hand in the default build
// (engine/facts_unsafe.go), and by copying under -tags promoguard_safe
// (engine/facts_safe.go): either way it must be the interface Go itself
// builds — the same dynamic type, the same value — so that expr, type
// switches and reflection see a rules.Facts. If a Go release changed the
// interface layout, this test fails before anything else does.
func TestBoxFacts(t *testing.T) {
	f := &rules.Facts{SKU: "tv-55", Channel: "web", Price: 899, Cost: 700, Margin: 0.1,
		At: time.Date(2026, 11, 27, 0, 0, 0, 0, time.UTC), Channels: map[string]rules.ChannelFacts{"web": {Price: 899}}}
	for name, box := range map[string]func(*rules.Facts) any{"boxFacts": boxFacts, "boxFactsSafe": boxFactsSafe} {
		boxed := box(f)
		var normal any = *f
		if reflect.TypeOf(boxed) != reflect.TypeOf(normal) {
			t.Fatalf("%s: boxed type %v, Go boxes %v", name, reflect.TypeOf(boxed), reflect.TypeOf(normal))
		}
		got, ok := boxed.(rules.Facts)
		if !ok {
			t.Fatalf("%s: the boxed value is not a rules.Facts", name)
		}
		if !reflect.DeepEqual(got, *f) {
			t.Fatalf("%s: boxed %+v, want %+v", name, got, *f)
		}
	}
}

// TestBoxSafeSameOutputs runs one stream through an engine boxing its facts
// as the build does (unsafe aliasing by default) and through one boxing by
// copying, and wants the same output records, byte for byte. Under -tags
// promoguard_safe (make unit) the whole suite runs with the copying box too.
func TestBoxSafeSameOutputs(t *testing.T) {
	rs, err := rules.Load([]string{"../examples/rules"}, nil)
	if err != nil {
		t.Fatal(err)
	}
	w := newBenchWorld(200, 2000)
	run := func(box func(*rules.Facts) any) ([]byte, int) {
		e := New(rs, Options{})
		e.box = box
		var out []event.Output
		for _, ev := range append(w.setup, w.stream...) {
			out = e.Apply(ev, out)
		}
		out = e.Advance(w.stream[len(w.stream)-1].TS.Add(30*24*time.Hour), out)
		var buf bytes.Buffer
		for i := range out {
			b, err := out[i].MarshalJSON()
			if err != nil {
				t.Fatal(err)
			}
			buf.Write(append(b, '\n'))
		}
		return buf.Bytes(), len(out)
	}
	got, n := run(boxFacts)
	want, _ := run(boxFactsSafe)
	if n == 0 {
		t.Fatal("no outputs: the stream tests nothing")
	}
	if !bytes.Equal(got, want) {
		t.Fatalf("boxFacts and boxFactsSafe give different outputs (%d and %d bytes)", len(got), len(want))
	}
	t.Logf("%d outputs identical", n)
}
