package ruletest

import (
	"errors"
	"fmt"
	"maps"
	"slices"
	"strings"
	"time"

	"github.com/promoguard/promoguard/event"
	"github.com/promoguard/promoguard/internal/yamlpos"

	"github.com/dgraph-io/ristretto/v2"

	"github.com/promoguard/promoguard/engine"
	"github.com/promoguard/promoguard/rules"
	"github.com/promoguard/promoguard/rules/testspec"
)

// Options configure a Runner. The zero value runs every case.
type Options struct {
	// Match selects the cases to run by name; nil runs them all.
	Match func(name string) bool
	// Rules are the options rule files load with (nil: the defaults).
	Rules *rules.Options
	// CacheRules bounds the compiled rule sets kept between cases, counted
	// in rules (default 100000).
	CacheRules int64
	// Channels is the stacking policy of each channel (`--channels`); a
	// test file's own channels section overrides it channel by channel.
	Channels rules.Channels
}

// Runner runs test files. It keeps the rule sets it compiled in a cache
// keyed by the rule files' paths, so cases that load the same files compile
// them once. A Runner is not safe for concurrent use; Close it when done.
type Runner struct {
	opts Options
	// cache holds compiled rule sets. Ristretto may drop a Set or evict an
	// entry: the files are then loaded again, which gives the same rule set,
	// so the cache never changes a result (DESIGN §9). It is keyed by the
	// paths in load order; the files are not expected to change while one
	// Runner runs. (Ristretto reads the clock only for TTLs, which are not
	// used here.)
	cache *ristretto.Cache[string, *rules.RuleSet]
}

// New returns a Runner.
func New(opts Options) (*Runner, error) {
	if opts.CacheRules <= 0 {
		opts.CacheRules = 100_000
	}
	c, err := ristretto.NewCache(&ristretto.Config[string, *rules.RuleSet]{
		NumCounters:        1000,
		MaxCost:            opts.CacheRules,
		BufferItems:        64,
		IgnoreInternalCost: true,
	})
	if err != nil {
		return nil, err
	}
	return &Runner{opts: opts, cache: c}, nil
}

// Close stops the cache's goroutines.
func (r *Runner) Close() { r.cache.Close() }

// prepared is a case ready to run: its rule set and decoded events.
type prepared struct {
	file   *testspec.File
	c      *testspec.Case
	rs     *rules.RuleSet
	events [][]*event.Event // by step
}

// Run runs every selected case of files, in order, and returns the report.
// When a case cannot run — its rule files do not load, an event is not a
// valid event, an expectation names a rule that is not loaded — it runs
// nothing and returns every such problem as rules.Errors, sorted by
// position.
func (r *Runner) Run(files []*testspec.File) (*Report, error) {
	cases, err := r.prepare(files)
	if err != nil {
		return nil, err
	}
	rep := &Report{}
	cov := newCoverage()
	for _, p := range cases {
		res, run := r.runCase(p)
		rep.Cases = append(rep.Cases, res)
		if res.Passed {
			rep.Passed++
		} else {
			rep.Failed++
		}
		cov.add(p, res, run)
	}
	rep.Coverage = cov.list()
	return rep, nil
}

// Check finds what would keep the selected cases of files from running,
// as Run does, without running them: so that a caller whose other test
// files failed to load can report every problem at once.
func (r *Runner) Check(files []*testspec.File) error {
	_, err := r.prepare(files)
	return err
}

