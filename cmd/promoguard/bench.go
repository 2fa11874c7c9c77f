package main

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/signal"
	"path/filepath"
	"strings"
	"time"

	"github.com/rs/zerolog"

	"github.com/promoguard/promoguard/bench"
	"github.com/promoguard/promoguard/bench/kafkabench"
	"github.com/promoguard/promoguard/connectors/embedded"
	"github.com/promoguard/promoguard/connectors/file"
	"github.com/promoguard/promoguard/engine"
	"github.com/promoguard/promoguard/rules"
)

type benchCmd struct {
	genFlags
	Rules        []string `default:"examples/rules" sep:"none" placeholder:"PATH" help:"Rule file or directory; repeat for more (default examples/rules)."`
	Cores        int      `default:"0" placeholder:"N" help:"Engines of the parallel run, one per core, each with the skus that hash to it (default: one per CPU). A run on one core is always made first."`
	Horizon      duration `default:"${horizon}" placeholder:"DUR" help:"How far ahead the calendar is evaluated (default ${horizon})."`
	NoRuleTiming bool     `name:"no-rule-timing" help:"Skip the timed run that measures each rule's share of the time."`
	Format       string   `enum:"text,json" default:"text" help:"Report format: text, or json (one document, for CI)."`
	Out          string   `short:"o" placeholder:"FILE" help:"Write the report to FILE instead of stdout; the chart is written next to it, as FILE with the extension .svg."`
	Chart        string   `placeholder:"FILE" help:"Write the throughput and latency chart (SVG) to FILE; default: next to --out, none without it."`
	Quiet        bool     `short:"q" help:"No progress bar."`
	ChannelsFile string   `name:"channels-file" placeholder:"FILE" help:"Channels file: the stacking policy of each channel (default: every channel compound). Not --channels: that is the generated stream's channel count. The generated channels are web, amazon, ebay, ... as gen names them."`
	kafkaBenchFlags
}

// Help is the detail under the command's usage.
func (c *benchCmd) Help() string {
	return `Generates a stream as gen does, holds it in memory as JSON lines, and runs it
through the engine in-process: each event is decoded, sequenced and applied
by the engine replay and run use, and its outputs are encoded as JSON. It
runs once with one engine on one core (GOMAXPROCS=1), then with one engine
per core, the skus sharded across them by hash and every promotion applied
by every engine (as the daemon's partitions do), then once more with each
rule timed for the per-rule cost table.

It reports events/s, ns and allocations per event, per-event latency
percentiles (from the start of decoding an event to the end of encoding the
outputs of its run of equal timestamps), the state the engines hold per
sku-channel, the peak RSS of the process (the input included), and per rule:
evaluations, how many ran rather than reused a result on unchanged facts,
how often its condition held, and its share of the time.

Exit status: 0 on success, 1 when the report cannot be written, 2 when the
rules do not load or the flags are wrong.`
}

