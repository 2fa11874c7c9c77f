package bench

import (
	"bufio"
	"errors"
	"fmt"
	"os"
	"runtime"
	"slices"
	"sort"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/promoguard/promoguard/event"

	"github.com/promoguard/promoguard/engine"
	"github.com/promoguard/promoguard/rules"
)

// RunOptions configure one measured run.
type RunOptions struct {
	Rules *rules.RuleSet
	// Workers is the number of engines, each on its own goroutine with the
	// skus that hash to it (GOMAXPROCS is set to it for the run). 0 means
	// one per CPU.
	Workers int
	// Engine is the engine configuration; RuleClock and Evaluator are set by
	// the options below.
	Engine engine.Options
	// RuleTiming times every rule evaluation (engine.Options.RuleClock) for
	// the per-rule cost table. The clock costs time of its own: a timed run
	// is slower than an untimed one.
	RuleTiming bool
	// NewEvaluator, when set, gives each engine the evaluator it runs rules
	// with instead of their expr programs (the peers of the side-by-side
	// table).
	NewEvaluator func() engine.Evaluator
	// Progress, when set, hears the number of events applied now and then
	// (from the workers' goroutines, summed).
	Progress func(done int64)
	// Name labels the run in reports.
	Name string
}

// Result is what one run measured.
type Result struct {
	Name    string `json:"name"`
	Workers int    `json:"workers"`
	// Events counts input events once, though every engine applies each
	// promotion.
	Events        int64   `json:"events"`
	WallSeconds   float64 `json:"wall_seconds"`
	EventsPerSec  float64 `json:"events_per_sec"`
	NsPerEvent    float64 `json:"ns_per_event"` // wall time × workers / events: CPU time per event when every worker is busy
	AllocsPerEvt  float64 `json:"allocs_per_event"`
	BytesPerEvent float64 `json:"alloc_bytes_per_event"`
	GCCycles      uint32  `json:"gc_cycles"`
	// Latency is per event, from the start of its decoding to the end of
	// the encoding of the outputs of its run of equal timestamps (a run is
	// applied when the next event's ts is known).
	Latency Percentiles `json:"latency_ns"`

	Outputs       int64            `json:"outputs"`
	OutputsByKind map[string]int64 `json:"outputs_by_kind"`
	OutputBytes   int64            `json:"output_bytes"`
	DeadLetters   int64            `json:"dead_letters"`
	Late          int64            `json:"late"`
	Evaluations   int64            `json:"evaluations"`
	Ran           int64            `json:"evaluations_run"` // evaluations that ran an expression (the others reused a result whose facts had not changed)
	RuleErrors    int64            `json:"rule_errors"`
	Timers        int64            `json:"timers"`

	// StateBytes is the live heap the engines hold after the run (heap in
	// use after a collection, less what was in use before the engines were
	// built): state per sku, promotions, alert and correction lifecycles.
	StateBytes          int64   `json:"state_bytes"`
	SKUChannels         int64   `json:"sku_channels"`
	StatePerSKUChannel  float64 `json:"state_bytes_per_sku_channel"`
	PeakRSSBytes        int64   `json:"peak_rss_bytes"` // of the whole process, the input included
	Rules               []RuleCost
	Series              []Point `json:"series"`
	ruleTiming          bool
	RuleTimingOverheadP float64 `json:"-"`
}

// Percentiles of a latency distribution, in nanoseconds.
type Percentiles struct {
	P50  float64 `json:"p50"`
	P90  float64 `json:"p90"`
	P99  float64 `json:"p99"`
	P999 float64 `json:"p99_9"`
	Max  float64 `json:"max"`
}

