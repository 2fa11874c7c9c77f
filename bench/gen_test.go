package bench

import (
	"bytes"
	"crypto/sha256"
	"testing"

	"github.com/promoguard/promoguard/event"
)

func generate(t *testing.T, cfg Config) []Event {
	t.Helper()
	g, err := NewGenerator(cfg)
	if err != nil {
		t.Fatal(err)
	}
	var out []Event
	for {
		ev, ok := g.Next()
		if !ok {
			break
		}
		ev.Line = bytes.Clone(ev.Line)
		out = append(out, ev)
	}
	return out
}

// TestGeneratedEventsDecode checks that every event of every shape is
// accepted by event.Decode, with the type and key the generator says, and
// that time never goes back.
func TestGeneratedEventsDecode(t *testing.T) {
	for _, shape := range []Shape{Steady, Ramp, Burst} {
		t.Run(string(shape), func(t *testing.T) {
			cfg := Config{SKUs: 500, Events: 6000, Channels: 4, Shape: shape, Seed: 7, PromoShare: 0.02}
			evs := generate(t, cfg)
			if len(evs) != cfg.Events {
				t.Fatalf("got %d events, want %d", len(evs), cfg.Events)
			}
			kinds := map[event.Type]int{}
			var last event.Event
			for i, ev := range evs {
				d, err := event.Decode(ev.Line, event.DecodeOptions{})
				if err != nil {
					t.Fatalf("event %d does not decode: %v\n%s", i, err, ev.Line)
				}
				if d.Type.String() != ev.Kind.String() || d.Key() != ev.Key {
					t.Fatalf("event %d: decoded %s %s, generator says %s %s", i, d.Type, d.Key(), ev.Kind, ev.Key)
				}
				if d.TS.Before(last.TS) {
					t.Fatalf("event %d: ts %s before %s", i, d.TS, last.TS)
				}
				last = *d
				kinds[d.Type]++
			}
			if kinds[event.TypePrice] == 0 || kinds[event.TypeStock] == 0 || kinds[event.TypePromo] == 0 {
				t.Errorf("a type is missing: %v", kinds)
			}
		})
	}
}

func TestGeneratorDeterministic(t *testing.T) {
	sum := func(seed uint64) [32]byte {
		h := sha256.New()
		for _, ev := range generate(t, Config{SKUs: 300, Events: 3000, Shape: Burst, Seed: seed}) {
			h.Write(ev.Line)
			h.Write([]byte{'\n'})
		}
		return [32]byte(h.Sum(nil))
	}
	if a, b := sum(1), sum(1); a != b {
		t.Error("the same seed wrote different streams")
	}
	if a, b := sum(1), sum(2); a == b {
		t.Error("different seeds wrote the same stream")
	}
}

// TestBurstFlashSale checks the burst's flash sale: FlashShare of the
// catalog re-priced on every channel within a minute of event time.
func TestBurstFlashSale(t *testing.T) {
	cfg := Config{SKUs: 1000, Events: 20000, Channels: 3, Shape: Burst, Seed: 3}
	g, err := NewGenerator(cfg)
	if err != nil {
		t.Fatal(err)
	}
	for {
		if _, ok := g.Next(); !ok {
			break
		}
	}
	if got, want := g.Stats().Flash, int64(0.2*1000*3); got != want {
		t.Errorf("flash sale re-priced %d sku-channels, want %d", got, want)
	}
}

func TestConfigValidate(t *testing.T) {
	for _, c := range []Config{{}, {SKUs: 10, Events: -1}, {SKUs: 10, Shape: "spiky"}, {SKUs: 10, Overlap: 2}} {
		if _, err := NewGenerator(c); err == nil {
			t.Errorf("%+v: no error", c)
		}
	}
}
