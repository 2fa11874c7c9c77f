package main

import (
	"bufio"
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"hash"
	"io"
	"io/fs"
	"os"
	"slices"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/promoguard/promoguard/event"

	"github.com/alecthomas/kong"
	"github.com/prometheus/common/model"
	"github.com/schollz/progressbar/v3"
	"golang.org/x/term"

	"github.com/promoguard/promoguard/engine"
	"github.com/promoguard/promoguard/rules"
)

type replayCmd struct {
	Rules    []string  `required:"" sep:"none" placeholder:"PATH" help:"Rule file, or directory of *.yaml and *.yml rule files. Repeat for more."`
	Out      string    `short:"o" placeholder:"FILE" help:"Write the output records to FILE (created or truncated) instead of stdout."`
	Until    time.Time `placeholder:"TIME" help:"After the last event, move the clock on to TIME (RFC 3339) so that timers keep firing: for, repeat, promotion ends, segment boundaries. Default: stop at the last event."`
	Horizon  duration  `default:"30d" placeholder:"DUR" help:"How far ahead of the watermark the calendar is evaluated (90m, 12h, 30d, 1w); default 30d."`
	Lateness duration  `default:"0s" placeholder:"DUR" help:"Allowed lateness: the watermark trails the highest event ts by DUR; default 0s."`
	MaxLine  int       `name:"max-line" default:"4194304" placeholder:"BYTES" help:"Longest input line in bytes (default 4 MiB); a longer one becomes an oversize dead letter."`
	Format   string    `enum:"text,json" default:"text" help:"Summary format on stderr: text or json (one JSON object, for CI)."`
	Records  string    `enum:"ndjson,table" default:"ndjson" help:"Output record format: ndjson (one JSON record per line, as the daemon produces) or table (one aligned line per record, for people)."`
	Quiet    bool      `short:"q" help:"Print no summary and no progress bar (rule errors and failures are still printed)."`
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

// inputFile is one events file, opened.
type inputFile struct {
	name string    // as given on the command line; "-" is stdin
	r    io.Reader // the file, or stdin
	c    io.Closer // nil for stdin
	size int64     // -1 when not known
}

func (f *inputFile) label() string {
	if f.name == "-" {
		return "stdin"
	}
	return f.name
}

func (c *replayCmd) Run(e env) error {
	start := time.Now()
	rs, err := rules.Load(c.Rules, nil)
	if err != nil {
		var list rules.Errors
		if !errors.As(err, &list) {
			return err
		}
		c.printLoadErrors(e, list)
		return exitError{2}
	}
	if c.MaxLine <= 0 {
		return fmt.Errorf("--max-line must be positive, got %d", c.MaxLine)
	}

	files, err := openInputs(c.Events, e.stdin)
	defer closeInputs(files)
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
			fmt.Fprintf(e.stderr, "promoguard: create %s: %v\n", c.Out, pathErr(err))
			return exitError{1}
		}
		dst, outName = outFile, c.Out
	}

	errs := &ruleErrors{}
	eng := engine.New(rs, engine.Options{
		Horizon:         time.Duration(c.Horizon),
		AllowedLateness: time.Duration(c.Lateness),
		OnRuleError:     errs.add,
	})
	r := &replayer{
		seq:  engine.NewSequencer(eng),
		dec:  event.DecodeOptions{MaxSize: c.MaxLine},
		max:  c.MaxLine,
		w:    newRecordWriter(dst, c.Records == "table"),
		dead: map[string]int64{},
	}
	if !c.Quiet && c.Format == "text" && isTerminal(e.stderr) && (c.Out != "" || !isTerminal(e.stdout)) {
		r.bar = newBar(e.stderr, files)
	}

	runErr := r.replay(files)
	if r.bar != nil {
		r.bar.Finish() // every byte is read; clear it before anything else is printed
	}
	if runErr == nil {
		// end of input: nothing later can arrive, so the lateness hold ends
		r.out = r.seq.Finish(r.out)
		if !c.Until.IsZero() {
			if wm := eng.Watermark(); c.Until.Before(wm) && c.Format == "text" && !c.Quiet {
				fmt.Fprintf(e.stderr, "promoguard: --until %s is before the watermark %s: the clock stays there\n",
					c.Until.UTC().Format(time.RFC3339Nano), wm.Format(time.RFC3339Nano))
			}
			r.out = r.seq.Advance(c.Until.UTC(), r.out)
		}
		runErr = r.emit()
	}
	// write out what was produced even when an input failed, so the output
	// shows how far the replay got
	if err := r.w.flush(); err != nil && r.w.err == nil {
		r.w.err = err
	}
	if outFile != nil {
		if err := outFile.Close(); err != nil && r.w.err == nil {
			r.w.err = err
		}
	}
	var inErr *inputError
	switch {
	case errors.As(runErr, &inErr):
		fmt.Fprintln(e.stderr, "promoguard:", runErr)
		return exitError{1}
	case r.w.err != nil:
		fmt.Fprintf(e.stderr, "promoguard: write %s: %v\n", outName, pathErr(r.w.err))
		return exitError{1}
	case runErr != nil:
		return runErr
	}

	sum := r.summary(eng, files, errs, time.Since(start))
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
		errs.print(e.stderr)
		if !c.Quiet {
			sum.text(e.stderr)
		}
	}
	return nil
}

