package kafkabench

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"sort"
	"sync"
	"sync/atomic"
	"time"

	"github.com/rs/zerolog"
	"github.com/segmentio/kafka-go"

	"github.com/promoguard/promoguard/bench"
	pgkafka "github.com/promoguard/promoguard/connectors/kafka"
	"github.com/promoguard/promoguard/engine"
	"github.com/promoguard/promoguard/rules"
)

// Options configure a Kafka benchmark.
type Options struct {
	Brokers []string
	Rules   *rules.RuleSet
	// Gen is the stream: its SKUs and Events. The saturation runs use all
	// of it; the fixed-rate run uses Rate × Duration events of it.
	Gen        bench.Config
	Partitions int           // of the input and output topics; default 6
	Rate       float64       // offered events/s of the fixed-rate run; default 20000
	Duration   time.Duration // of the fixed-rate run; default 10 s
	Log        zerolog.Logger
	// Progress, when set, hears each phase.
	Progress func(phase string)
}

// Report holds every Kafka figure.
type Report struct {
	Brokers     []string `json:"brokers"`
	Partitions  int      `json:"partitions"`
	Events      int      `json:"events"`
	PassThrough Run      `json:"pass_through"`
	Saturation  Run      `json:"saturation"`
	FixedRate   Run      `json:"fixed_rate"`
	Recovery    Recovery `json:"recovery"`
	// Ratio is the daemon's saturation throughput over the pass-through's.
	Ratio float64 `json:"ratio_daemon_over_pass_through"`
}

// Run is one measured run.
type Run struct {
	Offered      float64 `json:"offered_events_per_sec,omitempty"` // 0: as fast as it goes
	Events       int     `json:"events"`
	Outputs      int     `json:"outputs"`
	Seconds      float64 `json:"seconds"`
	EventsPerSec float64 `json:"events_per_sec"`
	// Latency from an event's produce to the consumption of an output it
	// caused (outputs of timers, which no event caused, are left out), in
	// milliseconds.
	LatencyMs *Latency `json:"latency_ms,omitempty"`
}

// Latency is a set of percentiles, in milliseconds.
type Latency struct {
	Samples int     `json:"samples"`
	P50     float64 `json:"p50"`
	P99     float64 `json:"p99"`
	P999    float64 `json:"p99_9"`
	Max     float64 `json:"max"`
}

// Recovery is a restart of the saturation run's daemon: its state comes
// back from the changelog.
type Recovery struct {
	Seconds float64 `json:"seconds"` // from start to every partition restored and caught up
	// Entries restored from the changelog, and the input events whose state
	// they hold.
	Entries       int     `json:"changelog_entries"`
	EntriesPerSec float64 `json:"entries_per_sec"`
	EventsPerSec  float64 `json:"state_events_per_sec"` // input events covered / Seconds
}

type message struct {
	topic string
	key   []byte
	value []byte
	ts    time.Time
}

func (o *Options) defaults() {
	if o.Partitions <= 0 {
		o.Partitions = 6
	}
	if o.Rate <= 0 {
		o.Rate = 20000
	}
	if o.Duration <= 0 {
		o.Duration = 10 * time.Second
	}
	if o.Progress == nil {
		o.Progress = func(string) {}
	}
}

// Bench runs the pass-through, the daemon at saturation, its recovery, and
// the daemon at a fixed rate.
func Bench(ctx context.Context, o Options) (*Report, error) {
	o.defaults()
	if len(o.Brokers) == 0 {
		return nil, errors.New("kafkabench: no brokers")
	}
	o.Progress("generating the stream")
	msgs, err := generate(o.Gen)
	if err != nil {
		return nil, err
	}
	rep := &Report{Brokers: o.Brokers, Partitions: o.Partitions, Events: len(msgs)}

	o.Progress("pass-through at saturation")
	if rep.PassThrough, err = passThrough(ctx, o, msgs); err != nil {
		return nil, fmt.Errorf("pass-through: %w", err)
	}
	o.Progress("daemon at saturation")
	sc, err := newScenario(ctx, o, "sat")
	if err != nil {
		return nil, err
	}
	if rep.Saturation, err = sc.saturation(ctx, msgs); err != nil {
		return nil, fmt.Errorf("saturation: %w", err)
	}
	o.Progress("daemon restart: restoring its state")
	if rep.Recovery, err = sc.recovery(ctx, len(msgs)); err != nil {
		return nil, fmt.Errorf("recovery: %w", err)
	}
	if rep.PassThrough.EventsPerSec > 0 {
		rep.Ratio = rep.Saturation.EventsPerSec / rep.PassThrough.EventsPerSec
	}
	o.Progress(fmt.Sprintf("daemon at %.0f events/s for %v", o.Rate, o.Duration))
	n := min(len(msgs), int(o.Rate*o.Duration.Seconds()))
	fr, err := newScenario(ctx, o, "rate")
	if err != nil {
		return nil, err
	}
	if rep.FixedRate, err = fr.fixedRate(ctx, msgs[:n]); err != nil {
		return nil, fmt.Errorf("fixed rate: %w", err)
	}
	return rep, nil
}

