package rules

import (
	"errors"
	"fmt"
	"reflect"
	"regexp"
	"sort"
	"strings"

	"github.com/expr-lang/expr"
	"github.com/expr-lang/expr/ast"
	"github.com/expr-lang/expr/checker"
	exprcompiler "github.com/expr-lang/expr/compiler"
	"github.com/expr-lang/expr/conf"
	"github.com/expr-lang/expr/file"
	"github.com/expr-lang/expr/optimizer"
	"github.com/expr-lang/expr/parser"
	"github.com/promoguard/promoguard/internal/yamlpos"
)

// exprType is what an expression must evaluate to.
type exprType uint8

const (
	typeBool exprType = iota
	typeFloat
	typeAny
)

// compiler compiles the expressions of one group.
type compiler struct {
	l        *loader
	src      *yamlpos.Source
	group    *Group
	consts   map[string]any  // vars and tables, substituted as constants
	reported map[string]bool // names whose definition failed and was reported
}

// exprSite says where an expression comes from, for errors.
type exprSite struct {
	node   *node // the YAML scalar holding it
	offset int   // rune offset of the expression inside the scalar's value
	rule   string
	scope  Scope
	// anyScope skips the scope check when the rule's scope itself is
	// invalid (already reported).
	anyScope bool
}

// compile compiles one expression and reports every problem it finds. It
// returns nil when the expression is not valid.
func (c *compiler) compile(site exprSite, src string, want exprType) *Expr {
	e := &Expr{Source: src, Pos: c.src.PosAt(site.node, site.offset)}
	cfg := c.l.conf(want)
	if depth, at := nestingDepth(src); depth > maxNesting {
		c.exprError(site, CodeTooComplex, nil, at, fmt.Sprintf("brackets nested %d deep, more than the limit of %d", depth, maxNesting))
		return nil
	}
	tree, err := parser.ParseWithConfig(src, cfg)
	if err != nil {
		code := CodeExprSyntax
		if strings.Contains(err.Error(), "maximum allowed nodes") {
			code = CodeTooComplex
		}
		var fe *file.Error
		if errors.As(err, &fe) && strings.Contains(fe.Message, "EOF") && c.commentCut(site.node) {
			c.exprError(site, code, nil, fe.From, strings.TrimSpace(fe.Message)+
				" (in YAML a space followed by # starts a comment, which cut this expression short: quote it)")
			return nil
		}
		c.exprError(site, code, err, 0, "")
		return nil
	}
	a := c.analyze(site, tree.Node)
	// Substitute vars and tables, then type check. This is expr.Compile
	// split open: expr.Patch would type check twice, and its second pass
	// skips the arguments of typed function calls, losing their errors.
	ast.Walk(&tree.Node, &constPatcher{consts: c.consts, lets: a.lets})
	typ, err := checker.Check(tree, cfg)
	if err != nil {
		c.checkError(site, tree.Node, err, want)
		return nil
	}
	if !a.ok {
		return nil
	}
	e.typ = typ
	ast.Walk(&tree.Node, boundPatcher{})
	if err := optimizer.Optimize(&tree.Node, cfg); err != nil {
		c.exprError(site, CodeTypeError, err, 0, "")
		return nil
	}
	prog, err := exprcompiler.Compile(tree, cfg)
	if err != nil {
		c.exprError(site, CodeTypeError, err, 0, "")
		return nil
	}
	e.Program = prog
	e.Reads = a.reads
	e.Paths = a.paths
	return e
}

// conf returns the expr configuration for expressions of one result type,
// built once per load: the typed Facts env, the built-in functions, the
// node budget.
func (l *loader) conf(want exprType) *conf.Config {
	if c := l.confs[want]; c != nil {
		return c
	}
	c := conf.CreateNew()
	for _, o := range l.exprOpts {
		o(c)
	}
	switch want {
	case typeBool:
		expr.AsBool()(c)
	case typeFloat:
		expr.AsFloat64()(c)
	}
	for name := range c.Disabled {
		delete(c.Builtins, name)
	}
	c.Check()
	l.confs[want] = c
	return c
}

// maxNesting bounds brackets nesting in an expression: expr's parser
// recurses once per bracket, and brackets are not nodes, so MaxNodes does not
// stop a megabyte of "(((((" from overflowing the stack.
const maxNesting = 64

// nestingDepth returns the deepest bracket nesting in src, outside string
// literals, and the rune offset where it is first reached.
func nestingDepth(src string) (depth, at int) {
	d, i := 0, 0
	var quote rune
	escaped := false
	for _, r := range src {
		switch {
		case quote != 0:
			switch {
			case escaped:
				escaped = false
			case r == '\\':
				escaped = true
			case r == quote:
				quote = 0
			}
		case r == '"' || r == '\'' || r == '`':
			quote = r
		case r == '(' || r == '[' || r == '{':
			d++
			if d > depth {
				depth, at = d, i
			}
		case r == ')' || r == ']' || r == '}':
			d--
		}
		i++
	}
	return depth, at
}

