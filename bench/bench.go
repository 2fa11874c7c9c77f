package bench

import (
	"fmt"
	"runtime"
	"time"

	"github.com/promoguard/promoguard/engine"
	"github.com/promoguard/promoguard/rules"
)

// Options configure a whole benchmark: the stream, the rules, and which
// runs to make.
type Options struct {
	Gen   Config
	Rules *rules.RuleSet
	// RulePaths name the rule files, for the report.
	RulePaths []string
	Engine    engine.Options
	// Cores is the number of engines of the parallel run; 0 means one per
	// CPU. A run on one core is always made first.
	Cores int
	// RuleTiming adds a timed run for the per-rule cost table.
	RuleTiming bool
	// Progress, when set, is told each phase and its progress.
	Progress Progress
}

// Progress hears what a benchmark is doing.
type Progress interface {
	Phase(name string, total int64)
	Done(n int64)
}

// Report is the whole benchmark's outcome, as `promoguard bench` prints it.
type Report struct {
	Date      time.Time `json:"date"`
	GoVersion string    `json:"go_version"`
	OS        string    `json:"os"`
	Arch      string    `json:"arch"`
	CPUs      int       `json:"cpus"`
	CPUModel  string    `json:"cpu_model,omitempty"`

	Rules        []string `json:"rules"`
	RulesVersion string   `json:"rules_version"`
	RuleCount    int      `json:"rule_count"`
	Config       Config   `json:"config"`
	Input        struct {
		Events  int64   `json:"events"`
		Catalog int64   `json:"catalog_events"`
		Prices  int64   `json:"prices"`
		Stock   int64   `json:"stock"`
		Promos  int64   `json:"promos"`
		Flash   int64   `json:"flash_sale_prices"`
		Bytes   int64   `json:"bytes"`
		GenSecs float64 `json:"generate_seconds"`
	} `json:"input"`

	OneCore  *Result `json:"one_core"`
	AllCores *Result `json:"all_cores,omitempty"`
	// Timed is the run with the rule clock on; its rule table is the one
	// reported, and its throughput is not.
	Timed *Result `json:"rule_timing,omitempty"`
	// Speedup is all cores over one core.
	Speedup float64 `json:"speedup,omitempty"`
}

// Bench generates the stream and runs it on one core, on all cores, and
// timed for the rule table.
func Bench(o Options) (*Report, error) {
	rep := &Report{
		Date: time.Now().UTC(), GoVersion: runtime.Version(), OS: runtime.GOOS, Arch: runtime.GOARCH,
		CPUs: runtime.NumCPU(), CPUModel: cpuModel(), Rules: o.RulePaths, RulesVersion: o.Rules.Version,
		RuleCount: len(o.Rules.Rules),
	}
	g0 := time.Now()
	var prog func(int)
	if o.Progress != nil {
		o.Progress.Phase("generate", int64(o.Gen.Events))
		prog = func(n int) { o.Progress.Done(int64(n)) }
	}
	in, err := Generate(o.Gen, prog)
	if err != nil {
		return nil, err
	}
	rep.Config = in.Config
	rep.Input.Events, rep.Input.Catalog = in.Stats.Events, in.Stats.Catalog
	rep.Input.Prices, rep.Input.Stock, rep.Input.Promos = in.Stats.Prices, in.Stats.Stock, in.Stats.Promos
	rep.Input.Flash, rep.Input.Bytes = in.Stats.Flash, in.Bytes
	rep.Input.GenSecs = time.Since(g0).Seconds()

	cores := o.Cores
	if cores <= 0 {
		cores = runtime.NumCPU()
	}
	run := func(name string, workers int, timed bool) (*Result, error) {
		ro := RunOptions{Rules: o.Rules, Workers: workers, Engine: o.Engine, RuleTiming: timed, Name: name}
		if o.Progress != nil {
			o.Progress.Phase(name, int64(len(in.Lines)))
			ro.Progress = o.Progress.Done
		}
		return Run(in, ro)
	}
	if rep.OneCore, err = run("1 core", 1, false); err != nil {
		return nil, err
	}
	if cores > 1 {
		if rep.AllCores, err = run(fmt.Sprintf("%d cores", cores), cores, false); err != nil {
			return nil, err
		}
		rep.Speedup = rep.AllCores.EventsPerSec / rep.OneCore.EventsPerSec
	}
	if o.RuleTiming {
		if rep.Timed, err = run("rule timing", cores, true); err != nil {
			return nil, err
		}
	}
	return rep, nil
}