func generate(cfg bench.Config) ([]message, error) {
	g, err := bench.NewGenerator(cfg)
	if err != nil {
		return nil, err
	}
	var out []message
	for {
		ev, ok := g.Next()
		if !ok {
			return out, nil
		}
		var head struct {
			TS time.Time `json:"ts"`
		}
		if err := json.Unmarshal(ev.Line, &head); err != nil {
			return nil, err
		}
		out = append(out, message{topic: ev.Kind.String(), key: []byte(ev.Key), value: slices.Clone(ev.Line), ts: head.TS})
	}
}

// scenario is one daemon's topics and group.
type scenario struct {
	o      Options
	topics pgkafka.Topics
	group  string
}

func uniq(prefix string) string {
	b := make([]byte, 4)
	_, _ = rand.Read(b)
	return "pgbench-" + prefix + "-" + hex.EncodeToString(b)
}

func newScenario(ctx context.Context, o Options, name string) (*scenario, error) {
	p := uniq(name)
	sc := &scenario{o: o, group: p, topics: pgkafka.Topics{
		Prices: p + ".prices", Stock: p + ".stock", Promotions: p + ".promotions",
		Alerts: p + ".alerts", Corrections: p + ".corrections", DeadLetter: p + ".deadletter",
		Changelog: p + ".state",
	}}
	d, err := pgkafka.NewDaemon(sc.config(nil), o.Rules)
	if err != nil {
		return nil, err
	}
	return sc, d.Setup(ctx)
}

func (sc *scenario) config(obs pgkafka.Observer) pgkafka.Config {
	return pgkafka.Config{
		Brokers: sc.o.Brokers, Group: sc.group, Topics: sc.topics, CreateTopics: true, Partitions: sc.o.Partitions,
		SessionTimeout: 10 * time.Second, Log: sc.o.Log, Observer: obs,
		BatchSize: 2000, BatchTimeout: 5 * time.Millisecond, Grace: 5 * time.Millisecond,
	}
}

func (sc *scenario) topicOf(kind string) string {
	switch kind {
	case "stock":
		return sc.topics.Stock
	case "promo":
		return sc.topics.Promotions
	}
	return sc.topics.Prices
}

// produce writes msgs as fast as the broker takes them, or paced at rate,
// calling sent with the wall time each batch was acknowledged.
func produce(ctx context.Context, brokers []string, msgs []message, topicOf func(string) string, rate float64, sent func(i int, at time.Time)) error {
	w, err := pgkafka.NewWriter(brokers, pgkafka.Security{}, "")
	if err != nil {
		return err
	}
	defer w.Close()
	w.BatchSize = 5000
	if rate > 0 {
		w.BatchTimeout = time.Millisecond
	}
	const chunk = 2000
	start := time.Now()
	for i, j := 0, 0; i < len(msgs); i = j {
		j = min(i+chunk, len(msgs))
		if rate > 0 {
			// pace in small steps so the offered rate is smooth
			step := max(1, int(rate/200))
			j = min(i+step, len(msgs))
			due := start.Add(time.Duration(float64(i) / rate * float64(time.Second)))
			if d := time.Until(due); d > 0 {
				time.Sleep(d)
			}
		}
		batch := make([]kafka.Message, 0, j-i)
		for _, m := range msgs[i:j] {
			batch = append(batch, kafka.Message{Topic: topicOf(m.topic), Key: m.key, Value: m.value})
		}
		now := time.Now()
		if err := w.WriteMessages(ctx, batch...); err != nil {
			return err
		}
		if sent != nil {
			for k := i; k < j; k++ {
				sent(k, now)
			}
		}
	}
	return nil
}

// counter counts what the daemon reports.
type counter struct {
	events   atomic.Int64
	produced atomic.Int64
	entries  atomic.Int64
}

