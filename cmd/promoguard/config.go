package main

import (
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"sort"
	"strings"
	"time"

	"github.com/agnivade/levenshtein"
	"github.com/alecthomas/kong"
	"github.com/goccy/go-yaml"
	"github.com/goccy/go-yaml/ast"
	"github.com/goccy/go-yaml/parser"
	"github.com/prometheus/common/model"

	"github.com/promoguard/promoguard/connectors/kafka"
)

// Topic defaults, shared by run and produce.
const (
	defaultPricesTopic      = "pricing.prices"
	defaultStockTopic       = "pricing.stock"
	defaultPromotionsTopic  = "pricing.promotions"
	defaultAlertsTopic      = "pricing.alerts"
	defaultCorrectionsTopic = "pricing.corrections"
	defaultDeadLetterTopic  = "pricing.deadletter"
	defaultChannelPrefix    = "pricing.alerts."
	changelogTopicPrefix    = "promoguard.state."
	defaultBrokerAddr       = "127.0.0.1:9092"
)

// runConfig is the configuration of `promoguard run`. Every setting has a
// key in the YAML config file, a flag and a PROMOGUARD_* environment
// variable, derived from one another: the key topics.prices is the flag
// --topics-prices and the variable PROMOGUARD_TOPICS_PRICES; tls.ca_file
// is --tls-ca-file and PROMOGUARD_TLS_CA_FILE. Precedence: flags, then
// environment, then the file, then the defaults.
//
// It is meant to be embedded anonymously in the run command's struct, so
// that kong makes its flags and calls its hooks: BeforeApply layers the
// config file under the flags and the environment, and Validate checks
// the result. A command struct that defines its own BeforeApply or
// Validate must call runConfig's from it.
type runConfig struct {
	Config string `name:"config" short:"c" env:"PROMOGUARD_CONFIG" placeholder:"FILE" yaml:"-" help:"YAML config file (see examples/promoguard.yaml). Flags and PROMOGUARD_* environment variables override it."`

	Brokers  []string       `name:"brokers" env:"PROMOGUARD_BROKERS" placeholder:"HOST:PORT" yaml:"brokers" help:"Kafka bootstrap brokers. None: start the embedded single-node broker on 127.0.0.1 (for trying promoguard out, not for production)."`
	Embedded embeddedConfig `embed:"" prefix:"embedded-" envprefix:"PROMOGUARD_EMBEDDED_" yaml:"embedded"`

	GroupID      string         `name:"group-id" env:"PROMOGUARD_GROUP_ID" default:"promoguard" placeholder:"ID" yaml:"group_id" help:"Kafka consumer group id; instances with the same id share the partitions."`
	Session      configDuration `name:"session-timeout" env:"PROMOGUARD_SESSION_TIMEOUT" default:"10s" placeholder:"DUR" yaml:"session_timeout" help:"Consumer group session timeout: an instance silent this long (crashed, paused, cut off) loses its partitions to the others. The brokers bound it (group.min/max.session.timeout.ms, 6s to 30m by default)."`
	Topics       topicsConfig   `embed:"" prefix:"topics-" envprefix:"PROMOGUARD_TOPICS_" yaml:"topics"`
	CreateTopics bool           `name:"create-topics" env:"PROMOGUARD_CREATE_TOPICS" default:"true" negatable:"" yaml:"create_topics" help:"Create missing topics (the changelog compacted). With --no-create-topics a missing topic is an error that names it."`
	Partitions   int            `name:"partitions" env:"PROMOGUARD_PARTITIONS" default:"6" placeholder:"N" yaml:"partitions" help:"Partition count of the topics promoguard creates. Prices, stock and the changelog must have equal counts."`

	Rules      []string       `name:"rules" env:"PROMOGUARD_RULES" placeholder:"PATH" yaml:"rules" help:"Rule files or directories of *.yaml and *.yml rule files."`
	WatchRules bool           `name:"watch-rules" env:"PROMOGUARD_WATCH_RULES" default:"true" negatable:"" yaml:"watch_rules" help:"Reload the rules when a rule file changes (SIGHUP always reloads)."`
	Horizon    configDuration `name:"horizon" env:"PROMOGUARD_HORIZON" default:"30d" placeholder:"DUR" yaml:"horizon" help:"How far ahead of the watermark the calendar is evaluated (90m, 12h, 30d, 1w)."`
	Lateness   configDuration `name:"allowed-lateness" env:"PROMOGUARD_ALLOWED_LATENESS" default:"0s" placeholder:"DUR" yaml:"allowed_lateness" help:"The watermark trails the highest event ts by this much, so that events up to this late are still applied in order."`
	MaxSkew    configDuration `name:"max-skew" env:"PROMOGUARD_MAX_SKEW" default:"1h" placeholder:"DUR" yaml:"max_skew" help:"An event whose ts is further ahead of the wall clock than this is a dead letter (future_ts); 0s disables the check."`

	HTTP     httpConfig     `embed:"" prefix:"http-" envprefix:"PROMOGUARD_HTTP_" yaml:"http"`
	Security kafka.Security `embed:"" envprefix:"PROMOGUARD_" yaml:",inline"`
	Log      logConfig      `embed:"" prefix:"log-" envprefix:"PROMOGUARD_LOG_" yaml:"log"`
	Batch    batchConfig    `embed:"" prefix:"batch-" envprefix:"PROMOGUARD_BATCH_" yaml:"batch"`

	// where says where each setting came from, by config key: "--flag",
	// "$PROMOGUARD_X", "file:line:col"; absent for a default.
	where map[string]string
}

