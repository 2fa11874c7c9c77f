package config

import (
	"fmt"
	"strings"
	"time"

	"github.com/prometheus/common/model"

	"github.com/promoguard/promoguard/connectors/embedded"
	"github.com/promoguard/promoguard/connectors/kafka"
	"github.com/promoguard/promoguard/engine"
	"github.com/promoguard/promoguard/event"
	"github.com/promoguard/promoguard/rules"
)

// Daemon is the configuration of `promoguard run`. Every setting has a key
// in the YAML config file, a flag and a PROMOGUARD_* environment variable,
// derived from one another: the key topics.prices is the flag
// --topics-prices and the variable PROMOGUARD_TOPICS_PRICES; tls.ca_file
// is --tls-ca-file and PROMOGUARD_TLS_CA_FILE. Precedence: flags, then
// environment, then the file, then the defaults.
//
// It is meant to be embedded anonymously in the run command's struct, with
// Vars given to kong; the command's BeforeApply hook calls Layer, and kong
// calls Validate.
type Daemon struct {
	Config string `name:"config" short:"c" env:"PROMOGUARD_CONFIG" placeholder:"FILE" yaml:"-" help:"YAML config file (see examples/promoguard.yaml). Flags and PROMOGUARD_* environment variables override it."`

	Brokers  []string `name:"brokers" env:"PROMOGUARD_BROKERS" placeholder:"HOST:PORT" yaml:"brokers" help:"Kafka bootstrap brokers. None: start the embedded single-node broker on 127.0.0.1 (for trying promoguard out, not for production)."`
	Embedded Embedded `embed:"" prefix:"embedded-" envprefix:"PROMOGUARD_EMBEDDED_" yaml:"embedded"`

	GroupID      string   `name:"group-id" env:"PROMOGUARD_GROUP_ID" default:"${group_id}" placeholder:"ID" yaml:"group_id" help:"Kafka consumer group id; instances with the same id share the partitions. Default: ${default}."`
	Session      Duration `name:"session-timeout" env:"PROMOGUARD_SESSION_TIMEOUT" default:"${session_timeout}" placeholder:"DUR" yaml:"session_timeout" help:"Consumer group session timeout: an instance silent this long (crashed, paused, cut off) loses its partitions to the others. The brokers bound it (group.min/max.session.timeout.ms, 6s to 30m by default). Default: ${default}."`
	Topics       Topics   `embed:"" prefix:"topics-" envprefix:"PROMOGUARD_TOPICS_" yaml:"topics"`
	CreateTopics bool     `name:"create-topics" env:"PROMOGUARD_CREATE_TOPICS" default:"true" negatable:"" yaml:"create_topics" help:"Create missing topics (the changelog compacted). With --no-create-topics a missing topic is an error that names it."`
	Partitions   int      `name:"partitions" env:"PROMOGUARD_PARTITIONS" default:"${partitions}" placeholder:"N" yaml:"partitions" help:"Partition count of the topics promoguard creates. Prices, stock and the changelog must have equal counts. Default: ${default}."`

	Rules      []string `name:"rules" env:"PROMOGUARD_RULES" placeholder:"PATH" yaml:"rules" help:"Rule files or directories of *.yaml and *.yml rule files."`
	WatchRules bool     `name:"watch-rules" env:"PROMOGUARD_WATCH_RULES" default:"true" negatable:"" yaml:"watch_rules" help:"Reload the rules when a rule file changes (SIGHUP always reloads)."`
	Horizon    Duration `name:"horizon" env:"PROMOGUARD_HORIZON" default:"${horizon}" placeholder:"DUR" yaml:"horizon" help:"How far ahead of the watermark the calendar is evaluated (90m, 12h, 30d, 1w). Default: ${default}."`
	Lateness   Duration `name:"allowed-lateness" env:"PROMOGUARD_ALLOWED_LATENESS" default:"0s" placeholder:"DUR" yaml:"allowed_lateness" help:"The watermark trails the highest event ts by this much, so that events up to this late are still applied in order. Default: ${default}."`
	Channels   string   `name:"channels" env:"PROMOGUARD_CHANNELS" placeholder:"FILE" yaml:"channels" help:"Channels file: the stacking policy of each channel (compound, best_deal, sequential_stop, additive, combinable). Empty: every channel compound."`
	MaxSkew    Duration `name:"max-skew" env:"PROMOGUARD_MAX_SKEW" default:"${max_skew}" placeholder:"DUR" yaml:"max_skew" help:"An event whose ts is further ahead of the wall clock than this is a dead letter (future_ts); 0s disables the check. Default: ${default}."`

	HTTP     HTTP           `embed:"" prefix:"http-" envprefix:"PROMOGUARD_HTTP_" yaml:"http"`
	Security kafka.Security `embed:"" envprefix:"PROMOGUARD_" yaml:",inline"`
	Log      Log            `embed:"" prefix:"log-" envprefix:"PROMOGUARD_LOG_" yaml:"log"`
	Batch    Batch          `embed:"" prefix:"batch-" envprefix:"PROMOGUARD_BATCH_" yaml:"batch"`

	// Origins says where each setting came from, by config key: "--flag",
	// "$PROMOGUARD_X", "file:line:col"; absent for a default. Layer fills
	// it; Validate names it in each problem.
	Origins map[string]string `kong:"-" yaml:"-"`
}

