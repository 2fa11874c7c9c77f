package testspec

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"math"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/promoguard/promoguard/event"
	"github.com/promoguard/promoguard/internal/yamlpos"

	"github.com/prometheus/common/model"

	"github.com/promoguard/promoguard/rules"
)

// Options say how files are read. The zero value reads the file system.
type Options struct {
	ReadFile func(name string) ([]byte, error)
	ReadDir  func(name string) ([]fs.DirEntry, error)
	Stat     func(name string) (fs.FileInfo, error)
}

func (o *Options) withDefaults() Options {
	var out Options
	if o != nil {
		out = *o
	}
	if out.ReadFile == nil {
		out.ReadFile = os.ReadFile
	}
	if out.ReadDir == nil {
		out.ReadDir = os.ReadDir
	}
	if out.Stat == nil {
		out.Stat = os.Stat
	}
	return out
}

// Suffix is how a test file's name ends: a directory given to LoadPaths
// loads every file under it whose name ends so (recursively), and only
// those, so test files can sit next to rule files without being loaded as
// rules (rules loads *.yaml of a directory, but the test files' schema
// differs and they would fail to load as rules anyway).
const Suffix = "_test.yaml"

// maxSeries bounds how many events one series expands to.
const maxSeries = 10_000

// LoadPaths loads test files: each path is a file (loaded whatever its
// name) or a directory, under which every *_test.yaml file loads, in lexical
// order of path. It returns the files that loaded and every problem of
// every file, sorted by position, as rules.Errors (nil when there is none).
func LoadPaths(paths []string, opts *Options) ([]*File, error) {
	o := opts.withDefaults()
	var errs rules.Errors
	var files []*File
	for _, p := range paths {
		fi, err := o.Stat(p)
		if err != nil {
			errs = append(errs, &rules.Error{Pos: rules.Pos{File: p}, Code: rules.CodeReadFile, Message: fsError(err)})
			continue
		}
		names := []string{p}
		if fi.IsDir() {
			names = nil
			if err := walk(o, p, &names); err != nil {
				errs = append(errs, err)
				continue
			}
			if len(names) == 0 {
				errs = append(errs, &rules.Error{Pos: rules.Pos{File: p}, Code: CodeNoTests, Message: "directory holds no *" + Suffix + " test file"})
				continue
			}
		}
		for _, name := range names {
			f, err := load(o, name)
			if err != nil {
				errs = append(errs, err.(rules.Errors)...)
			}
			if f != nil {
				files = append(files, f)
			}
		}
	}
	if len(errs) > 0 {
		errs.Sort()
		return files, errs
	}
	return files, nil
}

// walk lists the test files under dir, recursively, in lexical order.
func walk(o Options, dir string, out *[]string) *rules.Error {
	ents, err := o.ReadDir(dir)
	if err != nil {
		return &rules.Error{Pos: rules.Pos{File: dir}, Code: rules.CodeReadFile, Message: fsError(err)}
	}
	slices.SortFunc(ents, func(a, b fs.DirEntry) int { return strings.Compare(a.Name(), b.Name()) })
	for _, e := range ents {
		p := filepath.Join(dir, e.Name())
		switch {
		case e.IsDir():
			if err := walk(o, p, out); err != nil {
				return err
			}
		case strings.HasSuffix(e.Name(), Suffix):
			*out = append(*out, p)
		}
	}
	return nil
}

// Load reads and parses one test file.
func Load(path string, opts *Options) (*File, error) {
	f, err := load(opts.withDefaults(), path)
	if err != nil {
		return nil, err
	}
	return f, nil
}

func load(o Options, path string) (*File, error) {
	data, err := o.ReadFile(path)
	if err != nil {
		return nil, rules.Errors{{Pos: rules.Pos{File: path}, Code: rules.CodeReadFile, Message: fsError(err)}}
	}
	return Parse(path, data)
}

func fsError(err error) string {
	var pe *fs.PathError
	if errors.As(err, &pe) {
		return pe.Op + ": " + pe.Err.Error()
	}
	return err.Error()
}

// Parse parses a test file held in memory; name is its path, against whose
// directory rule file paths are resolved. It reads no file. It returns a
// File whose every case is valid, or every problem as rules.Errors sorted
// by position.
func Parse(name string, data []byte) (*File, error) {
	data = yamlpos.Normalize(data)
	l := &loader{file: name, dir: filepath.Dir(name), names: map[string]rules.Pos{}}
	f := l.parse(data)
	src := yamlpos.NewSource(name, data)
	if len(l.errs) > 0 {
		for _, e := range l.errs {
			if e.File == name {
				e.Snippet = src.Snippet(e.Pos)
			}
		}
		l.errs.Sort()
		return nil, l.errs
	}
	f.src = src
	return f, nil
}

