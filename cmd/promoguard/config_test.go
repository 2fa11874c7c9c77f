package main

import (
	"io"
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/alecthomas/kong"

	"github.com/promoguard/promoguard/connectors/kafka"
	"github.com/promoguard/promoguard/internal/config"
)

// clearConfigEnv unsets every PROMOGUARD_* variable for the test, so that
// the machine's environment does not leak in.
func clearConfigEnv(t *testing.T) {
	for _, kv := range os.Environ() {
		if k, _, _ := strings.Cut(kv, "="); strings.HasPrefix(k, "PROMOGUARD_") {
			t.Setenv(k, "") // restores it after the test
			os.Unsetenv(k)
		}
	}
}

func writeConfigFile(t *testing.T, dir, name, text string) string {
	t.Helper()
	p := filepath.Join(dir, name)
	if err := os.WriteFile(p, []byte(text), 0o644); err != nil {
		t.Fatal(err)
	}
	return p
}

// TestConfigDefaults: with only the required rules, every setting has its
// documented default, and the changelog follows the group id.
func TestConfigDefaults(t *testing.T) {
	clearConfigEnv(t)
	c, err := loadRunConfig([]string{"--rules", "r.yaml"})
	if err != nil {
		t.Fatal(err)
	}
	want := config.Daemon{
		Rules: []string{"r.yaml"}, GroupID: "promoguard", Session: config.Duration(10 * time.Second), CreateTopics: true, Partitions: 6, WatchRules: true,
		Horizon: config.Duration(30 * 24 * time.Hour), MaxSkew: config.Duration(time.Hour),
		Embedded: config.Embedded{Addr: "127.0.0.1:9092"},
		Topics: config.Topics{Prices: "pricing.prices", Stock: "pricing.stock", Promotions: "pricing.promotions",
			Alerts: "pricing.alerts", Corrections: "pricing.corrections", DeadLetter: "pricing.deadletter",
			ChannelAlertsPrefix: "pricing.alerts."},
		HTTP: config.HTTP{Addr: "127.0.0.1:9464"},
		Log:  config.Log{Level: "info", Format: "json"},
		Batch: config.Batch{Size: 1000, Timeout: config.Duration(20 * time.Millisecond), MaxIdle: config.Duration(30 * time.Second),
			Grace: config.Duration(20 * time.Millisecond), MaxWait: config.Duration(500 * time.Millisecond),
			Checkpoint: config.Duration(time.Second)},
	}
	c.Origins = nil
	if !reflect.DeepEqual(c.Daemon, want) {
		t.Fatalf("defaults\n got %+v\nwant %+v", c.Daemon, want)
	}
	// one set of defaults: the flags' are the library's
	kc := c.Kafka(nil)
	if kc.Group != kafka.DefaultGroup || kc.Partitions != kafka.DefaultPartitions || kc.BatchSize != kafka.DefaultBatchSize ||
		kc.BatchTimeout != kafka.DefaultBatchTimeout || kc.Grace != kafka.DefaultGrace || kc.MaxWait != kafka.DefaultMaxWait ||
		kc.CheckpointInterval != kafka.DefaultCheckpointInterval || kc.SessionTimeout != kafka.DefaultSessionTimeout ||
		kc.Topics != kafka.DefaultTopics(kc.Group) {
		t.Errorf("the defaults differ from connectors/kafka's: %+v", kc)
	}
	if !c.UseEmbedded() {
		t.Error("no brokers should mean the embedded broker")
	}
	if got := c.ChangelogTopic(); got != "promoguard.state.promoguard" {
		t.Errorf("changelog %q", got)
	}
	// the constants produce shares agree with the tags
	for got, want := range map[string]string{
		c.Topics.Prices: defaultPricesTopic, c.Topics.Stock: defaultStockTopic, c.Topics.Promotions: defaultPromotionsTopic,
		c.Topics.Alerts: defaultAlertsTopic, c.Topics.Corrections: defaultCorrectionsTopic, c.Topics.DeadLetter: defaultDeadLetterTopic,
		c.Topics.ChannelAlertsPrefix: defaultChannelPrefix, c.Embedded.Addr: defaultBrokerAddr,
	} {
		if got != want {
			t.Errorf("default %q, constant %q", got, want)
		}
	}
}