// commentCut reports whether a plain YAML scalar is followed by a comment on
// its line: `if: len(filter(xs, # > 0)) > 0` loses everything from " #".
func (c *compiler) commentCut(n *node) bool {
	if n == nil || n.Style != yamlpos.Plain || strings.Contains(n.Value, "\n") {
		return false
	}
	rest := yamlpos.RuneSuffix(c.src.Line(n.Pos.Line), n.Pos.Col-1+runeLen(n.Value))
	return strings.HasPrefix(strings.TrimLeft(rest, " \t"), "#")
}

// analysis is what the static pass over a parsed expression learns.
type analysis struct {
	ok    bool
	lets  map[string]bool
	reads FactSet
	paths []string
}

// analyze checks what the type checker cannot: names declared by `let` that
// hide other names, facts used outside their scope, constant ranges and
// predicate nesting over the limits. It also collects the facts read.
func (c *compiler) analyze(site exprSite, root ast.Node) analysis {
	a := analysis{ok: true, lets: map[string]bool{}}
	fail := func(n ast.Node, code Code, format string, args ...any) {
		a.ok = false
		c.l.errs.add(c.src.PosAt(site.node, site.offset+n.Location().From), c.group.Name, site.rule, code, format, args...)
	}
	var idents []*ast.IdentifierNode
	consumed := map[*ast.IdentifierNode]bool{}
	paths := map[string]bool{}
	ast.Find(root, func(n ast.Node) bool {
		switch n := n.(type) {
		case *ast.VariableDeclaratorNode:
			if what := c.nameKind(n.Name); what != "" {
				fail(n, CodeNameClash, "let %s hides the %s %s; choose another name", n.Name, what, n.Name)
			}
			a.lets[n.Name] = true
		case *ast.IdentifierNode:
			if n.Value == "$env" {
				fail(n, CodeUnknownFact, "$env is not available in rules: name the fact itself (margin, not $env.margin)")
				break
			}
			idents = append(idents, n)
		case *ast.MemberNode:
			if id, ok := n.Node.(*ast.IdentifierNode); ok && Fact(id.Value) != nil {
				if p, ok := n.Property.(*ast.StringNode); ok && !n.Method {
					consumed[id] = true
					paths[id.Value+"."+p.Value] = true
				}
			}
		case *ast.BinaryNode:
			if n.Operator == ".." {
				lo, lok := c.constInt(n.Left)
				hi, hok := c.constInt(n.Right)
				switch {
				case !lok || !hok:
					// A range sized by a fact could be iterated, nested, far
					// longer than any memory budget would notice.
					fail(n, CodeRangeTooLarge, "range bounds must be whole-number constants or vars, so that its size is known when the rule loads")
				case hi-lo+1 > int64(c.l.opts.MaxRange):
					fail(n, CodeRangeTooLarge, "range %d..%d has %d elements, more than the limit of %d", lo, hi, hi-lo+1, c.l.opts.MaxRange)
				}
			}
		case *ast.PredicateNode:
			if d := predicateDepth(n); d > c.l.opts.MaxClosureDepth {
				fail(n, CodeClosureNesting, "predicates nested %d deep, more than the limit of %d", d, c.l.opts.MaxClosureDepth)
			}
		}
		return false
	})
	reported := map[string]bool{}
	for _, id := range idents {
		if a.lets[id.Value] {
			continue
		}
		f := Fact(id.Value)
		if f == nil {
			continue
		}
		if !site.anyScope && !f.InScope(site.scope) {
			if !reported[id.Value] {
				reported[id.Value] = true
				fail(id, CodeFactScope, "fact %s has no value in %s scope (%s)", id.Value, site.scope, scopeHint(f))
			}
			continue
		}
		a.reads |= f.Bit
		if !consumed[id] {
			paths[id.Value] = true
		}
	}
	for p := range paths {
		a.paths = append(a.paths, p)
	}
	sort.Strings(a.paths)
	return a
}

// scopeHint says where a fact can be used.
func scopeHint(f *FactInfo) string {
	var in []string
	for s := Scope(0); s < numScopes; s++ {
		if f.InScope(s) {
			in = append(in, s.String())
		}
	}
	return "it is available in " + strings.Join(in, " and ") + " scope"
}

