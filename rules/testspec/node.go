package testspec

import (
	"bytes"
	"errors"
	"fmt"
	"strconv"
	"strings"

	"github.com/goccy/go-yaml/ast"
	"github.com/goccy/go-yaml/parser"
	"github.com/goccy/go-yaml/token"

	"github.com/promoguard/promoguard/rules"
)

// kind is the shape of a YAML node once anchors and aliases are resolved.
type kind int

const (
	kindNull kind = iota
	kindScalar
	kindMap
	kindSeq
)

func (k kind) String() string {
	return [...]string{"null", "scalar", "mapping", "sequence"}[k]
}

// node is a small view of a YAML node with its position. The loader walks
// it by hand, as rules does for rule files, so that it reports every problem
// with a position instead of stopping at the first.
type node struct {
	kind  kind
	pos   rules.Pos
	value string // scalar text as written (numbers) or as resolved (strings)
	// tag is the scalar's YAML type: "str", "int", "float", "bool", "null"
	tag  string
	num  any     // the number of an int or float scalar: int64, uint64 or float64
	keys []*node // mapping keys, in order
	vals []*node // mapping values or sequence items
	// invalid marks a node whose problem is already reported
	invalid bool
}

func (n *node) get(key string) *node {
	for i, k := range n.keys {
		if k.value == key {
			return n.vals[i]
		}
	}
	return nil
}

// describe names a node's shape for "expected X, not Y" messages.
func (n *node) describe() string {
	if n.kind == kindScalar {
		if n.tag == "str" {
			return "string"
		}
		return n.tag
	}
	return n.kind.String()
}

// maxDepth bounds nesting so that a hostile file cannot exhaust the stack.
const maxDepth = 64

// maxAliasNodes bounds the nodes that aliases may expand to (a "billion
// laughs" file would otherwise expand exponentially).
const maxAliasNodes = 100_000

type converter struct {
	file    string
	anchors map[string]*node
	err     *rules.Error // a hard error: the file cannot be read further
	soft    rules.Errors // problems that leave the rest readable
	aliased int          // nodes reached through aliases so far
}

// parseYAML parses a test file into its documents.
func parseYAML(file string, src []byte) ([]*node, rules.Errors, *rules.Error) {
	f, err := parser.ParseBytes(src, 0, parser.AllowDuplicateMapKey())
	if err != nil {
		return nil, nil, yamlError(file, err)
	}
	c := converter{file: file}
	var docs []*node
	for _, d := range f.Docs {
		if d == nil || d.Body == nil {
			continue
		}
		c.anchors = map[string]*node{}
		n := c.convert(d.Body, 0)
		if c.err != nil {
			return nil, nil, c.err
		}
		docs = append(docs, n)
	}
	return docs, c.soft, nil
}

// normalizeSource drops a UTF-8 byte-order mark and turns CRLF into LF, as
// rules does: the YAML parser miscounts lines of quoted scalars with CRLF.
func normalizeSource(data []byte) []byte {
	data = bytes.TrimPrefix(data, []byte("\xef\xbb\xbf"))
	if bytes.Contains(data, []byte("\r\n")) {
		data = bytes.ReplaceAll(data, []byte("\r\n"), []byte("\n"))
	}
	return data
}

func yamlError(file string, err error) *rules.Error {
	e := &rules.Error{Pos: rules.Pos{File: file, Line: 1, Col: 1}, Code: rules.CodeYAMLSyntax, Message: err.Error()}
	var ye interface {
		GetToken() *token.Token
		GetMessage() string
	}
	if errors.As(err, &ye) {
		e.Message = ye.GetMessage()
		if tk := ye.GetToken(); tk != nil && tk.Position != nil {
			e.Line, e.Col = tk.Position.Line, tk.Position.Column
		}
	}
	return e
}

func (c *converter) pos(tk *token.Token) rules.Pos {
	if tk == nil || tk.Position == nil {
		return rules.Pos{File: c.file}
	}
	return rules.Pos{File: c.file, Line: tk.Position.Line, Col: tk.Position.Column}
}

