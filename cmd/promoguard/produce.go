package main

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/signal"
	"sort"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/promoguard/promoguard/event"

	"github.com/alecthomas/kong"
	kafkago "github.com/segmentio/kafka-go"

	"github.com/promoguard/promoguard/connectors/kafka"
)

type produceCmd struct {
	Brokers  []string       `name:"brokers" env:"PROMOGUARD_BROKERS" default:"127.0.0.1:9092" placeholder:"HOST:PORT" help:"Kafka bootstrap brokers (default: the embedded broker of promoguard run)."`
	Topic    string         `name:"topic" default:"auto" placeholder:"TOPIC" help:"Write every event to TOPIC; auto (the default) writes each to the topic of its type, --topics-prices, --topics-stock or --topics-promotions."`
	Topics   produceTopics  `embed:"" prefix:"topics-" envprefix:"PROMOGUARD_TOPICS_"`
	Rate     rate           `name:"rate" default:"0" placeholder:"N/s" help:"Write at most N events a second (500, 500/s, 30/m, 100/h); 0: as fast as the brokers take them."`
	Security kafka.Security `embed:"" envprefix:"PROMOGUARD_"`
	Files    []string       `arg:"" name:"file" help:"NDJSON event files, read in order; - reads stdin."`
}

// produceTopics are the input topics, with the defaults and variables of
// run's topics.* settings.
type produceTopics struct {
	Prices     string `name:"prices" env:"PRICES" default:"pricing.prices" placeholder:"TOPIC" help:"Topic of price events."`
	Stock      string `name:"stock" env:"STOCK" default:"pricing.stock" placeholder:"TOPIC" help:"Topic of stock events."`
	Promotions string `name:"promotions" env:"PROMOTIONS" default:"pricing.promotions" placeholder:"TOPIC" help:"Topic of promotion events."`
}

// Help is the detail under the command's usage.
func (c *produceCmd) Help() string {
	return `Writes NDJSON events to Kafka, one record per event, keyed as the daemon
expects: price and stock events by sku, promotions by promotion id, hashed
with murmur2 (the Java client's partitioner) so that a sku lands on the same
partition of prices and stock. Records are written in batches with acks from
all in-sync replicas; the command returns once every record is acknowledged.

Blank lines and lines starting with # are skipped. A line that is not a valid
event is reported with its file and line number and skipped.

Exit status: 0 when every event was written, 1 when a line was invalid, an
input could not be read or Kafka refused a write (what was written before
stays written), 2 when the flags are wrong.`
}

// rate is events per second; 0 is unlimited.
type rate float64

func (r *rate) Decode(ctx *kong.DecodeContext) error {
	var s string
	if err := ctx.Scan.PopValueInto("rate", &s); err != nil {
		return err
	}
	return r.parse(s)
}

func (r *rate) parse(s string) error {
	num, unit, _ := strings.Cut(strings.TrimSpace(s), "/")
	per := time.Second
	switch unit {
	case "", "s":
	case "m":
		per = time.Minute
	case "h":
		per = time.Hour
	default:
		return fmt.Errorf("rate %q: the unit is /s, /m or /h", s)
	}
	n, err := strconv.ParseFloat(num, 64)
	if err != nil || n < 0 || n != n {
		return fmt.Errorf("rate %q is not a number of events such as 500 or 500/s", s)
	}
	*r = rate(n / per.Seconds())
	return nil
}

// maxProduceBatch is the most records written in one synchronous batch.
const maxProduceBatch = kafka.WriterBatchSize