// predicateDepth is the number of predicates nested in n, n included.
func predicateDepth(p *ast.PredicateNode) int {
	inner := 0
	ast.Find(p.Node, func(n ast.Node) bool {
		if q, ok := n.(*ast.PredicateNode); ok {
			inner = max(inner, predicateDepth(q))
		}
		return false
	})
	return 1 + inner
}

// constInt evaluates an integer literal, a negated one, or a numeric var.
func (c *compiler) constInt(n ast.Node) (int64, bool) {
	switch n := n.(type) {
	case *ast.IntegerNode:
		return int64(n.Value), true
	case *ast.UnaryNode:
		if n.Operator == "-" {
			v, ok := c.constInt(n.Node)
			return -v, ok
		}
	case *ast.IdentifierNode:
		switch v := c.consts[n.Value].(type) {
		case int:
			return int64(v), true
		case float64:
			return int64(v), true
		}
	}
	return 0, false
}

// nameKind says what a name already is in this group: a fact, a function,
// a var or a table; "" when it is free.
func (c *compiler) nameKind(name string) string {
	switch {
	case Fact(name) != nil:
		return "fact"
	case builtinIndex[name] != nil, exprBuiltinNames[name]:
		return "function"
	}
	if _, ok := c.group.Vars[name]; ok {
		return "var"
	}
	if _, ok := c.group.Tables[name]; ok {
		return "table"
	}
	return ""
}

// constPatcher replaces the names of a group's vars and tables by their
// values before type checking, so that they are typed constants.
type constPatcher struct {
	consts map[string]any
	lets   map[string]bool
}

func (p *constPatcher) Visit(n *ast.Node) {
	id, ok := (*n).(*ast.IdentifierNode)
	if !ok || p.lets[id.Value] {
		return
	}
	if v, ok := p.consts[id.Value]; ok {
		ast.Patch(n, &ast.ConstantNode{Value: v})
	}
}

var (
	stringType = reflect.TypeFor[string]()
	anyType    = reflect.TypeFor[any]()
)

// boundPatcher runs after type checking: it replaces string + and join()
// with functions that bound the length of what they build (MaxString), and
// keys() with one that lists a map's keys in sorted order. The
// compiler calls a registered function without needing its type, so the
// checked tree needs no second pass.
type boundPatcher struct{}

func (boundPatcher) Visit(n *ast.Node) {
	var call *ast.CallNode
	switch x := (*n).(type) {
	case *ast.BinaryNode:
		l, r := x.Left.Type(), x.Right.Type()
		if x.Operator != "+" || (l != stringType && l != anyType) || (r != stringType && r != anyType) {
			return
		}
		call = &ast.CallNode{Callee: &ast.IdentifierNode{Value: fnConcatName}, Arguments: []ast.Node{x.Left, x.Right}}
		call.SetType(x.Type())
	case *ast.BuiltinNode:
		switch x.Name {
		case "join":
			call = &ast.CallNode{Callee: &ast.IdentifierNode{Value: fnJoinName}, Arguments: x.Arguments}
			call.SetType(stringType)
		case "keys":
			// expr's keys() lists a map in Go's random order: a message
			// naming them would differ between two runs of the same input
			call = &ast.CallNode{Callee: &ast.IdentifierNode{Value: fnKeysName}, Arguments: x.Arguments}
			call.SetType(x.Type())
		default:
			return
		}
	default:
		return
	}
	ast.Patch(n, call)
}

var (
	reUnknownName = regexp.MustCompile(`^unknown name (\S+)`)
	reNoField     = regexp.MustCompile(`^type (\S+) has no field (\S+)`)
	reExpected    = regexp.MustCompile(`^expected (\S+), but got (\S+)`)
)

// checkError turns a type checker error into a positioned, coded error.
func (c *compiler) checkError(site exprSite, root ast.Node, err error, want exprType) {
	var fe *file.Error
	if !errors.As(err, &fe) {
		msg := err.Error()
		if m := reExpected.FindStringSubmatch(msg); m != nil {
			msg = fmt.Sprintf("expression is %s, must be %s", m[2], typeWord(want))
		}
		c.l.errs.add(c.src.PosAt(site.node, site.offset), c.group.Name, site.rule, CodeTypeError, "%s", msg)
		return
	}
	msg := strings.TrimSpace(fe.Message)
	if m := reUnknownName.FindStringSubmatch(msg); m != nil {
		name := m[1]
		if c.reported[name] {
			return // its definition failed, and that was reported
		}
		if isLookupTable(root, name) {
			c.exprError(site, CodeMissingTable, nil, fe.From,
				fmt.Sprintf("table %s is not defined in group %s%s", name, c.group.Name, listHint("tables", keys(c.group.Tables))))
			return
		}
		c.exprError(site, CodeUnknownFact, nil, fe.From, fmt.Sprintf("unknown name %s%s", name, c.suggest(name)))
		return
	}
	if m := reNoField.FindStringSubmatch(msg); m != nil {
		typ, field := m[1], m[2]
		from := fe.From
		if p := findProperty(root, typ, field); p != nil {
			from = p.Location().From
		}
		hint := ""
		if t, ok := memberTypes[typ]; ok {
			hint = yamlpos.DidYouMean(field, memberNames(t))
		}
		c.exprError(site, CodeUnknownMember, nil, from, fmt.Sprintf("%s has no field %s%s", friendlyType(typ), field, hint))
		return
	}
	if strings.HasSuffix(msg, "to call lookup") {
		msg = "lookup(table, key) or lookup(table, key, default): the key must be a string and the default of the table's type" + c.tableTypes()
	}
	c.exprError(site, CodeTypeError, nil, fe.From, msg)
}

