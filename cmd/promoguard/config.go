package main

import (
	"errors"
	"io"
	"os"
	"reflect"

	"github.com/alecthomas/kong"

	"github.com/promoguard/promoguard/connectors/embedded"
	"github.com/promoguard/promoguard/connectors/kafka"
	"github.com/promoguard/promoguard/internal/config"
)

// Topic defaults, shared by run and produce: the library's.
const (
	defaultPricesTopic      = kafka.DefaultPricesTopic
	defaultStockTopic       = kafka.DefaultStockTopic
	defaultPromotionsTopic  = kafka.DefaultPromotionsTopic
	defaultAlertsTopic      = kafka.DefaultAlertsTopic
	defaultCorrectionsTopic = kafka.DefaultCorrectionsTopic
	defaultDeadLetterTopic  = kafka.DefaultDeadLetterTopic
	defaultChannelPrefix    = kafka.DefaultChannelAlertPrefix
	defaultBrokerAddr       = embedded.DefaultAddr
)

// runConfig is the daemon's configuration (internal/config) as the run
// command's flags: embedded anonymously in the command's struct, so that
// kong makes its flags and calls its hooks. BeforeApply layers the config
// file under the flags and the environment; config.Daemon's Validate
// checks the result. A command struct that defines its own BeforeApply or
// Validate must call these from it.
type runConfig struct {
	config.Daemon
}

// BeforeApply is kong's hook, run once the defaults and the environment
// are in the struct and the flags are parsed but not yet applied: it
// layers the config file between them. kong then applies the flags and
// calls Validate.
func (c *runConfig) BeforeApply(kctx *kong.Context) error {
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
	origins := map[string]string{}
	for _, l := range config.Leaves(&c.Daemon) {
		f := byAddr[l.Value.Addr().Pointer()]
		if f == nil {
			continue
		}
		if onCommandLine[f] {
			origins[l.Key] = "--" + f.Name
			continue
		}
		for _, env := range f.Envs {
			if _, ok := os.LookupEnv(env); ok {
				origins[l.Key] = "$" + env
				break
			}
		}
	}
	return c.Layer(configFileName(kctx, c), origins)
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

// loadRunConfig parses the run command's flags (args, without the command
// name) together with the environment and the config file, as `promoguard
// run` does, and returns the validated configuration. Tools and tests use
// it; the run command gets the same through kong and its hooks.
func loadRunConfig(args []string) (*runConfig, error) {
	var cli struct {
		Run struct {
			runConfig
		} `cmd:""`
	}
	var exited bool
	p, err := kong.New(&cli, kong.Name("promoguard"), kong.Writers(io.Discard, io.Discard),
		kong.Vars(config.Vars()), kong.Exit(func(int) { exited = true }))
	if err != nil {
		return nil, err
	}
	if _, err := p.Parse(append([]string{"run"}, args...)); err != nil {
		// kong wraps the hooks' errors: give the config's own
		var ce config.Errors
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
