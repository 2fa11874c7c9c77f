package file

import (
	"bufio"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"time"

	"github.com/promoguard/promoguard/event"
	"github.com/promoguard/promoguard/rules"
)

// RecordWriter writes output records, as JSON lines or as table lines,
// buffered, and counts them by kind. It is an engine.Sink.
type RecordWriter struct {
	table  bool
	bw     *bufio.Writer
	enc    *json.Encoder
	counts map[string]int64
	err    error // the first write error
}

// NewRecordWriter returns a writer of records to w: one JSON record per
// line as the daemon produces them, or with table one aligned line per
// record (TableLine), for people.
func NewRecordWriter(w io.Writer, table bool) *RecordWriter {
	bw := bufio.NewWriterSize(w, 256<<10)
	enc := json.NewEncoder(bw)
	enc.SetEscapeHTML(false) // messages as written: a < or & stays one
	return &RecordWriter{table: table, bw: bw, enc: enc, counts: map[string]int64{}}
}

// Write writes one record. After a write error every call returns it.
func (w *RecordWriter) Write(o event.Output) error {
	if w.err != nil {
		return w.err
	}
	if w.table {
		if _, err := io.WriteString(w.bw, TableLine(o)); err != nil {
			w.err = err
			return err
		}
		w.counts[o.Kind()]++
		return nil
	}
	if err := w.enc.Encode(o); err != nil {
		var me *json.MarshalerError
		if errors.As(err, &me) {
			return err // not a write error: a bug, reported as such
		}
		w.err = err
		return err
	}
	w.counts[o.Kind()]++
	return nil
}

// Emit writes records in order, stopping at the first error.
func (w *RecordWriter) Emit(out []event.Output) error {
	for _, o := range out {
		if err := w.Write(o); err != nil {
			return err
		}
	}
	return nil
}

// Flush writes out what is buffered.
func (w *RecordWriter) Flush() error {
	if w.err != nil {
		return w.err
	}
	return w.bw.Flush()
}

// Err is the first write error, flushes and closes noted with SetErr
// included.
func (w *RecordWriter) Err() error { return w.err }

// SetErr notes err (closing the output failed, say) unless an earlier
// error is already noted.
func (w *RecordWriter) SetErr(err error) {
	if w.err == nil {
		w.err = err
	}
}

// Counts is the number of records written, by kind.
func (w *RecordWriter) Counts() map[string]int64 { return w.counts }

// TableLine renders a record as one aligned line: when it was emitted (the
// watermark), when the problem applies, state, severity, rule, where, and
// what.
func TableLine(o event.Output) string {
	at := func(t time.Time) string { return t.UTC().Format("2006-01-02T15:04Z") }
	price := func(n event.Number) string { return rules.FormatValue(float64(n)) }
	switch {
	case o.Alert != nil:
		a := o.Alert
		where := a.SKU + "@" + a.Channel
		if a.SKU == "" {
			where = "promo " + a.Promo
		}
		state := string(a.State)
		if a.Reason != "" {
			state += " (" + string(a.Reason) + ")"
		}
		return fmt.Sprintf("%s  %s  %-22s %-8s %-29s %-20s %s\n", at(a.Watermark), at(a.At), state, a.Severity, a.Group+"/"+a.Rule, where, a.Message)
	case o.Correction != nil:
		c := o.Correction
		state := "correction " + string(c.State)
		what := price(c.EffectivePrice) + " -> " + price(c.CorrectedPrice) + " " + c.Currency + " (" + c.BoundBy + ")"
		if c.State == event.StateWithdrawn {
			state += " (" + string(c.Reason) + ")"
			what = "back to " + price(c.EffectivePrice) + " " + c.Currency
		}
		return fmt.Sprintf("%s  %s  %-31s %-29s %-20s %s\n", at(c.Watermark), at(c.At), state, "", c.SKU+"@"+c.Channel, what)
	case o.DeadLetter != nil:
		d := o.DeadLetter
		return fmt.Sprintf("%-17s  %-17s  %-31s %-29s %-20s %s\n", "-", "-", "dead letter", d.Reason, d.Source, d.Error)
	}
	return ""
}
