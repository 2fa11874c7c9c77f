package bench

import (
	"bufio"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"strings"
	"text/tabwriter"
)

// WriteJSON writes the report as one indented JSON document.
func (r *Report) WriteJSON(w io.Writer) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	enc.SetEscapeHTML(false)
	return enc.Encode(r)
}

// WriteText writes the report for people.
func (r *Report) WriteText(w io.Writer) error {
	bw := bufio.NewWriter(w)
	c := r.Config
	fmt.Fprintf(bw, "promoguard bench: %d skus × %d channels, %d events (%s, seed %d), %d rules, rules_version %s\n",
		c.SKUs, c.Channels, r.Input.Events, c.Shape, c.Seed, r.RuleCount, r.RulesVersion)
	fmt.Fprintf(bw, "input: catalog %d, prices %d, stock %d, promotions %d, flash sale %d; %s of JSON, generated in %.1fs\n",
		r.Input.Catalog, r.Input.Prices, r.Input.Stock, r.Input.Promos, r.Input.Flash, mib(r.Input.Bytes), r.Input.GenSecs)
	fmt.Fprintf(bw, "machine: %d CPUs %s, %s %s/%s\n\n", r.CPUs, r.CPUModel, r.GoVersion, r.OS, r.Arch)

	tw := tabwriter.NewWriter(bw, 0, 0, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintln(tw, "run\tevents/s\tns/event\tallocs/event\tB/event\tp50\tp99\tp99.9\tmax\toutputs/event\trules/event\tran/event\t")
	for _, res := range []*Result{r.OneCore, r.AllCores} {
		if res == nil {
			continue
		}
		ev := float64(res.Events)
		fmt.Fprintf(tw, "%s\t%.0f\t%.0f\t%.1f\t%.0f\t%s\t%s\t%s\t%s\t%.3f\t%.2f\t%.2f\t\n", res.Name, res.EventsPerSec, res.NsPerEvent,
			res.AllocsPerEvt, res.BytesPerEvent, dur(res.Latency.P50), dur(res.Latency.P99), dur(res.Latency.P999), dur(res.Latency.Max),
			float64(res.Outputs)/ev, float64(res.Evaluations)/ev, float64(res.Ran)/ev)
	}
	tw.Flush()
	if r.AllCores != nil {
		fmt.Fprintf(bw, "speedup on %d cores: %.2f×\n", r.AllCores.Workers, r.Speedup)
	}
	o := r.OneCore
	fmt.Fprintf(bw, "\noutputs: %d (alert %d, correction %d, dead_letter %d), %s encoded; late %d; rule errors %d; timers %d\n",
		o.Outputs, o.OutputsByKind["alert"], o.OutputsByKind["correction"], o.OutputsByKind["dead_letter"], mib(o.OutputBytes),
		o.Late, o.RuleErrors, o.Timers)
	fmt.Fprintf(bw, "state: %s live heap for %d sku-channels = %.0f B per sku-channel (price, stock, promotions, lifecycles); peak RSS %s (the %s input included)\n",
		mib(o.StateBytes), o.SKUChannels, o.StatePerSKUChannel, mib(maxRSS(r)), mib(r.Input.Bytes))

	rt := r.OneCore
	if r.Timed != nil {
		rt = r.Timed
	}
	fmt.Fprintf(bw, "\nper rule")
	if r.Timed != nil {
		fmt.Fprintf(bw, " (time from a run with the rule clock on, %.0f events/s)", r.Timed.EventsPerSec)
	}
	fmt.Fprintln(bw, ":")
	tw = tabwriter.NewWriter(bw, 0, 0, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintln(tw, "rule\tevaluations\tran\theld\tfire rate\tfiring\tresolved\terrors\ttime share\tns/run\t")
	for _, c := range rt.Rules {
		if c.Evaluations == 0 && c.Firing == 0 {
			continue
		}
		share, ns := "-", "-"
		if r.Timed != nil {
			share, ns = fmt.Sprintf("%.1f%%", 100*c.TimeShare), fmt.Sprintf("%.0f", c.NsPerEval)
		}
		fmt.Fprintf(tw, "%s\t%d\t%d\t%d\t%.2f%%\t%d\t%d\t%d\t%s\t%s\t\n", c.Rule, c.Evaluations, c.Ran, c.Held, 100*c.FireRate,
			c.Firing, c.Resolved, c.Errors, share, ns)
	}
	tw.Flush()
	return bw.Flush()
}

func maxRSS(r *Report) int64 {
	var m int64
	for _, res := range []*Result{r.OneCore, r.AllCores, r.Timed} {
		if res != nil {
			m = max(m, res.PeakRSSBytes)
		}
	}
	return m
}

func mib(b int64) string {
	switch {
	case b >= 1<<30:
		return fmt.Sprintf("%.2f GiB", float64(b)/(1<<30))
	case b >= 1<<20:
		return fmt.Sprintf("%.1f MiB", float64(b)/(1<<20))
	case b >= 1<<10:
		return fmt.Sprintf("%.1f KiB", float64(b)/(1<<10))
	}
	return fmt.Sprintf("%d B", b)
}

// dur formats nanoseconds.
func dur(ns float64) string {
	switch {
	case ns >= 1e9:
		return fmt.Sprintf("%.2fs", ns/1e9)
	case ns >= 1e6:
		return fmt.Sprintf("%.2fms", ns/1e6)
	case ns >= 1e3:
		return fmt.Sprintf("%.1fµs", ns/1e3)
	}
	return fmt.Sprintf("%.0fns", ns)
}

// cpuModel is the CPU's model name from /proc/cpuinfo, where there is one.
func cpuModel() string {
	b, err := os.ReadFile("/proc/cpuinfo")
	if err != nil {
		return ""
	}
	for _, l := range strings.Split(string(b), "\n") {
		if k, v, ok := strings.Cut(l, ":"); ok && strings.TrimSpace(k) == "model name" {
			return strings.TrimSpace(v)
		}
	}
	return ""
}