type embeddedConfig struct {
	Addr    string `name:"addr" env:"ADDR" default:"127.0.0.1:9092" placeholder:"HOST:PORT" yaml:"addr" help:"Where the embedded broker listens when no brokers are configured (a loopback address)."`
	DataDir string `name:"data-dir" env:"DATA_DIR" placeholder:"DIR" yaml:"data_dir" help:"Keep the embedded broker's topics and offsets in DIR across restarts. Empty: in memory."`
}

type topicsConfig struct {
	Prices              string `name:"prices" env:"PRICES" default:"pricing.prices" placeholder:"TOPIC" yaml:"prices" help:"Input: price events, keyed by sku."`
	Stock               string `name:"stock" env:"STOCK" default:"pricing.stock" placeholder:"TOPIC" yaml:"stock" help:"Input: stock events, keyed by sku; co-partitioned with prices."`
	Promotions          string `name:"promotions" env:"PROMOTIONS" default:"pricing.promotions" placeholder:"TOPIC" yaml:"promotions" help:"Input: promotion events, keyed by promotion id; every instance reads all of it."`
	Alerts              string `name:"alerts" env:"ALERTS" default:"pricing.alerts" placeholder:"TOPIC" yaml:"alerts" help:"Output: alerts."`
	Corrections         string `name:"corrections" env:"CORRECTIONS" default:"pricing.corrections" placeholder:"TOPIC" yaml:"corrections" help:"Output: corrected prices."`
	DeadLetter          string `name:"deadletter" env:"DEADLETTER" default:"pricing.deadletter" placeholder:"TOPIC" yaml:"deadletter" help:"Output: input records that are not valid events."`
	Changelog           string `name:"changelog" env:"CHANGELOG" placeholder:"TOPIC" yaml:"changelog" help:"Compacted topic backing the daemon's state (default promoguard.state.<group-id>)."`
	ChannelAlerts       bool   `name:"channel-alerts" env:"CHANNEL_ALERTS" yaml:"channel_alerts" help:"Also write each alert to a topic of its channel (prefix + channel name), so a marketplace can be given its own topic."`
	ChannelAlertsPrefix string `name:"channel-alerts-prefix" env:"CHANNEL_ALERTS_PREFIX" default:"pricing.alerts." placeholder:"PREFIX" yaml:"channel_alerts_prefix" help:"Prefix of the per-channel alert topics; characters of the channel not allowed in a topic name become _."`
}

