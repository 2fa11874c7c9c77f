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

	"github.com/segmentio/kafka-go"

	"github.com/promoguard/promoguard/rules"
)

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
		if since, why, ok := w.out.unacknowledged(); ok {
			if why != "" {
				why = ": " + why
			}
			failing = append(failing, fmt.Sprintf("partition %d: records not acknowledged for %s%s",
				p, now.Sub(since).Round(time.Millisecond), why))
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
	d.out = newWriter(d.cfg.Brokers, d.tr, writerOptions{Attempts: daemonAttempts})
	d.changelog = newWriter(d.cfg.Brokers, d.tr, writerOptions{Attempts: daemonAttempts, ToNamedPartition: true})
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

// partitionOf is the partition of prices and stock a key hashes to with
// murmur2, as the Java client and the daemon's writers place it.
func (d *Daemon) partitionOf(key []byte) int {
	if len(d.partIDs) == 0 {
		return 0
	}
	return (&kafka.Murmur2Balancer{}).Balance(kafka.Message{Key: key}, d.partIDs...)
}
