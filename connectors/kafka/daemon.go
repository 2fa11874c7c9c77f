package kafka

import (
	"context"
	"errors"
	"fmt"
	"sort"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/promoguard/promoguard/event"

	"github.com/rs/zerolog"
	"github.com/segmentio/kafka-go"

	"github.com/promoguard/promoguard/engine"
	"github.com/promoguard/promoguard/rules"
)

// Topics names the daemon's topics (DESIGN §8).
type Topics struct {
	Prices, Stock, Promotions       string
	Alerts, Corrections, DeadLetter string
	Changelog                       string
	ChannelAlerts                   bool   // also route each alert to ChannelAlertPrefix+<channel>
	ChannelAlertPrefix              string // default "pricing.alerts."
}

// The default topic names. The changelog's is ChangelogPrefix and the
// consumer group.
const (
	DefaultPricesTopic        = "pricing.prices"
	DefaultStockTopic         = "pricing.stock"
	DefaultPromotionsTopic    = "pricing.promotions"
	DefaultAlertsTopic        = "pricing.alerts"
	DefaultCorrectionsTopic   = "pricing.corrections"
	DefaultDeadLetterTopic    = "pricing.deadletter"
	DefaultChannelAlertPrefix = "pricing.alerts."
	ChangelogPrefix           = "promoguard.state."
)

// DefaultTopics returns the default topic names for consumer group group.
func DefaultTopics(group string) Topics {
	return Topics{
		Prices: DefaultPricesTopic, Stock: DefaultStockTopic, Promotions: DefaultPromotionsTopic,
		Alerts: DefaultAlertsTopic, Corrections: DefaultCorrectionsTopic, DeadLetter: DefaultDeadLetterTopic,
		Changelog: ChangelogPrefix + group, ChannelAlertPrefix: DefaultChannelAlertPrefix,
	}
}

// The defaults of Config: the one set of them. The CLI and its config file
// show and use these (internal/config).
const (
	DefaultGroup      = "promoguard"
	DefaultPartitions = 6
	DefaultBatchSize  = 1000
	// DefaultBatchTimeout bounds how long a batch fills while the inputs
	// lag (a batch ends at once when they are caught up): a latency bound,
	// kept under the 50 ms p99 the daemon aims at.
	DefaultBatchTimeout       = 20 * time.Millisecond
	DefaultMaxWait            = 500 * time.Millisecond
	DefaultGrace              = 20 * time.Millisecond
	DefaultCheckpointInterval = time.Second
	DefaultSessionTimeout     = 10 * time.Second
	DefaultShutdownTimeout    = 15 * time.Second
	DefaultProbeInterval      = time.Second
)

// Observer hears what the daemon does, for metrics. Its methods are called
// from several goroutines.
type Observer interface {
	Event(topic, typ string)
	DeadLetter(reason string)
	WrongPartition(topic string)
	Produced(topic string, n int)
	Changelog(n int)
	Commit()
	Batch(d time.Duration)
	EventToOutput(d time.Duration)
	Lag(topic string, partition int, lag int64)
	Assigned(n int)
	EngineStats(prev, cur engine.Stats)
	// BrokerReachable reports each probe of the brokers (Config.ProbeInterval).
	BrokerReachable(ok bool)
	// ProduceFailed hears each failed attempt to produce (retried).
	ProduceFailed()
}

