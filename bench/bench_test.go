package bench

import "testing"

// BenchmarkGenerate measures the generator: one op is one event, written
// as its JSON line (what `promoguard gen | promoguard produce` can offer).
func BenchmarkGenerate(b *testing.B) {
	// past the catalog: the live stream is what gen writes for long
	g, err := NewGenerator(Config{SKUs: 1000, Events: 1 << 40, Seed: 1})
	if err != nil {
		b.Fatal(err)
	}
	for range 5000 {
		g.Next()
	}
	var n int64
	b.ReportAllocs()
	for b.Loop() {
		ev, ok := g.Next()
		if !ok {
			b.Fatal("stream ended")
		}
		n += int64(len(ev.Line))
	}
	b.SetBytes(n / int64(b.N))
}