// Embedded configures the embedded broker.
type Embedded struct {
	Addr    string `name:"addr" env:"ADDR" default:"${embedded_addr}" placeholder:"HOST:PORT" yaml:"addr" help:"Where the embedded broker listens when no brokers are configured (a loopback address). Default: ${default}."`
	DataDir string `name:"data-dir" env:"DATA_DIR" placeholder:"DIR" yaml:"data_dir" help:"Keep the embedded broker's topics and offsets in DIR across restarts. Empty: in memory."`
}

// Topics names the daemon's topics.
type Topics struct {
	Prices              string `name:"prices" env:"PRICES" default:"${topic_prices}" placeholder:"TOPIC" yaml:"prices" help:"Input: price events, keyed by sku. Default: ${default}."`
	Stock               string `name:"stock" env:"STOCK" default:"${topic_stock}" placeholder:"TOPIC" yaml:"stock" help:"Input: stock events, keyed by sku; co-partitioned with prices. Default: ${default}."`
	Promotions          string `name:"promotions" env:"PROMOTIONS" default:"${topic_promotions}" placeholder:"TOPIC" yaml:"promotions" help:"Input: promotion events, keyed by promotion id; every instance reads all of it. Default: ${default}."`
	Alerts              string `name:"alerts" env:"ALERTS" default:"${topic_alerts}" placeholder:"TOPIC" yaml:"alerts" help:"Output: alerts. Default: ${default}."`
	Corrections         string `name:"corrections" env:"CORRECTIONS" default:"${topic_corrections}" placeholder:"TOPIC" yaml:"corrections" help:"Output: corrected prices. Default: ${default}."`
	DeadLetter          string `name:"deadletter" env:"DEADLETTER" default:"${topic_deadletter}" placeholder:"TOPIC" yaml:"deadletter" help:"Output: input records that are not valid events. Default: ${default}."`
	Changelog           string `name:"changelog" env:"CHANGELOG" placeholder:"TOPIC" yaml:"changelog" help:"Compacted topic backing the daemon's state (default ${changelog_prefix}<group-id>)."`
	ChannelAlerts       bool   `name:"channel-alerts" env:"CHANNEL_ALERTS" yaml:"channel_alerts" help:"Also write each alert to a topic of its channel (prefix + channel name), so a marketplace can be given its own topic."`
	ChannelAlertsPrefix string `name:"channel-alerts-prefix" env:"CHANNEL_ALERTS_PREFIX" default:"${topic_channel_prefix}" placeholder:"PREFIX" yaml:"channel_alerts_prefix" help:"Prefix of the per-channel alert topics; characters of the channel not allowed in a topic name become _. Default: ${default}."`
}

// HTTP configures the HTTP server.
type HTTP struct {
	Addr              string `name:"addr" env:"ADDR" default:"${http_addr}" placeholder:"HOST:PORT" yaml:"addr" help:"Address of /metrics, /healthz, /readyz and /explain. Default: ${default}."`
	EnableAdminReload bool   `name:"enable-admin-reload" env:"ENABLE_ADMIN_RELOAD" yaml:"enable_admin_reload" help:"Serve POST /-/reload, which reloads the rules."`
}

