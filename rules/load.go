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
	"github.com/promoguard/promoguard/internal/yamlpos"

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
	sources  map[string]*yamlpos.Source
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
		sources:  map[string]*yamlpos.Source{},
		hash:     sha256.New(),
		groups:   map[string]*Group{},
		rs:       &RuleSet{},
	}
}

func (l *loader) finish() (*RuleSet, error) {
	if len(l.errs.list) > 0 {
		for _, e := range l.errs.list {
			if s := l.sources[e.File]; s != nil {
				e.Snippet = s.Snippet(e.Pos)
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
	data = yamlpos.Normalize(data)
	src := yamlpos.NewSource(name, data)
	l.sources[name] = src
	docs, soft, perr := yamlpos.Parse(name, data)
	if perr != nil {
		l.errs.list = append(l.errs.list, YAMLErrors(perr)...)
		return
	}
	l.errs.list = append(l.errs.list, YAMLErrors(soft...)...)
	groups, errs := len(l.rs.Groups), len(l.errs.list)
	defer func() {
		if len(l.rs.Groups) == groups && len(l.errs.list) == errs {
			l.errs.add(Pos{File: name, Line: 1, Col: 1}, "", "", CodeNoRules, "file holds no rule group")
		}
	}()
	for _, d := range docs {
		switch {
		case d.Kind == yamlpos.Null:
		case d.Kind != yamlpos.Map:
			l.errs.add(d.Pos, "", "", CodeSchema, "a rule file is a mapping with group: and rules:, or with groups:, not a %s", d.Describe())
		case d.Get("groups") != nil:
			f := l.fields(d, "", "", "file", []string{"groups"})
			gs := f["groups"]
			if gs.Kind != yamlpos.Seq {
				l.errs.add(gs.Pos, "", "", CodeSchema, "groups must be a list of groups, not a %s", gs.Describe())
				continue
			}
			for _, g := range gs.Vals {
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
	if n.Kind != yamlpos.Map {
		l.errs.add(n.Pos, group, rule, CodeSchema, "a %s must be a mapping, not a %s", what, n.Describe())
		return out
	}
	for i, k := range n.Keys {
		if !slices.Contains(allowed, k.Value) {
			hint := yamlpos.DidYouMean(k.Value, allowed)
			if hint == "" && what == "group" && slices.Contains(ruleFields, k.Value) {
				hint = "; " + k.Value + " belongs to each rule, under rules:"
			}
			l.errs.add(k.Pos, group, rule, CodeUnknownField, "unknown key %s in %s%s", k.Value, what, hint)
			continue
		}
		out[k.Value] = n.Vals[i]
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
	case n.Invalid:
		return "", false
	case n.Kind == yamlpos.Null:
		l.errs.add(n.Pos, group, rule, CodeMissingField, "%s is empty", what)
		return "", false
	case n.Kind != yamlpos.Scalar:
		l.errs.add(n.Pos, group, rule, CodeSchema, "%s must be a single value, not a %s", what, n.Describe())
		return "", false
	}
	return n.Value, true
}

func (l *loader) loadGroup(src *yamlpos.Source, gn *node) {
	name := ""
	if gn.Kind == yamlpos.Map {
		if n := gn.Get("group"); n != nil && n.Kind == yamlpos.Scalar {
			name = n.Value
		}
	}
	f := l.fields(gn, name, "", "group", groupFields)
	if gn.Kind != yamlpos.Map {
		return
	}
	g := &Group{File: src.File(), Pos: gn.Pos, Vars: map[string]any{}, Tables: map[string]any{}}
	l.badNames = map[string]bool{}
	nameNode := f["group"]
	if nameNode == nil {
		l.errs.add(gn.Pos, "", "", CodeMissingField, "group has no name (group: is required)")
		g.Name = fmt.Sprintf("<unnamed@%d>", gn.Pos.Line)
	} else if name, ok := l.scalarText(nameNode, "", "", "group"); ok {
		g.Name, g.Pos = name, nameNode.Pos
		if !reGroupName.MatchString(name) {
			l.errs.add(nameNode.Pos, name, "", CodeBadName, "group name %q must be letters, digits, _ . or -", name)
		} else if name == ReservedGroup {
			l.errs.add(nameNode.Pos, name, "", CodeBadName, "group name %q is reserved for the built-in checks", name)
		}
		if prev, dup := l.groups[name]; dup {
			l.errs.add(nameNode.Pos, name, "", CodeDuplicateGroup, "group %s is already defined at %s", name, prev.Pos)
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
		l.errs.add(gn.Pos, g.Name, "", CodeMissingField, "group has no rules (rules: is required)")
	case rn.Kind == yamlpos.Null:
		l.errs.add(rn.Pos, g.Name, "", CodeMissingField, "group has no rules (rules: is empty)")
	case rn.Kind != yamlpos.Seq:
		l.errs.add(rn.Pos, g.Name, "", CodeSchema, "rules must be a list, not a %s", rn.Describe())
	case len(rn.Vals) == 0:
		l.errs.add(rn.Pos, g.Name, "", CodeMissingField, "group has no rules (rules: is empty)")
	default:
		seen := map[string]*Rule{}
		for _, r := range rn.Vals {
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
	name := k.Value
	switch {
	case !reIdent.MatchString(name):
		l.errs.add(k.Pos, g.Name, "", CodeBadName, "%s name %q must be a letter or _ followed by letters, digits or _", what, name)
		l.badNames[name] = true
	case slices.Contains(exprWords, name):
		l.errs.add(k.Pos, g.Name, "", CodeNameClash, "%s name %s is a keyword of the expression language", what, name)
	case Fact(name) != nil:
		l.errs.add(k.Pos, g.Name, "", CodeNameClash, "%s %s hides the fact %s; choose another name", what, name, name)
	case builtinIndex[name] != nil || exprBuiltinNames[name]:
		l.errs.add(k.Pos, g.Name, "", CodeNameClash, "%s %s hides the function %s; choose another name", what, name, name)
	default:
		_, v := g.Vars[name]
		_, t := g.Tables[name]
		if v || t {
			l.errs.add(k.Pos, g.Name, "", CodeNameClash, "%s %s is already defined as a var or table in this group", what, name)
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
	if n.Kind == yamlpos.Null {
		return
	}
	if n.Kind != yamlpos.Map {
		l.errs.add(n.Pos, g.Name, "", CodeSchema, "vars must be a mapping of names to values, not a %s", n.Describe())
		return
	}
	for i, k := range n.Keys {
		if !l.checkName(g, k, "var") {
			continue
		}
		v, msg := constValue(n.Vals[i])
		if msg != "" {
			if !n.Vals[i].Invalid {
				l.errs.add(n.Vals[i].Pos, g.Name, "", CodeBadVar, "var %s: %s", k.Value, msg)
			}
			l.badNames[k.Value] = true
			continue
		}
		g.Vars[k.Value] = v
	}
}

// constValue converts a YAML value to a typed constant: a number (float64),
// string, bool, or a flat list or map of numbers or of strings.
func constValue(n *node) (any, string) {
	switch n.Kind {
	case yamlpos.Scalar:
		return scalarValue(n), ""
	case yamlpos.Seq:
		if len(n.Vals) == 0 {
			return []float64{}, ""
		}
		nums, strs := make([]float64, 0, len(n.Vals)), make([]string, 0, len(n.Vals))
		for _, v := range n.Vals {
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
		if len(nums) == len(n.Vals) {
			return nums, ""
		}
		if len(strs) == len(n.Vals) {
			return strs, ""
		}
		return nil, "a list must hold only numbers or only strings"
	case yamlpos.Map:
		return flatMap(n)
	}
	return nil, "a var needs a value"
}

func flatMap(n *node) (any, string) {
	if len(n.Keys) == 0 {
		return map[string]float64{}, ""
	}
	nums, strs := map[string]float64{}, map[string]string{}
	for i, k := range n.Keys {
		switch x := scalarOrNil(n.Vals[i]).(type) {
		case int:
			nums[k.Value] = float64(x)
		case float64:
			nums[k.Value] = x
		case string:
			strs[k.Value] = x
		default:
			return nil, fmt.Sprintf("key %s: values must be numbers or strings, not a %s", k.Value, n.Vals[i].Describe())
		}
	}
	switch {
	case len(nums) == len(n.Keys):
		return nums, ""
	case len(strs) == len(n.Keys):
		return strs, ""
	}
	return nil, "values must be all numbers or all strings"
}

func scalarOrNil(n *node) any {
	if n.Kind != yamlpos.Scalar {
		return nil
	}
	v := scalarValue(n)
	if _, ok := v.(bool); ok {
		return nil
	}
	return v
}

func scalarValue(n *node) any {
	switch n.Tag {
	case "int":
		if i, err := strconv.ParseInt(strings.ReplaceAll(n.Value, "_", ""), 0, 64); err == nil {
			return int(i)
		}
		return parseYAMLFloat(n.Value)
	case "float":
		return parseYAMLFloat(n.Value)
	case "bool":
		return n.Value == "true"
	}
	return n.Value
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

func (l *loader) loadTables(src *yamlpos.Source, g *Group, n *node) {
	if n.Kind == yamlpos.Null {
		return
	}
	if n.Kind != yamlpos.Map {
		l.errs.add(n.Pos, g.Name, "", CodeSchema, "tables must be a mapping of names to tables, not a %s", n.Describe())
		return
	}
	for i, k := range n.Keys {
		if !l.checkName(g, k, "table") {
			continue
		}
		v := n.Vals[i]
		var t any
		var ok bool
		switch {
		case v.Kind == yamlpos.Scalar && v.Tag == "str" && strings.TrimSpace(v.Value) == "":
			l.errs.add(v.Pos, g.Name, "", CodeBadTable, "table %s: the CSV file name is empty", k.Value)
		case v.Kind == yamlpos.Scalar && v.Tag == "str":
			t, ok = l.csvTable(src, g, k.Value, v, nil, nil)
		case v.Kind == yamlpos.Map && isFileSpec(v):
			f := l.fields(v, g.Name, "", "table", []string{"file", "key", "value"})
			t, ok = l.csvTable(src, g, k.Value, f["file"], f["key"], f["value"])
		case v.Kind == yamlpos.Map:
			var msg string
			t, msg = flatMap(v)
			if ok = msg == ""; !ok {
				l.errs.add(v.Pos, g.Name, "", CodeBadTable, "table %s: %s", k.Value, msg)
			}
		case v.Invalid:
		default:
			l.errs.add(v.Pos, g.Name, "", CodeBadTable, "table %s must be a mapping of keys to values or the path of a CSV file, not a %s", k.Value, v.Describe())
		}
		if ok {
			g.Tables[k.Value] = t
		} else {
			l.badNames[k.Value] = true
		}
	}
}

// isFileSpec tells a `{file: x.csv, key: ..., value: ...}` table from an
// inline table: it has a file key holding a string, and no keys but those.
func isFileSpec(n *node) bool {
	f := n.Get("file")
	if f == nil || f.Kind != yamlpos.Scalar || f.Tag != "str" {
		return false
	}
	for _, k := range n.Keys {
		if k.Value != "file" && k.Value != "key" && k.Value != "value" {
			return false
		}
	}
	return true
}

// csvTable reads a table from a CSV file with a header row. The key column
// defaults to the first, the value column to the second.
func (l *loader) csvTable(src *yamlpos.Source, g *Group, name string, fileN, keyN, valN *node) (any, bool) {
	path := fileN.Value
	if !filepath.IsAbs(path) {
		path = filepath.Join(filepath.Dir(src.File()), path)
	}
	data, err := l.opts.ReadFile(path)
	if err != nil {
		code := CodeReadFile
		if errors.Is(err, fs.ErrNotExist) {
			code = CodeMissingTableFile
		}
		l.errs.add(fileN.Pos, g.Name, "", code, "table %s: %s: %s", name, path, fsError(err))
		return nil, false
	}
	l.hashFile(path, data)
	bad := func(format string, args ...any) (any, bool) {
		l.errs.add(fileN.Pos, g.Name, "", CodeBadTable, "table %s: %s: %s", name, path, fmt.Sprintf(format, args...))
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
		i := slices.Index(header, n.Value)
		return i, i >= 0
	}
	ki, ok := col(keyN, 0)
	if !ok {
		return bad("no key column %q in header %v", keyN.Value, header)
	}
	vi, ok := col(valN, 1)
	if !ok {
		if valN == nil {
			return bad("needs at least two columns, a key and a value")
		}
		return bad("no value column %q in header %v", valN.Value, header)
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
	if rn.Kind != yamlpos.Map {
		l.errs.add(rn.Pos, g.Name, "", CodeSchema, "a rule must be a mapping, not a %s", rn.Describe())
		return nil
	}
	r := &Rule{Group: g, Pos: rn.Pos, On: AllEvents, Severity: SeverityWarning}
	nameN := rn.Get("name")
	if nameN != nil && nameN.Kind == yamlpos.Scalar {
		r.Name = nameN.Value
		r.Pos = nameN.Pos
	}
	f := l.fields(rn, g.Name, r.Name, "rule", ruleFields)
	if nameN == nil {
		l.errs.add(rn.Pos, g.Name, "", CodeMissingField, "rule has no name (name: is required)")
		r.Name = fmt.Sprintf("<unnamed@%d>", rn.Pos.Line)
	} else if _, ok := l.scalarText(nameN, g.Name, "", "name"); ok && !reGroupName.MatchString(r.Name) {
		l.errs.add(nameN.Pos, g.Name, r.Name, CodeBadName, "rule name %q must be letters, digits, _ . or -", r.Name)
	}
	valid, anyScope := true, false
	bad := func(n *node, code Code, format string, args ...any) {
		valid = false
		l.errs.add(n.Pos, g.Name, r.Name, code, format, args...)
	}
	if n := f["description"]; n != nil {
		r.Description, _ = l.scalarText(n, g.Name, r.Name, "description")
	}
	if n := f["scope"]; n != nil {
		if s, ok := l.scalarText(n, g.Name, r.Name, "scope"); ok {
			if r.Scope, ok = ParseScope(s); !ok {
				anyScope = true
				bad(n, CodeUnknownScope, "unknown scope %q (calendar, now or promo)%s", s, yamlpos.DidYouMean(s, scopeNames[:]))
			}
		}
	}
	if n := f["on"]; n != nil {
		r.On = 0
		items := []*node{n}
		if n.Kind == yamlpos.Seq {
			items = n.Vals
		}
		for _, it := range items {
			s, ok := l.scalarText(it, g.Name, r.Name, "an on entry")
			if !ok {
				valid = false
				continue
			}
			t, ok := event.ParseType(s)
			if !ok {
				bad(it, CodeUnknownEvent, "unknown event type %q (price, stock or promo)%s", s, yamlpos.DidYouMean(s, event.TypeNames()))
				continue
			}
			r.On |= 1 << t
		}
		if n.Kind == yamlpos.Seq && len(n.Vals) == 0 {
			bad(n, CodeSchema, "on is empty: the rule could never fire (omit on: for all event types)")
		}
	}
	if n := f["severity"]; n != nil {
		if s, ok := l.scalarText(n, g.Name, r.Name, "severity"); ok {
			if r.Severity, ok = ParseSeverity(s); !ok {
				bad(n, CodeUnknownSeverity, "unknown severity %q (info, warning or critical)%s", s, yamlpos.DidYouMean(s, severityNames[:]))
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
	if n := f["labels"]; n != nil && n.Kind != yamlpos.Null {
		if n.Kind != yamlpos.Map {
			bad(n, CodeSchema, "labels must be a mapping of names to values, not a %s", n.Describe())
		} else {
			r.Labels = make(map[string]string, len(n.Keys))
			for i, k := range n.Keys {
				if !reIdent.MatchString(k.Value) {
					bad(k, CodeBadName, "label name %q must be a letter or _ followed by letters, digits or _", k.Value)
					continue
				}
				if v, ok := l.scalarText(n.Vals[i], g.Name, r.Name, "label "+k.Value); ok {
					r.Labels[k.Value] = v
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
