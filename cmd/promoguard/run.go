package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/signal"
	"path/filepath"
	"sync"
	"syscall"
	"time"

	"github.com/promoguard/promoguard/event"
	"github.com/promoguard/promoguard/internal/config"

	"github.com/fsnotify/fsnotify"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/rs/zerolog"
	kafkago "github.com/segmentio/kafka-go"

	"github.com/promoguard/promoguard/bench"
	"github.com/promoguard/promoguard/connectors/embedded"
	"github.com/promoguard/promoguard/connectors/httpd"
	"github.com/promoguard/promoguard/connectors/kafka"
	"github.com/promoguard/promoguard/connectors/metrics"
	"github.com/promoguard/promoguard/engine"
	"github.com/promoguard/promoguard/rules"
)

var _ kafka.Observer = metrics.Observer{}

type runCmd struct {
	runConfig
	PrintOutputs string `name:"print-outputs" enum:",ndjson,table" default:"" placeholder:"FORMAT" help:"Also print every output to stdout once Kafka has acknowledged it: ndjson or table (for demos)."`
	Demo         bool   `help:"Feed the daemon a generated stream of events (the example catalog, in the present) so that alerts show within seconds; implies --print-outputs=table unless it is set."`
}

// Help is the detail under the command's usage.
func (c *runCmd) Help() string {
	return `Consumes price, stock and promotion events from Kafka, evaluates the rules, and
produces alerts, corrections and dead letters (README.md, "The daemon").
With no brokers configured it starts an embedded single-node broker on
127.0.0.1 (for trying promoguard out, not for production).

` + config.Help + `

Signals: SIGHUP reloads the rules (so does a change to a rule file, unless
--no-watch-rules); SIGINT and SIGTERM stop the daemon after it has produced
and committed the batches in flight.

Exit status: 0 after a clean stop, 2 when the configuration or the rules do
not load, 1 when the daemon fails.`
}