type httpConfig struct {
	Addr              string `name:"addr" env:"ADDR" default:"127.0.0.1:9464" placeholder:"HOST:PORT" yaml:"addr" help:"Address of /metrics, /healthz, /readyz and /explain."`
	EnableAdminReload bool   `name:"enable-admin-reload" env:"ENABLE_ADMIN_RELOAD" yaml:"enable_admin_reload" help:"Serve POST /-/reload, which reloads the rules."`
}

type logConfig struct {
	Level  string `name:"level" env:"LEVEL" default:"info" placeholder:"LEVEL" yaml:"level" help:"Log level: debug, info, warn or error."`
	Format string `name:"format" env:"FORMAT" default:"json" placeholder:"FORMAT" yaml:"format" help:"Log format: json (one object a line) or console (for people)."`
}

type batchConfig struct {
	Size       int            `name:"size" env:"SIZE" default:"1000" placeholder:"N" yaml:"size" help:"Most records of a partition evaluated before their outputs are produced and their offsets committed."`
	Timeout    configDuration `name:"timeout" env:"TIMEOUT" default:"50ms" placeholder:"DUR" yaml:"timeout" help:"Longest wait to fill a batch before it is processed."`
	MaxIdle    configDuration `name:"max-idle" env:"MAX_IDLE" default:"30s" placeholder:"DUR" yaml:"max_idle" help:"After this long without records, a partition's watermark follows the wall clock, so that timers still fire. 0s disables it: outputs then depend only on the input, exactly as replay gives them."`
	Grace      configDuration `name:"grace" env:"GRACE" default:"20ms" placeholder:"DUR" yaml:"grace" help:"How long a fetched event waits for events of the other input topics with earlier timestamps produced alongside it, so that the topics are merged in timestamp order."`
	Checkpoint configDuration `name:"checkpoint-interval" env:"CHECKPOINT_INTERVAL" default:"1s" placeholder:"DUR" yaml:"checkpoint_interval" help:"How often a partition writes its changed state and input offsets to the changelog; after a crash the input since is read again and its outputs come again, with the same ids."`
	MaxWait    configDuration `name:"max-wait" env:"MAX_WAIT" default:"500ms" placeholder:"DUR" yaml:"max_wait" help:"How long a partition waits for an input topic that is behind before applying the others' events out of timestamp order."`
}

// runConfigHelp explains the configuration sources, for the run command's
// help.
const runConfigHelp = `Every setting can be given in a YAML config file (--config), as a flag, or
as an environment variable: the key topics.prices is the flag --topics-prices
and the variable PROMOGUARD_TOPICS_PRICES; tls.ca_file is --tls-ca-file and
PROMOGUARD_TLS_CA_FILE. Flags win over the environment, the environment over
the file, the file over the defaults. Relative paths in the file are relative
to the file's directory. A list in a flag or variable is comma-separated.`

// configDuration is a duration in the syntax of rule files (Prometheus
// durations: 90s, 1h30m, 30d, 1w), from a flag, a variable or the file.
type configDuration time.Duration

func (d *configDuration) Decode(ctx *kong.DecodeContext) error {
	var s string
	if err := ctx.Scan.PopValueInto("duration", &s); err != nil {
		return err
	}
	return d.parse(s)
}

func (d *configDuration) parse(s string) error {
	md, err := model.ParseDuration(strings.TrimSpace(s))
	if err != nil {
		return fmt.Errorf("%q is not a duration such as 90s, 15m, 12h, 30d or 1w", s)
	}
	*d = configDuration(md)
	return nil
}

// UnmarshalYAML decodes a duration from the config file, with the position
// of a bad one.
func (d *configDuration) UnmarshalYAML(n ast.Node) error {
	var s string
	switch v := n.(type) {
	case *ast.StringNode:
		s = v.Value
	case *ast.IntegerNode, *ast.FloatNode:
		s = v.GetToken().Value
	default:
		return nodeError(n, "want a duration such as 90s, 15m, 12h, 30d or 1w, got %s", strings.ToLower(n.Type().String()))
	}
	if err := d.parse(s); err != nil {
		return nodeError(n, "%v", err)
	}
	return nil
}