func (c *converter) fail(tk *token.Token, format string, args ...any) *node {
	if c.err == nil {
		c.err = &rules.Error{Pos: c.pos(tk), Code: rules.CodeYAMLSyntax, Message: fmt.Sprintf(format, args...)}
	}
	return &node{kind: kindNull, tag: "null", pos: c.pos(tk)}
}

func (c *converter) softError(p rules.Pos, code rules.Code, format string, args ...any) {
	c.soft = append(c.soft, &rules.Error{Pos: p, Code: code, Message: fmt.Sprintf(format, args...)})
}

func (c *converter) convert(n ast.Node, depth int) *node {
	if c.err != nil {
		return &node{kind: kindNull, tag: "null"}
	}
	if n == nil {
		return &node{kind: kindNull, tag: "null", pos: rules.Pos{File: c.file}}
	}
	if depth > maxDepth {
		return c.fail(n.GetToken(), "nesting deeper than %d levels", maxDepth)
	}
	switch n := n.(type) {
	case *ast.NullNode:
		return &node{kind: kindNull, tag: "null", pos: c.pos(n.Token)}
	case *ast.StringNode:
		return &node{kind: kindScalar, tag: "str", value: n.Value, pos: c.pos(n.Token)}
	case *ast.IntegerNode:
		return &node{kind: kindScalar, tag: "int", value: n.Token.Value, num: n.Value, pos: c.pos(n.Token)}
	case *ast.FloatNode:
		return &node{kind: kindScalar, tag: "float", value: n.Token.Value, num: n.Value, pos: c.pos(n.Token)}
	case *ast.InfinityNode:
		return &node{kind: kindScalar, tag: "float", value: n.Token.Value, num: n.Value, pos: c.pos(n.Token)}
	case *ast.NanNode:
		return &node{kind: kindScalar, tag: "float", value: n.Token.Value, num: nanValue(), pos: c.pos(n.Token)}
	case *ast.BoolNode:
		return &node{kind: kindScalar, tag: "bool", value: strconv.FormatBool(n.Value), pos: c.pos(n.Token)}
	case *ast.LiteralNode:
		return &node{kind: kindScalar, tag: "str", value: n.Value.Value, pos: c.pos(n.Start)}
	case *ast.MappingNode:
		m := &node{kind: kindMap, pos: c.pos(n.Start)}
		c.mapping(m, n.Values, depth)
		if len(m.keys) > 0 && !n.IsFlowStyle {
			m.pos = m.keys[0].pos
		}
		return m
	case *ast.MappingValueNode:
		m := &node{kind: kindMap, pos: c.pos(n.GetToken())}
		c.mapping(m, []*ast.MappingValueNode{n}, depth)
		if len(m.keys) > 0 {
			m.pos = m.keys[0].pos
		}
		return m
	case *ast.MappingKeyNode:
		return c.convert(n.Value, depth+1)
	case *ast.SequenceNode:
		s := &node{kind: kindSeq, pos: c.pos(n.Start)}
		for _, v := range n.Values {
			s.vals = append(s.vals, c.convert(v, depth+1))
		}
		return s
	case *ast.AnchorNode:
		v := c.convert(n.Value, depth+1)
		c.anchors[n.Name.GetToken().Value] = v
		return v
	case *ast.AliasNode:
		name := n.Value.GetToken().Value
		v, ok := c.anchors[name]
		if !ok {
			return c.fail(n.Start, "unknown alias %q", name)
		}
		if c.aliased += size(v, maxAliasNodes); c.aliased > maxAliasNodes {
			return c.fail(n.Start, "aliases expand to more than %d nodes", maxAliasNodes)
		}
		return v
	case *ast.TagNode:
		tag := ""
		if n.Start != nil {
			tag = n.Start.Value
		}
		switch tag {
		case "!!str", "!!int", "!!float", "!!bool", "!!null", "!!map", "!!seq":
			v := c.convert(n.Value, depth+1)
			if v.kind == kindScalar && tag == "!!str" {
				cp := *v
				cp.tag, cp.num = "str", nil
				v = &cp
			}
			return v
		}
		p := c.pos(n.Start)
		c.softError(p, rules.CodeSchema, "unsupported YAML tag %q: a plain value that starts with ! is a tag in YAML; quote it", tag)
		return &node{kind: kindNull, tag: "null", pos: p, invalid: true}
	case *ast.CommentGroupNode, *ast.DirectiveNode:
		return &node{kind: kindNull, tag: "null", pos: c.pos(n.GetToken())}
	}
	return c.fail(n.GetToken(), "unsupported YAML construct %s", n.Type())
}

