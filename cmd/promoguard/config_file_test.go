package main

import (
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"strings"
	"testing"

	"github.com/promoguard/promoguard/connectors/kafka"
	"github.com/promoguard/promoguard/internal/config"
	"github.com/promoguard/promoguard/rules"
)

// The config file: paths relative to it, its errors with positions,
// validation across flags and file, and the example file.

// TestConfigRelativePaths: paths in the file are relative to the file's
// directory; paths given as flags are left as given.
func TestConfigRelativePaths(t *testing.T) {
	clearConfigEnv(t)
	dir := t.TempDir()
	f := writeConfigFile(t, dir, "p.yaml", "rules: [rules, /abs/rules]\nembedded: {data_dir: data}\ntls: {enable: true, ca_file: certs/ca.pem}\n")
	c, err := loadRunConfig([]string{"-c", f})
	if err != nil {
		t.Fatal(err)
	}
	if want := []string{filepath.Join(dir, "rules"), "/abs/rules"}; !slices.Equal(c.Rules, want) {
		t.Errorf("rules %q, want %q", c.Rules, want)
	}
	if c.Embedded.DataDir != filepath.Join(dir, "data") || c.Security.TLS.CAFile != filepath.Join(dir, "certs/ca.pem") {
		t.Errorf("data_dir %q, ca_file %q", c.Embedded.DataDir, c.Security.TLS.CAFile)
	}
	c, err = loadRunConfig([]string{"-c", f, "--rules", "mine", "--tls-ca-file", "ca.pem"})
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(c.Rules, []string{"mine"}) || c.Security.TLS.CAFile != "ca.pem" {
		t.Errorf("flags: rules %q, ca_file %q", c.Rules, c.Security.TLS.CAFile)
	}
}

// TestConfigBadFile: a bad file is reported with file:line:col, every
// unknown key at once and with the closest known key.
func TestConfigBadFile(t *testing.T) {
	for _, tc := range []struct {
		name, text string
		want       []string // lines of the error after "config: "
	}{
		{"unknown keys", "rules: [r]\ngroup: g\ntls:\n  enabel: true\nlog:\n  levle: info\n  colour: true\n", []string{
			"F:2:1: unknown key group; did you mean group_id?",
			"F:4:3: unknown key tls.enabel; did you mean tls.enable?",
			"F:6:3: unknown key log.levle; did you mean log.level?",
			"F:7:3: unknown key log.colour",
		}},
		{"wrong type", "rules: [r]\nbrokers: 5\n", []string{"F:2:10: int was used where sequence is expected"}},
		{"wrong scalar", "rules: [r]\npartitions: many\n", []string{"F:2:13: cannot unmarshal string into Go struct field"}},
		{"bad duration", "rules: [r]\nbatch:\n  timeout: 5x\n", []string{`F:3:12: "5x" is not a duration such as 90s, 15m, 12h, 30d or 1w`}},
		{"duration as a list", "rules: [r]\nhorizon: [1d]\n", []string{"F:2:10: want a duration such as 90s, 15m, 12h, 30d or 1w, got sequence"}},
		{"section not a mapping", "rules: [r]\ntls: 5\n", []string{"F:2:6: tls must be a mapping of keys to values, got integer"}},
		{"not a mapping", "- a\n- b\n", []string{"F:1:1: the config file must be a mapping of keys to values, got sequence"}},
		{"syntax", "rules: [r\n", []string{"F:1:8: sequence end token ']' not found"}},
		{"duplicate key", "rules: [r]\nrules: [s]\n", []string{`F:2:1: mapping key "rules" already defined at [1:1]`}},
		{"two documents", "rules: [r]\n---\ngroup_id: x\n", []string{"F:3:1: a config file holds one YAML document"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			clearConfigEnv(t)
			f := writeConfigFile(t, t.TempDir(), "bad.yaml", tc.text)
			_, err := loadRunConfig([]string{"--config", f})
			if err == nil {
				t.Fatal("loaded")
			}
			got := err.Error()
			for _, w := range tc.want {
				w = strings.ReplaceAll(w, "F:", f+":")
				if !strings.Contains(got, w) {
					t.Errorf("error\n%s\nwant a line containing\n%s", got, w)
				}
			}
			if n := len(tc.want); n > 1 && !strings.Contains(got, "problems:") {
				t.Errorf("error %q does not list %d problems", got, n)
			}
		})
	}
	clearConfigEnv(t)
	if _, err := loadRunConfig([]string{"--config", filepath.Join(t.TempDir(), "missing.yaml")}); err == nil || !strings.Contains(err.Error(), "no such file") {
		t.Errorf("missing file: %v", err)
	}
	// an empty file or one of comments is no configuration, not an error
	f := writeConfigFile(t, t.TempDir(), "empty.yaml", "# nothing yet\n")
	if _, err := loadRunConfig([]string{"--config", f, "--rules", "r"}); err != nil {
		t.Errorf("comment-only file: %v", err)
	}
}