// prepare loads the rule sets and decodes the events of the selected cases.
func (r *Runner) prepare(files []*testspec.File) ([]*prepared, error) {
	var errs rules.Errors
	seen := map[string]bool{}
	addErr := func(e *rules.Error) {
		k := e.Error()
		if !seen[k] {
			seen[k] = true
			errs = append(errs, e)
		}
	}
	failed := map[string]bool{} // rule-file sets that did not load
	var cases []*prepared
	for _, f := range files {
		for _, c := range f.Cases {
			if r.opts.Match != nil && !r.opts.Match(c.Name) {
				continue
			}
			p := &prepared{file: f, c: c}
			key := strings.Join(c.RuleFiles, "\x00")
			rs, ok := r.cache.Get(key)
			if !ok && !failed[key] {
				var err error
				rs, err = rules.Load(c.RuleFiles, r.opts.Rules)
				if err != nil {
					failed[key] = true
					var list rules.Errors
					if !errors.As(err, &list) {
						return nil, err
					}
					for _, e := range list {
						addErr(e)
					}
				} else {
					r.cache.Set(key, rs, int64(len(rs.Rules))+1)
					r.cache.Wait()
				}
			}
			if failed[key] {
				e := &rules.Error{Pos: c.RuleFilesPos, Code: testspec.CodeBadRuleFiles,
					Message: fmt.Sprintf("rule_files %s do not load (the errors are listed with their files)", strings.Join(c.RuleFiles, ", "))}
				e.Snippet = f.Snippet(e.Pos)
				addErr(e)
				continue
			}
			p.rs = rs
			for _, e := range r.check(f, c, rs) {
				addErr(e)
			}
			for _, st := range c.Steps {
				var evs []*event.Event
				for _, ev := range st.Events {
					de, err := event.Decode(ev.JSON, event.DecodeOptions{})
					if err != nil {
						reason := "bad_input"
						var ie *event.InputError
						if errors.As(err, &ie) {
							reason = string(ie.Reason)
						}
						e := &rules.Error{Pos: ev.Pos, Code: testspec.CodeBadEvent, Message: fmt.Sprintf("not a valid event: %v (%s)", err, reason)}
						e.Snippet = f.Snippet(ev.Pos)
						addErr(e)
						continue
					}
					de.Source = ev.Pos.String()
					evs = append(evs, de)
				}
				p.events = append(p.events, evs)
			}
			cases = append(cases, p)
		}
	}
	if len(errs) > 0 {
		errs.Sort()
		return nil, errs
	}
	return cases, nil
}

// check finds the rules that a case's expectations name and its rule set
// does not define.
func (r *Runner) check(f *testspec.File, c *testspec.Case, rs *rules.RuleSet) rules.Errors {
	var ids []string
	for _, rule := range rs.Rules {
		ids = append(ids, rule.ID())
	}
	for _, rule := range engine.BuiltinRules() {
		ids = append(ids, rule.ID())
	}
	var out rules.Errors
	test := func(ref testspec.RuleRef) {
		if !ref.Valid() || ruleExists(ids, ref) {
			return
		}
		e := &rules.Error{Pos: ref.Pos, Code: testspec.CodeUnknownRule,
			Message: fmt.Sprintf("no rule %s in %s%s", ref.Name, strings.Join(c.RuleFiles, ", "), suggest(ref.Name, ids))}
		e.Snippet = f.Snippet(ref.Pos)
		out = append(out, e)
	}
	visit := func(e *testspec.Expect) {
		if e == nil {
			return
		}
		for _, a := range e.Alerts {
			test(a.Rule)
		}
		for _, q := range e.Quiet {
			test(q)
		}
	}
	for _, st := range c.Steps {
		visit(st.Expect)
	}
	visit(c.Expect)
	return out
}

func ruleExists(ids []string, ref testspec.RuleRef) bool {
	return slices.ContainsFunc(ids, ref.Matches)
}

func suggest(name string, ids []string) string {
	// a name without its group is compared with the rule part of each id
	cands := make([]string, len(ids))
	for i, id := range ids {
		cands[i] = id
		if !strings.Contains(name, "/") {
			_, cands[i], _ = strings.Cut(id, "/")
		}
	}
	if i := yamlpos.Closest(name, cands, max(1, min(4, len(name)/3))); i >= 0 {
		return "; did you mean " + ids[i] + "?"
	}
	slices.Sort(ids)
	return " (it has " + strings.Join(ids, ", ") + ")"
}

// window is the records between two checkpoints and the expectations they
// are checked against (nil when the window is not checked).
type window struct {
	from, to   int
	expect     *testspec.Expect
	hasActions bool
}