func (c *replayCmd) printLoadErrors(e env, list rules.Errors) {
	if c.Format == "json" {
		enc := json.NewEncoder(e.stderr)
		enc.SetIndent("", "  ")
		enc.Encode(struct {
			Errors rules.Errors `json:"errors"`
		}{list})
		return
	}
	fmt.Fprint(e.stderr, list.Pretty())
	fmt.Fprintf(e.stderr, "%d error%s\n", len(list), plural(len(list)))
}

// closeInputs closes the files openInputs opened (stdin stays open).
func closeInputs(files []*inputFile) {
	for _, f := range files {
		if f.c != nil {
			f.c.Close()
		}
	}
}

// openInputs opens every events file before any is read, so that a
// misspelt name fails at once rather than after a long replay.
func openInputs(names []string, stdin io.Reader) ([]*inputFile, error) {
	var files []*inputFile
	for _, name := range names {
		if name == "-" {
			files = append(files, &inputFile{name: name, r: stdin, size: -1})
			continue
		}
		f, err := os.Open(name)
		if err != nil {
			return files, &inputError{name: name, err: err}
		}
		in := &inputFile{name: name, r: f, c: f, size: -1}
		files = append(files, in)
		fi, err := f.Stat()
		if err != nil {
			return files, &inputError{name: name, err: err}
		}
		if fi.IsDir() {
			return files, &inputError{name: name, err: errors.New("is a directory")}
		}
		if fi.Mode().IsRegular() {
			in.size = fi.Size()
		}
	}
	return files, nil
}

// inputError is an events file that cannot be read.
type inputError struct {
	name string
	err  error
}

func (e *inputError) Error() string {
	return fmt.Sprintf("read events %s: %v", e.name, pathErr(e.err))
}

func (e *inputError) Unwrap() error { return e.err }

// pathErr drops the path and operation of an *fs.PathError, which the
// caller names itself.
func pathErr(err error) error {
	var pe *fs.PathError
	if errors.As(err, &pe) {
		return pe.Err
	}
	return err
}

// replayer feeds the lines of the events files through one sequencer.
type replayer struct {
	seq *engine.Sequencer
	dec event.DecodeOptions
	max int
	w   *recordWriter
	bar *progressbar.ProgressBar
	out []event.Output

	lines   int64 // every line, blank and comment lines included
	skipped int64 // blank and comment lines
	read    int64 // events read: lines that are neither blank nor comments
	dead    map[string]int64
}

