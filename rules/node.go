package rules

import (
	"bytes"
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
	// invalid marks a node whose problem is already reported (an unknown
	// tag), so that the loader does not report it again as a wrong shape.
	invalid bool
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
// back positioned and ends the file; softer problems (a duplicate key, an
// unsupported tag) are returned with the documents.
func parseYAML(file string, src []byte) ([]*node, Errors, *Error) {
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
		c.anchors = map[string]*node{} // anchors do not cross documents
		n := c.convert(d.Body, 0)
		if c.err != nil {
			return nil, nil, c.err
		}
		docs = append(docs, n)
	}
	return docs, c.soft, nil
}

// normalizeSource drops a UTF-8 byte-order mark and turns CRLF line endings
// into LF: the YAML parser counts lines of multi-line quoted scalars wrongly
// with CRLF, and a BOM would become part of the first key.
func normalizeSource(data []byte) []byte {
	data = bytes.TrimPrefix(data, []byte("\xef\xbb\xbf"))
	if bytes.Contains(data, []byte("\r\n")) {
		data = bytes.ReplaceAll(data, []byte("\r\n"), []byte("\n"))
	}
	return data
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
	err     *Error // a hard error: the file cannot be read further
	soft    Errors // problems that leave the rest of the file readable
}

func (c *converter) softError(p Pos, code Code, format string, args ...any) {
	c.soft = append(c.soft, &Error{Pos: p, Code: code, Message: fmt.Sprintf(format, args...)})
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
	if n == nil {
		return &node{kind: kindNull, tag: "null", pos: Pos{File: c.file}}
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
		// the source text: "1.10" as a name or label must stay "1.10"
		return c.scalar(n.Token, n.Token.Value, "float")
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
	case *ast.DirectiveNode:
		return &node{kind: kindNull, tag: "null", pos: c.pos(n.Start)}
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
		tag := ""
		if n.Start != nil {
			tag = n.Start.Value
		}
		switch tag {
		case "!!str", "!!int", "!!float", "!!bool", "!!null", "!!map", "!!seq", "!!binary", "!!timestamp":
			v := c.convert(n.Value, depth+1)
			if v.kind == kindScalar && tag == "!!str" {
				v.tag = "str"
			}
			return v
		}
		p := c.pos(n.Start)
		c.softError(p, CodeSchema, "unsupported YAML tag %q: a plain value that starts with ! is a tag in YAML; quote it", tag)
		return &node{kind: kindNull, tag: "null", pos: p, invalid: true}
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

// mapping fills m from pairs. Keys written in the mapping win over keys
// merged with <<, whatever their order; among merged mappings the first
// wins, as YAML's merge key specifies. A key written twice is reported and
// its first value kept.
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
						c.softError(it.pos, CodeSchema, "a merge (<<) list may hold only mappings, not a %s", it.describe())
						continue
					}
					merged = append(merged, it)
				}
			default:
				c.softError(src.pos, CodeSchema, "a merge (<<) needs a mapping or a list of mappings, not a %s", src.describe())
			}
			continue
		}
		k := c.convert(mv.Key, depth+1)
		if k.kind != kindScalar {
			c.fail(mv.Key.GetToken(), "mapping keys must be scalars")
			return
		}
		if first, dup := index[k.value]; dup {
			c.softError(k.pos, CodeDuplicateKey, "key %s appears twice in this mapping (first at %d:%d)", k.value, m.keys[first].pos.Line, m.keys[first].pos.Col)
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
