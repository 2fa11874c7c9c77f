package main

import (
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

	"github.com/promoguard/promoguard/connectors/file"
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
	files, err := file.Open(c.Files, e.stdin)
	defer file.Close(files)
	if err != nil {
		fmt.Fprintln(e.stderr, "promoguard:", err)
		return exitError{1}
	}
	p, err := kafka.NewProducer(c.Brokers, c.Security)
	if err != nil {
		return err
	}
	p.Topic, p.Rate = c.topic, float64(c.Rate)
	var invalid int64
	p.Invalid = func(where, msg string) {
		invalid++
		fmt.Fprintf(e.stderr, "%s: %s (skipped)\n", where, msg)
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()

	start := time.Now()
	src := file.NewReader(files, event.DefaultMaxSize)
	runErr := p.Run(ctx, src)
	summary(e.stdout, p, src.Opened, invalid, time.Since(start))
	var inErr *file.InputError
	var kErr *kafka.WriteError
	switch {
	case errors.As(runErr, &inErr), errors.As(runErr, &kErr):
		fmt.Fprintln(e.stderr, "promoguard:", runErr)
		return exitError{1}
	case errors.Is(runErr, context.Canceled):
		fmt.Fprintln(e.stderr, "promoguard: interrupted")
		return exitError{1}
	case runErr != nil:
		return runErr
	case invalid > 0:
		return exitError{1}
	}
	return nil
}

func (c *produceCmd) topic(kind string) string {
	if c.Topic != "auto" {
		return c.Topic
	}
	switch kind {
	case kafka.KindPrices:
		return c.Topics.Prices
	case kafka.KindStock:
		return c.Topics.Stock
	default:
		return c.Topics.Promotions
	}
}

// summary says what was written, by topic, and what was skipped.
func summary(w io.Writer, p *kafka.Producer, files int, invalid int64, elapsed time.Duration) {
	topics := make([]string, 0, len(p.ByTopic))
	for t := range p.ByTopic {
		topics = append(topics, t)
	}
	sort.Strings(topics)
	parts := make([]string, len(topics))
	for i, t := range topics {
		parts[i] = fmt.Sprintf("%s %d", t, p.ByTopic[t])
	}
	fmt.Fprintf(w, "produce: %d event%s from %d file%s in %s", p.Sent, plural(int(p.Sent)), files, plural(files), elapsed.Round(time.Millisecond))
	if len(parts) > 0 {
		fmt.Fprintf(w, ": %s", strings.Join(parts, ", "))
	}
	fmt.Fprintln(w)
	if invalid > 0 {
		fmt.Fprintf(w, "  invalid  %d line%s skipped\n", invalid, plural(int(invalid)))
	}
}
