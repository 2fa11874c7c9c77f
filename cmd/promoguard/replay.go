package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"time"

	"github.com/alecthomas/kong"
	"github.com/prometheus/common/model"

	"github.com/promoguard/promoguard/connectors/file"
	"github.com/promoguard/promoguard/engine"
	"github.com/promoguard/promoguard/event"
	"github.com/promoguard/promoguard/rules"
)

type replayCmd struct {
	Rules    []string  `required:"" sep:"none" placeholder:"PATH" help:"Rule file, or directory of *.yaml and *.yml rule files. Repeat for more."`
	Out      string    `short:"o" placeholder:"FILE" help:"Write the output records to FILE (created or truncated) instead of stdout."`
	Until    time.Time `placeholder:"TIME" help:"After the last event, move the clock on to TIME (RFC 3339) so that timers keep firing: for, repeat, promotion ends, segment boundaries. Default: stop at the last event."`
	Horizon  duration  `default:"${horizon}" placeholder:"DUR" help:"How far ahead of the watermark the calendar is evaluated (90m, 12h, 30d, 1w); default ${horizon}."`
	Lateness duration  `default:"0s" placeholder:"DUR" help:"Allowed lateness: the watermark trails the highest event ts by DUR; default 0s."`
	MaxLine  int       `name:"max-line" default:"4194304" placeholder:"BYTES" help:"Longest input line in bytes (default 4 MiB); a longer one becomes an oversize dead letter."`
	Format   string    `enum:"text,json" default:"text" help:"Summary format on stderr: text or json (one JSON object, for CI)."`
	Records  string    `enum:"ndjson,table" default:"ndjson" help:"Output record format: ndjson (one JSON record per line, as the daemon produces) or table (one aligned line per record, for people)."`
	Quiet    bool      `short:"q" help:"Print no summary and no progress bar (rule errors and failures are still printed)."`
	Channels string    `placeholder:"FILE" help:"Channels file: the stacking policy of each channel (README.md, \"Stacking policies\"). Default: every channel compound."`
	Events   []string  `arg:"" name:"events" help:"NDJSON event files, read in order; - reads stdin."`
}

// Help is the detail under the command's usage.
func (c *replayCmd) Help() string {
	return `Each line of an events file is one event (README.md, "Events"). Blank lines and lines
whose first non-space character is # are skipped; a UTF-8 byte order mark at
the start of a file is ignored. A line that is not a valid event becomes a
dead_letter record naming file:line, written as the line is read; the records
an event causes are written when its run of equal timestamps is applied, in
the canonical order, so the order of equal-timestamp lines never changes the
output.

Exit status: 0 when the replay ran (dead letters included), 1 when an events
file cannot be read or the output cannot be written, 2 when the rules do not
load or the flags are wrong.`
}

// duration is a flag in the syntax of the durations of rule files
// (Prometheus durations: 90s, 1h30m, 30d, 1w).
type duration time.Duration

func (d *duration) Decode(ctx *kong.DecodeContext) error {
	var s string
	if err := ctx.Scan.PopValueInto("duration", &s); err != nil {
		return err
	}
	md, err := model.ParseDuration(s)
	if err != nil {
		return err
	}
	*d = duration(md)
	return nil
}

func (c *replayCmd) Run(e env) error {
	start := time.Now()
	rs, err := rules.Load(c.Rules, nil)
	if err != nil {
		var list rules.Errors
		if !errors.As(err, &list) {
			return err
		}
		writeLoadErrors(e.stderr, list, c.Format == "json")
		return exitError{2}
	}
	if c.MaxLine <= 0 {
		return fmt.Errorf("--max-line must be positive, got %d", c.MaxLine)
	}
	channels, err := loadChannels(e, c.Channels, c.Format == "json")
	if err != nil {
		return err
	}

	files, err := file.Open(c.Events, e.stdin)
	defer file.Close(files)
	if err != nil {
		fmt.Fprintln(e.stderr, "promoguard:", err)
		return exitError{1}
	}

	var dst io.Writer = e.stdout
	outName := "stdout"
	var outFile *os.File
	if c.Out != "" {
		outFile, err = os.Create(c.Out)
		if err != nil {
			fmt.Fprintf(e.stderr, "promoguard: create %s: %v\n", c.Out, file.PathErr(err))
			return exitError{1}
		}
		dst, outName = outFile, c.Out
	}

	errs := &file.RuleErrors{}
	eng := engine.New(rs, engine.Options{
		Horizon:         time.Duration(c.Horizon),
		AllowedLateness: time.Duration(c.Lateness),
		OnRuleError:     errs.Add,
		Channels:        channels,
	})
	drv := engine.NewDriver(eng, engine.DriverOptions{Decode: event.DecodeOptions{MaxSize: c.MaxLine}})
	src := file.NewReader(files, c.MaxLine)
	w := file.NewRecordWriter(dst, c.Records == "table")
	if !c.Quiet && c.Format == "text" && file.IsTerminal(e.stderr) && (c.Out != "" || !file.IsTerminal(e.stdout)) {
		src.Bar = file.NewBar(e.stderr, files)
	}

	// Run ends the input (Finish): nothing later can arrive, so the
	// lateness hold ends
	runErr := drv.Run(context.Background(), src, w)
	if src.Bar != nil {
		src.Bar.Finish() // every byte is read; clear it before anything else is printed
	}
	if runErr == nil && !c.Until.IsZero() {
		if wm := eng.Watermark(); c.Until.Before(wm) && c.Format == "text" && !c.Quiet {
			fmt.Fprintf(e.stderr, "promoguard: --until %s is before the watermark %s: the clock stays there\n",
				c.Until.UTC().Format(time.RFC3339Nano), wm.Format(time.RFC3339Nano))
		}
		runErr = w.Emit(drv.Advance(c.Until.UTC(), nil))
	}
	// write out what was produced even when an input failed, so the output
	// shows how far the replay got
	if err := w.Flush(); err != nil {
		w.SetErr(err)
	}
	if outFile != nil {
		if err := outFile.Close(); err != nil {
			w.SetErr(err)
		}
	}
	var inErr *file.InputError
	switch {
	case errors.As(runErr, &inErr):
		fmt.Fprintln(e.stderr, "promoguard:", runErr)
		return exitError{1}
	case w.Err() != nil:
		fmt.Fprintf(e.stderr, "promoguard: write %s: %v\n", outName, file.PathErr(w.Err()))
		return exitError{1}
	case runErr != nil:
		return runErr
	}

	sum := file.NewSummary(drv, src, w, errs, time.Since(start))
	if !c.Until.IsZero() {
		u := c.Until.UTC()
		sum.Until = &u
	}
	switch {
	case c.Format == "json":
		if !c.Quiet {
			enc := json.NewEncoder(e.stderr)
			enc.SetIndent("", "  ")
			enc.SetEscapeHTML(false)
			return enc.Encode(sum)
		}
	default:
		errs.Print(e.stderr)
		if !c.Quiet {
			sum.Text(e.stderr)
		}
	}
	return nil
}

// loadChannels loads a --channels file (nil when none is given); a file
// that does not load prints its errors, positioned, and exits 2.
func loadChannels(e env, path string, asJSON bool) (rules.Channels, error) {
	if path == "" {
		return nil, nil
	}
	ch, err := rules.LoadChannels(path)
	if err != nil {
		var list rules.Errors
		if !errors.As(err, &list) {
			return nil, err
		}
		writeLoadErrors(e.stderr, list, asJSON)
		return nil, exitError{2}
	}
	return ch, nil
}