// caseRun is what one run of a case produced, for coverage.
type caseRun struct {
	out     []event.Output
	windows []window
}

func (r *Runner) runCase(p *prepared) (*CaseResult, *caseRun) {
	c := p.c
	res := &CaseResult{File: c.File, Name: c.Name, Pos: c.Pos, RulesVersion: p.rs.Version}
	var ruleErrs []engine.RuleError
	eng := engine.New(p.rs, engine.Options{
		Horizon:         c.Horizon,
		AllowedLateness: c.Lateness,
		OnRuleError:     func(e engine.RuleError) { ruleErrs = append(ruleErrs, e) },
		Channels:        mergeChannels(r.opts.Channels, c.Channels),
	})
	d := engine.NewDriver(eng, engine.DriverOptions{})
	run := &caseRun{}
	var out []event.Output
	from, acted := 0, false
	checkpoint := func(label string, pos rules.Pos, exp *testspec.Expect) {
		w := window{from: from, to: len(out), expect: exp, hasActions: acted}
		run.windows = append(run.windows, w)
		if exp != nil {
			res.Failures = append(res.Failures, compare(label, pos, exp, out[w.from:w.to])...)
		}
		from, acted = len(out), false
	}
	for i, st := range c.Steps {
		for _, ev := range p.events[i] {
			out = d.Push(ev, out)
			acted = true
		}
		switch {
		case st.Advance > 0:
			out = d.Flush(out)
			out = d.Advance(eng.Watermark().Add(st.Advance), out)
			acted = true
		case !st.Until.IsZero():
			out = d.Flush(out)
			if wm := eng.Watermark(); st.Until.Before(wm) {
				res.Failures = append(res.Failures, &Failure{
					Checkpoint: st.Label, Pos: st.Pos, Kind: KindStep,
					Message: fmt.Sprintf("until %s is before the watermark %s: the clock never moves back", fmtTime(st.Until), fmtTime(wm)),
				})
			} else {
				out = d.Advance(st.Until, out)
			}
			acted = true
		}
		if st.Expect != nil {
			out = d.Flush(out)
			checkpoint("after "+st.Label, st.Expect.Pos, st.Expect)
		}
	}
	out = d.Finish(out)
	if c.Lateness > 0 {
		acted = true // Finish ends the lateness hold: the clock may move
	}
	switch {
	case c.Expect != nil:
		checkpoint("at the end", c.Expect.Pos, c.Expect)
	case c.ExpectNone:
		from = 0
		checkpoint("expect_none", c.ExpectNonePos, &testspec.Expect{Pos: c.ExpectNonePos, CheckAlerts: true, CheckCorrections: true})
	default:
		checkpoint("at the end", c.Pos, nil)
	}
	for _, e := range ruleErrs {
		subject := e.SKU + "@" + e.Channel
		if e.Promo != "" {
			subject = "promo " + e.Promo
		}
		res.Failures = append(res.Failures, &Failure{
			Checkpoint: "run", Pos: c.Pos, Kind: KindRuleError, Rule: e.Rule.ID(),
			SKU: e.SKU, Channel: e.Channel, Promo: e.Promo,
			Message: fmt.Sprintf("rule %s failed at run time on %s: %v", e.Rule.ID(), subject, e.Err),
		})
	}
	res.Records = len(out)
	fired := map[string]bool{}
	for _, o := range out {
		if a := o.Alert; a != nil && a.State == event.StateFiring {
			fired[a.Group+"/"+a.Rule] = true
		}
	}
	for id := range fired {
		res.Fired = append(res.Fired, id)
	}
	slices.Sort(res.Fired)
	res.Passed = len(res.Failures) == 0
	run.out = out
	return res, run
}

func fmtTime(t time.Time) string { return t.UTC().Format(time.RFC3339Nano) }

// mergeChannels is base with over's channels put over it.
func mergeChannels(base, over rules.Channels) rules.Channels {
	if len(over) == 0 {
		return base
	}
	out := make(rules.Channels, len(base)+len(over))
	maps.Copy(out, base)
	maps.Copy(out, over)
	return out
}