type loader struct {
	file  string
	dir   string
	errs  rules.Errors
	names map[string]rules.Pos // case names, to find duplicates
}

func (l *loader) add(p rules.Pos, code rules.Code, format string, args ...any) {
	l.errs = append(l.errs, &rules.Error{Pos: p, Code: code, Message: fmt.Sprintf(format, args...)})
}

var (
	fileFields       = []string{"rule_files", "horizon", "lateness", "channels", "tests"}
	caseFields       = []string{"name", "rule_files", "horizon", "lateness", "events", "steps", "expect", "expect_none"}
	stepFields       = []string{"event", "events", "series", "advance", "until", "expect"}
	expectFields     = []string{"alerts", "corrections", "quiet"}
	alertFields      = []string{"rule", "sku", "channel", "promo", "state", "reason", "severity", "message", "at", "watermark", "labels", "values", "tolerance"}
	correctionFields = []string{"sku", "channel", "state", "reason", "corrected", "effective", "floor", "ceiling", "bound_by", "at", "watermark", "tolerance"}
	seriesFields     = []string{"event", "start", "every", "count", "values"}
)

func (l *loader) parse(data []byte) *File {
	docs, soft, perr := yamlpos.Parse(l.file, data)
	if perr != nil {
		l.errs = append(l.errs, rules.YAMLErrors(perr)...)
		return nil
	}
	l.errs = append(l.errs, rules.YAMLErrors(soft...)...)
	f := &File{Path: l.file}
	var root *node
	for _, d := range docs {
		if d.Kind == yamlpos.Null {
			continue
		}
		if root != nil {
			l.add(d.Pos, rules.CodeSchema, "a test file holds one YAML document; this is a second one")
			continue
		}
		root = d
	}
	if root == nil {
		l.add(rules.Pos{File: l.file, Line: 1, Col: 1}, CodeNoTests, "file holds no test (tests: is required)")
		return f
	}
	fields := l.fields(root, "test file", fileFields)
	if root.Kind != yamlpos.Map {
		return f
	}
	var fileRulesPos rules.Pos
	if n := fields["rule_files"]; n != nil {
		f.RuleFiles = l.ruleFiles(n)
		fileRulesPos = n.Pos
	}
	var horizon, lateness time.Duration
	if n := fields["horizon"]; n != nil {
		horizon = l.duration(n, "horizon", true)
	}
	if n := fields["lateness"]; n != nil {
		lateness = l.duration(n, "lateness", false)
	}
	var channels rules.Channels
	if n := fields["channels"]; n != nil {
		channels = l.channels(root, n)
	}
	tests := fields["tests"]
	switch {
	case tests == nil:
		l.add(root.Pos, CodeNoTests, "file holds no test (tests: is required)")
	case tests.Kind == yamlpos.Null || tests.Kind == yamlpos.Seq && len(tests.Vals) == 0:
		l.add(tests.Pos, CodeNoTests, "tests: is empty")
	case tests.Kind != yamlpos.Seq:
		l.add(tests.Pos, rules.CodeSchema, "tests must be a list of test cases, not a %s", tests.Describe())
	default:
		for _, cn := range tests.Vals {
			c := l.testCase(cn, f, fileRulesPos, horizon, lateness)
			if c != nil {
				c.Channels = channels
				f.Cases = append(f.Cases, c)
			}
		}
	}
	return f
}

// fields checks a mapping's keys and returns its values by key.
func (l *loader) fields(n *node, what string, allowed []string) map[string]*node {
	out := map[string]*node{}
	if n.Kind != yamlpos.Map {
		if !n.Invalid {
			l.add(n.Pos, rules.CodeSchema, "a %s must be a mapping, not a %s", what, n.Describe())
		}
		return out
	}
	for i, k := range n.Keys {
		if !slices.Contains(allowed, k.Value) {
			l.add(k.Pos, rules.CodeUnknownField, "unknown key %s in %s%s", k.Value, what, didYouMean(k.Value, allowed))
			continue
		}
		out[k.Value] = n.Vals[i]
	}
	return out
}

// didYouMean names the closest allowed key, or lists them all.
func didYouMean(name string, cands []string) string {
	if h := yamlpos.DidYouMean(name, cands); h != "" {
		return h
	}
	return " (" + strings.Join(cands, ", ") + ")"
}

// text returns a scalar's text, reporting anything else.
func (l *loader) text(n *node, what string) (string, bool) {
	switch {
	case n.Invalid:
		return "", false
	case n.Kind == yamlpos.Null:
		l.add(n.Pos, rules.CodeMissingField, "%s is empty", what)
		return "", false
	case n.Kind != yamlpos.Scalar:
		l.add(n.Pos, rules.CodeSchema, "%s must be a single value, not a %s", what, n.Describe())
		return "", false
	}
	return n.Value, true
}

