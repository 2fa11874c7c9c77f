package rules

import (
	"bytes"
	"crypto/sha256"
	"encoding/csv"
	"encoding/hex"
	"errors"
	"fmt"
	"hash"
	"io"
	"io/fs"
	"math"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/promoguard/promoguard/event"

	"github.com/expr-lang/expr"
	"github.com/expr-lang/expr/conf"
	"github.com/prometheus/common/model"
)

// Options bound what a rule may cost and say how files are read. The zero
// value is usable: every zero field takes its default.
type Options struct {
	// MaxNodes bounds the size of one expression (default 1000 nodes).
	MaxNodes uint
	// MaxRange bounds a range such as 1..n, whose bounds must be constants
	// (default 1000).
	MaxRange int
	// MaxClosureDepth bounds nested predicates such as map() inside
	// filter() (default 2).
	MaxClosureDepth int
	// ReadFile, ReadDir and Stat default to the os functions; tests and the
	// fuzzer replace them.
	ReadFile func(name string) ([]byte, error)
	ReadDir  func(name string) ([]fs.DirEntry, error)
	Stat     func(name string) (fs.FileInfo, error)
}

func (o *Options) withDefaults() Options {
	var out Options
	if o != nil {
		out = *o
	}
	if out.MaxNodes == 0 {
		out.MaxNodes = 1000
	}
	if out.MaxRange == 0 {
		out.MaxRange = 1000
	}
	if out.MaxClosureDepth == 0 {
		out.MaxClosureDepth = 2
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

// Load reads, validates and compiles rule files. Each path is a file or a
// directory, whose *.yaml and *.yml files load in name order (not
// recursively). It returns every problem in every file as Errors, sorted by
// position, or a RuleSet that is entirely valid.
func Load(paths []string, opts *Options) (*RuleSet, error) {
	l := newLoader(opts)
	for _, p := range paths {
		l.loadPath(p)
	}
	return l.finish()
}

// LoadSource loads one rule file held in memory. Table files it names are
// read with opts.ReadFile relative to name's directory.
func LoadSource(name string, data []byte, opts *Options) (*RuleSet, error) {
	l := newLoader(opts)
	l.loadFile(name, data)
	return l.finish()
}

type loader struct {
	opts     Options
	errs     errs
	exprOpts []expr.Option
	confs    [3]*conf.Config
	sources  map[string]*source
	hash     hash.Hash
	groups   map[string]*Group
	rs       *RuleSet
	// badNames are the vars and tables of the group being loaded whose
	// definition failed: a use of one is not reported again as unknown.
	badNames map[string]bool
}

func newLoader(o *Options) *loader {
	opts := o.withDefaults()
	eo := []expr.Option{expr.Env(Facts{}), expr.MaxNodes(opts.MaxNodes), expr.Timezone("UTC")}
	eo = append(eo, functionOptions()...)
	return &loader{
		opts:     opts,
		exprOpts: eo,
		sources:  map[string]*source{},
		hash:     sha256.New(),
		groups:   map[string]*Group{},
		rs:       &RuleSet{},
	}
}

func (l *loader) finish() (*RuleSet, error) {
	if len(l.errs.list) > 0 {
		for _, e := range l.errs.list {
			if s := l.sources[e.File]; s != nil {
				e.Snippet = s.snippet(e.Pos)
			}
		}
		l.errs.list.Sort()
		return nil, l.errs.list
	}
	for i, r := range l.rs.Rules {
		r.Index = i
	}
	l.rs.Version = hex.EncodeToString(l.hash.Sum(nil))[:16]
	return l.rs, nil
}

func (l *loader) loadPath(p string) {
	fi, err := l.opts.Stat(p)
	if err != nil {
		l.errs.add(Pos{File: p}, "", "", CodeReadFile, "%s", fsError(err))
		return
	}
	if !fi.IsDir() {
		l.readAndLoad(p)
		return
	}
	ents, err := l.opts.ReadDir(p)
	if err != nil {
		l.errs.add(Pos{File: p}, "", "", CodeReadFile, "%s", fsError(err))
		return
	}
	n := 0
	for _, e := range ents {
		ext := filepath.Ext(e.Name())
		if e.IsDir() || (ext != ".yaml" && ext != ".yml") {
			continue
		}
		n++
		l.readAndLoad(filepath.Join(p, e.Name()))
	}
	if n == 0 {
		l.errs.add(Pos{File: p}, "", "", CodeNoRules, "directory holds no .yaml or .yml rule file")
	}
}

func fsError(err error) string {
	var pe *fs.PathError
	if errors.As(err, &pe) {
		return pe.Op + ": " + pe.Err.Error()
	}
	return err.Error()
}

func (l *loader) readAndLoad(p string) {
	data, err := l.opts.ReadFile(p)
	if err != nil {
		l.errs.add(Pos{File: p}, "", "", CodeReadFile, "%s", fsError(err))
		return
	}
	l.loadFile(p, data)
}

func (l *loader) hashFile(name string, data []byte) {
	l.hash.Write([]byte(filepath.Base(name)))
	l.hash.Write([]byte{0})
	l.hash.Write(data)
	l.hash.Write([]byte{0})
}

func (l *loader) loadFile(name string, data []byte) {
	l.rs.Files = append(l.rs.Files, name)
	l.hashFile(name, data)
	data = normalizeSource(data)
	src := newSource(name, data)
	l.sources[name] = src
	docs, soft, perr := parseYAML(name, data)
	if perr != nil {
		l.errs.list = append(l.errs.list, perr)
		return
	}
	l.errs.list = append(l.errs.list, soft...)
	groups, errs := len(l.rs.Groups), len(l.errs.list)
	defer func() {
		if len(l.rs.Groups) == groups && len(l.errs.list) == errs {
			l.errs.add(Pos{File: name, Line: 1, Col: 1}, "", "", CodeNoRules, "file holds no rule group")
		}
	}()
	for _, d := range docs {
		switch {
		case d.kind == kindNull:
		case d.kind != kindMap:
			l.errs.add(d.pos, "", "", CodeSchema, "a rule file is a mapping with group: and rules:, or with groups:, not a %s", d.describe())
		case d.get("groups") != nil:
			f := l.fields(d, "", "", "file", []string{"groups"})
			gs := f["groups"]
			if gs.kind != kindSeq {
				l.errs.add(gs.pos, "", "", CodeSchema, "groups must be a list of groups, not a %s", gs.describe())
				continue
			}
			for _, g := range gs.vals {
				l.loadGroup(src, g)
			}
		default:
			l.loadGroup(src, d)
		}
	}
}

var groupFields = []string{"group", "description", "vars", "tables", "rules"}
var ruleFields = []string{"name", "description", "scope", "on", "if", "severity", "floor", "ceiling", "message", "labels", "for", "repeat"}

// fields checks a mapping's keys: every key must be allowed (the YAML layer
// has already reported keys written twice). It returns the values by key.
func (l *loader) fields(n *node, group, rule, what string, allowed []string) map[string]*node {
	out := map[string]*node{}
	if n.kind != kindMap {
		l.errs.add(n.pos, group, rule, CodeSchema, "a %s must be a mapping, not a %s", what, n.describe())
		return out
	}
	for i, k := range n.keys {
		if !slices.Contains(allowed, k.value) {
			hint := didYouMean(k.value, allowed)
			if hint == "" && what == "group" && slices.Contains(ruleFields, k.value) {
				hint = "; " + k.value + " belongs to each rule, under rules:"
			}
			l.errs.add(k.pos, group, rule, CodeUnknownField, "unknown key %s in %s%s", k.value, what, hint)
			continue
		}
		out[k.value] = n.vals[i]
	}
	return out
}

var (
	// reDecimal is what a CSV cell must look like to count as a number: no
	// NaN, Inf, hex or digit separators, which strconv would accept.
	reDecimal   = regexp.MustCompile(`^[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?$`)
	reGroupName = regexp.MustCompile(`^[A-Za-z0-9_][A-Za-z0-9_.-]*$`)
	reIdent     = regexp.MustCompile(`^[A-Za-z_][A-Za-z0-9_]*$`)
	exprWords   = []string{"true", "false", "nil", "not", "and", "or", "in", "matches", "contains", "startsWith", "endsWith", "let", "if", "else"}
)

// scalarText returns a scalar's text, reporting a schema error for anything else.
func (l *loader) scalarText(n *node, group, rule, what string) (string, bool) {
	switch {
	case n.invalid:
		return "", false
	case n.kind == kindNull:
		l.errs.add(n.pos, group, rule, CodeMissingField, "%s is empty", what)
		return "", false
	case n.kind != kindScalar:
		l.errs.add(n.pos, group, rule, CodeSchema, "%s must be a single value, not a %s", what, n.describe())
		return "", false
	}
	return n.value, true
}

func (l *loader) loadGroup(src *source, gn *node) {
	name := ""
	if gn.kind == kindMap {
		if n := gn.get("group"); n != nil && n.kind == kindScalar {
			name = n.value
		}
	}
	f := l.fields(gn, name, "", "group", groupFields)
	if gn.kind != kindMap {
		return
	}
	g := &Group{File: src.file, Pos: gn.pos, Vars: map[string]any{}, Tables: map[string]any{}}
	l.badNames = map[string]bool{}
	nameNode := f["group"]
	if nameNode == nil {
		l.errs.add(gn.pos, "", "", CodeMissingField, "group has no name (group: is required)")
		g.Name = fmt.Sprintf("<unnamed@%d>", gn.pos.Line)
	} else if name, ok := l.scalarText(nameNode, "", "", "group"); ok {
		g.Name, g.Pos = name, nameNode.pos
		if !reGroupName.MatchString(name) {
			l.errs.add(nameNode.pos, name, "", CodeBadName, "group name %q must be letters, digits, _ . or -", name)
		} else if name == ReservedGroup {
			l.errs.add(nameNode.pos, name, "", CodeBadName, "group name %q is reserved for the built-in checks", name)
		}
		if prev, dup := l.groups[name]; dup {
			l.errs.add(nameNode.pos, name, "", CodeDuplicateGroup, "group %s is already defined at %s", name, prev.Pos)
		} else {
			l.groups[name] = g
		}
	}
	if d := f["description"]; d != nil {
		g.Description, _ = l.scalarText(d, g.Name, "", "description")
	}
	if v := f["vars"]; v != nil {
		l.loadVars(g, v)
	}
	if t := f["tables"]; t != nil {
		l.loadTables(src, g, t)
	}
	c := &compiler{l: l, src: src, group: g, consts: map[string]any{}, reported: l.badNames}
	for k, v := range g.Vars {
		c.consts[k] = v
	}
	for k, v := range g.Tables {
		c.consts[k] = v
	}
	rn := f["rules"]
	switch {
	case rn == nil:
		l.errs.add(gn.pos, g.Name, "", CodeMissingField, "group has no rules (rules: is required)")
	case rn.kind == kindNull:
		l.errs.add(rn.pos, g.Name, "", CodeMissingField, "group has no rules (rules: is empty)")
	case rn.kind != kindSeq:
		l.errs.add(rn.pos, g.Name, "", CodeSchema, "rules must be a list, not a %s", rn.describe())
	case len(rn.vals) == 0:
		l.errs.add(rn.pos, g.Name, "", CodeMissingField, "group has no rules (rules: is empty)")
	default:
		seen := map[string]*Rule{}
		for _, r := range rn.vals {
			rule := l.loadRule(c, r)
			if rule == nil {
				continue
			}
			if prev, dup := seen[rule.Name]; dup && !strings.HasPrefix(rule.Name, "<unnamed") {
				l.errs.add(rule.Pos, g.Name, rule.Name, CodeDuplicateRule, "rule %s is already defined at %s", rule.Name, prev.Pos)
				continue
			}
			seen[rule.Name] = rule
			if rule.If != nil { // valid
				g.Rules = append(g.Rules, rule)
			}
		}
	}
	l.rs.Groups = append(l.rs.Groups, g)
	l.rs.Rules = append(l.rs.Rules, g.Rules...)
}

// checkName reports a var or table name that is not an identifier or that
// hides another name.
func (l *loader) checkName(g *Group, k *node, what string) bool {
	name := k.value
	switch {
	case !reIdent.MatchString(name):
		l.errs.add(k.pos, g.Name, "", CodeBadName, "%s name %q must be a letter or _ followed by letters, digits or _", what, name)
		l.badNames[name] = true
	case slices.Contains(exprWords, name):
		l.errs.add(k.pos, g.Name, "", CodeNameClash, "%s name %s is a keyword of the expression language", what, name)
	case Fact(name) != nil:
		l.errs.add(k.pos, g.Name, "", CodeNameClash, "%s %s hides the fact %s; choose another name", what, name, name)
	case builtinIndex[name] != nil || exprBuiltinNames[name]:
		l.errs.add(k.pos, g.Name, "", CodeNameClash, "%s %s hides the function %s; choose another name", what, name, name)
	default:
		_, v := g.Vars[name]
		_, t := g.Tables[name]
		if v || t {
			l.errs.add(k.pos, g.Name, "", CodeNameClash, "%s %s is already defined as a var or table in this group", what, name)
			return false
		}
		return true
	}
	return false
}

var exprBuiltinNames = func() map[string]bool {
	m := map[string]bool{}
	for name := range conf.CreateNew().Builtins {
		m[name] = true
	}
	return m
}()

func (l *loader) loadVars(g *Group, n *node) {
	if n.kind == kindNull {
		return
	}
	if n.kind != kindMap {
		l.errs.add(n.pos, g.Name, "", CodeSchema, "vars must be a mapping of names to values, not a %s", n.describe())
		return
	}
	for i, k := range n.keys {
		if !l.checkName(g, k, "var") {
			continue
		}
		v, msg := constValue(n.vals[i])
		if msg != "" {
			if !n.vals[i].invalid {
				l.errs.add(n.vals[i].pos, g.Name, "", CodeBadVar, "var %s: %s", k.value, msg)
			}
			l.badNames[k.value] = true
			continue
		}
		g.Vars[k.value] = v
	}
}

// constValue converts a YAML value to a typed constant: a number (float64),
// string, bool, or a flat list or map of numbers or of strings.
func constValue(n *node) (any, string) {
	switch n.kind {
	case kindScalar:
		return scalarValue(n), ""
	case kindSeq:
		if len(n.vals) == 0 {
			return []float64{}, ""
		}
		nums, strs := make([]float64, 0, len(n.vals)), make([]string, 0, len(n.vals))
		for _, v := range n.vals {
			switch x := scalarOrNil(v).(type) {
			case int:
				nums = append(nums, float64(x))
			case float64:
				nums = append(nums, x)
			case string:
				strs = append(strs, x)
			default:
				return nil, "a list must hold only numbers or only strings"
			}
		}
		if len(nums) == len(n.vals) {
			return nums, ""
		}
		if len(strs) == len(n.vals) {
			return strs, ""
		}
		return nil, "a list must hold only numbers or only strings"
	case kindMap:
		return flatMap(n)
	}
	return nil, "a var needs a value"
}

func flatMap(n *node) (any, string) {
	if len(n.keys) == 0 {
		return map[string]float64{}, ""
	}
	nums, strs := map[string]float64{}, map[string]string{}
	for i, k := range n.keys {
		switch x := scalarOrNil(n.vals[i]).(type) {
		case int:
			nums[k.value] = float64(x)
		case float64:
			nums[k.value] = x
		case string:
			strs[k.value] = x
		default:
			return nil, fmt.Sprintf("key %s: values must be numbers or strings, not a %s", k.value, n.vals[i].describe())
		}
	}
	switch {
	case len(nums) == len(n.keys):
		return nums, ""
	case len(strs) == len(n.keys):
		return strs, ""
	}
	return nil, "values must be all numbers or all strings"
}

func scalarOrNil(n *node) any {
	if n.kind != kindScalar {
		return nil
	}
	v := scalarValue(n)
	if _, ok := v.(bool); ok {
		return nil
	}
	return v
}

func scalarValue(n *node) any {
	switch n.tag {
	case "int":
		if i, err := strconv.ParseInt(strings.ReplaceAll(n.value, "_", ""), 0, 64); err == nil {
			return int(i)
		}
		return parseYAMLFloat(n.value)
	case "float":
		return parseYAMLFloat(n.value)
	case "bool":
		return n.value == "true"
	}
	return n.value
}

func parseYAMLFloat(s string) float64 {
	switch strings.ToLower(strings.TrimLeft(s, "+")) {
	case ".inf":
		return math.Inf(1)
	case "-.inf":
		return math.Inf(-1)
	case ".nan":
		return math.NaN()
	}
	s = strings.ReplaceAll(s, "_", "")
	if f, err := strconv.ParseFloat(s, 64); err == nil {
		return f
	}
	if i, err := strconv.ParseInt(s, 0, 64); err == nil {
		return float64(i)
	}
	return math.NaN()
}

func (l *loader) loadTables(src *source, g *Group, n *node) {
	if n.kind == kindNull {
		return
	}
	if n.kind != kindMap {
		l.errs.add(n.pos, g.Name, "", CodeSchema, "tables must be a mapping of names to tables, not a %s", n.describe())
		return
	}
	for i, k := range n.keys {
		if !l.checkName(g, k, "table") {
			continue
		}
		v := n.vals[i]
		var t any
		var ok bool
		switch {
		case v.kind == kindScalar && v.tag == "str" && strings.TrimSpace(v.value) == "":
			l.errs.add(v.pos, g.Name, "", CodeBadTable, "table %s: the CSV file name is empty", k.value)
		case v.kind == kindScalar && v.tag == "str":
			t, ok = l.csvTable(src, g, k.value, v, nil, nil)
		case v.kind == kindMap && isFileSpec(v):
			f := l.fields(v, g.Name, "", "table", []string{"file", "key", "value"})
			t, ok = l.csvTable(src, g, k.value, f["file"], f["key"], f["value"])
		case v.kind == kindMap:
			var msg string
			t, msg = flatMap(v)
			if ok = msg == ""; !ok {
				l.errs.add(v.pos, g.Name, "", CodeBadTable, "table %s: %s", k.value, msg)
			}
		case v.invalid:
		default:
			l.errs.add(v.pos, g.Name, "", CodeBadTable, "table %s must be a mapping of keys to values or the path of a CSV file, not a %s", k.value, v.describe())
		}
		if ok {
			g.Tables[k.value] = t
		} else {
			l.badNames[k.value] = true
		}
	}
}

// isFileSpec tells a `{file: x.csv, key: ..., value: ...}` table from an
// inline table: it has a file key holding a string, and no keys but those.
func isFileSpec(n *node) bool {
	f := n.get("file")
	if f == nil || f.kind != kindScalar || f.tag != "str" {
		return false
	}
	for _, k := range n.keys {
		if k.value != "file" && k.value != "key" && k.value != "value" {
			return false
		}
	}
	return true
}

// csvTable reads a table from a CSV file with a header row. The key column
// defaults to the first, the value column to the second.
func (l *loader) csvTable(src *source, g *Group, name string, fileN, keyN, valN *node) (any, bool) {
	path := fileN.value
	if !filepath.IsAbs(path) {
		path = filepath.Join(filepath.Dir(src.file), path)
	}
	data, err := l.opts.ReadFile(path)
	if err != nil {
		code := CodeReadFile
		if errors.Is(err, fs.ErrNotExist) {
			code = CodeMissingTableFile
		}
		l.errs.add(fileN.pos, g.Name, "", code, "table %s: %s: %s", name, path, fsError(err))
		return nil, false
	}
	l.hashFile(path, data)
	bad := func(format string, args ...any) (any, bool) {
		l.errs.add(fileN.pos, g.Name, "", CodeBadTable, "table %s: %s: %s", name, path, fmt.Sprintf(format, args...))
		return nil, false
	}
	r := csv.NewReader(bytes.NewReader(data))
	r.TrimLeadingSpace = true
	r.Comment = '#'
	header, err := r.Read()
	if err == io.EOF {
		return bad("empty file; the first row names the columns")
	}
	if err != nil {
		return bad("%v", err)
	}
	col := func(n *node, def int) (int, bool) {
		if n == nil {
			return def, def < len(header)
		}
		i := slices.Index(header, n.value)
		return i, i >= 0
	}
	ki, ok := col(keyN, 0)
	if !ok {
		return bad("no key column %q in header %v", keyN.value, header)
	}
	vi, ok := col(valN, 1)
	if !ok {
		if valN == nil {
			return bad("needs at least two columns, a key and a value")
		}
		return bad("no value column %q in header %v", valN.value, header)
	}
	if ki == vi {
		return bad("the key and value columns are the same column %q", header[ki])
	}
	nums, strs := map[string]float64{}, map[string]string{}
	allNum, emptyLine := true, 0
	for {
		rec, err := r.Read()
		if err == io.EOF {
			break
		}
		if err != nil {
			return bad("%v", err)
		}
		line, _ := r.FieldPos(0)
		k, v := rec[ki], rec[vi]
		if _, dup := strs[k]; dup {
			return bad("line %d: key %q appears twice", line, k)
		}
		strs[k] = v
		switch t := strings.TrimSpace(v); {
		case t == "":
			if emptyLine == 0 {
				emptyLine = line
			}
		case reDecimal.MatchString(t):
			nums[k], _ = strconv.ParseFloat(t, 64)
		default:
			allNum = false
		}
	}
	if allNum && len(nums) > 0 {
		if emptyLine > 0 {
			return bad("line %d: empty value in a column of numbers", emptyLine)
		}
		return nums, true
	}
	return strs, true
}

func (l *loader) loadRule(c *compiler, rn *node) *Rule {
	g := c.group
	if rn.kind != kindMap {
		l.errs.add(rn.pos, g.Name, "", CodeSchema, "a rule must be a mapping, not a %s", rn.describe())
		return nil
	}
	r := &Rule{Group: g, Pos: rn.pos, On: AllEvents, Severity: SeverityWarning}
	nameN := rn.get("name")
	if nameN != nil && nameN.kind == kindScalar {
		r.Name = nameN.value
		r.Pos = nameN.pos
	}
	f := l.fields(rn, g.Name, r.Name, "rule", ruleFields)
	if nameN == nil {
		l.errs.add(rn.pos, g.Name, "", CodeMissingField, "rule has no name (name: is required)")
		r.Name = fmt.Sprintf("<unnamed@%d>", rn.pos.Line)
	} else if _, ok := l.scalarText(nameN, g.Name, "", "name"); ok && !reGroupName.MatchString(r.Name) {
		l.errs.add(nameN.pos, g.Name, r.Name, CodeBadName, "rule name %q must be letters, digits, _ . or -", r.Name)
	}
	valid, anyScope := true, false
	bad := func(n *node, code Code, format string, args ...any) {
		valid = false
		l.errs.add(n.pos, g.Name, r.Name, code, format, args...)
	}
	if n := f["description"]; n != nil {
		r.Description, _ = l.scalarText(n, g.Name, r.Name, "description")
	}
	if n := f["scope"]; n != nil {
		if s, ok := l.scalarText(n, g.Name, r.Name, "scope"); ok {
			if r.Scope, ok = ParseScope(s); !ok {
				anyScope = true
				bad(n, CodeUnknownScope, "unknown scope %q (calendar, now or promo)%s", s, didYouMean(s, scopeNames[:]))
			}
		}
	}
	if n := f["on"]; n != nil {
		r.On = 0
		items := []*node{n}
		if n.kind == kindSeq {
			items = n.vals
		}
		for _, it := range items {
			s, ok := l.scalarText(it, g.Name, r.Name, "an on entry")
			if !ok {
				valid = false
				continue
			}
			t, ok := event.ParseType(s)
			if !ok {
				bad(it, CodeUnknownEvent, "unknown event type %q (price, stock or promo)%s", s, didYouMean(s, event.TypeNames()))
				continue
			}
			r.On |= 1 << t
		}
		if n.kind == kindSeq && len(n.vals) == 0 {
			bad(n, CodeSchema, "on is empty: the rule could never fire (omit on: for all event types)")
		}
	}
	if n := f["severity"]; n != nil {
		if s, ok := l.scalarText(n, g.Name, r.Name, "severity"); ok {
			if r.Severity, ok = ParseSeverity(s); !ok {
				bad(n, CodeUnknownSeverity, "unknown severity %q (info, warning or critical)%s", s, didYouMean(s, severityNames[:]))
			}
		}
	}
	for _, d := range []struct {
		key string
		dst *time.Duration
	}{{"for", &r.For}, {"repeat", &r.Repeat}} {
		n := f[d.key]
		if n == nil {
			continue
		}
		s, ok := l.scalarText(n, g.Name, r.Name, d.key)
		if !ok {
			valid = false
			continue
		}
		md, err := model.ParseDuration(s)
		if err != nil {
			bad(n, CodeBadDuration, "%s: %q is not a duration (like 90s, 15m, 2h, 1d, 1w)", d.key, s)
			continue
		}
		*d.dst = time.Duration(md)
	}
	if n := f["labels"]; n != nil && n.kind != kindNull {
		if n.kind != kindMap {
			bad(n, CodeSchema, "labels must be a mapping of names to values, not a %s", n.describe())
		} else {
			r.Labels = make(map[string]string, len(n.keys))
			for i, k := range n.keys {
				if !reIdent.MatchString(k.value) {
					bad(k, CodeBadName, "label name %q must be a letter or _ followed by letters, digits or _", k.value)
					continue
				}
				if v, ok := l.scalarText(n.vals[i], g.Name, r.Name, "label "+k.value); ok {
					r.Labels[k.value] = v
				} else {
					valid = false
				}
			}
		}
	}
	site := func(n *node) exprSite { return exprSite{node: n, rule: r.Name, scope: r.Scope, anyScope: anyScope} }
	exprOf := func(key string, want exprType) *Expr {
		n := f[key]
		if n == nil {
			return nil
		}
		s, ok := l.scalarText(n, g.Name, r.Name, key)
		if !ok {
			valid = false
			return nil
		}
		if strings.TrimSpace(s) == "" {
			bad(n, CodeMissingField, "%s is empty", key)
			return nil
		}
		e := c.compile(site(n), s, want)
		if e == nil {
			valid = false
		}
		return e
	}
	r.If = exprOf("if", typeBool)
	if f["if"] == nil {
		bad(rn, CodeMissingField, "rule has no condition (if: is required)")
	}
	r.Floor = exprOf("floor", typeFloat)
	r.Ceiling = exprOf("ceiling", typeFloat)
	if (r.Floor != nil || r.Ceiling != nil) && r.Scope == ScopePromo {
		n := f["floor"]
		if n == nil {
			n = f["ceiling"]
		}
		bad(n, CodeFactScope, "a promo-scope rule cannot set a price bound: corrections are per (sku, channel); use calendar scope")
	}
	if n := f["message"]; n != nil {
		if s, ok := l.scalarText(n, g.Name, r.Name, "message"); ok {
			if r.Message = c.compileTemplate(site(n), s); r.Message == nil {
				valid = false
			}
		}
	}
	if !valid || r.If == nil {
		r.If = nil // marks the rule invalid; the load fails
		return r
	}
	r.Reads = r.If.Reads
	for _, e := range []*Expr{r.Floor, r.Ceiling} {
		if e != nil {
			r.Reads |= e.Reads
		}
	}
	if r.Message != nil {
		r.Reads |= r.Message.Reads
	}
	return r
}
