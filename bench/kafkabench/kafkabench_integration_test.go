//go:build integration

package kafkabench

import (
	"context"
	"testing"
	"time"

	"github.com/rs/zerolog"

	"github.com/promoguard/promoguard/bench"
	"github.com/promoguard/promoguard/connectors/kafka/kafkatest"
	"github.com/promoguard/promoguard/rules"
)

// A small run of every phase on the test broker: the harness works and
// its figures are consistent (the numbers themselves are for BENCHMARKS.md).
func TestIntegrationKafkaBench(t *testing.T) {
	rs, err := rules.Load([]string{"../../examples/rules"}, nil)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	rep, err := Bench(ctx, Options{
		Brokers: kafkatest.Addrs(kafkatest.Brokers(t)), Rules: rs,
		Gen:        bench.Config{SKUs: 200, Events: 4000, Seed: 1},
		Partitions: 3, Rate: 2000, Duration: 2 * time.Second,
		Log: zerolog.Nop(), Progress: func(p string) { t.Log(time.Now().Format("15:04:05.000"), p) },
	})
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("%+v", *rep)
	for name, r := range map[string]Run{"pass-through": rep.PassThrough, "saturation": rep.Saturation, "fixed rate": rep.FixedRate} {
		if r.Events == 0 || r.EventsPerSec <= 0 || r.Outputs == 0 {
			t.Errorf("%s: %+v", name, r)
		}
	}
	if rep.FixedRate.LatencyMs == nil || rep.FixedRate.LatencyMs.Samples == 0 {
		t.Errorf("no latency samples: %+v", rep.FixedRate)
	}
	if rep.Recovery.Entries == 0 || rep.Recovery.Seconds <= 0 {
		t.Errorf("recovery: %+v", rep.Recovery)
	}
}