func (l *loader) oneOf(n *node, what string, list []string) string {
	s, ok := l.text(n, what)
	if !ok {
		return ""
	}
	if !slices.Contains(list, s) {
		l.add(n.Pos, CodeBadValue, "unknown %s %q (%s)", what, s, strings.Join(list, ", "))
		return ""
	}
	return s
}

func (l *loader) duration(n *node, what string, positive bool) time.Duration {
	s, ok := l.text(n, what)
	if !ok {
		return 0
	}
	d, err := model.ParseDuration(s)
	if err != nil {
		l.add(n.Pos, rules.CodeBadDuration, "%s: %q is not a duration (like 90s, 15m, 2h, 1d, 1w)", what, s)
		return 0
	}
	if positive && d <= 0 {
		l.add(n.Pos, rules.CodeBadDuration, "%s must be more than 0", what)
		return 0
	}
	return time.Duration(d)
}

func (l *loader) time(n *node, what string) time.Time {
	if n.Kind == yamlpos.Map && len(n.Keys) == 1 {
		// the YAML parser reads 2026-11-23T08:00:00Z inside a [...] that is
		// itself inside a {...} as the mapping {2026-11-23T08: 00:00Z}
		l.add(n.Pos, CodeBadTime, "%s: a time inside [...] inside {...} must be quoted, or the list written in block style: the YAML parser reads its colons as a key", what)
		return time.Time{}
	}
	s, ok := l.text(n, what)
	if !ok {
		return time.Time{}
	}
	t, err := time.Parse(time.RFC3339Nano, s)
	if err != nil {
		l.add(n.Pos, CodeBadTime, "%s: %q is not an RFC 3339 time (like 2026-11-27T00:00:00Z)", what, s)
		return time.Time{}
	}
	return t.UTC()
}

// ruleFiles reads one path or a list of paths, resolved against the test
// file's directory.
// channels reads the channels section: the mapping of a channels file, or
// the path of one, relative to the test file.
func (l *loader) channels(root, n *node) rules.Channels {
	if n.Kind == yamlpos.Scalar {
		path := n.Value
		if path == "" {
			l.add(n.Pos, rules.CodeMissingField, "channels is empty")
			return nil
		}
		if !filepath.IsAbs(path) {
			path = filepath.Join(l.dir, path)
		}
		ch, err := rules.LoadChannels(path)
		if err != nil {
			// reported here, at the key, so that every error of a test
			// file is in it; the message names the channels file's place
			var es rules.Errors
			if !errors.As(err, &es) {
				es = rules.Errors{{Pos: rules.Pos{File: path}, Code: rules.CodeReadFile, Message: err.Error()}}
			}
			for _, e := range es {
				l.add(n.Pos, e.Code, "channels: %s: %s", e.Pos, e.Message)
			}
		}
		return ch
	}
	ch, es := rules.ChannelsSection(root)
	l.errs = append(l.errs, es...)
	return ch
}

func (l *loader) ruleFiles(n *node) []string {
	items := []*node{n}
	if n.Kind == yamlpos.Seq {
		items = n.Vals
		if len(items) == 0 {
			l.add(n.Pos, rules.CodeMissingField, "rule_files is empty")
		}
	}
	var out []string
	for _, it := range items {
		s, ok := l.text(it, "a rule_files entry")
		if !ok {
			continue
		}
		if s == "" {
			l.add(it.Pos, rules.CodeMissingField, "a rule_files entry is empty")
			continue
		}
		if !filepath.IsAbs(s) {
			s = filepath.Join(l.dir, s)
		}
		out = append(out, s)
	}
	return out
}

