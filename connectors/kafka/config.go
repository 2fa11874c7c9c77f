package kafka

import (
	"time"

	"github.com/rs/zerolog"

	"github.com/promoguard/promoguard/engine"
	"github.com/promoguard/promoguard/event"
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

// DefaultTopics returns the default topic names for consumer group group.
func DefaultTopics(group string) Topics {
	return Topics{
		Prices: DefaultPricesTopic, Stock: DefaultStockTopic, Promotions: DefaultPromotionsTopic,
		Alerts: DefaultAlertsTopic, Corrections: DefaultCorrectionsTopic, DeadLetter: DefaultDeadLetterTopic,
		Changelog: ChangelogPrefix + group, ChannelAlertPrefix: DefaultChannelAlertPrefix,
	}
}

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
