package kafka

import (
	"context"
	"errors"
	"fmt"
	"io"
	"time"

	"github.com/segmentio/kafka-go"

	"github.com/promoguard/promoguard/engine"
	"github.com/promoguard/promoguard/event"
)

// WriteError is a failure to write to Kafka.
type WriteError struct{ Err error }

func (e *WriteError) Error() string { return "write to Kafka: " + e.Err.Error() }
func (e *WriteError) Unwrap() error { return e.Err }

// Producer writes the events of a Source to Kafka, each to the topic of
// its kind, keyed as the daemon expects (KeyOf), in synchronous batches of
// at most WriterBatchSize records, at most Rate a second. A record that is
// not a valid event is reported to Invalid and skipped.
type Producer struct {
	Brokers  []string
	Security Security
	// Topic names the topic of an event of a kind (KindPrices, KindStock,
	// KindPromotions).
	Topic func(kind string) string
	// Rate is the most events written a second; 0 is unlimited.
	Rate float64
	// Invalid hears a record that is not a valid event: where it came
	// from, and why ("reason: message").
	Invalid func(source, msg string)

	// Sent counts the records acknowledged, ByTopic by topic.
	Sent    int64
	ByTopic map[string]int64

	w       *kafka.Writer
	checked map[string]bool // topics known to exist
	batch   []kafka.Message
	start   time.Time
}

// NewProducer returns a producer to brokers; set Topic and Invalid before
// Run.
func NewProducer(brokers []string, sec Security) (*Producer, error) {
	w, err := NewWriter(brokers, sec, "")
	if err != nil {
		return nil, err
	}
	return &Producer{Brokers: brokers, Security: sec, ByTopic: map[string]int64{}, w: w, checked: map[string]bool{}, start: time.Now()}, nil
}

// Run reads src to its end and writes every valid event, returning once
// every record is acknowledged; then it closes the producer. A Kafka
// failure is a *WriteError; what was written before stays written. When
// ctx ends, the batch in hand is written and ctx's error returned.
func (p *Producer) Run(ctx context.Context, src engine.Source) error {
	err := p.produce(ctx, src)
	if cerr := p.w.Close(); cerr != nil && err == nil {
		err = &WriteError{cerr}
	}
	return err
}

func (p *Producer) produce(ctx context.Context, src engine.Source) error {
	for {
		if err := ctx.Err(); err != nil {
			if ferr := p.flush(context.Background()); ferr != nil {
				return ferr
			}
			return err
		}
		rec, _, err := src.Read(ctx)
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			if ferr := p.flush(ctx); ferr != nil {
				return ferr
			}
			return err
		}
		if rec.Dead != nil {
			p.Invalid(rec.Source, string(rec.Dead.Reason)+": "+rec.Dead.Error)
			continue
		}
		kind, key, err := KeyOf(rec.Value)
		if err != nil {
			var ie *event.InputError
			if errors.As(err, &ie) {
				p.Invalid(rec.Source, string(ie.Reason)+": "+ie.Error())
			} else {
				p.Invalid(rec.Source, err.Error())
			}
			continue
		}
		topic := p.Topic(kind)
		if !p.checked[topic] {
			// a missing topic is reported at once, by name, rather than
			// after the writer's retries
			if err := p.flush(ctx); err != nil {
				return err
			}
			if _, err := Partitions(ctx, p.Brokers, p.Security, topic); err != nil {
				return &WriteError{err}
			}
			p.checked[topic] = true
		}
		if err := p.pace(ctx); err != nil {
			if ferr := p.flush(context.Background()); ferr != nil {
				return ferr
			}
			return err
		}
		p.batch = append(p.batch, kafka.Message{Topic: topic, Key: []byte(key), Value: append([]byte(nil), rec.Value...)})
		if len(p.batch) >= WriterBatchSize {
			if err := p.flush(ctx); err != nil {
				return err
			}
		}
	}
	return p.flush(ctx)
}

// pace waits, with a rate, until the next event is due, writing the batch
// first so that it does not wait with it.
func (p *Producer) pace(ctx context.Context) error {
	if p.Rate <= 0 {
		return nil
	}
	n := p.Sent + int64(len(p.batch))
	due := p.start.Add(time.Duration(float64(n) / p.Rate * float64(time.Second)))
	wait := time.Until(due)
	if wait <= 0 {
		return nil
	}
	if err := p.flush(ctx); err != nil {
		return err
	}
	if wait = time.Until(due); wait <= 0 {
		return nil
	}
	t := time.NewTimer(wait)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-t.C:
		return nil
	}
}

// flush writes the batch and waits for every record's acknowledgement.
func (p *Producer) flush(ctx context.Context) error {
	if len(p.batch) == 0 {
		return nil
	}
	if err := p.w.WriteMessages(ctx, p.batch...); err != nil {
		var werrs kafka.WriteErrors
		if errors.As(err, &werrs) {
			// the records without an error were written
			for i, m := range p.batch {
				if werrs[i] == nil {
					p.count(m.Topic)
				}
			}
			p.batch = p.batch[:0]
			return &WriteError{fmt.Errorf("%d of %d records failed: %w", werrs.Count(), len(werrs), firstErr(werrs))}
		}
		p.batch = p.batch[:0]
		return &WriteError{err}
	}
	for _, m := range p.batch {
		p.count(m.Topic)
	}
	clear(p.batch)
	p.batch = p.batch[:0]
	return nil
}

func (p *Producer) count(topic string) {
	p.Sent++
	p.ByTopic[topic]++
}

func firstErr(errs kafka.WriteErrors) error {
	for _, err := range errs {
		if err != nil {
			return err
		}
	}
	return nil
}