func (l *loader) testCase(cn *node, f *File, fileRulesPos rules.Pos, horizon, lateness time.Duration) *Case {
	fields := l.fields(cn, "test case", caseFields)
	if cn.Kind != yamlpos.Map {
		return nil
	}
	nerr := len(l.errs)
	c := &Case{File: l.file, Pos: cn.Pos, Horizon: horizon, Lateness: lateness}
	if n := fields["name"]; n == nil {
		l.add(cn.Pos, rules.CodeMissingField, "test case has no name (name: is required)")
	} else if s, ok := l.text(n, "name"); ok {
		c.Name, c.Pos = s, n.Pos
		if strings.TrimSpace(s) == "" {
			l.add(n.Pos, rules.CodeMissingField, "name is empty")
		} else if prev, dup := l.names[s]; dup {
			l.add(n.Pos, CodeDuplicateTest, "test %q is already defined at %d:%d", s, prev.Line, prev.Col)
		} else {
			l.names[s] = n.Pos
		}
	}
	if n := fields["rule_files"]; n != nil {
		c.RuleFiles, c.RuleFilesPos = l.ruleFiles(n), n.Pos
	} else if f.RuleFiles != nil {
		c.RuleFiles, c.RuleFilesPos = f.RuleFiles, fileRulesPos
	} else {
		l.add(c.Pos, rules.CodeMissingField, "test %q loads no rules: give rule_files: in the case or at the top of the file", c.Name)
	}
	if n := fields["horizon"]; n != nil {
		c.Horizon = l.duration(n, "horizon", true)
	}
	if n := fields["lateness"]; n != nil {
		c.Lateness = l.duration(n, "lateness", false)
	}
	if n := fields["events"]; n != nil {
		st := &Step{Pos: n.Pos, Label: "events"}
		st.Events = l.eventList(n, "events")
		c.Steps = append(c.Steps, st)
	}
	if n := fields["steps"]; n != nil {
		switch {
		case n.Kind == yamlpos.Null || n.Kind == yamlpos.Seq && len(n.Vals) == 0:
			l.add(n.Pos, rules.CodeMissingField, "steps is empty")
		case n.Kind != yamlpos.Seq:
			l.add(n.Pos, rules.CodeSchema, "steps must be a list, not a %s", n.Describe())
		default:
			for i, sn := range n.Vals {
				if st := l.step(sn, i+1); st != nil {
					c.Steps = append(c.Steps, st)
				}
			}
		}
	}
	if n := fields["expect"]; n != nil {
		c.Expect = l.expect(n)
	}
	if n := fields["expect_none"]; n != nil {
		c.ExpectNonePos = n.Pos
		switch {
		case n.Kind != yamlpos.Scalar || n.Tag != "bool":
			l.add(n.Pos, rules.CodeSchema, "expect_none must be true or false, not a %s", n.Describe())
		default:
			c.ExpectNone = n.Value == "true"
		}
	}
	if fields["events"] == nil && fields["steps"] == nil {
		l.add(c.Pos, rules.CodeMissingField, "test %q has no input: give events: or steps:", c.Name)
	}
	checkpoints := 0
	for _, st := range c.Steps {
		if st.Expect != nil {
			checkpoints++
		}
	}
	if c.Expect != nil {
		checkpoints++
	}
	switch {
	case c.ExpectNone && checkpoints > 0:
		l.add(c.ExpectNonePos, CodeConflict, "expect_none: true asserts that nothing is emitted; it cannot go with expect:")
	case !c.ExpectNone && checkpoints == 0:
		l.add(c.Pos, rules.CodeMissingField, "test %q expects nothing: give expect: (in the case or after a step) or expect_none: true", c.Name)
	}
	// the clock starts with the first event: an advance needs one before it
	seen := false
	for _, st := range c.Steps {
		if len(st.Events) > 0 {
			seen = true
		}
		if st.Advance > 0 && !seen {
			l.add(st.Pos, CodeBadStep, "advance before any event: the clock has not started (use until: TIME)")
		}
	}
	if len(l.errs) > nerr {
		return nil
	}
	return c
}

func (l *loader) step(sn *node, index int) *Step {
	fields := l.fields(sn, "step", stepFields)
	if sn.Kind != yamlpos.Map {
		return nil
	}
	st := &Step{Pos: sn.Pos, Label: "step " + strconv.Itoa(index)}
	var actions []string
	for _, k := range sn.Keys {
		if k.Value != "expect" && slices.Contains(stepFields, k.Value) {
			actions = append(actions, k.Value)
		}
	}
	if len(actions) > 1 {
		l.add(sn.Pos, CodeBadStep, "a step does one thing, but this one has %s: split it into steps", strings.Join(actions, " and "))
	}
	if len(actions) == 0 && fields["expect"] == nil && len(fields) == len(sn.Keys) {
		l.add(sn.Pos, CodeBadStep, "a step needs event:, events:, series:, advance:, until: or expect:")
	}
	if n := fields["event"]; n != nil {
		if ev, ok := l.event(n); ok {
			st.Events = append(st.Events, ev)
		}
	}
	if n := fields["events"]; n != nil {
		st.Events = l.eventList(n, "events")
	}
	if n := fields["series"]; n != nil {
		st.Events = l.series(n)
	}
	if n := fields["advance"]; n != nil {
		st.Advance = l.duration(n, "advance", true)
	}
	if n := fields["until"]; n != nil {
		st.Until = l.time(n, "until")
	}
	if n := fields["expect"]; n != nil {
		st.Expect = l.expect(n)
	}
	return st
}

