package main

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"

	"github.com/alecthomas/kong"

	"github.com/promoguard/promoguard/internal/config"
	"github.com/promoguard/promoguard/rules"
)

// version is set by the linker in release builds.
var version = "dev"

type cli struct {
	Check   checkCmd         `cmd:"" help:"Validate rule files and print every problem with file:line:col."`
	Replay  replayCmd        `cmd:"" help:"Replay NDJSON event files through the rules, writing the alerts, corrections and dead letters as NDJSON. Each event is applied at its own ts by the engine run uses, and the clock stops at the last event unless --until moves it on."`
	Run     runCmd           `cmd:"" help:"Run the daemon: consume price, stock and promotion events from Kafka, evaluate the rules, produce alerts, corrections and dead letters. With no brokers configured it starts an embedded broker."`
	Test    testCmd          `cmd:"" help:"Run rule unit tests: feed each test case's events through the engine and compare the alerts and corrections with its expectations."`
	Gen     genCmd           `cmd:"" help:"Write a synthetic catalog and event stream as NDJSON: prices, stock and a promotion calendar with conflicts, in a steady, ramp or burst shape. Seeded and deterministic."`
	Bench   benchCmd         `cmd:"" help:"Measure rule throughput in-process on a generated stream: events/s, allocations and latency per event on one core and on all cores, state per sku-channel, and a per-rule cost table."`
	Produce produceCmd       `cmd:"" help:"Write NDJSON events to Kafka, each to the topic of its type (or --topic), keyed by sku or promotion id with murmur2 as the daemon expects; invalid lines are reported with their line number and skipped."`
	Version kong.VersionFlag `help:"Print the version and exit."`
}

// env is what every command writes to; tests replace it.
type env struct {
	stdin  io.Reader // nil means os.Stdin
	stdout io.Writer
	stderr io.Writer
}

// exitError ends the process with a code after the command has printed
// what it had to say.
type exitError struct{ code int }

func (e exitError) Error() string { return fmt.Sprintf("exit status %d", e.code) }

func main() {
	os.Exit(run(os.Args[1:], env{stdin: os.Stdin, stdout: os.Stdout, stderr: os.Stderr}))
}

// run parses args and runs one command, returning the exit code: 0 success,
// 1 a finding (invalid rules, a failed test), 2 a usage or load error.
func run(args []string, e env) int {
	if e.stdin == nil {
		e.stdin = os.Stdin
	}
	var c cli
	code := -1
	parser, err := kong.New(&c,
		kong.Name("promoguard"),
		kong.Description("Real-time pricing and promotion-conflict rules engine."),
		kong.UsageOnError(),
		kong.Vars{"version": version},
		kong.Vars(config.Vars()), // the daemon's defaults, as its libraries have them
		kong.Writers(e.stdout, e.stderr),
		kong.Exit(func(c int) { code = c }),
		kong.ConfigureHelp(kong.HelpOptions{Compact: true}),
	)
	if err != nil {
		fmt.Fprintln(e.stderr, "promoguard:", err)
		return 2
	}
	ctx, err := parser.Parse(args)
	if code >= 0 { // --help or --version
		return code
	}
	if err != nil {
		fmt.Fprintln(e.stderr, "promoguard:", err)
		return 2
	}
	err = ctx.Run(e)
	var ee exitError
	switch {
	case err == nil:
		return 0
	case errors.As(err, &ee):
		return ee.code
	default:
		fmt.Fprintln(e.stderr, "promoguard:", err)
		return 2
	}
}

// writeLoadErrors prints the positioned errors of rule or test files that
// do not load: like a compiler, with a count, or as one JSON object.
func writeLoadErrors(w io.Writer, list rules.Errors, asJSON bool) {
	if asJSON {
		enc := json.NewEncoder(w)
		enc.SetIndent("", "  ")
		enc.Encode(struct {
			Errors rules.Errors `json:"errors"`
		}{list})
		return
	}
	fmt.Fprint(w, list.Pretty())
	fmt.Fprintf(w, "%d error%s\n", len(list), plural(len(list)))
}