// Config configures a Daemon. Zero values take the defaults noted.
type Config struct {
	Brokers  []string
	Security Security
	Group    string // default "promoguard"
	Topics   Topics // default DefaultTopics(Group)
	// CreateTopics creates missing topics (Partitions each, the changelog
	// compacted); otherwise the daemon names the missing ones and stops.
	CreateTopics bool
	Partitions   int // default 6

	Engine engine.Options
	Decode event.DecodeOptions

	// BatchSize and BatchTimeout bound a batch: the events applied before
	// their outputs are produced, the changelog written and the offsets
	// committed. Defaults 1000 and 20 ms.
	BatchSize    int
	BatchTimeout time.Duration
	// MaxWait is how long a partition waits for a lagging input before it
	// applies the events of the others out of timestamp order. Default
	// 500 ms.
	MaxWait time.Duration
	// Grace is how long an event waits, once fetched, for events of the
	// other inputs with earlier timestamps that were produced at about the
	// same time but not fetched yet; an event is applied at once when
	// every input has one queued. It costs that much latency when an
	// input is idle. Default 20 ms.
	Grace time.Duration
	// CheckpointInterval is how often a partition writes its changed state
	// and input offsets to the changelog (outputs are produced every
	// batch). After a crash the input since the last checkpoint is read
	// again and its outputs come again, with the same ids. Default 1 s.
	CheckpointInterval time.Duration
	// SessionTimeout of the consumer group. Default 10 s.
	SessionTimeout time.Duration
	// ShutdownTimeout bounds the last batch's produce and commit on
	// shutdown. Default 15 s.
	ShutdownTimeout time.Duration
	// ProbeInterval is how often the daemon asks the brokers for metadata
	// to tell whether they are reachable; two failures in a row make it
	// not ready until one succeeds. Default 1 s.
	ProbeInterval time.Duration

	// IdleAdvance, when positive, lets a partition whose inputs have been
	// idle this long move its watermark to the wall clock (less the
	// allowed lateness), so that promotion ends and `for`/`repeat` timers
	// fire without traffic. Outputs then depend on when the idling
	// happened, not only on the input: 0 (the default) keeps the daemon
	// exactly reproducible by replay.
	IdleAdvance time.Duration

	// Tap, when set, hears every output once its record is acknowledged
	// (for printing them in a demo). It is called from the partitions'
	// goroutines.
	Tap func(event.Output)

	Log      zerolog.Logger
	Observer Observer         // nil: none
	Now      func() time.Time // wall clock for latency; default time.Now
}

func (c Config) withDefaults() Config {
	if c.Group == "" {
		c.Group = DefaultGroup
	}
	def := DefaultTopics(c.Group)
	t := &c.Topics
	for _, f := range []struct {
		p *string
		d string
	}{
		{&t.Prices, def.Prices}, {&t.Stock, def.Stock}, {&t.Promotions, def.Promotions},
		{&t.Alerts, def.Alerts}, {&t.Corrections, def.Corrections}, {&t.DeadLetter, def.DeadLetter},
		{&t.Changelog, def.Changelog}, {&t.ChannelAlertPrefix, def.ChannelAlertPrefix},
	} {
		if *f.p == "" {
			*f.p = f.d
		}
	}
	if c.Partitions <= 0 {
		c.Partitions = DefaultPartitions
	}
	if c.BatchSize <= 0 {
		c.BatchSize = DefaultBatchSize
	}
	if c.BatchTimeout <= 0 {
		c.BatchTimeout = DefaultBatchTimeout
	}
	if c.MaxWait <= 0 {
		c.MaxWait = DefaultMaxWait
	}
	if c.Grace <= 0 {
		c.Grace = DefaultGrace
	}
	if c.CheckpointInterval <= 0 {
		c.CheckpointInterval = DefaultCheckpointInterval
	}
	if c.SessionTimeout <= 0 {
		c.SessionTimeout = DefaultSessionTimeout
	}
	if c.ShutdownTimeout <= 0 {
		c.ShutdownTimeout = DefaultShutdownTimeout
	}
	if c.ProbeInterval <= 0 {
		c.ProbeInterval = DefaultProbeInterval
	}
	if c.Now == nil {
		c.Now = time.Now
	}
	if c.Observer == nil {
		c.Observer = nopObserver{}
	}
	return c
}

// Daemon runs the engine on Kafka (DESIGN §8): one engine per assigned
// partition number of the co-partitioned prices and stock topics, every
// engine reading all promotions, each backed by its partition of the
// changelog.
type Daemon struct {
	cfg    Config
	dialer *kafka.Dialer
	tr     *kafka.Transport
	bal    *CoPartitionBalancer

	out, changelog *kafka.Writer
	parts          int   // partition count of prices and stock
	partIDs        []int // 0..parts-1, for the balancer
	promoParts     int

	rules atomic.Pointer[rules.RuleSet]

	// unreachable is why the last two probes of the brokers failed; nil
	// while they answer
	unreachable atomic.Pointer[string]

	mu      sync.Mutex
	workers map[int]*worker   // the partitions of the present generation
	gen     *kafka.Generation // the present generation
	joined  bool
	created map[string]bool // per-channel alert topics known to exist
}