func (r *replayer) replay(files []*inputFile) error {
	lr := &lineReader{max: r.max}
	for _, f := range files {
		var src io.Reader = f.r
		if r.bar != nil {
			src = &countingReader{r: f.r, bar: r.bar}
		}
		lr.reset(src)
		label := f.label()
		for {
			err := lr.next()
			if err == io.EOF {
				break
			}
			if err != nil {
				return &inputError{name: f.name, err: err}
			}
			r.lines++
			line := lr.line
			if lr.num == 1 {
				line = bytes.TrimPrefix(line, []byte("\xef\xbb\xbf"))
			}
			if lr.sum == nil && skipLine(line) {
				r.skipped++
				continue
			}
			r.read++
			source := fmt.Sprintf("%s:%d", label, lr.num)
			if lr.sum != nil {
				r.deadLetter(oversize(lr, source))
			} else if ev, err := event.Decode(line, r.dec); err != nil {
				r.deadLetter(event.NewDeadLetter(err, line, source))
			} else {
				ev.Source = source
				r.out = r.seq.Push(ev, r.out)
			}
			if err := r.emit(); err != nil {
				return err
			}
		}
	}
	return nil
}

// skipLine says whether a line is blank or a comment.
func skipLine(line []byte) bool {
	t := bytes.TrimLeft(line, " \t\r\v\f")
	return len(t) == 0 || t[0] == '#'
}

// oversize is the dead letter of a line longer than the limit: its first
// bytes, its length and the sha256 of the whole line.
func oversize(lr *lineReader, source string) event.Output {
	err := &event.InputError{Reason: event.BadSize,
		Msg: fmt.Sprintf("line is %d bytes, more than the limit of %d", lr.size, lr.max)}
	o := event.NewDeadLetter(err, lr.line, source)
	o.DeadLetter.Truncated = true
	o.DeadLetter.SHA256 = hex.EncodeToString(lr.sum)
	return o
}

func (r *replayer) deadLetter(o event.Output) {
	r.dead[string(o.DeadLetter.Reason)]++
	r.out = append(r.out, o)
}

// emit writes the pending output records.
func (r *replayer) emit() error {
	for i, o := range r.out {
		if err := r.w.write(o); err != nil {
			return err
		}
		r.out[i] = event.Output{}
	}
	r.out = r.out[:0]
	return nil
}

// lineReader reads lines of any length in bounded memory: it keeps the
// first max bytes of a line, and of a longer one also its length and
// sha256. bufio.Scanner would instead stop at the first long line.
type lineReader struct {
	r   *bufio.Reader
	max int

	line []byte    // the line without its end of line (\n or \r\n), at most max bytes
	size int64     // the length of the whole line
	sum  []byte    // the sha256 of a line longer than max; nil otherwise
	num  int       // the line number, from 1
	h    hash.Hash // hashing the current line, once it is longer than max
	cr   bool      // a \r held back: it ends the line if \n follows
}

func (lr *lineReader) reset(r io.Reader) {
	if lr.r == nil {
		lr.r = bufio.NewReaderSize(r, 64<<10)
	} else {
		lr.r.Reset(r)
	}
	lr.num = 0
}

// next reads the next line; io.EOF when there is none.
func (lr *lineReader) next() error {
	lr.line, lr.size, lr.sum, lr.h, lr.cr = lr.line[:0], 0, nil, nil, false
	raw := 0
	for {
		chunk, err := lr.r.ReadSlice('\n')
		raw += len(chunk)
		if err == nil {
			chunk = chunk[:len(chunk)-1]
		}
		lr.feed(chunk)
		switch {
		case err == bufio.ErrBufferFull:
			continue
		case err == io.EOF && raw == 0:
			return io.EOF
		case err != nil && err != io.EOF:
			return err
		}
		// a \r held back ended the line
		lr.num++
		if lr.h != nil {
			lr.sum = lr.h.Sum(nil)
		}
		return nil
	}
}

func (lr *lineReader) feed(c []byte) {
	if len(c) == 0 {
		return
	}
	if lr.cr {
		lr.write([]byte{'\r'})
		lr.cr = false
	}
	if c[len(c)-1] == '\r' {
		lr.cr, c = true, c[:len(c)-1]
	}
	lr.write(c)
}