// eventList reads a list of events, each an event mapping or a
// {series: ...} that expands to many.
func (l *loader) eventList(n *node, what string) []Event {
	if n.Kind == yamlpos.Null || n.Kind == yamlpos.Seq && len(n.Vals) == 0 {
		l.add(n.Pos, rules.CodeMissingField, "%s is empty", what)
		return nil
	}
	if n.Kind != yamlpos.Seq {
		l.add(n.Pos, rules.CodeSchema, "%s must be a list of events, not a %s", what, n.Describe())
		return nil
	}
	var out []Event
	for _, it := range n.Vals {
		if it.Kind == yamlpos.Map && len(it.Keys) == 1 && it.Keys[0].Value == "series" {
			out = append(out, l.series(it.Vals[0])...)
			continue
		}
		if ev, ok := l.event(it); ok {
			out = append(out, ev)
		}
	}
	return out
}

// event turns a YAML mapping into the JSON of an event.
func (l *loader) event(n *node) (Event, bool) {
	if n.Kind != yamlpos.Map {
		if !n.Invalid {
			l.add(n.Pos, CodeBadEvent, "an event must be a mapping (the JSON event as YAML), not a %s", n.Describe())
		}
		return Event{}, false
	}
	v, ok := l.jsonOf(n)
	if !ok {
		return Event{}, false
	}
	return Event{JSON: encodeJSON(v), Pos: n.Pos}, true
}

// series expands a template event over a list of values or a count.
func (l *loader) series(n *node) []Event {
	fields := l.fields(n, "series", seriesFields)
	if n.Kind != yamlpos.Map {
		return nil
	}
	nerr := len(l.errs)
	var tmpl *jobj
	if tn := fields["event"]; tn == nil {
		l.add(n.Pos, rules.CodeMissingField, "series has no event (the template every event copies)")
	} else if tn.Kind != yamlpos.Map {
		l.add(tn.Pos, CodeBadSeries, "series event must be a mapping, not a %s", tn.Describe())
	} else if v, ok := l.jsonOf(tn); ok {
		tmpl = v.(*jobj)
		if tmpl.index("ts") >= 0 {
			l.add(tn.Get("ts").Pos, CodeConflict, "a series sets each event's ts (from start: and every:, or values: ts); remove ts from its event")
		}
	}
	// values: field -> list, one element per event
	type column struct {
		field string
		pos   rules.Pos
		items []*node
	}
	var cols []column
	count := -1
	if vn := fields["values"]; vn != nil {
		if vn.Kind != yamlpos.Map || len(vn.Keys) == 0 {
			l.add(vn.Pos, CodeBadSeries, "series values must be a mapping of field names to lists, not a %s", vn.Describe())
		} else {
			for i, k := range vn.Keys {
				v := vn.Vals[i]
				if v.Kind != yamlpos.Seq || len(v.Vals) == 0 {
					l.add(v.Pos, CodeBadSeries, "series values %s must be a non-empty list, not a %s", k.Value, v.Describe())
					continue
				}
				if count >= 0 && len(v.Vals) != count {
					l.add(v.Pos, CodeBadSeries, "series values %s has %d elements, but %s has %d: every list gives one value per event", k.Value, len(v.Vals), cols[0].field, count)
					continue
				}
				count = len(v.Vals)
				for _, it := range v.Vals {
					if k.Value != "ts" && (it.Kind == yamlpos.Map || it.Kind == yamlpos.Seq) {
						l.add(it.Pos, CodeBadSeries, "series values are single values, not a %s", it.Describe())
					}
				}
				cols = append(cols, column{field: k.Value, pos: k.Pos, items: v.Vals})
			}
		}
	}
	if cn := fields["count"]; cn != nil {
		c, ok := l.count(cn)
		switch {
		case !ok:
		case count >= 0 && c != count:
			l.add(cn.Pos, CodeBadSeries, "count is %d but the values lists have %d elements", c, count)
		default:
			count = c
		}
	}
	if count < 0 && fields["values"] == nil && fields["count"] == nil {
		l.add(n.Pos, rules.CodeMissingField, "series needs values: (lists, one element per event) or count:")
	}
	if count > maxSeries {
		l.add(n.Pos, CodeBadSeries, "series of %d events, more than the limit of %d", count, maxSeries)
	}
	var tsCol []*node
	for _, c := range cols {
		if c.field == "ts" {
			tsCol = c.items
		}
	}
	var start time.Time
	var every time.Duration
	switch {
	case tsCol != nil:
		for _, k := range []string{"start", "every"} {
			if sn := fields[k]; sn != nil {
				l.add(sn.Pos, CodeConflict, "series values give ts: %s cannot go with them", k)
			}
		}
		for _, it := range tsCol {
			l.time(it, "series ts")
		}
	default:
		if sn := fields["start"]; sn == nil {
			l.add(n.Pos, rules.CodeMissingField, "series needs start: (the ts of its first event) or a ts list in values:")
		} else {
			start = l.time(sn, "start")
		}
		if en := fields["every"]; en != nil {
			every = l.duration(en, "every", true)
		} else if count > 1 {
			l.add(n.Pos, rules.CodeMissingField, "series needs every: (the time between its events)")
		}
	}
	if len(l.errs) > nerr || tmpl == nil || count <= 0 {
		return nil
	}
	out := make([]Event, 0, count)
	for i := range count {
		ev := tmpl.clone()
		pos := n.Pos
		if tsCol == nil {
			ev.set("ts", start.Add(time.Duration(i)*every).Format(time.RFC3339Nano))
		}
		for ci, c := range cols {
			it := c.items[i]
			if ci == 0 {
				pos = it.Pos
			}
			v, ok := l.jsonOf(it)
			if !ok {
				return nil
			}
			if c.field == "ts" {
				v = l.time(it, "series ts").Format(time.RFC3339Nano)
			}
			if !ev.setPath(c.field, v) {
				l.add(c.pos, CodeBadSeries, "series field %s: the event has no mapping to set it in", c.field)
				return nil
			}
		}
		out = append(out, Event{JSON: encodeJSON(ev), Pos: pos})
	}
	return out
}

