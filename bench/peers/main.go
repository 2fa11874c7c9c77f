// Command peers runs the reference rule pack side by side on the same
// generated events and the same facts: the engine as users run it (rules
// in expr), the same rules hand-written in Go, in CEL (cel-go) and in Rego
// (OPA's Go library). It lives in a module of its own so that promoguard's
// go.mod does not carry CEL and OPA.
//
//	cd bench/peers && go run . --skus 20000 --events 200000
//
// Every peer runs inside the same engine, through engine.Options.Evaluator:
// the same decoding, state, calendar, stacking, facts, memo, lifecycles
// and encoding; only the evaluation of conditions and bounds differs. A
// second table times the evaluators alone on facts captured from the run.
package main

import (
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"maps"
	"os"
	"runtime"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/promoguard/promoguard/event"

	"github.com/expr-lang/expr/vm"

	"github.com/promoguard/promoguard/bench"
	"github.com/promoguard/promoguard/engine"
	"github.com/promoguard/promoguard/rules"
)

type peer struct {
	Name     string   `json:"name"`
	Language string   `json:"language"`
	Coverage coverage `json:"coverage"`
	make     func() (engine.Evaluator, error)
}

// Report is the side-by-side table.
type Report struct {
	Date      time.Time     `json:"date"`
	GoVersion string        `json:"go_version"`
	CPUs      int           `json:"cpus"`
	Config    bench.Config  `json:"config"`
	Events    int           `json:"events"`
	Rules     int           `json:"rules"`
	Runs      []Run         `json:"runs"`
	Micro     []MicroResult `json:"rules_only"`
	Captured  int           `json:"rules_only_evaluations"`
	Contexts  int           `json:"rules_only_contexts"`
}

// Run is one peer's end-to-end run on one core.
type Run struct {
	Peer     string        `json:"peer"`
	Coverage coverage      `json:"coverage"`
	Result   *bench.Result `json:"result"`
	// EngineOver is the engine's events/s over this peer's: above 1, the
	// engine is faster.
	EngineOver float64 `json:"engine_over"`
}

// MicroResult is one evaluator timed alone on captured facts.
type MicroResult struct {
	Peer       string  `json:"peer"`
	NsPerEval  float64 `json:"ns_per_evaluation"`
	EngineOver float64 `json:"engine_over"`
}

func main() {
	var (
		cfg     bench.Config
		shape   string
		paths   string
		format  string
		out     string
		skip    string
		capture int
	)
	flag.IntVar(&cfg.SKUs, "skus", 20000, "skus in the catalog")
	flag.IntVar(&cfg.Events, "events", 200000, "events in all, the catalog load included")
	flag.IntVar(&cfg.Channels, "channels", 3, "channels")
	flag.StringVar(&shape, "shape", "steady", "steady, ramp or burst")
	flag.Uint64Var(&cfg.Seed, "seed", 1, "random seed")
	flag.StringVar(&paths, "rules", "../../examples/rules", "rule files or directories, comma-separated")
	flag.StringVar(&format, "format", "text", "text or json")
	flag.StringVar(&out, "out", "", "write the report to this file")
	flag.StringVar(&skip, "skip", "", "peers to leave out, comma-separated (go, cel, rego)")
	flag.IntVar(&capture, "rules-only", 200000, "rule evaluations to capture for the rules-only table; 0 skips it")
	flag.Parse()
	cfg.Shape = bench.Shape(shape)
	if err := run(cfg, strings.Split(paths, ","), format, out, skip, capture); err != nil {
		fmt.Fprintln(os.Stderr, "peers:", err)
		os.Exit(1)
	}
}

