package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/signal"
	"sync"
	"syscall"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/rs/zerolog"

	"github.com/promoguard/promoguard/connectors/embedded"
	"github.com/promoguard/promoguard/connectors/file"
	"github.com/promoguard/promoguard/connectors/httpd"
	"github.com/promoguard/promoguard/connectors/kafka"
	"github.com/promoguard/promoguard/connectors/metrics"
	"github.com/promoguard/promoguard/engine"
	"github.com/promoguard/promoguard/event"
	"github.com/promoguard/promoguard/internal/config"
	"github.com/promoguard/promoguard/internal/demo"
	"github.com/promoguard/promoguard/internal/reload"
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
		b, err := demo.StartBroker(embedded.Options{Addr: c.Embedded.Addr, DataDir: c.Embedded.DataDir, Partitions: int32(c.Partitions)},
			c.Topics.Prices, c.Topics.Alerts, log)
		if err != nil {
			return err
		}
		defer b.Close()
		brokers = b.Brokers()
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

	cfg := c.Kafka(brokers)
	if cfg.Engine.Channels, err = c.LoadChannels(); err != nil {
		return err
	}
	cfg.Engine.OnRuleError = ruleErrorLogger(log)
	cfg.Engine.RuleClock = monotonicNanos()
	cfg.Log, cfg.Observer = log, metrics.Observer{M: m}
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

	rl := &reload.Reloader{Paths: c.Rules, Target: d, Log: log, Loaded: m.Reloaded}
	rl.OnSIGHUP(ctx)
	if c.WatchRules {
		if err := rl.Watch(ctx); err != nil {
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
		hopts.Reload = func() error { return rl.Reload("POST /-/reload") }
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
		go demo.Produce(ctx, demo.Options{Brokers: brokers, Security: c.Security, Ready: d.Ready, Log: log,
			Prices: c.Topics.Prices, Stock: c.Topics.Stock, Promotions: c.Topics.Promotions})
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
	rw := file.NewRecordWriter(w, format == "table")
	return func(o event.Output) {
		mu.Lock()
		defer mu.Unlock()
		rw.Write(o)
		rw.Flush()
	}
}

// monotonicNanos is a monotonic clock in nanoseconds, for the engine's
// per-rule timing (promoguard_rule_evaluation_seconds_total).
func monotonicNanos() func() int64 {
	start := time.Now()
	return func() int64 { return int64(time.Since(start)) }
}