// RuleCost is one rule's line of the per-rule cost table.
type RuleCost struct {
	Rule        string  `json:"rule"`
	Evaluations int64   `json:"evaluations"`
	Ran         int64   `json:"evaluations_run"`
	Held        int64   `json:"held"`      // evaluations whose condition held
	FireRate    float64 `json:"fire_rate"` // held / evaluations
	Firing      int64   `json:"firing"`    // firing records
	Resolved    int64   `json:"resolved"`
	Errors      int64   `json:"errors"`
	// Nanos is the time spent in the rule (condition, bounds, and the
	// alert record when it fires), from a timed run; TimeShare is its share
	// of the time of every rule, NsPerEval its mean per evaluation that ran.
	Nanos     int64   `json:"nanos,omitempty"`
	TimeShare float64 `json:"time_share,omitempty"`
	NsPerEval float64 `json:"ns_per_eval,omitempty"`
}

// Point is one step of the run's time series: events applied and the
// latency of the events done in that step.
type Point struct {
	T            float64 `json:"t"` // seconds since the start, at the end of the step
	EventsPerSec float64 `json:"events_per_sec"`
	P50          float64 `json:"p50_ns"`
	P99          float64 `json:"p99_ns"`
}

// worker is one engine with its share of the events.
type worker struct {
	idx    []int32
	eng    *engine.Engine
	drv    *engine.Driver
	lat    []uint32 // per event, ns (saturating)
	marks  []mark   // progress checkpoints
	out    []byte   // encoded records, as a writer would buffer them
	outs   int64
	bytes  int64
	kinds  [3]int64
	failed error
}

type mark struct {
	t    int64 // ns since the start
	done int
}

// Run runs in through the engine on opts.Workers engines and measures it.
func Run(in *Input, opts RunOptions) (*Result, error) {
	if opts.Rules == nil {
		return nil, errors.New("bench: no rule set")
	}
	n := opts.Workers
	if n <= 0 {
		n = runtime.NumCPU()
	}
	prev := runtime.GOMAXPROCS(n)
	defer runtime.GOMAXPROCS(prev)

	shards := in.shards(n)
	base := time.Now()
	clock := func() int64 { return int64(time.Since(base)) }
	workers := make([]*worker, n)
	// the heap before any engine exists, to tell what the engines hold
	runtime.GC()
	var m0 runtime.MemStats
	runtime.ReadMemStats(&m0)
	for i := range workers {
		eo := opts.Engine
		if opts.RuleTiming {
			eo.RuleClock = clock
		}
		if opts.NewEvaluator != nil {
			eo.Evaluator = opts.NewEvaluator()
		}
		if n > 1 && eo.PromoRules == nil {
			// every engine applies every promotion, and one owns its
			// promo-scope rules, as the daemon's partitions do
			own := uint32(i)
			eo.PromoRules = func(id string) bool { return keyHash(id)%uint32(n) == own }
		}
		eng := engine.New(opts.Rules, eo)
		workers[i] = &worker{
			idx: shards[i], eng: eng, drv: engine.NewDriver(eng, engine.DriverOptions{}),
			lat: make([]uint32, len(shards[i])),
		}
	}
	var done atomic.Int64
	step := max(len(in.Lines)/400, 1000)
	var wg sync.WaitGroup
	start := make(chan struct{})
	for _, w := range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			<-start
			w.run(in, clock, step, func(k int) {
				d := done.Add(int64(k))
				if opts.Progress != nil {
					opts.Progress(d)
				}
			})
		}()
	}
	var ms0, ms1 runtime.MemStats
	runtime.ReadMemStats(&ms0)
	t0 := clock()
	close(start)
	wg.Wait()
	wall := time.Duration(clock() - t0)
	runtime.ReadMemStats(&ms1)
	for _, w := range workers {
		if w.failed != nil {
			return nil, w.failed
		}
	}

	res := &Result{Name: opts.Name, Workers: n, Events: int64(len(in.Lines)), WallSeconds: wall.Seconds(),
		OutputsByKind: map[string]int64{}, ruleTiming: opts.RuleTiming}
	ev := float64(len(in.Lines))
	res.EventsPerSec = ev / wall.Seconds()
	res.NsPerEvent = float64(wall.Nanoseconds()) * float64(n) / ev
	res.AllocsPerEvt = float64(ms1.Mallocs-ms0.Mallocs) / ev
	res.BytesPerEvent = float64(ms1.TotalAlloc-ms0.TotalAlloc) / ev
	res.GCCycles = ms1.NumGC - ms0.NumGC
	res.collect(workers, t0)

	// the state: what is still live with only the engines kept
	for _, w := range workers {
		w.lat, w.marks, w.out = nil, nil, nil
		w.idx = nil
	}
	shards = nil
	runtime.GC()
	var m2 runtime.MemStats
	runtime.ReadMemStats(&m2)
	res.StateBytes = int64(m2.HeapAlloc) - int64(m0.HeapAlloc)
	res.SKUChannels = int64(in.Config.SKUs) * int64(in.Config.Channels)
	res.StatePerSKUChannel = float64(res.StateBytes) / float64(res.SKUChannels)
	res.PeakRSSBytes = peakRSS()
	runtime.KeepAlive(workers)
	return res, nil
}