// Log configures logging.
type Log struct {
	Level  string `name:"level" env:"LEVEL" default:"info" placeholder:"LEVEL" yaml:"level" help:"Log level: debug, info, warn or error. Default: ${default}."`
	Format string `name:"format" env:"FORMAT" default:"json" placeholder:"FORMAT" yaml:"format" help:"Log format: json (one object a line) or console (for people). Default: ${default}."`
}

// Batch configures the partitions' batches, merge and checkpoints.
type Batch struct {
	Size       int      `name:"size" env:"SIZE" default:"${batch_size}" placeholder:"N" yaml:"size" help:"Most records of a partition evaluated before their outputs are produced and their offsets committed. Default: ${default}."`
	Timeout    Duration `name:"timeout" env:"TIMEOUT" default:"${batch_timeout}" placeholder:"DUR" yaml:"timeout" help:"Longest wait to fill a batch before it is processed. Default: ${default}."`
	MaxIdle    Duration `name:"max-idle" env:"MAX_IDLE" default:"${batch_max_idle}" placeholder:"DUR" yaml:"max_idle" help:"After this long without records, a partition's watermark follows the wall clock, so that timers still fire. 0s disables it: outputs then depend only on the input, exactly as replay gives them. Default: ${default}."`
	Grace      Duration `name:"grace" env:"GRACE" default:"${batch_grace}" placeholder:"DUR" yaml:"grace" help:"How long a fetched event waits for events of the other input topics with earlier timestamps produced alongside it, so that the topics are merged in timestamp order. Default: ${default}."`
	Checkpoint Duration `name:"checkpoint-interval" env:"CHECKPOINT_INTERVAL" default:"${batch_checkpoint_interval}" placeholder:"DUR" yaml:"checkpoint_interval" help:"How often a partition writes its changed state and input offsets to the changelog; after a crash the input since is read again and its outputs come again, with the same ids. Default: ${default}."`
	MaxWait    Duration `name:"max-wait" env:"MAX_WAIT" default:"${batch_max_wait}" placeholder:"DUR" yaml:"max_wait" help:"How long a partition waits for an input topic that is behind before applying the others' events out of timestamp order. Default: ${default}."`
}

// Defaults of the settings that no library below the CLI owns. The others
// are connectors/kafka's and connectors/embedded's.
const (
	DefaultHorizon  = engine.DefaultHorizon
	DefaultMaxSkew  = time.Hour
	DefaultMaxIdle  = 30 * time.Second
	DefaultHTTPAddr = "127.0.0.1:9464"
)

// Vars are the defaults as kong variables, for the ${...} in Daemon's
// tags: pass them to kong.New (kong.Vars(config.Vars())).
func Vars() map[string]string {
	d := func(v time.Duration) string { return Duration(v).String() }
	return map[string]string{
		"group_id":                  kafka.DefaultGroup,
		"session_timeout":           d(kafka.DefaultSessionTimeout),
		"partitions":                fmt.Sprint(kafka.DefaultPartitions),
		"horizon":                   d(DefaultHorizon),
		"max_skew":                  d(DefaultMaxSkew),
		"embedded_addr":             embedded.DefaultAddr,
		"topic_prices":              kafka.DefaultPricesTopic,
		"topic_stock":               kafka.DefaultStockTopic,
		"topic_promotions":          kafka.DefaultPromotionsTopic,
		"topic_alerts":              kafka.DefaultAlertsTopic,
		"topic_corrections":         kafka.DefaultCorrectionsTopic,
		"topic_deadletter":          kafka.DefaultDeadLetterTopic,
		"topic_channel_prefix":      kafka.DefaultChannelAlertPrefix,
		"changelog_prefix":          kafka.ChangelogPrefix,
		"http_addr":                 DefaultHTTPAddr,
		"batch_size":                fmt.Sprint(kafka.DefaultBatchSize),
		"batch_timeout":             d(kafka.DefaultBatchTimeout),
		"batch_max_idle":            d(DefaultMaxIdle),
		"batch_grace":               d(kafka.DefaultGrace),
		"batch_checkpoint_interval": d(kafka.DefaultCheckpointInterval),
		"batch_max_wait":            d(kafka.DefaultMaxWait),
	}
}

// Help explains the configuration sources, for the run command's help.
const Help = `Every setting can be given in a YAML config file (--config), as a flag, or
as an environment variable: the key topics.prices is the flag --topics-prices
and the variable PROMOGUARD_TOPICS_PRICES; tls.ca_file is --tls-ca-file and
PROMOGUARD_TLS_CA_FILE. Flags win over the environment, the environment over
the file, the file over the defaults. Relative paths in the file are relative
to the file's directory. A list in a flag or variable is comma-separated.`