func (d configDuration) String() string { return model.Duration(d).String() }

// posError is an error at a position of the config file.
type posError struct {
	line, col int
	msg       string
}

func (e *posError) Error() string { return fmt.Sprintf("%d:%d: %s", e.line, e.col, e.msg) }

func nodeError(n ast.Node, format string, args ...any) error {
	e := &posError{msg: fmt.Sprintf(format, args...)}
	if tk := n.GetToken(); tk != nil && tk.Position != nil {
		e.line, e.col = tk.Position.Line, tk.Position.Column
	}
	return e
}

// BeforeApply is kong's hook, run once the defaults and the environment
// are in the struct and the flags are parsed but not yet applied: it
// layers the config file between them. kong then applies the flags and
// calls Validate.
func (c *runConfig) BeforeApply(kctx *kong.Context) error {
	return c.load(kctx)
}

// load sets every setting that the config file has and that neither a
// flag nor the environment gives, and records where each setting came
// from.
func (c *runConfig) load(kctx *kong.Context) error {
	leaves := configLeaves(reflect.ValueOf(c).Elem(), "")
	byAddr := map[uintptr]*kong.Flag{}
	for _, f := range kctx.Flags() {
		if f.Target.IsValid() && f.Target.CanAddr() {
			byAddr[f.Target.Addr().Pointer()] = f
		}
	}
	onCommandLine := map[*kong.Flag]bool{}
	for _, p := range kctx.Path {
		if p.Flag != nil && !p.Resolved {
			onCommandLine[p.Flag] = true
		}
	}
	c.where = map[string]string{}
	userSet := map[string]bool{}
	for _, l := range leaves {
		f := byAddr[l.v.Addr().Pointer()]
		if f == nil {
			continue
		}
		if onCommandLine[f] {
			c.where[l.key], userSet[l.key] = "--"+f.Name, true
			continue
		}
		for _, env := range f.Envs {
			if _, ok := os.LookupEnv(env); ok {
				c.where[l.key], userSet[l.key] = "$"+env, true
				break
			}
		}
	}
	// --config itself is on the command line or in the environment, so
	// kong has already put it in place
	if name := configFileName(kctx, c); name != "" {
		return c.applyFile(name, leaves, userSet)
	}
	return nil
}

// configFileName is the --config value: from the command line (parsed,
// not yet applied) or from the environment (already in c).
func configFileName(kctx *kong.Context, c *runConfig) string {
	for _, p := range kctx.Path {
		if p.Flag != nil && p.Flag.Target.CanAddr() && p.Flag.Target.Addr().Pointer() == reflect.ValueOf(&c.Config).Pointer() {
			if s, ok := kctx.FlagValue(p.Flag).(string); ok {
				return s
			}
		}
	}
	return c.Config
}

// ChangelogTopic is the state changelog topic: topics.changelog, or
// promoguard.state.<group_id>.
func (c *runConfig) ChangelogTopic() string {
	if c.Topics.Changelog != "" {
		return c.Topics.Changelog
	}
	return changelogTopicPrefix + c.GroupID
}

// leaf is one setting: its config key and its value in the struct.
type leaf struct {
	key string // "topics.prices"
	v   reflect.Value
}

// configLeaves lists the settings of a config struct by their yaml keys:
// nested structs are sections, inline ones merge into their parent.
func configLeaves(v reflect.Value, prefix string) []leaf {
	var out []leaf
	t := v.Type()
	for i := range t.NumField() {
		f := t.Field(i)
		name, inline := yamlName(f)
		if !f.IsExported() || name == "-" {
			continue
		}
		key := prefix + name
		fv := v.Field(i)
		switch {
		case inline:
			out = append(out, configLeaves(fv, prefix)...)
		case fv.Kind() == reflect.Struct:
			out = append(out, configLeaves(fv, key+".")...)
		default:
			out = append(out, leaf{key: key, v: fv})
		}
	}
	return out
}