func (w *worker) run(in *Input, clock func() int64, step int, progress func(int)) {
	var out []event.Output
	var runTS time.Time
	var run []int      // index in w.idx of each event of the buffered run
	var starts []int64 // when each event of the buffered run started
	reported := 0
	flush := func() {
		out = w.drv.Flush(out)
		w.encode(out)
		clear(out)
		out = out[:0]
		end := clock()
		for k, t := range starts {
			w.lat[run[k]] = sat(end - t)
		}
		run, starts = run[:0], starts[:0]
	}
	for j, i := range w.idx {
		t := clock()
		rec := engine.Record{Value: in.Lines[i]}
		ev, err := w.drv.Decode(rec)
		if err != nil {
			// generated events always decode; a bad one is counted and
			// encoded as replay would, ahead of the buffered run
			rec.Source = "bench:" + strconv.Itoa(int(i))
			w.encode([]event.Output{w.drv.DeadLetter(rec, err)})
			w.lat[j] = sat(clock() - t)
			continue
		}
		if len(starts) > 0 && !ev.TS.Equal(runTS) {
			flush()
		}
		run, starts = append(run, j), append(starts, t)
		runTS = ev.TS
		out = w.drv.Push(ev, out)
		if (j+1)%step == 0 {
			w.marks = append(w.marks, mark{t: clock(), done: j + 1})
			progress(j + 1 - reported)
			reported = j + 1
		}
	}
	out = w.drv.Finish(out)
	flush()
	w.marks = append(w.marks, mark{t: clock(), done: len(w.idx)})
	progress(len(w.idx) - reported)
}

func sat(d int64) uint32 {
	if d < 0 {
		return 0
	}
	if d > 1<<32-1 {
		return 1<<32 - 1
	}
	return uint32(d)
}

// encode writes outputs as the daemon does: one JSON record per line.
func (w *worker) encode(out []event.Output) {
	for _, o := range out {
		b, err := o.AppendJSON(w.out)
		if err != nil {
			w.failed = fmt.Errorf("encode output: %w", err)
			return
		}
		w.out = append(b, '\n')
		w.outs++
		switch {
		case o.Alert != nil:
			w.kinds[0]++
		case o.Correction != nil:
			w.kinds[1]++
		default:
			w.kinds[2]++
		}
	}
	if len(w.out) > 1<<20 {
		w.bytes += int64(len(w.out))
		w.out = w.out[:0]
	}
}