// Duration is a duration in the syntax of rule files (Prometheus
// durations: 90s, 1h30m, 30d, 1w), from a flag, a variable or the file.
type Duration time.Duration

// UnmarshalText parses a duration from a flag or a variable.
func (d *Duration) UnmarshalText(b []byte) error { return d.parse(string(b)) }

func (d *Duration) parse(s string) error {
	md, err := model.ParseDuration(strings.TrimSpace(s))
	if err != nil {
		return fmt.Errorf("%q is not a duration such as 90s, 15m, 12h, 30d or 1w", s)
	}
	*d = Duration(md)
	return nil
}

func (d Duration) String() string { return model.Duration(d).String() }

// ChangelogTopic is the state changelog topic: topics.changelog, or
// promoguard.state.<group_id>.
func (c *Daemon) ChangelogTopic() string {
	if c.Topics.Changelog != "" {
		return c.Topics.Changelog
	}
	return kafka.ChangelogPrefix + c.GroupID
}

// UseEmbedded says whether the daemon starts the embedded broker: no
// brokers are configured.
func (c *Daemon) UseEmbedded() bool { return len(c.Brokers) == 0 }

// ChannelAlertTopic is the alert topic of a channel (when
// topics.channel_alerts is on).
func (c *Daemon) ChannelAlertTopic(channel string) string {
	return kafka.ChannelTopic(c.Topics.ChannelAlertsPrefix, channel)
}

// TopicSpecs are the topics the daemon needs, to create or check with
// kafka.EnsureTopics: the changelog compacted, every one with the
// configured partition count. Per-channel alert topics are not among
// them: they are known only once their channel is seen.
func (c *Daemon) TopicSpecs() []kafka.TopicSpec {
	spec := func(name string) kafka.TopicSpec { return kafka.TopicSpec{Name: name, Partitions: c.Partitions} }
	changelog := spec(c.ChangelogTopic())
	changelog.Compacted = true
	return []kafka.TopicSpec{
		spec(c.Topics.Prices), spec(c.Topics.Stock), spec(c.Topics.Promotions),
		spec(c.Topics.Alerts), spec(c.Topics.Corrections), spec(c.Topics.DeadLetter), changelog,
	}
}

// LoadChannels loads the channels file, if one is configured: the
// stacking policy of each channel for the engine (nil: all compound).
func (c *Daemon) LoadChannels() (rules.Channels, error) {
	if c.Channels == "" {
		return nil, nil
	}
	return rules.LoadChannels(c.Channels)
}

// Kafka is the daemon's kafka.Config for these settings, against brokers
// (the configured ones, or the embedded broker's). The caller adds what is
// not configuration: the engine's callbacks (OnRuleError, RuleClock), the
// logger, the observer and the tap.
func (c *Daemon) Kafka(brokers []string) kafka.Config {
	return kafka.Config{
		Brokers: brokers, Security: c.Security, Group: c.GroupID,
		Topics: kafka.Topics{
			Prices: c.Topics.Prices, Stock: c.Topics.Stock, Promotions: c.Topics.Promotions,
			Alerts: c.Topics.Alerts, Corrections: c.Topics.Corrections, DeadLetter: c.Topics.DeadLetter,
			Changelog: c.ChangelogTopic(), ChannelAlerts: c.Topics.ChannelAlerts, ChannelAlertPrefix: c.Topics.ChannelAlertsPrefix,
		},
		CreateTopics:       c.CreateTopics,
		Engine:             engine.Options{Horizon: time.Duration(c.Horizon), AllowedLateness: time.Duration(c.Lateness)},
		Decode:             event.DecodeOptions{MaxSkew: time.Duration(c.MaxSkew)},
		Partitions:         c.Partitions,
		BatchSize:          c.Batch.Size,
		BatchTimeout:       time.Duration(c.Batch.Timeout),
		IdleAdvance:        time.Duration(c.Batch.MaxIdle),
		Grace:              time.Duration(c.Batch.Grace),
		MaxWait:            time.Duration(c.Batch.MaxWait),
		CheckpointInterval: time.Duration(c.Batch.Checkpoint),
		SessionTimeout:     time.Duration(c.Session),
	}
}