// TestConfigNames: every config key is a flag and an environment variable
// whose names derive from the key (a.b_c: --a-b-c, PROMOGUARD_A_B_C), and
// every flag of the run command is a config key (but --config).
func TestConfigNames(t *testing.T) {
	clearConfigEnv(t)
	var cli struct {
		Run struct{ runConfig } `cmd:""`
	}
	p, err := kong.New(&cli, kong.Writers(io.Discard, io.Discard), kong.Vars(config.Vars()))
	if err != nil {
		t.Fatal(err)
	}
	kctx, err := kong.Trace(p, []string{"run"})
	if err != nil {
		t.Fatal(err)
	}
	byAddr := map[uintptr]*kong.Flag{}
	for _, f := range kctx.Flags() {
		byAddr[f.Target.Addr().Pointer()] = f
	}
	leaves := config.Leaves(&cli.Run.Daemon)
	for _, l := range leaves {
		f := byAddr[l.Value.Addr().Pointer()]
		if f == nil {
			t.Errorf("config key %s has no flag", l.Key)
			continue
		}
		delete(byAddr, l.Value.Addr().Pointer())
		flag := strings.NewReplacer(".", "-", "_", "-").Replace(l.Key)
		env := "PROMOGUARD_" + strings.ToUpper(strings.ReplaceAll(l.Key, ".", "_"))
		if f.Name != flag {
			t.Errorf("config key %s: flag --%s, want --%s", l.Key, f.Name, flag)
		}
		if !slices.Equal(f.Envs, []string{env}) {
			t.Errorf("config key %s: env %v, want %s", l.Key, f.Envs, env)
		}
		if f.Help == "" {
			t.Errorf("--%s has no help", f.Name)
		}
	}
	for _, f := range byAddr {
		if f.Name != "config" && f.Name != "help" {
			t.Errorf("flag --%s is not a config key", f.Name)
		}
	}
	if len(leaves) < 35 {
		t.Errorf("only %d config keys", len(leaves))
	}
}

