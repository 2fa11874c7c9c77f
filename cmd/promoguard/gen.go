package main

import (
	"bufio"
	"fmt"
	"io"
	"os"
	"time"

	"github.com/promoguard/promoguard/bench"
	"github.com/promoguard/promoguard/connectors/file"
)

type genCmd struct {
	genFlags
	Out   string `short:"o" default:"-" placeholder:"FILE" help:"Write the events to FILE (created or truncated); - (the default) writes to stdout."`
	Quiet bool   `short:"q" help:"Print no summary on stderr."`
}

// genFlags describe the generated stream; bench takes the same.
type genFlags struct {
	SKUs     int       `name:"skus" default:"10000" placeholder:"N" help:"Skus in the catalog (default 10000)."`
	Events   int       `default:"100000" placeholder:"N" help:"Events to write in all, the catalog load included (default 100000)."`
	Channels int       `default:"3" placeholder:"M" help:"Sales channels: web, then marketplaces (default 3)."`
	Shape    string    `enum:"steady,ramp,burst" default:"steady" help:"Rate over the live stream: steady, ramp (a tenth of --rate up to three times it), or burst (a flash sale re-pricing 20% of the catalog on every channel within a minute, mid-stream)."`
	Seed     uint64    `default:"1" placeholder:"S" help:"Random seed: the same flags write the same bytes."`
	Rate     float64   `default:"0" placeholder:"N" help:"Live events per second of event time; default one per 1000 skus, at least 10 (100/s for 100k skus)."`
	Start    time.Time `placeholder:"TIME" help:"Event time of the first event (RFC 3339); default 2026-11-23T00:00:00Z."`
}

func (f genFlags) config() bench.Config {
	return bench.Config{SKUs: f.SKUs, Events: f.Events, Channels: f.Channels, Shape: bench.Shape(f.Shape), Seed: f.Seed, Rate: f.Rate, Start: f.Start}
}

// Help is the detail under the command's usage.
func (c *genCmd) Help() string {
	return `Writes a synthetic catalog and event stream as NDJSON events (README.md, "Events"):
first a calendar of promotions from manufacturers, distributors and
marketplaces, then every sku's price on every channel (with cost, list price
and MAP) and its stock per warehouse, then the live stream of re-pricings,
stock moves and promotion changes. Some promotions overlap, break margins,
miss the discount ladder or expect more demand than the stock holds, so that
the example rules fire at plausible rates. The stream is deterministic: the
same flags write the same bytes.

To send it to Kafka, pipe it into produce:

  promoguard gen --skus 100000 --events 2000000 | promoguard produce ...

Exit status: 0 on success, 1 when the output cannot be written, 2 when the
flags are wrong.`
}

func (c *genCmd) Run(e env) error {
	start := time.Now()
	g, err := bench.NewGenerator(c.config())
	if err != nil {
		return err
	}
	var dst io.Writer = e.stdout
	var f *os.File
	name := "stdout"
	if c.Out != "-" && c.Out != "" {
		if f, err = os.Create(c.Out); err != nil {
			fmt.Fprintf(e.stderr, "promoguard: create %s: %v\n", c.Out, file.PathErr(err))
			return exitError{1}
		}
		dst, name = f, c.Out
	}
	bw := bufio.NewWriterSize(dst, 1<<20)
	var werr error
	for werr == nil {
		ev, ok := g.Next()
		if !ok {
			break
		}
		bw.Write(ev.Line)
		werr = bw.WriteByte('\n')
	}
	if werr == nil {
		werr = bw.Flush()
	}
	if f != nil {
		if err := f.Close(); werr == nil {
			werr = err
		}
	}
	if werr != nil {
		fmt.Fprintf(e.stderr, "promoguard: write %s: %v\n", name, file.PathErr(werr))
		return exitError{1}
	}
	if !c.Quiet {
		st := g.Stats()
		fmt.Fprintf(e.stderr, "gen: %d events (catalog %d; prices %d, stock %d, promotions %d, flash sale %d), %d bytes in %s\n",
			st.Events, st.Catalog, st.Prices, st.Stock, st.Promos, st.Flash, st.Bytes, time.Since(start).Round(time.Millisecond))
	}
	return nil
}