func (c *counter) Event(string, string)          { c.events.Add(1) }
func (c *counter) DeadLetter(string)             {}
func (c *counter) WrongPartition(string)         {}
func (c *counter) Produced(_ string, n int)      { c.produced.Add(int64(n)) }
func (c *counter) Changelog(n int)               { c.entries.Add(int64(n)) }
func (c *counter) Commit()                       {}
func (c *counter) Batch(time.Duration)           {}
func (c *counter) EventToOutput(time.Duration)   {}
func (c *counter) Lag(string, int, int64)        {}
func (c *counter) Assigned(int)                  {}
func (c *counter) BrokerReachable(bool)          {}
func (c *counter) ProduceFailed()                {}
func (c *counter) EngineStats(_, _ engine.Stats) {}

// runDaemon starts a daemon; stop ends it and waits.
func (sc *scenario) runDaemon(ctx context.Context, obs pgkafka.Observer) (*pgkafka.Daemon, func() error, error) {
	d, err := pgkafka.NewDaemon(sc.config(obs), sc.o.Rules)
	if err != nil {
		return nil, nil, err
	}
	dctx, cancel := context.WithCancel(ctx)
	done := make(chan error, 1)
	go func() { done <- d.Run(dctx) }()
	return d, func() error { cancel(); return <-done }, nil
}

func waitFor(ctx context.Context, timeout time.Duration, cond func() bool) error {
	deadline := time.Now().Add(timeout)
	for !cond() {
		if time.Now().After(deadline) {
			return errors.New("timed out")
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(5 * time.Millisecond):
		}
	}
	return nil
}

// saturation produces the whole stream first, then times the daemon
// through it: from its start until every event is applied and every
// output it produced is read back.
func (sc *scenario) saturation(ctx context.Context, msgs []message) (Run, error) {
	if err := produce(ctx, sc.o.Brokers, msgs, sc.topicOf, 0, nil); err != nil {
		return Run{}, err
	}
	c := &counter{}
	out := newReader(ctx, sc.o.Brokers, sc.topics.Alerts, sc.topics.Corrections)
	defer out.close()
	start := time.Now()
	_, stop, err := sc.runDaemon(ctx, c)
	if err != nil {
		return Run{}, err
	}
	// every event applied: the inputs count, the promotions once per
	// partition
	want := int64(0)
	for _, m := range msgs {
		if m.topic == "promo" {
			want += int64(sc.o.Partitions)
		} else {
			want++
		}
	}
	err = waitFor(ctx, 30*time.Minute, func() bool {
		return c.events.Load() >= want && out.count() >= int(c.produced.Load()) && c.produced.Load() > 0
	})
	if err != nil {
		err = fmt.Errorf("%w: %d of %d events applied, %d of %d outputs read back", err, c.events.Load(), want, out.count(), c.produced.Load())
	}
	secs := time.Since(start).Seconds()
	if serr := stop(); err == nil {
		err = serr
	}
	r := Run{Events: len(msgs), Outputs: out.count(), Seconds: secs, EventsPerSec: float64(len(msgs)) / secs}
	return r, err
}

// recovery restarts the saturation run's group: every partition restores
// its changelog.
func (sc *scenario) recovery(ctx context.Context, events int) (Recovery, error) {
	c := &counter{}
	start := time.Now()
	d, stop, err := sc.runDaemon(ctx, c)
	if err != nil {
		return Recovery{}, err
	}
	err = waitFor(ctx, 10*time.Minute, func() bool { ok, _ := d.Ready(); return ok })
	secs := time.Since(start).Seconds()
	if serr := stop(); err == nil {
		err = serr
	}
	n, cerr := countTopic(ctx, sc.o.Brokers, sc.topics.Changelog)
	if err == nil {
		err = cerr
	}
	return Recovery{Seconds: secs, Entries: n, EntriesPerSec: float64(n) / secs, EventsPerSec: float64(events) / secs}, err
}

