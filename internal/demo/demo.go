package demo

import (
	"context"
	"time"

	"github.com/rs/zerolog"
	kafkago "github.com/segmentio/kafka-go"

	"github.com/promoguard/promoguard/bench"
	"github.com/promoguard/promoguard/connectors/kafka"
)

// Options says where the demo writes.
type Options struct {
	Brokers  []string
	Security kafka.Security
	// Prices, Stock and Promotions are the input topics.
	Prices, Stock, Promotions string
	// Ready says whether the daemon is ready to read (kafka.Daemon.Ready).
	Ready func() (bool, string)
	Log   zerolog.Logger
}

// Produce writes a generated catalog and event stream starting at the
// present, at about 200 events a second, once the daemon is ready; it
// returns when the stream is done or ctx ends.
func Produce(ctx context.Context, o Options) {
	log := o.Log
	for {
		if ok, _ := o.Ready(); ok {
			break
		}
		select {
		case <-ctx.Done():
			return
		case <-time.After(100 * time.Millisecond):
		}
	}
	g, err := bench.NewGenerator(bench.Config{
		SKUs: 200, Events: 6000, Seed: uint64(time.Now().UnixNano()),
		Start: time.Now().UTC().Truncate(time.Second), Rate: 40,
	})
	if err != nil {
		log.Error().Err(err).Msg("demo")
		return
	}
	w, err := kafka.NewWriter(o.Brokers, o.Security, "")
	if err != nil {
		log.Error().Err(err).Msg("demo")
		return
	}
	defer w.Close()
	log.Info().Int("events", g.Len()).Msg("demo: producing a generated catalog and event stream")
	topic := map[bench.Kind]string{bench.KindPrice: o.Prices, bench.KindStock: o.Stock, bench.KindPromo: o.Promotions}
	tick := time.NewTicker(250 * time.Millisecond)
	defer tick.Stop()
	n := 0
	for {
		var msgs []kafkago.Message
		for len(msgs) < 50 {
			ev, ok := g.Next()
			if !ok {
				break
			}
			msgs = append(msgs, kafkago.Message{Topic: topic[ev.Kind], Key: []byte(ev.Key), Value: ev.Line})
		}
		if len(msgs) == 0 {
			log.Info().Int("events", n).Msg("demo: stream done; the daemon keeps running until interrupted")
			return
		}
		if err := w.WriteMessages(ctx, msgs...); err != nil {
			if ctx.Err() == nil {
				log.Error().Err(err).Msg("demo: produce")
			}
			return
		}
		n += len(msgs)
		select {
		case <-ctx.Done():
			return
		case <-tick.C:
		}
	}
}