func (l *loader) count(n *node) (int, bool) {
	if n.Kind != yamlpos.Scalar || n.Tag != "int" {
		l.add(n.Pos, rules.CodeSchema, "count must be a whole number, not a %s", n.Describe())
		return 0, false
	}
	c, err := strconv.Atoi(n.Value)
	if err != nil || c < 1 || c > maxSeries {
		l.add(n.Pos, CodeBadValue, "count must be from 1 to %d, got %s", maxSeries, n.Value)
		return 0, false
	}
	return c, true
}

func (l *loader) expect(n *node) *Expect {
	fields := l.fields(n, "expect", expectFields)
	if n.Kind != yamlpos.Map {
		return nil
	}
	e := &Expect{Pos: n.Pos}
	if len(n.Keys) == 0 {
		l.add(n.Pos, rules.CodeMissingField, "expect is empty: give alerts:, corrections: or quiet:")
	}
	if an := fields["alerts"]; an != nil {
		e.CheckAlerts = true
		for _, it := range l.list(an, "alerts") {
			if a := l.alert(it); a != nil {
				e.Alerts = append(e.Alerts, a)
			}
		}
	}
	if cn := fields["corrections"]; cn != nil {
		e.CheckCorrections = true
		for _, it := range l.list(cn, "corrections") {
			if c := l.correction(it); c != nil {
				e.Corrections = append(e.Corrections, c)
			}
		}
	}
	if qn := fields["quiet"]; qn != nil {
		items := []*node{qn}
		if qn.Kind == yamlpos.Seq {
			items = qn.Vals
		}
		for _, it := range items {
			if r, ok := l.ruleRef(it, "a quiet entry"); ok {
				e.Quiet = append(e.Quiet, r)
			}
		}
	}
	return e
}

// list reads a list; null is the empty list.
func (l *loader) list(n *node, what string) []*node {
	switch n.Kind {
	case yamlpos.Null:
		return nil
	case yamlpos.Seq:
		return n.Vals
	}
	l.add(n.Pos, rules.CodeSchema, "%s must be a list, not a %s", what, n.Describe())
	return nil
}

func (l *loader) ruleRef(n *node, what string) (RuleRef, bool) {
	s, ok := l.text(n, what)
	if !ok {
		return RuleRef{}, false
	}
	if s == "" || strings.Count(s, "/") > 1 || strings.HasPrefix(s, "/") || strings.HasSuffix(s, "/") {
		l.add(n.Pos, CodeBadValue, "rule %q must be group/rule or rule", s)
		return RuleRef{}, false
	}
	return RuleRef{Name: s, Pos: n.Pos}, true
}