func (c *produceCmd) Run(e env) error {
	if len(c.Brokers) == 0 {
		return errors.New("--brokers: at least one broker is required")
	}
	if c.Topic != "auto" {
		if err := kafka.ValidTopicName(c.Topic); err != nil {
			return fmt.Errorf("--topic: %w", err)
		}
	}
	for _, t := range []string{c.Topics.Prices, c.Topics.Stock, c.Topics.Promotions} {
		if err := kafka.ValidTopicName(t); err != nil {
			return fmt.Errorf("--topics-*: %w", err)
		}
	}
	files, err := openInputs(c.Files, e.stdin)
	defer closeInputs(files)
	if err != nil {
		fmt.Fprintln(e.stderr, "promoguard:", err)
		return exitError{1}
	}
	w, err := kafka.NewWriter(c.Brokers, c.Security, "")
	if err != nil {
		return err
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()

	p := &producer{cmd: c, e: e, w: w, checked: map[string]bool{}, byTopic: map[string]int64{}, start: time.Now()}
	runErr := p.produce(ctx, files)
	if err := w.Close(); err != nil && runErr == nil {
		runErr = &kafkaError{err}
	}
	p.summary()
	var inErr *inputError
	var kErr *kafkaError
	switch {
	case errors.As(runErr, &inErr), errors.As(runErr, &kErr):
		fmt.Fprintln(e.stderr, "promoguard:", runErr)
		return exitError{1}
	case errors.Is(runErr, context.Canceled):
		fmt.Fprintln(e.stderr, "promoguard: interrupted")
		return exitError{1}
	case runErr != nil:
		return runErr
	case p.invalid > 0:
		return exitError{1}
	}
	return nil
}

// kafkaError is a failure to write to Kafka.
type kafkaError struct{ err error }

func (e *kafkaError) Error() string { return "write to Kafka: " + e.err.Error() }
func (e *kafkaError) Unwrap() error { return e.err }

type producer struct {
	cmd     *produceCmd
	e       env
	w       *kafkago.Writer
	checked map[string]bool // topics known to exist
	batch   []kafkago.Message
	start   time.Time

	sent    int64
	byTopic map[string]int64
	invalid int64
	skipped int64
	files   int
}

func (p *producer) produce(ctx context.Context, files []*inputFile) error {
	lr := &lineReader{max: event.DefaultMaxSize}
	for _, f := range files {
		p.files++
		lr.reset(f.r)
		for {
			if err := ctx.Err(); err != nil {
				if ferr := p.flush(context.Background()); ferr != nil {
					return ferr
				}
				return err
			}
			err := lr.next()
			if err == io.EOF {
				break
			}
			if err != nil {
				if ferr := p.flush(ctx); ferr != nil {
					return ferr
				}
				return &inputError{name: f.name, err: err}
			}
			line := lr.line
			if lr.num == 1 {
				line = bytes.TrimPrefix(line, []byte("\xef\xbb\xbf"))
			}
			if lr.sum == nil && skipLine(line) {
				p.skipped++
				continue
			}
			where := fmt.Sprintf("%s:%d", f.label(), lr.num)
			if lr.sum != nil {
				p.bad(where, fmt.Sprintf("oversize: line is %d bytes, more than the limit of %d", lr.size, lr.max))
				continue
			}
			kind, key, err := kafka.KeyOf(line)
			if err != nil {
				var ie *event.InputError
				if errors.As(err, &ie) {
					p.bad(where, string(ie.Reason)+": "+ie.Error())
				} else {
					p.bad(where, err.Error())
				}
				continue
			}
			topic := p.topic(kind)
			if !p.checked[topic] {
				// a missing topic is reported at once, by name, rather
				// than after the writer's retries
				if err := p.flush(ctx); err != nil {
					return err
				}
				if _, err := kafka.Partitions(ctx, p.cmd.Brokers, p.cmd.Security, topic); err != nil {
					return &kafkaError{err}
				}
				p.checked[topic] = true
			}
			if err := p.pace(ctx); err != nil {
				if ferr := p.flush(context.Background()); ferr != nil {
					return ferr
				}
				return err
			}
			p.batch = append(p.batch, kafkago.Message{Topic: topic, Key: []byte(key), Value: append([]byte(nil), line...)})
			if len(p.batch) >= maxProduceBatch {
				if err := p.flush(ctx); err != nil {
					return err
				}
			}
		}
	}
	return p.flush(ctx)
}

// pace waits, with a rate, until the next event is due, writing the batch
// first so that it does not wait with it.
func (p *producer) pace(ctx context.Context) error {
	if p.cmd.Rate <= 0 {
		return nil
	}
	n := p.sent + int64(len(p.batch))
	due := p.start.Add(time.Duration(float64(n) / float64(p.cmd.Rate) * float64(time.Second)))
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

func (p *producer) topic(kind string) string {
	if p.cmd.Topic != "auto" {
		return p.cmd.Topic
	}
	switch kind {
	case kafka.KindPrices:
		return p.cmd.Topics.Prices
	case kafka.KindStock:
		return p.cmd.Topics.Stock
	default:
		return p.cmd.Topics.Promotions
	}
}

func (p *producer) bad(where, msg string) {
	p.invalid++
	fmt.Fprintf(p.e.stderr, "%s: %s (skipped)\n", where, msg)
}

// flush writes the batch and waits for every record's acknowledgement.
func (p *producer) flush(ctx context.Context) error {
	if len(p.batch) == 0 {
		return nil
	}
	if err := p.w.WriteMessages(ctx, p.batch...); err != nil {
		var werrs kafkago.WriteErrors
		if errors.As(err, &werrs) {
			// the records without an error were written
			for i, m := range p.batch {
				if werrs[i] == nil {
					p.count(m.Topic)
				}
			}
			p.batch = p.batch[:0]
			return &kafkaError{fmt.Errorf("%d of %d records failed: %w", werrs.Count(), len(werrs), firstErr(werrs))}
		}
		p.batch = p.batch[:0]
		return &kafkaError{err}
	}
	for _, m := range p.batch {
		p.count(m.Topic)
	}
	clear(p.batch)
	p.batch = p.batch[:0]
	return nil
}

func (p *producer) count(topic string) {
	p.sent++
	p.byTopic[topic]++
}

func firstErr(errs kafkago.WriteErrors) error {
	for _, err := range errs {
		if err != nil {
			return err
		}
	}
	return nil
}

// summary says what was written, by topic, and what was skipped.
func (p *producer) summary() {
	topics := make([]string, 0, len(p.byTopic))
	for t := range p.byTopic {
		topics = append(topics, t)
	}
	sort.Strings(topics)
	parts := make([]string, len(topics))
	for i, t := range topics {
		parts[i] = fmt.Sprintf("%s %d", t, p.byTopic[t])
	}
	elapsed := time.Since(p.start).Round(time.Millisecond)
	fmt.Fprintf(p.e.stdout, "produce: %d event%s from %d file%s in %s", p.sent, plural(int(p.sent)), p.files, plural(p.files), elapsed)
	if len(parts) > 0 {
		fmt.Fprintf(p.e.stdout, ": %s", strings.Join(parts, ", "))
	}
	fmt.Fprintln(p.e.stdout)
	if p.invalid > 0 {
		fmt.Fprintf(p.e.stdout, "  invalid  %d line%s skipped\n", p.invalid, plural(int(p.invalid)))
	}
}
