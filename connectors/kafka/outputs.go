package kafka

import (
	"context"
	"errors"
	"fmt"
	"sync/atomic"
	"time"

	"github.com/rs/zerolog"
	"github.com/segmentio/kafka-go"
)

// producer writes a worker's records (outputs, dead letters, changelog)
// until the brokers acknowledge them, and tells readiness while they do
// not.
type producer struct {
	log zerolog.Logger
	obs Observer
	now func() time.Time

	// failing is when producing began to fail (unix nanoseconds), 0 while
	// records are acknowledged: the partition is then not ready
	failing atomic.Int64
	failErr atomic.Pointer[string]
}

// unacknowledged returns since when records have failed and the last
// error, or false while they are acknowledged.
func (p *producer) unacknowledged() (since time.Time, why string, failing bool) {
	ns := p.failing.Load()
	if ns == 0 {
		return time.Time{}, "", false
	}
	if e := p.failErr.Load(); e != nil {
		why = *e
	}
	return time.Unix(0, ns), why, true
}

// write produces msgs with wr, retrying until they are acknowledged; only
// ctx ending (the daemon stopping) ends the retries.
func (p *producer) write(ctx context.Context, wr *kafka.Writer, msgs []kafka.Message) error {
	if len(msgs) == 0 {
		return nil
	}
	backoff := 100 * time.Millisecond
	for {
		err := wr.WriteMessages(ctx, msgs...)
		if err == nil {
			p.failing.Store(0)
			return nil
		}
		if ctx.Err() != nil {
			return summarize(err)
		}
		// retry only what was not written: fewer duplicates for the
		// consumers to drop when one topic refuses and the others accept
		var we kafka.WriteErrors
		if errors.As(err, &we) && len(we) == len(msgs) {
			var left []kafka.Message
			for i, e := range we {
				if e != nil {
					left = append(left, msgs[i])
				}
			}
			if len(left) > 0 {
				msgs = left
			}
		}
		if p.failing.Load() == 0 {
			p.failing.Store(p.now().UnixNano())
		}
		err = summarize(err)
		msg := err.Error()
		p.failErr.Store(&msg)
		p.obs.ProduceFailed()
		p.log.Warn().Err(err).Int("records", len(msgs)).Msg("produce failed; retrying")
		select {
		case <-ctx.Done():
			return err
		case <-time.After(backoff):
		}
		backoff = min(2*backoff, 5*time.Second)
	}
}

// summarize shortens kafka-go's WriteErrors, which hold one error per
// record (thousands of "connection refused"), to the count and the first.
func summarize(err error) error {
	var we kafka.WriteErrors
	if !errors.As(err, &we) {
		return err
	}
	failed := 0
	var first error
	for _, e := range we {
		if e != nil {
			failed++
			if first == nil {
				first = e
			}
		}
	}
	return fmt.Errorf("%d of %d records not written: %w", failed, len(we), first)
}

// ensureChannelTopic creates a per-channel alert topic the first time an
// alert is routed to it (Topics.ChannelAlerts).
func (d *Daemon) ensureChannelTopic(name string) error {
	d.mu.Lock()
	ok := d.created[name]
	d.mu.Unlock()
	if ok {
		return nil
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	err := EnsureTopics(ctx, d.cfg.Brokers, d.cfg.Security, []TopicSpec{{Name: name, Partitions: d.parts}}, d.cfg.CreateTopics)
	if err != nil {
		return err
	}
	d.mu.Lock()
	d.created[name] = true
	d.mu.Unlock()
	return nil
}