// TestConfigPrecedence: flags over environment over file over defaults,
// key by key, for scalars, lists, booleans whose default is true,
// durations, nested sections and the inline security settings.
func TestConfigPrecedence(t *testing.T) {
	const file = `
brokers: [file-1:9092, file-2:9092]
group_id: from-file
create_topics: false
horizon: 7d
topics:
  prices: file.prices
  stock: file.stock
tls:
  enable: true
  server_name: file.example
sasl:
  mechanism: PLAIN
  username: file-user
  password: file-pw
log:
  level: warn
batch:
  size: 10
`
	type check struct {
		name string
		get  func(*runConfig) any
		want any
	}
	for _, tc := range []struct {
		name   string
		file   bool
		env    map[string]string
		args   []string
		checks []check
	}{
		{name: "defaults only", checks: []check{
			{"group_id", func(c *runConfig) any { return c.GroupID }, "promoguard"},
			{"create_topics", func(c *runConfig) any { return c.CreateTopics }, true},
			{"brokers", func(c *runConfig) any { return len(c.Brokers) }, 0},
		}},
		{name: "file over defaults", file: true, checks: []check{
			{"brokers", func(c *runConfig) any { return strings.Join(c.Brokers, ",") }, "file-1:9092,file-2:9092"},
			{"group_id", func(c *runConfig) any { return c.GroupID }, "from-file"},
			{"changelog follows the group", func(c *runConfig) any { return c.ChangelogTopic() }, "promoguard.state.from-file"},
			{"create_topics", func(c *runConfig) any { return c.CreateTopics }, false},
			{"horizon", func(c *runConfig) any { return time.Duration(c.Horizon) }, 7 * 24 * time.Hour},
			{"topics.prices", func(c *runConfig) any { return c.Topics.Prices }, "file.prices"},
			{"topics.alerts untouched", func(c *runConfig) any { return c.Topics.Alerts }, "pricing.alerts"},
			{"tls.server_name", func(c *runConfig) any { return c.Security.TLS.ServerName }, "file.example"},
			{"sasl.password", func(c *runConfig) any { return c.Security.SASL.Password }, "file-pw"},
			{"log.level", func(c *runConfig) any { return c.Log.Level }, "warn"},
			{"log.format untouched", func(c *runConfig) any { return c.Log.Format }, "json"},
			{"batch.size", func(c *runConfig) any { return c.Batch.Size }, 10},
		}},
		{name: "env over file", file: true, env: map[string]string{
			"PROMOGUARD_BROKERS":               "env-1:9092,env-2:9092,env-3:9092",
			"PROMOGUARD_GROUP_ID":              "from-env",
			"PROMOGUARD_CREATE_TOPICS":         "true",
			"PROMOGUARD_HORIZON":               "12h",
			"PROMOGUARD_TOPICS_PRICES":         "env.prices",
			"PROMOGUARD_SASL_PASSWORD":         "env-pw",
			"PROMOGUARD_TLS_ENABLE":            "true",
			"PROMOGUARD_LOG_LEVEL":             "debug",
			"PROMOGUARD_BATCH_SIZE":            "20",
			"PROMOGUARD_PARTITIONS":            "12",
			"PROMOGUARD_HTTP_ADDR":             "127.0.0.1:19464",
			"PROMOGUARD_EMBEDDED_ADDR":         "127.0.0.1:0",
			"PROMOGUARD_TOPICS_CHANNEL_ALERTS": "true",
		}, checks: []check{
			{"brokers", func(c *runConfig) any { return strings.Join(c.Brokers, ",") }, "env-1:9092,env-2:9092,env-3:9092"},
			{"group_id", func(c *runConfig) any { return c.GroupID }, "from-env"},
			{"changelog follows the group", func(c *runConfig) any { return c.ChangelogTopic() }, "promoguard.state.from-env"},
			{"create_topics", func(c *runConfig) any { return c.CreateTopics }, true},
			{"horizon", func(c *runConfig) any { return time.Duration(c.Horizon) }, 12 * time.Hour},
			{"topics.prices", func(c *runConfig) any { return c.Topics.Prices }, "env.prices"},
			{"topics.stock from the file", func(c *runConfig) any { return c.Topics.Stock }, "file.stock"},
			{"sasl.password", func(c *runConfig) any { return c.Security.SASL.Password }, "env-pw"},
			{"sasl.username from the file", func(c *runConfig) any { return c.Security.SASL.Username }, "file-user"},
			{"log.level", func(c *runConfig) any { return c.Log.Level }, "debug"},
			{"batch.size", func(c *runConfig) any { return c.Batch.Size }, 20},
			{"partitions", func(c *runConfig) any { return c.Partitions }, 12},
			{"http.addr", func(c *runConfig) any { return c.HTTP.Addr }, "127.0.0.1:19464"},
			{"topics.channel_alerts", func(c *runConfig) any { return c.Topics.ChannelAlerts }, true},
		}},
		{name: "flags over env over file", file: true, env: map[string]string{
			"PROMOGUARD_GROUP_ID":      "from-env",
			"PROMOGUARD_CREATE_TOPICS": "true",
			"PROMOGUARD_HORIZON":       "12h",
			"PROMOGUARD_SASL_PASSWORD": "env-pw",
		}, args: []string{"--group-id", "from-flag", "--no-create-topics", "--horizon", "90m",
			"--brokers", "flag-1:9092", "--sasl-password", "flag-pw", "--topics-changelog", "my.state", "--log-format", "console"},
			checks: []check{
				{"brokers", func(c *runConfig) any { return strings.Join(c.Brokers, ",") }, "flag-1:9092"},
				{"group_id", func(c *runConfig) any { return c.GroupID }, "from-flag"},
				{"changelog given", func(c *runConfig) any { return c.ChangelogTopic() }, "my.state"},
				{"create_topics", func(c *runConfig) any { return c.CreateTopics }, false},
				{"horizon", func(c *runConfig) any { return time.Duration(c.Horizon) }, 90 * time.Minute},
				{"sasl.password", func(c *runConfig) any { return c.Security.SASL.Password }, "flag-pw"},
				{"log.format", func(c *runConfig) any { return c.Log.Format }, "console"},
				{"log.level from the file", func(c *runConfig) any { return c.Log.Level }, "warn"},
			}},
		{name: "config file from the environment", file: true, env: map[string]string{"PROMOGUARD_CONFIG": "<file>"}, checks: []check{
			{"group_id", func(c *runConfig) any { return c.GroupID }, "from-file"},
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			clearConfigEnv(t)
			dir := t.TempDir()
			cfgFile := writeConfigFile(t, dir, "promoguard.yaml", file)
			args := append([]string{"--rules", "r.yaml"}, tc.args...)
			if tc.file && tc.env["PROMOGUARD_CONFIG"] == "" {
				args = append(args, "--config", cfgFile)
			}
			for k, v := range tc.env {
				if v == "<file>" {
					v = cfgFile
				}
				t.Setenv(k, v)
			}
			c, err := loadRunConfig(args)
			if err != nil {
				t.Fatal(err)
			}
			for _, ch := range tc.checks {
				if got := ch.get(c); !reflect.DeepEqual(got, ch.want) {
					t.Errorf("%s = %v, want %v", ch.name, got, ch.want)
				}
			}
		})
	}
}