func run(cfg bench.Config, paths []string, format, out, skip string, capture int) error {
	rs, err := rules.Load(paths, nil)
	if err != nil {
		return err
	}
	in, err := bench.Generate(cfg, nil)
	if err != nil {
		return err
	}
	peers := []*peer{{Name: "promoguard (expr)", Language: "expr", make: func() (engine.Evaluator, error) { return nil, nil }}}
	_, ncov := bench.NewNative(rs)
	peers = append(peers, &peer{Name: "hand-written Go", Language: "go", Coverage: coverage(ncov),
		make: func() (engine.Evaluator, error) { n, _ := bench.NewNative(rs); return n, nil }})
	_, ccov, err := NewCEL(rs)
	if err != nil {
		return err
	}
	peers = append(peers, &peer{Name: "CEL (cel-go)", Language: "cel", Coverage: ccov,
		make: func() (engine.Evaluator, error) { c, _, err := NewCEL(rs); return c, err }})
	_, gcov, err := NewRego(rs)
	if err != nil {
		return err
	}
	peers = append(peers, &peer{Name: "Rego (OPA)", Language: "rego", Coverage: gcov,
		make: func() (engine.Evaluator, error) { g, _, err := NewRego(rs); return g, err }})
	peers[0].Coverage.Translated = ruleIDs(rs)

	rep := &Report{Date: time.Now().UTC(), GoVersion: runtime.Version(), CPUs: runtime.NumCPU(), Config: in.Config,
		Events: len(in.Lines), Rules: len(rs.Rules), Captured: 0}
	skipped := map[string]bool{}
	for _, s := range strings.Split(skip, ",") {
		skipped[strings.TrimSpace(s)] = true
	}
	for _, p := range peers {
		if skipped[p.Language] {
			continue
		}
		ev, err := p.make()
		if err != nil {
			return err
		}
		ro := bench.RunOptions{Rules: rs, Workers: 1, Name: p.Name}
		if ev != nil {
			mk := p.make
			ro.NewEvaluator = func() engine.Evaluator { e, _ := mk(); return e }
		}
		fmt.Fprintf(os.Stderr, "peers: %s ...\n", p.Name)
		res, err := bench.Run(in, ro)
		if err != nil {
			return err
		}
		res.Rules, res.Series = nil, nil
		rep.Runs = append(rep.Runs, Run{Peer: p.Name, Coverage: p.Coverage, Result: res})
	}
	for i := range rep.Runs {
		rep.Runs[i].EngineOver = rep.Runs[0].Result.EventsPerSec / rep.Runs[i].Result.EventsPerSec
	}
	if capture > 0 {
		fmt.Fprintf(os.Stderr, "peers: rules only ...\n")
		calls, ctxs := captureCalls(rs, in, capture)
		rep.Captured, rep.Contexts = len(calls), len(ctxs)
		for _, p := range peers {
			if skipped[p.Language] {
				continue
			}
			ev, err := p.make()
			if err != nil {
				return err
			}
			if ev == nil {
				ev = &exprEval{vm: rules.NewVM()}
			}
			rep.Micro = append(rep.Micro, MicroResult{Peer: p.Name, NsPerEval: timeCalls(ev, calls, ctxs)})
		}
		for i := range rep.Micro {
			rep.Micro[i].EngineOver = rep.Micro[i].NsPerEval / rep.Micro[0].NsPerEval
		}
	}

	var w io.Writer = os.Stdout
	if out != "" {
		f, err := os.Create(out)
		if err != nil {
			return err
		}
		defer f.Close()
		w = f
	}
	if format == "json" {
		enc := json.NewEncoder(w)
		enc.SetIndent("", "  ")
		return enc.Encode(rep)
	}
	rep.text(w)
	return nil
}

func ruleIDs(rs *rules.RuleSet) []string {
	var ids []string
	for _, r := range rs.Rules {
		ids = append(ids, r.ID())
	}
	return ids
}