// collect merges the workers' counters, latencies and checkpoints.
func (r *Result) collect(workers []*worker, t0 int64) {
	var lat []uint32
	byRule := map[string]*RuleCost{}
	for _, w := range workers {
		lat = append(lat, w.lat...)
		r.Outputs += w.outs
		r.OutputBytes += w.bytes + int64(len(w.out))
		r.OutputsByKind[event.KindAlert] += w.kinds[0]
		r.OutputsByKind[event.KindCorrection] += w.kinds[1]
		r.OutputsByKind[event.KindDeadLetter] += w.kinds[2]
		r.DeadLetters += w.drv.Stats().DeadLetters
		st := w.eng.Stats()
		r.Late += st.Late
		r.Evaluations += st.Evaluations
		r.Ran += st.Evaluations - st.Reused
		r.RuleErrors += st.RuleErrors
		r.Timers += st.Timers
		for id, rs := range st.ByRule {
			c := byRule[id]
			if c == nil {
				c = &RuleCost{Rule: id}
				byRule[id] = c
			}
			c.Evaluations += rs.Evaluations
			c.Ran += rs.Evaluations - rs.Reused
			c.Held += rs.Held
			c.Firing += rs.Firing
			c.Resolved += rs.Resolved
			c.Errors += rs.Errors
			c.Nanos += rs.Nanos
		}
	}
	r.Latency = percentiles(lat)
	var total int64
	for _, c := range byRule {
		total += c.Nanos
	}
	for _, c := range byRule {
		if c.Evaluations > 0 {
			c.FireRate = float64(c.Held) / float64(c.Evaluations)
		}
		if total > 0 {
			c.TimeShare = float64(c.Nanos) / float64(total)
		}
		if c.Ran > 0 && c.Nanos > 0 {
			c.NsPerEval = float64(c.Nanos) / float64(c.Ran)
		}
		r.Rules = append(r.Rules, *c)
	}
	sort.Slice(r.Rules, func(i, j int) bool {
		a, b := r.Rules[i], r.Rules[j]
		if a.Nanos != b.Nanos {
			return a.Nanos > b.Nanos
		}
		if a.Evaluations != b.Evaluations {
			return a.Evaluations > b.Evaluations
		}
		return a.Rule < b.Rule
	})
	r.Series = series(workers, t0)
}

// series turns the workers' checkpoints into throughput and latency over
// time, in about 100 steps.
func series(workers []*worker, t0 int64) []Point {
	var end int64
	for _, w := range workers {
		if n := len(w.marks); n > 0 {
			end = max(end, w.marks[n-1].t-t0)
		}
	}
	if end <= 0 {
		return nil
	}
	const steps = 100
	width := max(end/steps, 1)
	var out []Point
	for s := int64(0); s*width < end; s++ {
		from, to := s*width, min((s+1)*width, end)
		var events float64
		var lat []uint32
		for _, w := range workers {
			// events done by each worker in [from, to), spread evenly
			// between its checkpoints
			a, b := doneAt(w.marks, t0+from), doneAt(w.marks, t0+to)
			events += b - a
			lat = append(lat, w.lat[int(a):int(b)]...)
		}
		p := percentiles(lat)
		out = append(out, Point{T: float64(to) / 1e9, EventsPerSec: events / (float64(to-from) / 1e9), P50: p.P50, P99: p.P99})
	}
	return out
}

// doneAt interpolates how many events a worker had done at time t.
func doneAt(marks []mark, t int64) float64 {
	prevT, prevN := int64(0), 0
	if len(marks) > 0 {
		prevT = marks[0].t - 1 // the first step started about when the run did
	}
	for _, m := range marks {
		if m.t >= t {
			if m.t == prevT {
				return float64(m.done)
			}
			f := float64(t-prevT) / float64(m.t-prevT)
			return float64(prevN) + max(f, 0)*float64(m.done-prevN)
		}
		prevT, prevN = m.t, m.done
	}
	return float64(prevN)
}

func percentiles(lat []uint32) Percentiles {
	if len(lat) == 0 {
		return Percentiles{}
	}
	s := slices.Clone(lat)
	slices.Sort(s)
	at := func(q float64) float64 { return float64(s[min(int(q*float64(len(s))), len(s)-1)]) }
	return Percentiles{P50: at(0.5), P90: at(0.9), P99: at(0.99), P999: at(0.999), Max: float64(s[len(s)-1])}
}

// peakRSS is the process's peak resident set (VmHWM), or 0 where /proc
// has none.
func peakRSS() int64 {
	f, err := os.Open("/proc/self/status")
	if err != nil {
		return 0
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		if rest, ok := strings.CutPrefix(sc.Text(), "VmHWM:"); ok {
			kb, err := strconv.ParseInt(strings.TrimSpace(strings.TrimSuffix(strings.TrimSpace(rest), "kB")), 10, 64)
			if err == nil {
				return kb << 10
			}
		}
	}
	return 0
}