// TestConfigValidate: every problem is reported at once, each with its key
// and where its value came from (file position, flag or variable).
func TestConfigValidate(t *testing.T) {
	clearConfigEnv(t)
	f := writeConfigFile(t, t.TempDir(), "v.yaml", `brokers: ["kafka:9092", "nohost"]
embedded: {data_dir: /tmp/x}
topics:
  alerts: pricing.prices
  corrections: "bad topic"
log: {level: verbose}
sasl: {mechanism: KERBEROS}
tls: {ca_file: ca.pem}
`)
	t.Setenv("PROMOGUARD_BATCH_SIZE", "0")
	_, err := loadRunConfig([]string{"-c", f, "--horizon", "0s", "--partitions", "0"})
	if err == nil {
		t.Fatal("valid")
	}
	for _, w := range []string{
		`F:1:10: brokers: "nohost" is not HOST:PORT`,
		"F:2:22: embedded.data_dir: is set, but brokers are configured",
		"F:4:11: topics.alerts: topic pricing.prices is also topics.prices: every topic must be different",
		`F:5:16: topics.corrections: topic name "bad topic": character ' ' is not allowed`,
		"--partitions: partitions: must be between 1 and 10000, got 0",
		"rules: at least one rule file or directory is required",
		"--horizon: horizon: must be positive, got 0s",
		`F:6:14: log.level: "verbose" is not one of debug, info, warn, error`,
		"$PROMOGUARD_BATCH_SIZE: batch.size: must be at least 1, got 0",
		`F:7:19: sasl.mechanism "KERBEROS" is not supported`,
		"F:8:16: tls.ca_file is set but tls.enable is false",
	} {
		w = strings.ReplaceAll(w, "F:", f+":")
		if !strings.Contains(err.Error(), w) {
			t.Errorf("error\n%s\nwant a line containing\n%s", err, w)
		}
	}
	if !strings.HasPrefix(err.Error(), "config: 11 problems:\n") {
		t.Errorf("error does not start with the count: %q", err)
	}
}

func TestConfigChannelPrefix(t *testing.T) {
	clearConfigEnv(t)
	_, err := loadRunConfig([]string{"--rules", "r", "--topics-channel-alerts", "--topics-channel-alerts-prefix", "pricing."})
	if err == nil || !strings.Contains(err.Error(), "topics.prices: topic pricing.prices starts with topics.channel_alerts_prefix pricing.") {
		t.Errorf("a prefix covering the input topics: %v", err)
	}
	c, err := loadRunConfig([]string{"--rules", "r", "--topics-channel-alerts", "--brokers", "k1:9092,k2:9092", "--group-id", "eu"})
	if err != nil {
		t.Fatal(err)
	}
	if got := c.ChannelAlertTopic("Amazon DE"); got != "pricing.alerts.Amazon_DE" {
		t.Errorf("ChannelAlertTopic = %q", got)
	}
	if c.UseEmbedded() {
		t.Error("brokers are configured")
	}
	specs := c.TopicSpecs()
	var names []string
	for _, s := range specs {
		names = append(names, s.Name)
		if s.Partitions != 6 || s.Compacted != (s.Name == "promoguard.state.eu") {
			t.Errorf("spec %+v", s)
		}
	}
	if want := "pricing.prices pricing.stock pricing.promotions pricing.alerts pricing.corrections pricing.deadletter promoguard.state.eu"; strings.Join(names, " ") != want {
		t.Errorf("topics %q", names)
	}
	var _ []kafka.TopicSpec = specs
}

// TestConfigExample: examples/promoguard.yaml loads and validates, sets
// every config key (it is the complete reference), and sets each to its
// default but for the rules.
func TestConfigExample(t *testing.T) {
	clearConfigEnv(t)
	const example = "../../examples/promoguard.yaml"
	c, err := loadRunConfig([]string{"--config", example})
	if err != nil {
		t.Fatal(err)
	}
	data, err := os.ReadFile(example)
	if err != nil {
		t.Fatal(err)
	}
	var scratch config.Daemon
	present, err := config.Decode(data, &scratch)
	if err != nil {
		t.Fatal(err)
	}
	for _, l := range config.Leaves(&scratch) {
		if _, ok := present[l.Key]; !ok {
			t.Errorf("examples/promoguard.yaml does not show %s", l.Key)
		}
	}
	if want := filepath.Join(filepath.Dir(example), "rules"); !slices.Equal(c.Rules, []string{want}) {
		t.Errorf("rules %q, want %q", c.Rules, want)
	}
	if _, err := os.Stat(c.Rules[0]); err != nil {
		t.Errorf("the example's rules: %v", err)
	}
	d, err := loadRunConfig([]string{"--rules", c.Rules[0]})
	if err != nil {
		t.Fatal(err)
	}
	c.Origins, d.Origins = nil, nil
	c.Brokers = nil // [] in the file, nil by default: both mean none
	c.Config = ""
	if !reflect.DeepEqual(c, d) {
		t.Errorf("the example's values differ from the defaults:\n%+v\n%+v", *c, *d)
	}
}

// TestConfigChannels: channels in the config file is a path resolved
// against the file's directory and loaded for the engine; a bad policy in
// it stops the daemon before it starts, positioned in the channels file.
func TestConfigChannels(t *testing.T) {
	clearConfigEnv(t)
	dir := t.TempDir()
	writeConfigFile(t, dir, "ch.yaml", "channels:\n  amazon: {policy: best_deal}\n")
	cfg := writeConfigFile(t, dir, "promoguard.yaml", "rules: [r.yaml]\nchannels: ch.yaml\n")
	c, err := loadRunConfig([]string{"--config", cfg})
	if err != nil {
		t.Fatal(err)
	}
	if c.Channels != filepath.Join(dir, "ch.yaml") {
		t.Fatalf("channels %q", c.Channels)
	}
	ch, err := c.LoadChannels()
	if err != nil || ch.Policy("amazon") != rules.PolicyBestDeal {
		t.Fatalf("loaded %v, %v", ch, err)
	}
	writeConfigFile(t, dir, "ch.yaml", "channels:\n  amazon: {policy: bestdeal}\n")
	_, err = loadRunConfig([]string{"--config", cfg})
	if err == nil || !strings.Contains(err.Error(), "ch.yaml:2:20: channel amazon: unknown policy \"bestdeal\"") || !strings.Contains(err.Error(), "did you mean best_deal?") {
		t.Fatalf("bad policy: %v", err)
	}
}