// size counts a node's descendants, stopping at limit.
func size(n *node, limit int) int {
	total := 1
	for _, v := range n.vals {
		if total >= limit {
			break
		}
		total += size(v, limit-total)
	}
	return total + len(n.keys)
}

// mapping fills m from pairs. Keys written in the mapping win over merged
// (<<) ones; a key written twice is reported and its first value kept.
func (c *converter) mapping(m *node, pairs []*ast.MappingValueNode, depth int) {
	index := map[string]int{}
	var merged []*node
	for _, mv := range pairs {
		if _, ok := mv.Key.(*ast.MergeKeyNode); ok {
			if mv.Value == nil {
				continue
			}
			src := c.convert(mv.Value, depth+1)
			switch src.kind {
			case kindMap:
				merged = append(merged, src)
			case kindSeq:
				for _, it := range src.vals {
					if it.kind != kindMap {
						c.softError(it.pos, rules.CodeSchema, "a merge (<<) list may hold only mappings, not a %s", it.describe())
						continue
					}
					merged = append(merged, it)
				}
			default:
				c.softError(src.pos, rules.CodeSchema, "a merge (<<) needs a mapping or a list of mappings, not a %s", src.describe())
			}
			continue
		}
		k := c.convert(mv.Key, depth+1)
		if k.kind != kindScalar {
			c.fail(mv.Key.GetToken(), "mapping keys must be scalars")
			return
		}
		if first, dup := index[k.value]; dup {
			c.softError(k.pos, rules.CodeDuplicateKey, "key %s appears twice in this mapping (first at %d:%d)", k.value, m.keys[first].pos.Line, m.keys[first].pos.Col)
			continue
		}
		var v *node
		if mv.Value == nil {
			v = &node{kind: kindNull, tag: "null", pos: k.pos}
		} else {
			v = c.convert(mv.Value, depth+1)
		}
		index[k.value] = len(m.keys)
		m.keys = append(m.keys, k)
		m.vals = append(m.vals, v)
	}
	for _, sm := range merged {
		for i, k := range sm.keys {
			if _, ok := index[k.value]; !ok {
				index[k.value] = len(m.keys)
				m.keys = append(m.keys, k)
				m.vals = append(m.vals, sm.vals[i])
			}
		}
	}
}

// source keeps a file's lines, to print snippets under errors.
type source struct{ lines []string }

func newSource(data []byte) *source { return &source{lines: strings.Split(string(data), "\n")} }

// snippet renders a source line with a caret under the column, as rules
// does for rule files.
func (s *source) snippet(p rules.Pos) string {
	if p.Line < 1 || p.Line > len(s.lines) || p.Col < 1 {
		return ""
	}
	l := strings.ReplaceAll(strings.TrimRight(s.lines[p.Line-1], "\r"), "\t", " ")
	if l == "" {
		return ""
	}
	num := strconv.Itoa(p.Line)
	pad := strings.Repeat(" ", len(num))
	col := min(p.Col-1, len([]rune(l)))
	return "  " + num + " | " + l + "\n  " + pad + " | " + strings.Repeat(" ", col) + "^"
}