func (c *runCmd) Run(e env) error {
	log := newLogger(e.stderr, c.Log.Level, c.Log.Format)
	rs, err := rules.Load(c.Rules, nil)
	if err != nil {
		var list rules.Errors
		if errors.As(err, &list) {
			fmt.Fprint(e.stderr, list.Pretty())
			fmt.Fprintf(e.stderr, "%d error%s\n", len(list), plural(len(list)))
			return exitError{2}
		}
		return err
	}
	log.Info().Int("rules", len(rs.Rules)).Str("rules_version", rs.Version).Msg("rules loaded")

	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()

	brokers := c.Brokers
	if c.UseEmbedded() {
		b, err := embedded.Start(embedded.Options{
			Addr: c.Embedded.Addr, DataDir: c.Embedded.DataDir, Partitions: int32(c.Partitions),
			AutoCreateTopics: true,
			Log: func(level, msg string) {
				log.Warn().Str("component", "embedded-broker").Str("level", level).Msg(msg)
			},
		})
		if err != nil {
			return fmt.Errorf("embedded broker: %w", err)
		}
		defer b.Close()
		brokers = b.Brokers()
		log.Info().Str("addr", b.Addr()).
			Str("produce", fmt.Sprintf("promoguard produce --brokers %s EVENTS.ndjson", b.Addr())).
			Str("kcat", fmt.Sprintf("kcat -b %s -P -t %s -K '|' -X topic.partitioner=murmur2_random", b.Addr(), c.Topics.Prices)).
			Str("consume", fmt.Sprintf("kcat -b %s -C -t %s -f '%%k %%s\\n'", b.Addr(), c.Topics.Alerts)).
			Msg("embedded broker started: for trying promoguard out, not for production")
	}

	reg := prometheus.NewRegistry()
	m, err := metrics.New(reg)
	if err != nil {
		return err
	}
	if err := metrics.RegisterRuntime(reg, version); err != nil {
		return err
	}
	m.Reloaded(true, time.Now(), len(rs.Rules))
	ids := make([]string, 0, len(rs.Rules))
	for _, r := range rs.Rules {
		ids = append(ids, r.ID())
	}
	m.InitRules(ids)

	changelog := c.ChangelogTopic()
	cfg := kafka.Config{
		Brokers: brokers, Security: c.Security, Group: c.GroupID,
		Topics: kafka.Topics{
			Prices: c.Topics.Prices, Stock: c.Topics.Stock, Promotions: c.Topics.Promotions,
			Alerts: c.Topics.Alerts, Corrections: c.Topics.Corrections, DeadLetter: c.Topics.DeadLetter,
			Changelog: changelog, ChannelAlerts: c.Topics.ChannelAlerts, ChannelAlertPrefix: c.Topics.ChannelAlertsPrefix,
		},
		CreateTopics: c.CreateTopics, Partitions: c.Partitions,
		Engine: engine.Options{
			Horizon: time.Duration(c.Horizon), AllowedLateness: time.Duration(c.Lateness),
			OnRuleError: ruleErrorLogger(log),
			RuleClock:   monotonicNanos(),
		},
		Decode:             event.DecodeOptions{MaxSkew: time.Duration(c.MaxSkew)},
		BatchSize:          c.Batch.Size,
		BatchTimeout:       time.Duration(c.Batch.Timeout),
		IdleAdvance:        time.Duration(c.Batch.MaxIdle),
		Grace:              time.Duration(c.Batch.Grace),
		MaxWait:            time.Duration(c.Batch.MaxWait),
		CheckpointInterval: time.Duration(c.Batch.Checkpoint),
		SessionTimeout:     time.Duration(c.Session),
		Log:                log,
		Observer:           metrics.Observer{M: m},
	}
	format := c.PrintOutputs
	if c.Demo && format == "" {
		format = "table"
	}
	if format != "" {
		cfg.Tap = outputPrinter(e.stdout, format)
	}
	d, err := kafka.NewDaemon(cfg, rs)
	if err != nil {
		return err
	}

	var reloadMu sync.Mutex
	reload := func(why string) error {
		reloadMu.Lock()
		defer reloadMu.Unlock()
		nrs, err := rules.Load(c.Rules, nil)
		if err != nil {
			m.Reloaded(false, time.Now(), len(d.Rules().Rules))
			log.Error().Str("trigger", why).Str("errors", err.Error()).Msg("rule reload failed: the previous rules keep running")
			return err
		}
		if nrs.Version == d.Rules().Version {
			m.Reloaded(true, time.Now(), len(nrs.Rules))
			log.Info().Str("trigger", why).Msg("rules unchanged")
			return nil
		}
		d.Reload(nrs)
		m.Reloaded(true, time.Now(), len(nrs.Rules))
		log.Info().Str("trigger", why).Int("rules", len(nrs.Rules)).Str("rules_version", nrs.Version).Msg("rules reloaded")
		return nil
	}
	hup := make(chan os.Signal, 1)
	signal.Notify(hup, syscall.SIGHUP)
	defer signal.Stop(hup)
	go func() {
		for {
			select {
			case <-hup:
				reload("SIGHUP")
			case <-ctx.Done():
				return
			}
		}
	}()
	if c.WatchRules {
		if err := watchRules(ctx, c.Rules, func() { reload("file change") }, log); err != nil {
			log.Warn().Err(err).Msg("watching rule files failed: reload with SIGHUP")
		}
	}

	hopts := httpd.Options{
		Addr: c.HTTP.Addr, Gatherer: reg, Ready: d.Ready,
		Explain: func(sku, channel string) (any, bool) {
			ectx, cancel := context.WithTimeout(ctx, 5*time.Second)
			defer cancel()
			return d.Explain(ectx, sku, channel)
		},
	}
	if c.HTTP.EnableAdminReload {
		hopts.Reload = func() error { return reload("POST /-/reload") }
	}
	srv := httpd.New(hopts)
	addr, err := srv.Start(ctx)
	if err != nil {
		return fmt.Errorf("http: %w", err)
	}
	log.Info().Str("addr", addr).Msg("serving /metrics, /healthz, /readyz, /explain")
	defer func() {
		sctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		srv.Shutdown(sctx)
	}()

	if c.Demo {
		go runDemo(ctx, d, brokers, c, log)
	}
	if err := d.Run(ctx); err != nil {
		log.Error().Err(err).Msg("daemon failed")
		return exitError{1}
	}
	return nil
}

func newLogger(w io.Writer, level, format string) zerolog.Logger {
	if format == "console" {
		w = zerolog.ConsoleWriter{Out: w, TimeFormat: time.RFC3339}
	}
	lvl, err := zerolog.ParseLevel(level)
	if err != nil {
		lvl = zerolog.InfoLevel
	}
	return zerolog.New(w).Level(lvl).With().Timestamp().Logger()
}

