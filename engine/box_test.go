package engine

import (
	"reflect"
	"testing"
	"time"

	"github.com/promoguard/promoguard/rules"
)

// boxFacts builds an interface by hand (engine/memo.go): it must be the
// interface Go itself builds — the same dynamic type, the same value — so
// that expr, type switches and reflection see a rules.Facts. If a Go
// release changed the interface layout, this test fails before anything
// else does.
func TestBoxFacts(t *testing.T) {
	f := &rules.Facts{SKU: "tv-55", Channel: "web", Price: 899, Cost: 700, Margin: 0.1,
		At: time.Date(2026, 11, 27, 0, 0, 0, 0, time.UTC), Channels: map[string]rules.ChannelFacts{"web": {Price: 899}}}
	boxed := boxFacts(f)
	var normal any = *f
	if reflect.TypeOf(boxed) != reflect.TypeOf(normal) {
		t.Fatalf("boxed type %v, Go boxes %v", reflect.TypeOf(boxed), reflect.TypeOf(normal))
	}
	got, ok := boxed.(rules.Facts)
	if !ok {
		t.Fatal("the boxed value is not a rules.Facts")
	}
	if !reflect.DeepEqual(got, *f) {
		t.Fatalf("boxed %+v, want %+v", got, *f)
	}
	// the box aliases the buffer: the engine rebuilds the buffer only
	// between contexts, never while an env is in use
	f.SKU = "other"
	if boxed.(rules.Facts).SKU != "other" {
		t.Fatal("the box copied the facts; the memo's reuse assumes it aliases them")
	}
}