// tableTypes says what each table of the group holds, for lookup() errors.
func (c *compiler) tableTypes() string {
	var parts []string
	for _, name := range keys(c.group.Tables) {
		kind := "numbers"
		if _, ok := c.group.Tables[name].(map[string]string); ok {
			kind = "strings"
		}
		parts = append(parts, name+" holds "+kind)
	}
	if len(parts) == 0 {
		return ""
	}
	return " (" + strings.Join(parts, ", ") + ")"
}

func typeWord(t exprType) string {
	switch t {
	case typeBool:
		return "bool (a condition)"
	case typeFloat:
		return "a number (a price bound)"
	}
	return "any value"
}

// memberTypes maps the checker's type names to the struct types of facts.
var memberTypes = func() map[string]reflect.Type {
	m := map[string]reflect.Type{}
	for _, t := range []reflect.Type{
		reflect.TypeFor[Promo](), reflect.TypeFor[Overlap](), reflect.TypeFor[Stock](),
		reflect.TypeFor[ChannelFacts](), reflect.TypeFor[History](), reflect.TypeFor[Segment](),
		reflect.TypeFor[Event](), reflect.TypeFor[Facts](),
	} {
		m[t.String()] = t
	}
	return m
}()

func friendlyType(typ string) string {
	if _, ok := memberTypes[typ]; ok {
		return strings.ToLower(strings.TrimPrefix(typ, "rules."))
	}
	return typ
}

// exprError reports an error at a rune offset of the expression. The
// expression source is not echoed: the snippet shows the line.
func (c *compiler) exprError(site exprSite, code Code, err error, from int, msg string) {
	if err != nil {
		var fe *file.Error
		if errors.As(err, &fe) {
			from, msg = fe.From, fe.Message
		} else {
			msg = err.Error()
		}
	}
	c.l.errs.add(c.src.PosAt(site.node, site.offset+from), c.group.Name, site.rule, code, "%s", msg)
}

func isLookupTable(root ast.Node, name string) bool {
	found := false
	ast.Find(root, func(n ast.Node) bool {
		call, ok := n.(*ast.CallNode)
		if !ok || len(call.Arguments) == 0 {
			return false
		}
		if fn, ok := call.Callee.(*ast.IdentifierNode); ok && fn.Value == "lookup" {
			if id, ok := call.Arguments[0].(*ast.IdentifierNode); ok && id.Value == name {
				found = true
			}
		}
		return false
	})
	return found
}

// findProperty finds the member access that the checker rejected: the
// property named field on a value of type typ (the checker has typed the
// nodes it visited), or else the first property named field.
func findProperty(root ast.Node, typ, field string) ast.Node {
	var exact, first ast.Node
	ast.Find(root, func(n ast.Node) bool {
		m, ok := n.(*ast.MemberNode)
		if !ok {
			return false
		}
		if p, ok := m.Property.(*ast.StringNode); ok && p.Value == field {
			if exact == nil && m.Node.Type().String() == typ {
				exact = p
			}
			if first == nil {
				first = p
			}
		}
		return false
	})
	if exact != nil {
		return exact
	}
	return first
}

// suggest proposes the closest known name for a misspelt one.
func (c *compiler) suggest(name string) string {
	cands := FactNames()
	cands = append(cands, keys(c.group.Vars)...)
	cands = append(cands, keys(c.group.Tables)...)
	for _, b := range builtins {
		cands = append(cands, b.name)
	}
	return yamlpos.DidYouMean(name, cands)
}

func listHint(what string, names []string) string {
	if len(names) == 0 {
		return " (it defines no " + what + ")"
	}
	return " (" + what + ": " + strings.Join(names, ", ") + ")"
}

func keys[V any](m map[string]V) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}