// yamlName is a field's yaml key, and whether it is inline.
func yamlName(f reflect.StructField) (string, bool) {
	tag := f.Tag.Get("yaml")
	name, opts, _ := strings.Cut(tag, ",")
	if name == "" {
		name = strings.ToLower(f.Name)
	}
	return name, slices.Contains(strings.Split(opts, ","), "inline")
}

// pathKey says whether a setting names a file or directory, which in the
// config file is relative to the file's directory.
func pathKey(key string) bool {
	return key == "rules" || strings.HasSuffix(key, "_file") || strings.HasSuffix(key, "_dir")
}

// applyFile reads the config file and sets every setting it has that
// neither a flag nor the environment gave.
func (c *runConfig) applyFile(name string, leaves []leaf, userSet map[string]bool) error {
	data, err := os.ReadFile(name)
	if err != nil {
		return fmt.Errorf("config: %w", err)
	}
	var file runConfig
	present, err := decodeConfig(data, &file)
	if err != nil {
		var list configErrors
		if errors.As(err, &list) {
			for i := range list {
				list[i] = name + ":" + list[i]
			}
			return list
		}
		return fmt.Errorf("config %s: %w", name, err)
	}
	dir := filepath.Dir(name)
	for i, l := range configLeaves(reflect.ValueOf(&file).Elem(), "") {
		pos, ok := present[l.key]
		if !ok || userSet[l.key] {
			continue
		}
		v := l.v
		if pathKey(l.key) {
			v = relativeTo(dir, v)
		}
		leaves[i].v.Set(v)
		c.where[l.key] = name + ":" + pos
	}
	return nil
}

// relativeTo resolves relative paths (a string or a list) against dir.
func relativeTo(dir string, v reflect.Value) reflect.Value {
	abs := func(p string) string {
		if p == "" || filepath.IsAbs(p) || strings.HasPrefix(p, "~") {
			return p
		}
		return filepath.Join(dir, p)
	}
	switch v.Kind() {
	case reflect.String:
		return reflect.ValueOf(abs(v.String())).Convert(v.Type())
	case reflect.Slice:
		out := reflect.MakeSlice(v.Type(), v.Len(), v.Len())
		for i := range v.Len() {
			out.Index(i).SetString(abs(v.Index(i).String()))
		}
		return out
	}
	return v
}

// configErrors are the problems of a configuration, each on a line of its
// own with where it comes from.
type configErrors []string

func (e configErrors) Error() string {
	if len(e) == 1 {
		return "config: " + e[0]
	}
	return fmt.Sprintf("config: %d problems:\n  %s", len(e), strings.Join(e, "\n  "))
}

// decodeConfig decodes a config file strictly into cfg: every key must be
// a known one (an unknown key is reported with the closest known one),
// each once, with a value of its type. It returns the keys the file sets
// (not to null), with their "line:col". Errors are configErrors of
// "line:col: message", sorted by position.
func decodeConfig(data []byte, cfg *runConfig) (map[string]string, error) {
	f, err := parser.ParseBytes(data, 0)
	if err != nil {
		return nil, configErrors{yamlErrorText(err)}
	}
	present := map[string]string{}
	// an empty document (a leading or trailing ---, or only comments)
	// holds nothing
	var docs []*ast.DocumentNode
	for _, d := range f.Docs {
		if d == nil || d.Body == nil {
			continue
		}
		if _, comment := d.Body.(*ast.CommentGroupNode); !comment {
			docs = append(docs, d)
		}
	}
	if len(docs) > 1 {
		return nil, configErrors{startPos(docs[1].Body) + ": a config file holds one YAML document"}
	}
	if len(docs) == 0 {
		return present, nil
	}
	body := docs[0].Body
	var errs []*posError
	checkKeys(body, reflect.TypeOf(*cfg), "", present, &errs)
	if len(errs) > 0 {
		sort.SliceStable(errs, func(i, j int) bool {
			if errs[i].line != errs[j].line {
				return errs[i].line < errs[j].line
			}
			return errs[i].col < errs[j].col
		})
		list := make(configErrors, len(errs))
		for i, e := range errs {
			list[i] = e.Error()
		}
		return nil, list
	}
	if err := yaml.NodeToValue(body, cfg, yaml.DisallowUnknownField()); err != nil {
		return nil, configErrors{yamlErrorText(err)}
	}
	return present, nil
}