// ruleErrorLogger logs rule runtime errors, at most one a second per rule
// (the engine counts them all).
func ruleErrorLogger(log zerolog.Logger) func(engine.RuleError) {
	var mu sync.Mutex
	last := map[string]time.Time{}
	return func(re engine.RuleError) {
		id := re.Rule.ID()
		now := time.Now()
		mu.Lock()
		if now.Sub(last[id]) < time.Second {
			mu.Unlock()
			return
		}
		last[id] = now
		mu.Unlock()
		log.Warn().Str("rule", id).Str("sku", re.SKU).Str("channel", re.Channel).Str("promo", re.Promo).
			Str("error", truncate(re.Err.Error(), 300)).Msg("rule failed")
	}
}

func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return s[:n] + "…"
}

func outputPrinter(w io.Writer, format string) func(event.Output) {
	var mu sync.Mutex
	rw := newRecordWriter(w, format == "table")
	return func(o event.Output) {
		mu.Lock()
		defer mu.Unlock()
		rw.write(o)
		rw.flush()
	}
}

// watchRules calls reload when a rule file under paths changes, after the
// changes have settled for 200 ms (editors write in several steps).
func watchRules(ctx context.Context, paths []string, reload func(), log zerolog.Logger) error {
	w, err := fsnotify.NewWatcher()
	if err != nil {
		return err
	}
	for _, p := range paths {
		st, err := os.Stat(p)
		if err != nil {
			w.Close()
			return err
		}
		dir := p
		if !st.IsDir() {
			dir = filepath.Dir(p)
		}
		if err := w.Add(dir); err != nil {
			w.Close()
			return err
		}
	}
	go func() {
		defer w.Close()
		var timer <-chan time.Time
		for {
			select {
			case <-ctx.Done():
				return
			case ev, ok := <-w.Events:
				if !ok {
					return
				}
				if ev.Op&(fsnotify.Write|fsnotify.Create|fsnotify.Remove|fsnotify.Rename) != 0 {
					timer = time.After(200 * time.Millisecond)
				}
			case err, ok := <-w.Errors:
				if !ok {
					return
				}
				log.Warn().Err(err).Msg("rule file watcher")
			case <-timer:
				timer = nil
				reload()
			}
		}
	}()
	return nil
}

// runDemo feeds the daemon a generated catalog and event stream starting
// at the present, at about 200 events a second, once it is ready.
func runDemo(ctx context.Context, d *kafka.Daemon, brokers []string, c *runCmd, log zerolog.Logger) {
	for {
		if ok, _ := d.Ready(); ok {
			break
		}
		select {
		case <-ctx.Done():
			return
		case <-time.After(100 * time.Millisecond):
		}
	}
	g, err := bench.NewGenerator(bench.Config{
		SKUs: 200, Events: 6000, Seed: uint64(time.Now().UnixNano()),
		Start: time.Now().UTC().Truncate(time.Second), Rate: 40,
	})
	if err != nil {
		log.Error().Err(err).Msg("demo")
		return
	}
	w, err := kafka.NewWriter(brokers, c.Security, "")
	if err != nil {
		log.Error().Err(err).Msg("demo")
		return
	}
	defer w.Close()
	log.Info().Int("events", g.Len()).Msg("demo: producing a generated catalog and event stream")
	topic := map[bench.Kind]string{bench.KindPrice: c.Topics.Prices, bench.KindStock: c.Topics.Stock, bench.KindPromo: c.Topics.Promotions}
	tick := time.NewTicker(250 * time.Millisecond)
	defer tick.Stop()
	n := 0
	for {
		var msgs []kafkago.Message
		for len(msgs) < 50 {
			ev, ok := g.Next()
			if !ok {
				break
			}
			msgs = append(msgs, kafkago.Message{Topic: topic[ev.Kind], Key: []byte(ev.Key), Value: ev.Line})
		}
		if len(msgs) == 0 {
			log.Info().Int("events", n).Msg("demo: stream done; the daemon keeps running until interrupted")
			return
		}
		if err := w.WriteMessages(ctx, msgs...); err != nil {
			if ctx.Err() == nil {
				log.Error().Err(err).Msg("demo: produce")
			}
			return
		}
		n += len(msgs)
		select {
		case <-ctx.Done():
			return
		case <-tick.C:
		}
	}
}

// monotonicNanos is a monotonic clock in nanoseconds, for the engine's
// per-rule timing (promoguard_rule_evaluation_seconds_total).
func monotonicNanos() func() int64 {
	start := time.Now()
	return func() int64 { return int64(time.Since(start)) }
}
