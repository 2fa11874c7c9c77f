package kafkabench

import (
	"context"
	"errors"
	"time"

	"github.com/segmentio/kafka-go"

	pgkafka "github.com/promoguard/promoguard/connectors/kafka"
)

// passThrough is the ceiling of the Kafka path: the same stream, consumed
// in a consumer group partition by partition and produced unchanged to an
// output topic (acks all, murmur2, batched like the daemon's outputs), the
// input committed after each acknowledged batch — promoguard's loop with
// no rules and no state.
func passThrough(ctx context.Context, o Options, msgs []message) (Run, error) {
	sc, err := newScenario(ctx, o, "pass")
	if err != nil {
		return Run{}, err
	}
	if err := produce(ctx, o.Brokers, msgs, sc.topicOf, 0, nil); err != nil {
		return Run{}, err
	}
	out := sc.topics.Alerts
	w, err := pgkafka.NewWriter(o.Brokers, pgkafka.Security{}, out)
	if err != nil {
		return Run{}, err
	}
	defer w.Close()
	w.BatchSize = 2000

	cg, err := kafka.NewConsumerGroup(kafka.ConsumerGroupConfig{
		ID: sc.group, Brokers: o.Brokers,
		Topics:      []string{sc.topics.Prices, sc.topics.Stock, sc.topics.Promotions},
		StartOffset: kafka.FirstOffset, SessionTimeout: 10 * time.Second,
	})
	if err != nil {
		return Run{}, err
	}
	defer cg.Close()
	start := time.Now()
	rd := newReader(ctx, o.Brokers, out)
	defer rd.close()
	gctx, cancel := context.WithCancel(ctx)
	defer cancel()
	go func() {
		for {
			gen, err := cg.Next(gctx)
			if err != nil {
				if gctx.Err() != nil {
					return
				}
				time.Sleep(200 * time.Millisecond) // e.g. no coordinator yet
				continue
			}
			for topic, parts := range gen.Assignments {
				for _, a := range parts {
					gen.Start(func(ctx context.Context) { copyPartition(ctx, gen, o.Brokers, topic, a, w) })
				}
			}
		}
	}()
	err = waitFor(ctx, 30*time.Minute, func() bool { return rd.count() >= len(msgs) })
	secs := time.Since(start).Seconds()
	return Run{Events: len(msgs), Outputs: rd.count(), Seconds: secs, EventsPerSec: float64(len(msgs)) / secs}, err
}

func copyPartition(ctx context.Context, gen *kafka.Generation, brokers []string, topic string, a kafka.PartitionAssignment, w *kafka.Writer) {
	r := kafka.NewReader(kafka.ReaderConfig{Brokers: brokers, Topic: topic, Partition: a.ID, MinBytes: 1, MaxBytes: 8 << 20, MaxWait: 100 * time.Millisecond, QueueCapacity: 1000})
	defer r.Close()
	if err := r.SetOffset(a.Offset); err != nil {
		return
	}
	in := make(chan kafka.Message, 2000)
	go func() {
		defer close(in)
		for {
			m, err := r.FetchMessage(ctx)
			if err != nil {
				return
			}
			in <- m
		}
	}()
	batch := make([]kafka.Message, 0, 2000)
	for {
		m, ok := <-in
		if !ok {
			return
		}
		batch = append(batch[:0], kafka.Message{Key: m.Key, Value: m.Value})
		last := m.Offset
	drain:
		for len(batch) < cap(batch) {
			select {
			case m, ok := <-in:
				if !ok {
					break drain
				}
				batch = append(batch, kafka.Message{Key: m.Key, Value: m.Value})
				last = m.Offset
			default:
				break drain
			}
		}
		for {
			err := w.WriteMessages(ctx, batch...)
			if err == nil {
				break
			}
			if ctx.Err() != nil || errors.Is(err, context.Canceled) {
				return
			}
			time.Sleep(100 * time.Millisecond)
		}
		_ = gen.CommitOffsets(map[string]map[int]int64{topic: {a.ID: last + 1}})
	}
}
