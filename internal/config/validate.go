package config

import (
	"errors"
	"fmt"
	"net"
	"slices"
	"strings"
	"time"

	"github.com/promoguard/promoguard/connectors/kafka"
	"github.com/promoguard/promoguard/rules"
)

// at says where a setting came from, as a prefix for a message about it:
// "file:3:9: ", "--flag: ", "$VAR: ", or "" for a default.
func (c *Daemon) at(key string) string {
	if w := c.Origins[key]; w != "" {
		return w + ": "
	}
	return ""
}

// Validate checks the whole configuration and returns every problem, each
// naming its key and where its value came from. kong calls it once the
// flags are applied.
func (c *Daemon) Validate() error {
	var errs Errors
	bad := func(key, format string, args ...any) {
		errs = append(errs, c.at(key)+key+": "+fmt.Sprintf(format, args...))
	}
	checkAddr := func(key, addr string) {
		host, port, err := net.SplitHostPort(addr)
		switch {
		case addr == "":
			bad(key, "an address HOST:PORT is required")
		case err != nil:
			bad(key, "%q is not HOST:PORT: %v", addr, err)
		case port == "":
			bad(key, "%q has no port", addr)
		case strings.ContainsAny(host, " /"):
			bad(key, "%q is not a host name", addr)
		}
	}
	for _, b := range c.Brokers {
		checkAddr("brokers", b)
	}
	if _, err := c.LoadChannels(); err != nil {
		var list rules.Errors
		if errors.As(err, &list) {
			for _, e := range list {
				bad("channels", "%v", e)
			}
		} else {
			bad("channels", "%v", err)
		}
	}
	if len(c.Brokers) == 0 {
		checkAddr("embedded.addr", c.Embedded.Addr)
	} else if c.Embedded.DataDir != "" {
		bad("embedded.data_dir", "is set, but brokers are configured: the embedded broker only runs without brokers")
	}
	if strings.TrimSpace(c.GroupID) == "" {
		bad("group_id", "must not be empty")
	}
	topics := []struct{ key, name string }{
		{"topics.prices", c.Topics.Prices}, {"topics.stock", c.Topics.Stock}, {"topics.promotions", c.Topics.Promotions},
		{"topics.alerts", c.Topics.Alerts}, {"topics.corrections", c.Topics.Corrections}, {"topics.deadletter", c.Topics.DeadLetter},
		{"topics.changelog", c.ChangelogTopic()},
	}
	seen := map[string]string{}
	for _, t := range topics {
		if err := kafka.ValidTopicName(t.name); err != nil {
			bad(t.key, "%v", err)
			continue
		}
		if prev, ok := seen[t.name]; ok {
			bad(t.key, "topic %s is also %s: every topic must be different", t.name, prev)
			continue
		}
		seen[t.name] = t.key
	}
	if c.Topics.ChannelAlerts {
		if err := kafka.ValidTopicName(c.Topics.ChannelAlertsPrefix + "x"); err != nil || c.Topics.ChannelAlertsPrefix == "" {
			bad("topics.channel_alerts_prefix", "%q cannot start a topic name (only a-z, A-Z, 0-9, '.', '_' and '-')", c.Topics.ChannelAlertsPrefix)
		}
		for name, key := range seen {
			if strings.HasPrefix(name, c.Topics.ChannelAlertsPrefix) && key != "topics.alerts" {
				bad(key, "topic %s starts with topics.channel_alerts_prefix %s: a channel's alert topic could be it", name, c.Topics.ChannelAlertsPrefix)
			}
		}
	}
	if c.Partitions < 1 || c.Partitions > 10000 {
		bad("partitions", "must be between 1 and 10000, got %d", c.Partitions)
	}
	if len(c.Rules) == 0 {
		bad("rules", "at least one rule file or directory is required")
	}
	for _, r := range c.Rules {
		if strings.TrimSpace(r) == "" {
			bad("rules", "an empty path")
		}
	}
	if c.Horizon <= 0 {
		bad("horizon", "must be positive, got %s", c.Horizon)
	}
	if c.Lateness < 0 {
		bad("allowed_lateness", "must not be negative, got %s", c.Lateness)
	}
	if c.MaxSkew < 0 {
		bad("max_skew", "must not be negative, got %s", c.MaxSkew)
	}
	if c.Session < Duration(time.Second) {
		bad("session_timeout", "must be at least 1s, got %s", c.Session)
	}
	checkAddr("http.addr", c.HTTP.Addr)
	if err := c.Security.Validate(); err != nil {
		for _, line := range strings.Split(err.Error(), "\n") {
			key, _, _ := strings.Cut(line, " ")
			errs = append(errs, c.at(key)+line)
		}
	}
	if !slices.Contains([]string{"debug", "info", "warn", "error"}, c.Log.Level) {
		bad("log.level", "%q is not one of debug, info, warn, error", c.Log.Level)
	}
	if !slices.Contains([]string{"json", "console"}, c.Log.Format) {
		bad("log.format", "%q is not one of json, console", c.Log.Format)
	}
	if c.Batch.Size < 1 {
		bad("batch.size", "must be at least 1, got %d", c.Batch.Size)
	}
	if c.Batch.Timeout <= 0 {
		bad("batch.timeout", "must be positive, got %s", c.Batch.Timeout)
	}
	if c.Batch.MaxIdle < 0 {
		bad("batch.max_idle", "must not be negative, got %s", c.Batch.MaxIdle)
	}
	if c.Batch.Checkpoint <= 0 {
		bad("batch.checkpoint_interval", "must be positive, got %s", c.Batch.Checkpoint)
	}
	if c.Batch.Grace < 0 {
		bad("batch.grace", "must not be negative, got %s", c.Batch.Grace)
	}
	if c.Batch.MaxWait < 0 {
		bad("batch.max_wait", "must not be negative, got %s", c.Batch.MaxWait)
	}
	if len(errs) == 0 {
		return nil
	}
	return errs
}