// NewDaemon returns a daemon for rule set rs. Nothing connects until Run.
func NewDaemon(cfg Config, rs *rules.RuleSet) (*Daemon, error) {
	cfg = cfg.withDefaults()
	if len(cfg.Brokers) == 0 {
		return nil, errors.New("kafka: no brokers")
	}
	dialer, err := cfg.Security.Dialer()
	if err != nil {
		return nil, err
	}
	tr, err := cfg.Security.Transport()
	if err != nil {
		return nil, err
	}
	d := &Daemon{cfg: cfg, dialer: dialer, tr: tr, bal: &CoPartitionBalancer{}, workers: map[int]*worker{}, created: map[string]bool{}}
	d.rules.Store(rs)
	return d, nil
}

// Rules returns the rule set the daemon runs.
func (d *Daemon) Rules() *rules.RuleSet { return d.rules.Load() }

// Reload hands a new rule set to every partition: each swaps it in
// between two batches, so no event is evaluated by a mix of old and new
// rules.
func (d *Daemon) Reload(rs *rules.RuleSet) {
	d.rules.Store(rs)
	d.mu.Lock()
	defer d.mu.Unlock()
	for _, w := range d.workers {
		w.reload(rs)
	}
}

// Ready reports whether every assigned partition has restored its state
// and caught up with its inputs, and if not, why.
func (d *Daemon) Ready() (bool, string) {
	if why := d.unreachable.Load(); why != nil {
		return false, "brokers unreachable: " + *why
	}
	d.mu.Lock()
	defer d.mu.Unlock()
	if !d.joined {
		return false, "joining the consumer group (rebalancing)"
	}
	var behind, failing []string
	now := d.cfg.Now()
	for p, w := range d.workers {
		if !w.caughtUp.Load() {
			behind = append(behind, fmt.Sprint(p))
		}
		if since := w.failing.Load(); since != 0 {
			why := ""
			if e := w.failErr.Load(); e != nil {
				why = ": " + *e
			}
			failing = append(failing, fmt.Sprintf("partition %d: records not acknowledged for %s%s",
				p, now.Sub(time.Unix(0, since)).Round(time.Millisecond), why))
		}
	}
	if len(failing) > 0 {
		sort.Strings(failing)
		return false, strings.Join(failing, "; ")
	}
	if len(behind) > 0 {
		sort.Strings(behind)
		return false, "partitions catching up: " + strings.Join(behind, ",")
	}
	return true, fmt.Sprintf("%d partitions assigned", len(d.workers))
}

// Partitions returns the partition numbers this instance holds.
func (d *Daemon) Partitions() []int {
	d.mu.Lock()
	defer d.mu.Unlock()
	ps := make([]int, 0, len(d.workers))
	for p := range d.workers {
		ps = append(ps, p)
	}
	sort.Ints(ps)
	return ps
}

// Explain returns what the partition holding sku knows of it and its
// channel, or false when this instance does not hold it.
func (d *Daemon) Explain(ctx context.Context, sku, channel string) (any, bool) {
	p := d.partitionOf([]byte(sku))
	d.mu.Lock()
	w := d.workers[p]
	d.mu.Unlock()
	if w == nil {
		return nil, false
	}
	return w.explain(ctx, sku, channel)
}

// Setup checks the topics (creating missing ones when configured to) and
// that prices and stock are co-partitioned. Run calls it.
func (d *Daemon) Setup(ctx context.Context) error {
	t := d.cfg.Topics
	n := d.cfg.Partitions
	specs := []TopicSpec{
		{Name: t.Prices, Partitions: n}, {Name: t.Stock, Partitions: n}, {Name: t.Promotions, Partitions: 1},
		{Name: t.Alerts, Partitions: n}, {Name: t.Corrections, Partitions: n}, {Name: t.DeadLetter, Partitions: 1},
		{Name: t.Changelog, Partitions: n, Compacted: true},
	}
	if err := EnsureTopics(ctx, d.cfg.Brokers, d.cfg.Security, specs, d.cfg.CreateTopics); err != nil {
		return err
	}
	if err := CheckCoPartitioned(ctx, d.cfg.Brokers, d.cfg.Security, t.Prices, t.Stock); err != nil {
		return err
	}
	counts, err := PartitionCounts(ctx, d.cfg.Brokers, d.cfg.Security, t.Prices, t.Promotions, t.Changelog)
	if err != nil {
		return err
	}
	d.parts, d.promoParts = counts[t.Prices], counts[t.Promotions]
	d.partIDs = make([]int, d.parts)
	for i := range d.partIDs {
		d.partIDs[i] = i
	}
	if counts[t.Changelog] < d.parts {
		return fmt.Errorf("kafka: changelog topic %s has %d partitions, fewer than the %d of %s: each partition's state needs its own",
			t.Changelog, counts[t.Changelog], d.parts, t.Prices)
	}
	return nil
}

