package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"os/signal"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/rs/zerolog"

	"github.com/promoguard/promoguard/bench"
	"github.com/promoguard/promoguard/bench/kafkabench"
	"github.com/promoguard/promoguard/connectors/embedded"
	"github.com/promoguard/promoguard/rules"
)

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
		enc := json.NewEncoder(out)
		enc.SetIndent("", "  ")
		return enc.Encode(rep)
	}
	tw := tabwriter.NewWriter(out, 0, 0, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintf(out, "through Kafka at %s, %d partitions, %d events, rules_version %s\n", strings.Join(rep.Brokers, ","), rep.Partitions, rep.Events, rs.Version)
	fmt.Fprintln(tw, "run\toffered ev/s\tevents\toutputs\tseconds\tevents/s\tp50 ms\tp99 ms\tp99.9 ms\t")
	row := func(name string, r kafkabench.Run) {
		offered, p50, p99, p999 := "max", "-", "-", "-"
		if r.Offered > 0 {
			offered = fmt.Sprintf("%.0f", r.Offered)
		}
		if l := r.LatencyMs; l != nil {
			p50, p99, p999 = fmt.Sprintf("%.1f", l.P50), fmt.Sprintf("%.1f", l.P99), fmt.Sprintf("%.1f", l.P999)
		}
		fmt.Fprintf(tw, "%s\t%s\t%d\t%d\t%.2f\t%.0f\t%s\t%s\t%s\t\n", name, offered, r.Events, r.Outputs, r.Seconds, r.EventsPerSec, p50, p99, p999)
	}
	row("pass-through (no rules)", rep.PassThrough)
	row("daemon, saturation", rep.Saturation)
	row("daemon, fixed rate", rep.FixedRate)
	tw.Flush()
	fmt.Fprintf(out, "daemon / pass-through: %.2f\n", rep.Ratio)
	fmt.Fprintf(out, "restart: %d changelog entries restored and caught up in %.2f s (%.0f entries/s; the state of %.0f input events/s)\n",
		rep.Recovery.Entries, rep.Recovery.Seconds, rep.Recovery.EntriesPerSec, rep.Recovery.EventsPerSec)
	return nil
}