// fixedRate starts the daemon, then offers msgs at the configured rate and
// measures each output's latency from the produce of the event that
// caused it (the output's watermark is that event's ts).
func (sc *scenario) fixedRate(ctx context.Context, msgs []message) (Run, error) {
	c := &counter{}
	d, stop, err := sc.runDaemon(ctx, c)
	if err != nil {
		return Run{}, err
	}
	defer stop()
	if err := waitFor(ctx, 2*time.Minute, func() bool { ok, _ := d.Ready(); return ok }); err != nil {
		return Run{}, fmt.Errorf("daemon not ready: %w", err)
	}
	sentAt := make(map[int64]time.Time, len(msgs)) // by event ts: the first event of each instant
	var mu sync.Mutex
	out := newReader(ctx, sc.o.Brokers, sc.topics.Alerts, sc.topics.Corrections)
	defer out.close()
	start := time.Now()
	err = produce(ctx, sc.o.Brokers, msgs, sc.topicOf, sc.o.Rate, func(i int, at time.Time) {
		k := msgs[i].ts.UnixNano()
		mu.Lock()
		if _, ok := sentAt[k]; !ok {
			sentAt[k] = at
		}
		mu.Unlock()
	})
	if err != nil {
		return Run{}, err
	}
	want := int64(0)
	for _, m := range msgs {
		if m.topic == "promo" {
			want += int64(sc.o.Partitions)
		} else {
			want++
		}
	}
	err = waitFor(ctx, time.Minute, func() bool {
		return c.events.Load() >= want && out.count() >= int(c.produced.Load())
	})
	if err != nil {
		err = fmt.Errorf("%w: %d of %d events applied, %d of %d outputs read back", err, c.events.Load(), want, out.count(), c.produced.Load())
	}
	secs := time.Since(start).Seconds()
	mu.Lock()
	defer mu.Unlock()
	var lat []float64
	for _, rec := range out.records() {
		if t0, ok := sentAt[rec.watermark.UnixNano()]; ok {
			lat = append(lat, float64(rec.at.Sub(t0).Microseconds())/1000)
		}
	}
	r := Run{Offered: sc.o.Rate, Events: len(msgs), Outputs: out.count(), Seconds: secs, EventsPerSec: float64(len(msgs)) / secs, LatencyMs: percentiles(lat)}
	return r, err
}

func percentiles(xs []float64) *Latency {
	if len(xs) == 0 {
		return nil
	}
	sort.Float64s(xs)
	at := func(q float64) float64 { return xs[min(len(xs)-1, int(q*float64(len(xs))))] }
	return &Latency{Samples: len(xs), P50: at(0.5), P99: at(0.99), P999: at(0.999), Max: xs[len(xs)-1]}
}

// reader reads output topics from the start and notes when each record
// arrived.
type reader struct {
	mu     sync.Mutex
	recs   []outRec
	cancel context.CancelFunc
	wg     sync.WaitGroup
}

type outRec struct {
	watermark time.Time
	at        time.Time
}

func newReader(ctx context.Context, brokers []string, topics ...string) *reader {
	ctx, cancel := context.WithCancel(ctx)
	r := &reader{cancel: cancel}
	for _, topic := range topics {
		n, err := pgkafka.Partitions(ctx, brokers, pgkafka.Security{}, topic)
		if err != nil {
			continue
		}
		for p := range n {
			rd := kafka.NewReader(kafka.ReaderConfig{Brokers: brokers, Topic: topic, Partition: p, MinBytes: 1, MaxBytes: 16 << 20, MaxWait: 20 * time.Millisecond})
			r.wg.Add(1)
			go func() {
				defer r.wg.Done()
				defer rd.Close()
				for {
					m, err := rd.FetchMessage(ctx)
					if err != nil {
						return
					}
					now := time.Now()
					var head struct {
						Watermark time.Time `json:"watermark"`
					}
					_ = json.Unmarshal(m.Value, &head)
					r.mu.Lock()
					r.recs = append(r.recs, outRec{watermark: head.Watermark, at: now})
					r.mu.Unlock()
				}
			}()
		}
	}
	return r
}

func (r *reader) count() int {
	r.mu.Lock()
	defer r.mu.Unlock()
	return len(r.recs)
}

func (r *reader) records() []outRec {
	r.mu.Lock()
	defer r.mu.Unlock()
	return slices.Clone(r.recs)
}

func (r *reader) close() { r.cancel(); r.wg.Wait() }

// countTopic counts the records of a topic (first to last offset).
func countTopic(ctx context.Context, brokers []string, topic string) (int, error) {
	n, err := pgkafka.Partitions(ctx, brokers, pgkafka.Security{}, topic)
	if err != nil {
		return 0, err
	}
	total := 0
	for p := range n {
		conn, err := kafka.DialLeader(ctx, "tcp", brokers[0], topic, p)
		if err != nil {
			return 0, err
		}
		first, last, err := conn.ReadOffsets()
		conn.Close()
		if err != nil {
			return 0, err
		}
		total += int(last - first)
	}
	return total, nil
}