// Run consumes until ctx is cancelled, then finishes the batches in
// flight, produces their outputs, writes the changelog and commits.
func (d *Daemon) Run(ctx context.Context) error {
	if err := d.Setup(ctx); err != nil {
		return err
	}
	log := d.cfg.Log
	d.out = &kafka.Writer{
		Addr: kafka.TCP(d.cfg.Brokers...), Transport: d.tr, Balancer: &kafka.Murmur2Balancer{},
		RequiredAcks: kafka.RequireAll, BatchTimeout: 2 * time.Millisecond, BatchSize: 1000,
		MaxAttempts: 3, WriteBackoffMin: 50 * time.Millisecond, WriteBackoffMax: time.Second,
	}
	d.changelog = &kafka.Writer{
		Addr: kafka.TCP(d.cfg.Brokers...), Transport: d.tr, Balancer: samePartition{},
		// kafka-go allocates BatchSize messages for every batch: keep it
		// near what a batch of events changes
		RequiredAcks: kafka.RequireAll, BatchTimeout: 2 * time.Millisecond, BatchSize: 1000,
		MaxAttempts: 3, WriteBackoffMin: 50 * time.Millisecond, WriteBackoffMax: time.Second,
		Compression: kafka.Snappy,
	}
	defer d.out.Close()
	defer d.changelog.Close()
	probeCtx, stopProbe := context.WithCancel(ctx)
	probed := make(chan struct{})
	go func() { defer close(probed); d.probe(probeCtx) }()
	defer func() { stopProbe(); <-probed }()

	cg, err := kafka.NewConsumerGroup(kafka.ConsumerGroupConfig{
		ID: d.cfg.Group, Brokers: d.cfg.Brokers, Dialer: d.dialer,
		Topics:            []string{d.cfg.Topics.Prices, d.cfg.Topics.Stock},
		GroupBalancers:    []kafka.GroupBalancer{d.bal},
		SessionTimeout:    d.cfg.SessionTimeout,
		RebalanceTimeout:  d.cfg.SessionTimeout,
		HeartbeatInterval: d.cfg.SessionTimeout / 5,
		JoinGroupBackoff:  time.Second,
		StartOffset:       kafka.FirstOffset,
		ErrorLogger:       kafka.LoggerFunc(func(f string, a ...any) { log.Warn().Str("component", "consumer-group").Msgf(f, a...) }),
	})
	if err != nil {
		return fmt.Errorf("kafka: consumer group: %w", err)
	}
	log.Info().Str("group", d.cfg.Group).Int("partitions", d.parts).Msg("joining consumer group")
	for {
		gen, err := cg.Next(ctx)
		if err != nil {
			if ctx.Err() != nil {
				break
			}
			log.Warn().Err(err).Msg("consumer group: next generation")
			select {
			case <-ctx.Done():
			case <-time.After(time.Second):
			}
			continue
		}
		d.startGeneration(ctx, gen)
	}
	// ends the generation and waits for every partition to finish its
	// last batch
	err = cg.Close()
	d.mu.Lock()
	d.workers = map[int]*worker{}
	d.mu.Unlock()
	log.Info().Msg("stopped")
	if err != nil && !errors.Is(err, kafka.ErrGroupClosed) {
		return err
	}
	return nil
}