// checkKeys walks a mapping against a config struct type: it reports
// unknown keys, sections that are not mappings, and records the keys
// present.
func checkKeys(n ast.Node, t reflect.Type, prefix string, present map[string]string, errs *[]*posError) {
	n = unwrap(n)
	if _, ok := n.(*ast.NullNode); ok {
		return
	}
	m, ok := n.(ast.MapNode)
	if !ok {
		what := "the config file"
		if prefix != "" {
			what = strings.TrimSuffix(prefix, ".")
		}
		*errs = append(*errs, nodeError(n, "%s must be a mapping of keys to values, got %s", what, strings.ToLower(n.Type().String())).(*posError))
		return
	}
	fields := map[string]reflect.StructField{}
	var names []string
	collectFields(t, fields, &names)
	it := m.MapRange()
	for it.Next() {
		kn := it.Key()
		k := kn.GetToken().Value
		f, ok := fields[k]
		if !ok {
			msg := fmt.Sprintf("unknown key %s", prefix+k)
			if s := closest(k, names); s != "" {
				msg += fmt.Sprintf("; did you mean %s?", prefix+s)
			}
			*errs = append(*errs, nodeError(kn, "%s", msg).(*posError))
			continue
		}
		v := unwrap(it.Value())
		if tag := tagOf(it.Value()); tag != nil && f.Type.Kind() == reflect.Slice {
			// go-yaml panics decoding a tagged value that is not a
			// sequence into a slice (rules: !!str r.yaml)
			if _, seq := v.(*ast.SequenceNode); !seq {
				*errs = append(*errs, nodeError(tag, "%s %s was used where sequence is expected", tag.Start.Value, strings.ToLower(v.Type().String())).(*posError))
				continue
			}
		}
		if _, null := v.(*ast.NullNode); null {
			continue
		}
		if f.Type.Kind() == reflect.Struct {
			checkKeys(v, f.Type, prefix+k+".", present, errs)
			continue
		}
		present[prefix+k] = nodePos(v)
	}
}

// collectFields maps the yaml keys of a struct type to their fields,
// inline structs merged in.
func collectFields(t reflect.Type, out map[string]reflect.StructField, names *[]string) {
	for i := range t.NumField() {
		f := t.Field(i)
		name, inline := yamlName(f)
		if !f.IsExported() || name == "-" {
			continue
		}
		if inline {
			collectFields(f.Type, out, names)
			continue
		}
		out[name] = f
		*names = append(*names, name)
	}
}

func unwrap(n ast.Node) ast.Node {
	for {
		switch v := n.(type) {
		case *ast.TagNode:
			n = v.Value
		case *ast.AnchorNode:
			n = v.Value
		case *ast.CommentGroupNode:
			return n
		default:
			return n
		}
	}
}

// tagOf is the tag of a value (such as !!str), through anchors; nil when
// it has none.
func tagOf(n ast.Node) *ast.TagNode {
	for {
		switch v := n.(type) {
		case *ast.TagNode:
			if v.Start == nil {
				return nil
			}
			return v
		case *ast.AnchorNode:
			n = v.Value
		default:
			return nil
		}
	}
}

func nodePos(n ast.Node) string {
	if n == nil {
		return "1:1"
	}
	if tk := n.GetToken(); tk != nil && tk.Position != nil {
		return fmt.Sprintf("%d:%d", tk.Position.Line, tk.Position.Column)
	}
	return "1:1"
}