func (l *loader) alert(n *node) *AlertExpectation {
	fields := l.fields(n, "expected alert", alertFields)
	if n.Kind != yamlpos.Map {
		return nil
	}
	a := &AlertExpectation{Pos: n.Pos, State: event.StateFiring, Tolerance: DefaultTolerance}
	if rn := fields["rule"]; rn == nil {
		l.add(n.Pos, rules.CodeMissingField, "an expected alert needs rule: (group/rule)")
	} else {
		a.Rule, _ = l.ruleRef(rn, "rule")
	}
	strs := []struct {
		key string
		dst *string
	}{{"sku", &a.SKU}, {"channel", &a.Channel}, {"promo", &a.Promo}, {"message", &a.Message}}
	for _, s := range strs {
		if v := fields[s.key]; v != nil {
			*s.dst, _ = l.text(v, s.key)
		}
	}
	if v := fields["state"]; v != nil {
		a.State = event.State(l.oneOf(v, "alert state", names(event.AlertStates())))
	}
	if v := fields["reason"]; v != nil {
		a.Reason = event.Reason(l.oneOf(v, "reason", names(event.Reasons())))
	}
	if v := fields["severity"]; v != nil {
		a.Severity = l.oneOf(v, "severity", rules.SeverityNames())
	}
	if v := fields["at"]; v != nil {
		a.At = l.time(v, "at")
	}
	if v := fields["watermark"]; v != nil {
		a.Watermark = l.time(v, "watermark")
	}
	if v := fields["tolerance"]; v != nil {
		a.Tolerance = l.tolerance(v)
	}
	if v := fields["labels"]; v != nil && v.Kind != yamlpos.Null {
		if v.Kind != yamlpos.Map {
			l.add(v.Pos, rules.CodeSchema, "labels must be a mapping of names to values, not a %s", v.Describe())
		} else {
			a.Labels = map[string]string{}
			for i, k := range v.Keys {
				if s, ok := l.text(v.Vals[i], "label "+k.Value); ok {
					a.Labels[k.Value] = s
				}
			}
		}
	}
	if v := fields["values"]; v != nil && v.Kind != yamlpos.Null {
		if v.Kind != yamlpos.Map {
			l.add(v.Pos, rules.CodeSchema, "values must be a mapping of facts to values, not a %s", v.Describe())
		} else {
			a.Values = map[string]any{}
			for i, k := range v.Keys {
				if x, ok := l.plain(v.Vals[i]); ok {
					a.Values[k.Value] = x
				}
			}
		}
	}
	return a
}

func (l *loader) correction(n *node) *CorrectionExpectation {
	fields := l.fields(n, "expected correction", correctionFields)
	if n.Kind != yamlpos.Map {
		return nil
	}
	c := &CorrectionExpectation{Pos: n.Pos, State: event.StateActive, Tolerance: DefaultTolerance}
	strs := []struct {
		key string
		dst *string
	}{{"sku", &c.SKU}, {"channel", &c.Channel}, {"bound_by", &c.BoundBy}}
	for _, s := range strs {
		if v := fields[s.key]; v != nil {
			*s.dst, _ = l.text(v, s.key)
		}
	}
	if v := fields["state"]; v != nil {
		c.State = event.State(l.oneOf(v, "correction state", names(event.CorrectionStates())))
	}
	if v := fields["reason"]; v != nil {
		c.Reason = event.Reason(l.oneOf(v, "reason", names(event.Reasons())))
	}
	nums := []struct {
		key string
		dst *Number
	}{{"corrected", &c.Corrected}, {"effective", &c.Effective}, {"floor", &c.Floor}, {"ceiling", &c.Ceiling}}
	for _, x := range nums {
		if v := fields[x.key]; v != nil {
			*x.dst = l.number(v, x.key)
		}
	}
	if v := fields["at"]; v != nil {
		c.At = l.time(v, "at")
	}
	if v := fields["watermark"]; v != nil {
		c.Watermark = l.time(v, "watermark")
	}
	if v := fields["tolerance"]; v != nil {
		c.Tolerance = l.tolerance(v)
	}
	return c
}

func (l *loader) number(n *node, what string) Number {
	switch {
	case n.Kind == yamlpos.Null:
		return Number{Set: true, Null: true}
	case n.Kind == yamlpos.Scalar && (n.Tag == "int" || n.Tag == "float"):
		f := toFloat(n.Num)
		if math.IsNaN(f) || math.IsInf(f, 0) {
			l.add(n.Pos, CodeBadValue, "%s must be a finite number (null for none)", what)
			return Number{}
		}
		return Number{Set: true, Value: f}
	}
	l.add(n.Pos, rules.CodeSchema, "%s must be a number or null, not a %s", what, n.Describe())
	return Number{}
}

func (l *loader) tolerance(n *node) float64 {
	x := l.number(n, "tolerance")
	if x.Set && (x.Null || x.Value < 0) {
		l.add(n.Pos, CodeBadValue, "tolerance must be a number from 0")
		return DefaultTolerance
	}
	if !x.Set {
		return DefaultTolerance
	}
	return x.Value
}