// probe asks the brokers for their metadata every ProbeInterval, so that readiness turns false while they are unreachable
// (stopped, or cut off by the network) even when every partition is idle:
// the readers and writers retry quietly on their own.
func (d *Daemon) probe(ctx context.Context) {
	tick := time.NewTicker(d.cfg.ProbeInterval)
	defer tick.Stop()
	failures := 0
	for {
		select {
		case <-ctx.Done():
			return
		case <-tick.C:
		}
		err := d.probeOnce(ctx, max(2*d.cfg.ProbeInterval, 2*time.Second))
		if ctx.Err() != nil {
			return
		}
		d.cfg.Observer.BrokerReachable(err == nil)
		if err == nil {
			if failures >= 2 {
				d.cfg.Log.Info().Msg("brokers reachable again")
			}
			failures = 0
			d.unreachable.Store(nil)
			continue
		}
		failures++
		if failures == 2 {
			why := err.Error()
			d.unreachable.Store(&why)
			d.cfg.Log.Warn().Err(err).Msg("brokers unreachable: not ready until they answer")
		}
	}
}

// probeOnce opens a connection of its own to each broker in turn until one
// answers a metadata request within timeout. (A kafka-go Transport would
// answer from its metadata cache, and a pooled connection can hang.)
func (d *Daemon) probeOnce(ctx context.Context, timeout time.Duration) error {
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	var last error
	for _, b := range d.cfg.Brokers {
		conn, err := d.dialer.DialContext(ctx, "tcp", b)
		if err != nil {
			last = err
			continue
		}
		if dl, ok := ctx.Deadline(); ok {
			conn.SetDeadline(dl)
		}
		_, err = conn.Brokers()
		conn.Close()
		if err == nil {
			return nil
		}
		last = err
	}
	return last
}

func (d *Daemon) startGeneration(ctx context.Context, gen *kafka.Generation) {
	nums := map[int]int64{}
	stock := map[int]int64{}
	for _, a := range gen.Assignments[d.cfg.Topics.Prices] {
		nums[a.ID] = a.Offset
	}
	for _, a := range gen.Assignments[d.cfg.Topics.Stock] {
		stock[a.ID] = a.Offset
	}
	var owned []int
	ws := map[int]*worker{}
	for p, off := range nums {
		soff, ok := stock[p]
		if !ok {
			d.cfg.Log.Error().Int("partition", p).Msg("assignment without the stock partition of the same number: is every member of the group a promoguard?")
			continue
		}
		owned = append(owned, p)
		ws[p] = newWorker(d, gen, p, off, soff)
	}
	sort.Ints(owned)
	d.bal.SetOwned(owned)
	d.mu.Lock()
	d.workers, d.gen, d.joined = ws, gen, true
	d.mu.Unlock()
	d.cfg.Observer.Assigned(len(ws))
	d.cfg.Log.Info().Int32("generation", gen.ID).Ints("partitions", owned).Msg("partitions assigned")
	// not ready from the end of this generation until the next one's
	// partitions have restored and caught up
	gen.Start(func(gctx context.Context) {
		<-gctx.Done()
		d.mu.Lock()
		if d.gen == gen {
			d.joined = false
		}
		d.mu.Unlock()
	})
	for _, w := range ws {
		gen.Start(func(gctx context.Context) { w.run(ctx, gctx) })
	}
}

// samePartition writes each message to the partition it names: the
// changelog of partition p is partition p of the changelog topic.
type samePartition struct{}

func (samePartition) Balance(msg kafka.Message, partitions ...int) int { return msg.Partition }

// partitionOf is the partition of prices and stock a key hashes to with
// murmur2, as the Java client and the daemon's writers place it.
func (d *Daemon) partitionOf(key []byte) int {
	if len(d.partIDs) == 0 {
		return 0
	}
	return (&kafka.Murmur2Balancer{}).Balance(kafka.Message{Key: key}, d.partIDs...)
}

type nopObserver struct{}

func (nopObserver) Event(string, string)          {}
func (nopObserver) DeadLetter(string)             {}
func (nopObserver) WrongPartition(string)         {}
func (nopObserver) Produced(string, int)          {}
func (nopObserver) Changelog(int)                 {}
func (nopObserver) Commit()                       {}
func (nopObserver) Batch(time.Duration)           {}
func (nopObserver) EventToOutput(time.Duration)   {}
func (nopObserver) Lag(string, int, int64)        {}
func (nopObserver) Assigned(int)                  {}
func (nopObserver) EngineStats(_, _ engine.Stats) {}
func (nopObserver) BrokerReachable(bool)          {}
func (nopObserver) ProduceFailed()                {}
