package kafkabench

import (
	"encoding/json"
	"fmt"
	"io"
	"strings"
	"text/tabwriter"
)

// WriteJSON writes the report as one indented JSON document.
func (r *Report) WriteJSON(w io.Writer) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(r)
}

// WriteText writes the report for people: one line per run, then the
// ratio to the pass-through and the restart. rulesVersion names the rules
// measured.
func (r *Report) WriteText(w io.Writer, rulesVersion string) error {
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintf(w, "through Kafka at %s, %d partitions, %d events, rules_version %s\n", strings.Join(r.Brokers, ","), r.Partitions, r.Events, rulesVersion)
	fmt.Fprintln(tw, "run\toffered ev/s\tevents\toutputs\tseconds\tevents/s\tp50 ms\tp99 ms\tp99.9 ms\t")
	row := func(name string, r Run) {
		offered, p50, p99, p999 := "max", "-", "-", "-"
		if r.Offered > 0 {
			offered = fmt.Sprintf("%.0f", r.Offered)
		}
		if l := r.LatencyMs; l != nil {
			p50, p99, p999 = fmt.Sprintf("%.1f", l.P50), fmt.Sprintf("%.1f", l.P99), fmt.Sprintf("%.1f", l.P999)
		}
		fmt.Fprintf(tw, "%s\t%s\t%d\t%d\t%.2f\t%.0f\t%s\t%s\t%s\t\n", name, offered, r.Events, r.Outputs, r.Seconds, r.EventsPerSec, p50, p99, p999)
	}
	row("pass-through (no rules)", r.PassThrough)
	row("daemon, saturation", r.Saturation)
	row("daemon, fixed rate", r.FixedRate)
	if err := tw.Flush(); err != nil {
		return err
	}
	fmt.Fprintf(w, "daemon / pass-through: %.2f\n", r.Ratio)
	_, err := fmt.Fprintf(w, "restart: %d changelog entries restored and caught up in %.2f s (%.0f entries/s; the state of %.0f input events/s)\n",
		r.Recovery.Entries, r.Recovery.Seconds, r.Recovery.EntriesPerSec, r.Recovery.EventsPerSec)
	return err
}
