package rules

import (
	"errors"
	"fmt"
	"strconv"
	"strings"

	"github.com/goccy/go-yaml/ast"
	"github.com/goccy/go-yaml/parser"
	"github.com/goccy/go-yaml/token"
)

// kind is the shape of a YAML node after anchors and aliases are resolved.
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

// scalar styles, used to map positions inside an expression back to the file.
type style int

const (
	stylePlain style = iota
	styleSingle
	styleDouble
	styleLiteral // | block
	styleFolded  // > block
)

// node is a small, library-independent view of a YAML node with its position.
// The loader walks it by hand so that it can report every problem with a
// position, rather than stopping at the first, as a decoder into structs would.
type node struct {
	kind  kind
	pos   Pos
	value string // scalar text
	// scalar type as YAML resolves it: "str", "int", "float", "bool", "null"
	tag   string
	style style
	keys  []*node // mapping keys, in order
	vals  []*node // mapping values or sequence items
}

// get returns the value of a mapping key, or nil.
func (n *node) get(key string) *node {
	for i, k := range n.keys {
		if k.value == key {
			return n.vals[i]
		}
	}
	return nil
}

// describe names a node's shape for "expected X, got Y" messages.
func (n *node) describe() string {
	if n.kind == kindScalar {
		if n.tag == "str" {
			return "string"
		}
		return n.tag
	}
	return n.kind.String()
}

// parseYAML parses one file into documents of nodes. A syntax error comes
// back positioned.
func parseYAML(file string, src []byte) ([]*node, *Error) {
	f, err := parser.ParseBytes(src, 0, parser.AllowDuplicateMapKey())
	if err != nil {
		return nil, yamlError(file, err)
	}
	c := converter{file: file, anchors: map[string]*node{}}
	var docs []*node
	for _, d := range f.Docs {
		if d == nil || d.Body == nil {
			continue
		}
		n := c.convert(d.Body, 0)
		if c.err != nil {
			return nil, c.err
		}
		docs = append(docs, n)
	}
	return docs, nil
}

func yamlError(file string, err error) *Error {
	e := &Error{Pos: Pos{File: file, Line: 1, Col: 1}, Code: CodeYAMLSyntax, Message: err.Error()}
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

// maxDepth bounds nesting so a hostile file cannot exhaust the stack.
const maxDepth = 64

type converter struct {
	file    string
	anchors map[string]*node
	err     *Error
}

func (c *converter) pos(tk *token.Token) Pos {
	if tk == nil || tk.Position == nil {
		return Pos{File: c.file}
	}
	return Pos{File: c.file, Line: tk.Position.Line, Col: tk.Position.Column}
}

func (c *converter) fail(tk *token.Token, format string, args ...any) *node {
	if c.err == nil {
		c.err = &Error{Pos: c.pos(tk), Code: CodeYAMLSyntax, Message: fmt.Sprintf(format, args...)}
	}
	return &node{kind: kindNull, pos: c.pos(tk)}
}

func (c *converter) convert(n ast.Node, depth int) *node {
	if c.err != nil {
		return &node{}
	}
	if depth > maxDepth {
		return c.fail(n.GetToken(), "nesting deeper than %d levels", maxDepth)
	}
	switch n := n.(type) {
	case *ast.NullNode:
		return &node{kind: kindNull, tag: "null", pos: c.pos(n.Token)}
	case *ast.StringNode:
		return c.scalar(n.Token, n.Value, "str")
	case *ast.IntegerNode:
		return c.scalar(n.Token, n.Token.Value, "int")
	case *ast.FloatNode:
		return c.scalar(n.Token, strconv.FormatFloat(n.Value, 'g', -1, 64), "float")
	case *ast.InfinityNode:
		return c.scalar(n.Token, n.Token.Value, "float")
	case *ast.NanNode:
		return c.scalar(n.Token, n.Token.Value, "float")
	case *ast.BoolNode:
		return c.scalar(n.Token, strconv.FormatBool(n.Value), "bool")
	case *ast.LiteralNode:
		s := &node{kind: kindScalar, tag: "str", value: n.Value.Value, pos: c.pos(n.Start), style: styleLiteral}
		if strings.HasPrefix(n.Start.Value, ">") {
			s.style = styleFolded
		}
		return s
	case *ast.MappingNode:
		m := &node{kind: kindMap, pos: c.pos(n.Start)}
		for _, mv := range n.Values {
			c.addPair(m, mv, depth)
		}
		if len(m.keys) > 0 && !n.IsFlowStyle {
			m.pos = m.keys[0].pos
		}
		return m
	case *ast.MappingValueNode:
		m := &node{kind: kindMap, pos: c.pos(n.GetToken())}
		c.addPair(m, n, depth)
		if len(m.keys) > 0 {
			m.pos = m.keys[0].pos
		}
		return m
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
		return v
	case *ast.TagNode:
		v := c.convert(n.Value, depth+1)
		if v.kind == kindScalar && n.Start != nil && n.Start.Value == "!!str" {
			v.tag = "str"
		}
		return v
	case *ast.CommentGroupNode:
		return &node{kind: kindNull, tag: "null", pos: c.pos(n.GetToken())}
	}
	return c.fail(n.GetToken(), "unsupported YAML construct %s", n.Type())
}

func (c *converter) scalar(tk *token.Token, v, tag string) *node {
	s := &node{kind: kindScalar, tag: tag, value: v, pos: c.pos(tk)}
	switch tk.Type {
	case token.SingleQuoteType:
		s.style = styleSingle
	case token.DoubleQuoteType:
		s.style = styleDouble
	}
	return s
}

func (c *converter) addPair(m *node, mv *ast.MappingValueNode, depth int) {
	if _, ok := mv.Key.(*ast.MergeKeyNode); ok {
		src := c.convert(mv.Value, depth+1)
		var maps []*node
		switch src.kind {
		case kindMap:
			maps = []*node{src}
		case kindSeq:
			maps = src.vals
		}
		for _, sm := range maps {
			for i, k := range sm.keys {
				if m.get(k.value) == nil {
					m.keys = append(m.keys, k)
					m.vals = append(m.vals, sm.vals[i])
				}
			}
		}
		return
	}
	k := c.convert(mv.Key, depth+1)
	if k.kind != kindScalar {
		c.fail(mv.Key.GetToken(), "mapping keys must be scalars")
		return
	}
	var v *node
	if mv.Value == nil {
		v = &node{kind: kindNull, tag: "null", pos: k.pos}
	} else {
		v = c.convert(mv.Value, depth+1)
	}
	m.keys = append(m.keys, k)
	m.vals = append(m.vals, v)
}