// plain converts an expected value: nil, bool, float64, string, []any or
// map[string]any.
func (l *loader) plain(n *node) (any, bool) {
	switch n.Kind {
	case yamlpos.Null:
		return nil, !n.Invalid
	case yamlpos.Seq:
		out := make([]any, 0, len(n.Vals))
		for _, it := range n.Vals {
			v, ok := l.plain(it)
			if !ok {
				return nil, false
			}
			out = append(out, v)
		}
		return out, true
	case yamlpos.Map:
		out := make(map[string]any, len(n.Keys))
		for i, k := range n.Keys {
			v, ok := l.plain(n.Vals[i])
			if !ok {
				return nil, false
			}
			out[k.Value] = v
		}
		return out, true
	}
	switch n.Tag {
	case "bool":
		return n.Value == "true", true
	case "int", "float":
		f := toFloat(n.Num)
		if math.IsNaN(f) || math.IsInf(f, 0) {
			l.add(n.Pos, CodeBadValue, "an expected value must be finite: write null for a fact that is NaN")
			return nil, false
		}
		return f, true
	}
	return n.Value, true
}

func toFloat(v any) float64 {
	switch v := v.(type) {
	case int64:
		return float64(v)
	case uint64:
		return float64(v)
	case float64:
		return v
	}
	return math.NaN()
}

// jsonOf converts a node to a JSON value, keeping the order of keys.
func (l *loader) jsonOf(n *node) (any, bool) {
	switch n.Kind {
	case yamlpos.Null:
		return nil, !n.Invalid
	case yamlpos.Seq:
		out := make([]any, 0, len(n.Vals))
		ok := true
		for _, it := range n.Vals {
			v, vok := l.jsonOf(it)
			ok = ok && vok
			out = append(out, v)
		}
		return out, ok
	case yamlpos.Map:
		o := &jobj{}
		ok := true
		for i, k := range n.Keys {
			v, vok := l.jsonOf(n.Vals[i])
			ok = ok && vok
			o.keys = append(o.keys, k.Value)
			o.vals = append(o.vals, v)
		}
		return o, ok
	}
	switch n.Tag {
	case "bool":
		return n.Value == "true", true
	case "int":
		switch v := n.Num.(type) {
		case int64:
			return json.Number(strconv.FormatInt(v, 10)), true
		case uint64:
			return json.Number(strconv.FormatUint(v, 10)), true
		}
		return n.Value, true
	case "float":
		f := toFloat(n.Num)
		if math.IsNaN(f) || math.IsInf(f, 0) {
			l.add(n.Pos, CodeBadEvent, "%s is not a finite number: JSON events cannot carry it", n.Value)
			return nil, false
		}
		return json.Number(strconv.FormatFloat(f, 'g', -1, 64)), true
	}
	return n.Value, true
}

// jobj is a JSON object that keeps its keys' order, so the event's payload
// (whose hash orders events of equal ts) follows the test file.
type jobj struct {
	keys []string
	vals []any
}

func (o *jobj) index(k string) int { return slices.Index(o.keys, k) }

func (o *jobj) set(k string, v any) {
	if i := o.index(k); i >= 0 {
		o.vals[i] = v
		return
	}
	o.keys = append(o.keys, k)
	o.vals = append(o.vals, v)
}

// setPath sets a field, or a nested one as in discount.Value.
func (o *jobj) setPath(path string, v any) bool {
	head, rest, nested := strings.Cut(path, ".")
	if !nested {
		o.set(path, v)
		return true
	}
	i := o.index(head)
	if i < 0 {
		o.set(head, &jobj{})
		i = o.index(head)
	}
	sub, ok := o.vals[i].(*jobj)
	if !ok {
		return false
	}
	return sub.setPath(rest, v)
}

func (o *jobj) clone() *jobj {
	c := &jobj{keys: slices.Clone(o.keys), vals: make([]any, len(o.vals))}
	for i, v := range o.vals {
		if sub, ok := v.(*jobj); ok {
			v = sub.clone()
		}
		c.vals[i] = v
	}
	return c
}

func encodeJSON(v any) []byte {
	var b bytes.Buffer
	writeJSON(&b, v)
	return b.Bytes()
}

func writeJSON(b *bytes.Buffer, v any) {
	switch v := v.(type) {
	case nil:
		b.WriteString("null")
	case bool:
		b.WriteString(strconv.FormatBool(v))
	case json.Number:
		b.WriteString(string(v))
	case string:
		s, _ := json.Marshal(v)
		b.Write(s)
	case []any:
		b.WriteByte('[')
		for i, x := range v {
			if i > 0 {
				b.WriteByte(',')
			}
			writeJSON(b, x)
		}
		b.WriteByte(']')
	case *jobj:
		b.WriteByte('{')
		for i, k := range v.keys {
			if i > 0 {
				b.WriteByte(',')
			}
			writeJSON(b, k)
			b.WriteByte(':')
			writeJSON(b, v.vals[i])
		}
		b.WriteByte('}')
	}
}

// node is a YAML node with its position, as internal/yamlpos reads it.
type node = yamlpos.Node