func (c *benchCmd) Run(e env) error {
	rs, err := rules.Load(c.Rules, nil)
	if err != nil {
		var list rules.Errors
		if errors.As(err, &list) {
			fmt.Fprint(e.stderr, list.Pretty())
			return exitError{2}
		}
		return err
	}
	channels, err := loadChannels(e, c.ChannelsFile, false)
	if err != nil {
		return err
	}
	if c.Kafka != "" {
		if err := c.config().Validate(); err != nil {
			return err
		}
		var buf bytes.Buffer
		if err := runKafkaBench(e, c.kafkaBenchFlags, c.config(), rs, c.Format, &buf, c.Quiet); err != nil {
			return err
		}
		if err := writeFileOr(e.stdout, c.Out, buf.Bytes()); err != nil {
			fmt.Fprintf(e.stderr, "promoguard: write %s: %v\n", c.Out, file.PathErr(err))
			return exitError{1}
		}
		return nil
	}
	opts := bench.Options{
		Gen: c.config(), Rules: rs, RulePaths: c.Rules, Cores: c.Cores, RuleTiming: !c.NoRuleTiming,
		Engine: engine.Options{Horizon: time.Duration(c.Horizon), Channels: channels},
	}
	if err := opts.Gen.Validate(); err != nil {
		return err
	}
	if !c.Quiet && file.IsTerminal(e.stderr) {
		opts.Progress = file.NewPhaseBar(e.stderr)
	}
	rep, err := bench.Bench(opts)
	if p, ok := opts.Progress.(*file.PhaseBar); ok {
		p.Finish()
	}
	if err != nil {
		return err
	}
	var buf bytes.Buffer
	if c.Format == "json" {
		err = rep.WriteJSON(&buf)
	} else {
		err = rep.WriteText(&buf)
	}
	if err != nil {
		return err
	}
	chart := c.Chart
	if chart == "" && c.Out != "" {
		chart = strings.TrimSuffix(c.Out, filepath.Ext(c.Out)) + ".svg"
	}
	if err := writeFileOr(e.stdout, c.Out, buf.Bytes()); err != nil {
		fmt.Fprintf(e.stderr, "promoguard: write %s: %v\n", c.Out, file.PathErr(err))
		return exitError{1}
	}
	if chart != "" {
		var svg bytes.Buffer
		if err := rep.WriteSVG(&svg); err != nil {
			return err
		}
		if err := os.WriteFile(chart, svg.Bytes(), 0o644); err != nil {
			fmt.Fprintf(e.stderr, "promoguard: write %s: %v\n", chart, file.PathErr(err))
			return exitError{1}
		}
		if c.Format == "text" && c.Out == "" {
			fmt.Fprintf(e.stdout, "chart: %s\n", chart)
		}
	}
	return nil
}

// writeFileOr writes data to the file name, or to w when name is empty.
func writeFileOr(w io.Writer, name string, data []byte) error {
	if name == "" {
		_, err := w.Write(data)
		return err
	}
	return os.WriteFile(name, data, 0o644)
}

// kafkaBenchFlags are bench's flags for the run through Kafka.
type kafkaBenchFlags struct {
	Kafka         string        `placeholder:"BROKERS" help:"Measure through Kafka instead of in-process: the brokers (host:port,...), or 'embedded' for the embedded broker. Runs a pass-through, the daemon at saturation, its restart, and the daemon at --kafka-rate."`
	KafkaRate     float64       `name:"kafka-rate" default:"20000" placeholder:"N" help:"Offered events/s of the fixed-rate run through Kafka (default 20000)."`
	KafkaDuration time.Duration `name:"kafka-duration" default:"10s" placeholder:"DUR" help:"Length of the fixed-rate run through Kafka (default 10s)."`
	KafkaParts    int           `name:"kafka-partitions" default:"6" placeholder:"N" help:"Partitions of the topics the Kafka run creates (default 6)."`
}

// runKafkaBench runs bench/kafkabench and writes its report to out.
func runKafkaBench(e env, f kafkaBenchFlags, gen bench.Config, rs *rules.RuleSet, format string, out io.Writer, quiet bool) error {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	defer stop()
	brokers := strings.Split(f.Kafka, ",")
	if f.Kafka == "embedded" {
		b, err := embedded.Start(embedded.Options{Addr: "127.0.0.1:0"})
		if err != nil {
			return err
		}
		defer b.Close()
		brokers = b.Brokers()
	}
	progress := func(p string) {
		if !quiet {
			fmt.Fprintf(e.stderr, "%s  %s\n", time.Now().Format("15:04:05"), p)
		}
	}
	rep, err := kafkabench.Bench(ctx, kafkabench.Options{
		Brokers: brokers, Rules: rs, Gen: gen, Partitions: f.KafkaParts,
		Rate: f.KafkaRate, Duration: f.KafkaDuration, Log: zerolog.Nop(), Progress: progress,
	})
	if err != nil {
		return err
	}
	if format == "json" {
		return rep.WriteJSON(out)
	}
	return rep.WriteText(out, rs.Version)
}
