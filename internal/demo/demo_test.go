package demo

import (
	"context"
	"sync"
	"testing"
	"time"

	"github.com/rs/zerolog"
	kafkago "github.com/segmentio/kafka-go"

	"github.com/promoguard/promoguard/connectors/embedded"
	"github.com/promoguard/promoguard/connectors/kafka/kafkatest"
	"github.com/promoguard/promoguard/event"
)

// TestProduce runs the demo against the embedded broker, as `make run`
// does: it waits for the daemon to be ready, then writes valid events, each
// to its type's topic, keyed as the daemon expects (a price and a stock by
// sku, a promotion by id), on the partition murmur2 gives the key.
func TestProduce(t *testing.T) {
	b, err := StartBroker(embedded.Options{Addr: "127.0.0.1:0", Partitions: 3}, "demo.prices", "demo.alerts", zerolog.Nop())
	if err != nil {
		t.Fatal(err)
	}
	defer b.Close()
	// the daemon creates its topics before it is ready
	kafkatest.CreateTopics(t, b.Addr(), kafkatest.TopicSpec{Name: "demo.prices", Partitions: 3},
		kafkatest.TopicSpec{Name: "demo.stock", Partitions: 3}, kafkatest.TopicSpec{Name: "demo.promotions", Partitions: 3})
	ctx, cancel := context.WithCancel(context.Background())
	var mu sync.Mutex
	asked := 0
	ready := func() (bool, string) {
		mu.Lock()
		defer mu.Unlock()
		asked++
		return asked > 2, "not yet" // ready on the third question
	}
	done := make(chan struct{})
	go func() {
		defer close(done)
		Produce(ctx, Options{Brokers: []string{b.Addr()}, Prices: "demo.prices", Stock: "demo.stock",
			Promotions: "demo.promotions", Ready: ready, Log: zerolog.Nop()})
	}()
	// the stream starts with the promotion calendar, then prices and stock
	promos := kafkatest.Consume(t, b.Addr(), "demo.promotions", 5, 30*time.Second)
	prices := kafkatest.Consume(t, b.Addr(), "demo.prices", 20, 30*time.Second)
	stock := kafkatest.Consume(t, b.Addr(), "demo.stock", 5, 30*time.Second)
	cancel()
	select {
	case <-done:
	case <-time.After(10 * time.Second):
		t.Fatal("Produce did not return after its context ended")
	}
	if asked < 3 {
		t.Errorf("Produce asked Ready %d times: it must wait until the daemon is ready", asked)
	}
	for topic, c := range map[string]struct {
		msgs []kafkago.Message
		typ  event.Type
	}{"demo.promotions": {promos, event.TypePromo}, "demo.prices": {prices, event.TypePrice}, "demo.stock": {stock, event.TypeStock}} {
		if len(c.msgs) < 5 {
			t.Errorf("%s: %d records, want at least 5", topic, len(c.msgs))
		}
		for _, m := range c.msgs {
			ev, err := event.Decode(m.Value, event.DecodeOptions{})
			if err != nil {
				t.Fatalf("%s/%d@%d: %v\n%s", topic, m.Partition, m.Offset, err, m.Value)
			}
			if ev.Type != c.typ || string(m.Key) != ev.Key() {
				t.Errorf("%s/%d@%d: a %s event keyed %q (its key is %q)", topic, m.Partition, m.Offset, ev.Type, m.Key, ev.Key())
			}
			if want := kafkatest.PartitionOf(m.Key, 3); m.Partition != want {
				t.Errorf("%s: key %q on partition %d, murmur2 gives %d", topic, m.Key, m.Partition, want)
			}
		}
	}
}