func (r *Report) text(w io.Writer) {
	c := r.Config
	fmt.Fprintf(w, "side by side: %d skus × %d channels, %d events (%s, seed %d), %d rules, one core each, %s, %d CPUs\n\n",
		c.SKUs, c.Channels, r.Events, c.Shape, c.Seed, r.Rules, r.GoVersion, r.CPUs)
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintln(tw, "evaluator\tevents/s\tns/event\tallocs/event\tp50\tp99\tengine ×\trules in its language\t")
	for _, run := range r.Runs {
		res := run.Result
		fmt.Fprintf(tw, "%s\t%.0f\t%.0f\t%.1f\t%.1fµs\t%.1fµs\t%.2f\t%d of %d\t\n", run.Peer, res.EventsPerSec, res.NsPerEvent,
			res.AllocsPerEvt, res.Latency.P50/1e3, res.Latency.P99/1e3, run.EngineOver, len(run.Coverage.Translated), r.Rules)
	}
	tw.Flush()
	fmt.Fprintln(w, "\nengine × is the engine's events/s over the evaluator's: above 1 the engine is faster. Every evaluator runs")
	fmt.Fprintln(w, "inside the same engine (decode, state, calendar, stacking, facts, memo, lifecycles, encoding).")
	for _, run := range r.Runs {
		if len(run.Coverage.Untranslated) > 0 {
			fmt.Fprintf(w, "%s leaves to expr: %s\n", run.Peer, strings.Join(run.Coverage.Untranslated, ", "))
		}
	}
	if len(r.Micro) > 0 {
		fmt.Fprintf(w, "\nrules only: %d rule evaluations on the facts of %d contexts captured from the run, each evaluator\n"+
			"converting a context's facts once, as it does in the engine:\n\n", r.Captured, r.Contexts)
		tw = tabwriter.NewWriter(w, 0, 0, 2, ' ', tabwriter.AlignRight)
		fmt.Fprintln(tw, "evaluator\tns/evaluation\tover expr\t")
		for _, m := range r.Micro {
			fmt.Fprintf(tw, "%s\t%.0f\t%.2f\t\n", m.Peer, m.NsPerEval, m.EngineOver)
		}
		tw.Flush()
	}
}

// call is one rule evaluation the engine asked for.
type call struct {
	r   *rules.Rule
	x   *rules.Expr
	ctx int
}

// capturer records the evaluations of a run and the facts of their
// contexts, evaluating with expr meanwhile.
type capturer struct {
	fb    *fallback
	max   int
	calls []call
	ctxs  []*rules.Facts
	last  uint64
}

func (c *capturer) Eval(r *rules.Rule, x *rules.Expr, f *rules.Facts, ctx uint64) (any, error) {
	if len(c.calls) < c.max {
		if ctx != c.last || len(c.ctxs) == 0 {
			cp := *f
			cp.Channels = maps.Clone(f.Channels) // the engine reuses its map
			c.ctxs = append(c.ctxs, &cp)
			c.last = ctx
		}
		c.calls = append(c.calls, call{r: r, x: x, ctx: len(c.ctxs) - 1})
	}
	return c.fb.eval(r, x, f, ctx)
}

func captureCalls(rs *rules.RuleSet, in *bench.Input, max int) ([]call, []*rules.Facts) {
	c := &capturer{fb: newFallback(), max: max}
	d := engine.NewDriver(engine.New(rs, engine.Options{Evaluator: c}), engine.DriverOptions{})
	var out []event.Output
	for _, line := range in.Lines {
		if len(c.calls) >= max {
			break
		}
		out = d.Step(engine.Record{Value: line}, out[:0])
	}
	return c.calls, c.ctxs
}

// exprEval runs the expr programs on facts boxed once per context, as the
// engine does.
type exprEval struct {
	vm    *vm.VM
	env   any
	envID uint64
}

func (e *exprEval) Eval(r *rules.Rule, x *rules.Expr, f *rules.Facts, ctx uint64) (any, error) {
	if e.env == nil || e.envID != ctx {
		e.env, e.envID = *f, ctx
	}
	if x == r.If {
		return x.Bool(e.vm, e.env)
	}
	return x.Float(e.vm, e.env)
}

// timeCalls evaluates the captured calls with ev, after one warm-up pass,
// and returns the mean time per evaluation. Context ids start afresh each
// pass, so every pass converts every context once.
func timeCalls(ev engine.Evaluator, calls []call, ctxs []*rules.Facts) float64 {
	pass := func(base uint64) {
		for _, c := range calls {
			if _, err := ev.Eval(c.r, c.x, ctxs[c.ctx], base+uint64(c.ctx)); err != nil {
				_ = err // rules fail as they do in the engine; counted there
			}
		}
	}
	pass(1 << 40)
	runtime.GC()
	start := time.Now()
	n := 0
	for i := 2; n == 0 || time.Since(start) < 2*time.Second; i++ {
		pass(uint64(i) << 40)
		n += len(calls)
	}
	return float64(time.Since(start).Nanoseconds()) / float64(n)
}