func (lr *lineReader) write(c []byte) {
	lr.size += int64(len(c))
	if lr.h == nil {
		if len(lr.line)+len(c) <= lr.max {
			lr.line = append(lr.line, c...)
			return
		}
		lr.h = sha256.New()
		lr.h.Write(lr.line)
		lr.line = append(lr.line, c[:lr.max-len(lr.line)]...)
	}
	lr.h.Write(c)
}

// recordWriter writes output records as JSON lines and counts them.
type recordWriter struct {
	table  bool
	bw     *bufio.Writer
	enc    *json.Encoder
	counts map[string]int64
	err    error // the first write error
}

func newRecordWriter(w io.Writer, table bool) *recordWriter {
	bw := bufio.NewWriterSize(w, 256<<10)
	enc := json.NewEncoder(bw)
	enc.SetEscapeHTML(false) // messages as written: a < or & stays one
	return &recordWriter{table: table, bw: bw, enc: enc, counts: map[string]int64{}}
}

func (w *recordWriter) write(o event.Output) error {
	if w.err != nil {
		return w.err
	}
	if w.table {
		if _, err := io.WriteString(w.bw, tableLine(o)); err != nil {
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

func (w *recordWriter) flush() error {
	if w.err != nil {
		return w.err
	}
	return w.bw.Flush()
}

// ruleErrors keeps the first distinct runtime errors of rules, by rule, sku
// (or promotion) and message, and how often each occurred. Its memory is
// bounded however many errors there are.
type ruleErrors struct {
	first []*ruleErrorSummary
	total int64
}

const maxRuleErrors = 10

type ruleErrorSummary struct {
	Rule    string `json:"rule"`
	SKU     string `json:"sku,omitempty"`
	Channel string `json:"channel,omitempty"` // of the first occurrence
	Promo   string `json:"promo,omitempty"`
	Error   string `json:"error"`
	Count   int64  `json:"count"`
}

func (re *ruleErrors) add(e engine.RuleError) {
	re.total++
	id, msg := e.Rule.ID(), e.Err.Error()
	for _, s := range re.first {
		if s.Rule == id && s.SKU == e.SKU && s.Promo == e.Promo && s.Error == msg {
			s.Count++
			return
		}
	}
	if len(re.first) < maxRuleErrors {
		re.first = append(re.first, &ruleErrorSummary{Rule: id, SKU: e.SKU, Channel: e.Channel, Promo: e.Promo, Error: msg, Count: 1})
	}
}

// more is the number of errors not among the first distinct ones.
func (re *ruleErrors) more() int64 {
	n := re.total
	for _, s := range re.first {
		n -= s.Count
	}
	return n
}

func (re *ruleErrors) print(w io.Writer) {
	if re.total == 0 {
		return
	}
	fmt.Fprintf(w, "rule errors: %d\n", re.total)
	for _, s := range re.first {
		where := "sku " + s.SKU
		if s.Channel != "" {
			where += " on " + s.Channel
		}
		if s.SKU == "" {
			where = "promo " + s.Promo
		}
		times := ""
		if s.Count > 1 {
			times = fmt.Sprintf(" (%d times)", s.Count)
		}
		msg := strings.ReplaceAll(strings.TrimRight(s.Error, "\n"), "\n", "\n    ")
		fmt.Fprintf(w, "  %s: %s%s: %s\n", s.Rule, where, times, msg)
	}
	if n := re.more(); n > 0 {
		fmt.Fprintf(w, "  and %d more\n", n)
	}
}

// replaySummary is what replay says on stderr when it is done.
type replaySummary struct {
	RulesVersion    string                `json:"rules_version"`
	Files           []string              `json:"files"`
	Lines           int64                 `json:"lines"`
	Skipped         int64                 `json:"skipped"` // blank and comment lines
	EventsRead      int64                 `json:"events_read"`
	Applied         int64                 `json:"applied"`
	Late            int64                 `json:"late"`
	DeadLetters     int64                 `json:"dead_letters"`
	DeadByReason    map[string]int64      `json:"dead_letters_by_reason"`
	Outputs         map[string]int64      `json:"outputs"` // records written, by kind
	Rules           []ruleSummary         `json:"rules"`
	Corrections     map[event.State]int64 `json:"corrections"`
	Timers          int64                 `json:"timers"`
	Evaluations     int64                 `json:"evaluations"`
	RuleErrors      int64                 `json:"rule_errors"`
	FirstRuleErrors []*ruleErrorSummary   `json:"first_rule_errors"`
	Watermark       *time.Time            `json:"watermark"`
	Until           *time.Time            `json:"until,omitempty"`
	WallSeconds     float64               `json:"wall_seconds"`
	EventsPerSecond float64               `json:"events_per_second"`
}

type ruleSummary struct {
	Rule        string `json:"rule"`
	Firing      int64  `json:"firing"`
	Resolved    int64  `json:"resolved"`
	Evaluations int64  `json:"evaluations"`
	Errors      int64  `json:"errors"`
}

func (r *replayer) summary(eng *engine.Engine, files []*inputFile, errs *ruleErrors, wall time.Duration) *replaySummary {
	st := eng.Stats()
	s := &replaySummary{
		RulesVersion: eng.Rules().Version,
		Lines:        r.lines, Skipped: r.skipped, EventsRead: r.read,
		Applied: st.Events, Late: st.Late,
		DeadByReason: r.dead, Outputs: r.w.counts, Corrections: st.Corrections,
		Timers: st.Timers, Evaluations: st.Evaluations, RuleErrors: st.RuleErrors,
		FirstRuleErrors: errs.first,
		WallSeconds:     wall.Seconds(),
	}
	if s.Corrections == nil {
		s.Corrections = map[event.State]int64{}
	}
	if s.FirstRuleErrors == nil {
		s.FirstRuleErrors = []*ruleErrorSummary{}
	}
	for _, f := range files {
		s.Files = append(s.Files, f.label())
	}
	for _, n := range r.dead {
		s.DeadLetters += n
	}
	if wm := eng.Watermark(); !wm.IsZero() {
		s.Watermark = &wm
	}
	if wall > 0 {
		s.EventsPerSecond = float64(r.read) / wall.Seconds()
	}
	// the rules in load order, then the built-in ones that did something
	seen := map[string]bool{}
	add := func(id string) {
		rs := st.ByRule[id]
		if rs == nil {
			rs = &engine.RuleStats{}
		}
		seen[id] = true
		s.Rules = append(s.Rules, ruleSummary{Rule: id, Firing: rs.Firing, Resolved: rs.Resolved, Evaluations: rs.Evaluations, Errors: rs.Errors})
	}
	for _, rule := range eng.Rules().Rules {
		add(rule.ID())
	}
	var extra []string
	for id := range st.ByRule {
		if !seen[id] {
			extra = append(extra, id)
		}
	}
	sort.Strings(extra)
	for _, id := range extra {
		add(id)
	}
	return s
}

func (s *replaySummary) text(w io.Writer) {
	fmt.Fprintf(w, "replay: %d events from %d file%s in %s (%.0f events/s), rules_version %s\n",
		s.EventsRead, len(s.Files), plural(len(s.Files)), s.wallTime(), s.EventsPerSecond, s.RulesVersion)
	var records int64
	for _, n := range s.Outputs {
		records += n
	}
	rows := []struct {
		label  string
		n      int64
		detail string
	}{
		{"applied", s.Applied, ""},
		{"late", s.Late, "ignored: older than the state they would replace"},
		{"dead letters", s.DeadLetters, counts(s.DeadByReason, nil)},
		{"skipped", s.Skipped, "blank or comment lines"},
		{"records", records, counts(s.Outputs, []string{event.KindAlert, event.KindCorrection, event.KindDeadLetter})},
		{"corrections", sumCounts(s.Corrections), counts(s.Corrections, []event.State{event.StateActive, event.StateWithdrawn})},
		{"rule errors", s.RuleErrors, ""},
		{"evaluations", s.Evaluations, fmt.Sprintf("timer firings %d", s.Timers)},
	}
	nw := 0
	for _, r := range rows {
		nw = max(nw, len(strconv.FormatInt(r.n, 10)))
	}
	for _, r := range rows {
		line := fmt.Sprintf("  %-12s %*d  %s", r.label, nw, r.n, r.detail)
		fmt.Fprintln(w, strings.TrimRight(line, " "))
	}
	wm := "none: no event applied"
	if s.Watermark != nil {
		wm = s.Watermark.Format(time.RFC3339Nano)
	}
	fmt.Fprintf(w, "  %-12s %s\n", "watermark", wm)

	// one line per rule: the id left, the counts right-aligned under their
	// headings
	head := []string{"firing", "resolved", "evaluations", "errors"}
	idw := len("rule")
	cw := make([]int, len(head))
	for i, h := range head {
		cw[i] = len(h)
	}
	cells := make([][4]string, len(s.Rules))
	for i, r := range s.Rules {
		idw = max(idw, len(r.Rule))
		for j, n := range []int64{r.Firing, r.Resolved, r.Evaluations, r.Errors} {
			cells[i][j] = strconv.FormatInt(n, 10)
			cw[j] = max(cw[j], len(cells[i][j]))
		}
	}
	var b strings.Builder
	fmt.Fprintf(&b, "  %-*s", idw, "rule")
	for j, h := range head {
		fmt.Fprintf(&b, "  %*s", cw[j], h)
	}
	b.WriteByte('\n')
	for i, r := range s.Rules {
		fmt.Fprintf(&b, "  %-*s", idw, r.Rule)
		for j := range head {
			fmt.Fprintf(&b, "  %*s", cw[j], cells[i][j])
		}
		b.WriteByte('\n')
	}
	io.WriteString(w, b.String())
}

// wallTime is the wall time for people, to the millisecond.
func (s *replaySummary) wallTime() string {
	return time.Duration(s.WallSeconds * float64(time.Second)).Round(time.Millisecond).String()
}

// counts renders a count map as "a 1, b 2", keys in the given order
// first, then the others sorted; "" when empty.
func counts[K ~string](m map[K]int64, order []K) string {
	var keys []K
	seen := map[K]bool{}
	for _, k := range order {
		if m[k] > 0 {
			keys = append(keys, k)
		}
		seen[k] = true
	}
	var rest []K
	for k, n := range m {
		if !seen[k] && n > 0 {
			rest = append(rest, k)
		}
	}
	slices.Sort(rest)
	keys = append(keys, rest...)
	if len(keys) == 0 {
		return ""
	}
	parts := make([]string, len(keys))
	for i, k := range keys {
		parts[i] = fmt.Sprintf("%s %d", k, m[k])
	}
	return strings.Join(parts, ", ")
}

func sumCounts[K comparable](m map[K]int64) int64 {
	var n int64
	for _, v := range m {
		n += v
	}
	return n
}

// isTerminal says whether w is a terminal.
func isTerminal(w io.Writer) bool {
	f, ok := w.(*os.File)
	return ok && term.IsTerminal(int(f.Fd()))
}

// newBar returns a progress bar of the bytes read, out of the total size of
// the files when every size is known.
func newBar(w io.Writer, files []*inputFile) *progressbar.ProgressBar {
	var total int64
	for _, f := range files {
		if f.size < 0 {
			total = -1
			break
		}
		total += f.size
	}
	if total == 0 {
		return nil
	}
	return progressbar.NewOptions64(total,
		progressbar.OptionSetWriter(w),
		progressbar.OptionSetDescription("replay"),
		progressbar.OptionShowBytes(true),
		progressbar.OptionSetWidth(30),
		progressbar.OptionThrottle(100*time.Millisecond),
		progressbar.OptionClearOnFinish(),
	)
}

// countingReader moves the progress bar by the bytes read.
type countingReader struct {
	r   io.Reader
	bar *progressbar.ProgressBar
}

func (c *countingReader) Read(p []byte) (int, error) {
	n, err := c.r.Read(p)
	c.bar.Add64(int64(n))
	return n, err
}

// tableLine renders a record as one aligned line: when it was emitted (the
// watermark), when the problem applies, state, severity, rule, where, and
// what.
func tableLine(o event.Output) string {
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