// startPos is where a node starts: a mapping's token is its first ':'.
func startPos(n ast.Node) string {
	if m, ok := unwrap(n).(*ast.MappingNode); ok && len(m.Values) > 0 {
		return nodePos(m.Values[0].Key)
	}
	if m, ok := unwrap(n).(*ast.MappingValueNode); ok {
		return nodePos(m.Key)
	}
	return nodePos(n)
}

// closest is the known name nearest to a misspelt one, or "".
func closest(s string, names []string) string {
	best, bestD := "", len(s)/2+2
	for _, n := range names {
		if d := levenshtein.ComputeDistance(s, n); d < bestD {
			best, bestD = n, d
		}
	}
	return best
}

// yamlErrorText renders a go-yaml error as "line:col: message".
func yamlErrorText(err error) string {
	var pe *posError
	if errors.As(err, &pe) {
		return pe.Error()
	}
	var ye yaml.Error
	if errors.As(err, &ye) {
		if tk := ye.GetToken(); tk != nil && tk.Position != nil {
			return fmt.Sprintf("%d:%d: %s", tk.Position.Line, tk.Position.Column, ye.GetMessage())
		}
		return ye.GetMessage()
	}
	return err.Error()
}

// at says where a setting came from, as a prefix for a message about it:
// "file:3:9: ", "--flag: ", "$VAR: ", or "" for a default.
func (c *runConfig) at(key string) string {
	if w := c.where[key]; w != "" {
		return w + ": "
	}
	return ""
}

// Validate checks the whole configuration and returns every problem, each
// naming its key and where its value came from. kong calls it once the
// flags are applied.
func (c *runConfig) Validate() error {
	var errs configErrors
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
	if c.Session < configDuration(time.Second) {
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

// UseEmbedded says whether the daemon starts the embedded broker: no
// brokers are configured.
func (c *runConfig) UseEmbedded() bool { return len(c.Brokers) == 0 }

// ChannelAlertTopic is the alert topic of a channel (when
// topics.channel_alerts is on).
func (c *runConfig) ChannelAlertTopic(channel string) string {
	return kafka.ChannelTopic(c.Topics.ChannelAlertsPrefix, channel)
}

// TopicSpecs are the topics the daemon needs, to create or check with
// kafka.EnsureTopics: the changelog compacted, every one with the
// configured partition count. Per-channel alert topics are not among
// them: they are known only once their channel is seen.
func (c *runConfig) TopicSpecs() []kafka.TopicSpec {
	spec := func(name string) kafka.TopicSpec { return kafka.TopicSpec{Name: name, Partitions: c.Partitions} }
	changelog := spec(c.ChangelogTopic())
	changelog.Compacted = true
	return []kafka.TopicSpec{
		spec(c.Topics.Prices), spec(c.Topics.Stock), spec(c.Topics.Promotions),
		spec(c.Topics.Alerts), spec(c.Topics.Corrections), spec(c.Topics.DeadLetter), changelog,
	}
}

// loadRunConfig parses the run command's flags (args, without the command
// name) together with the environment and the config file, as `promoguard
// run` does, and returns the validated configuration. Tools and tests use
// it; the run command gets the same through kong and AfterApply.
func loadRunConfig(args []string) (*runConfig, error) {
	var cli struct {
		Run struct {
			runConfig
		} `cmd:""`
	}
	var exited bool
	p, err := kong.New(&cli, kong.Name("promoguard"), kong.Writers(io.Discard, io.Discard),
		kong.Exit(func(int) { exited = true }))
	if err != nil {
		return nil, err
	}
	if _, err := p.Parse(append([]string{"run"}, args...)); err != nil {
		// kong wraps the hooks' errors: give the config's own
		var ce configErrors
		if errors.As(err, &ce) {
			return nil, ce
		}
		return nil, err
	}
	if exited {
		return nil, errors.New("exited")
	}
	return &cli.Run.runConfig, nil
}
