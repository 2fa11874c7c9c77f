package yamlpos

import (
	"bytes"
	"errors"
	"fmt"
	"math"
	"strconv"
	"strings"

	"github.com/goccy/go-yaml/ast"
	"github.com/goccy/go-yaml/parser"
	"github.com/goccy/go-yaml/token"
)

// MaxDepth bounds nesting so that a hostile file cannot exhaust the stack.
const MaxDepth = 64

// MaxAliasNodes bounds the nodes that aliases may expand to (a "billion
// laughs" file would otherwise expand exponentially).
const MaxAliasNodes = 100_000

// Parse parses one file into documents of nodes. A syntax error (or a file
// beyond the depth or alias bounds) comes back as hard and ends the file;
// softer problems (a duplicate key, an unsupported tag) come back with the
// documents. Documents that are empty are left out.
func Parse(file string, src []byte) (docs []*Node, soft []*Problem, hard *Problem) {
	f, err := parser.ParseBytes(src, 0, parser.AllowDuplicateMapKey())
	if err != nil {
		msg, line, col := ErrorAt(err)
		if line == 0 {
			line, col = 1, 1
		}
		return nil, nil, &Problem{Pos: Pos{File: file, Line: line, Col: col}, Kind: Syntax, Message: msg}
	}
	c := converter{file: file}
	for _, d := range f.Docs {
		if d == nil || d.Body == nil {
			continue
		}
		c.anchors = map[string]*Node{} // anchors do not cross documents
		n := c.convert(d.Body, 0)
		if c.err != nil {
			return nil, nil, c.err
		}
		docs = append(docs, n)
	}
	return docs, c.soft, nil
}

// ErrorAt splits an error of the go-yaml library into its message and the
// position it names; line and col are 0 when it names none.
func ErrorAt(err error) (msg string, line, col int) {
	var ye interface {
		GetToken() *token.Token
		GetMessage() string
	}
	if !errors.As(err, &ye) {
		return err.Error(), 0, 0
	}
	if tk := ye.GetToken(); tk != nil && tk.Position != nil {
		return ye.GetMessage(), tk.Position.Line, tk.Position.Column
	}
	return ye.GetMessage(), 0, 0
}

// Normalize drops a UTF-8 byte-order mark and turns CRLF line endings into
// LF: the YAML parser counts lines of multi-line quoted scalars wrongly with
// CRLF, and a BOM would become part of the first key.
func Normalize(data []byte) []byte {
	data = bytes.TrimPrefix(data, []byte("\xef\xbb\xbf"))
	if bytes.Contains(data, []byte("\r\n")) {
		data = bytes.ReplaceAll(data, []byte("\r\n"), []byte("\n"))
	}
	return data
}

type converter struct {
	file    string
	anchors map[string]*Node
	err     *Problem   // a hard error: the file cannot be read further
	soft    []*Problem // problems that leave the rest of the file readable
	aliased int        // nodes reached through aliases so far
}

func (c *converter) softError(p Pos, kind ProblemKind, format string, args ...any) {
	c.soft = append(c.soft, &Problem{Pos: p, Kind: kind, Message: fmt.Sprintf(format, args...)})
}

func (c *converter) pos(tk *token.Token) Pos {
	if tk == nil || tk.Position == nil {
		return Pos{File: c.file}
	}
	return Pos{File: c.file, Line: tk.Position.Line, Col: tk.Position.Column}
}

func (c *converter) fail(tk *token.Token, format string, args ...any) *Node {
	if c.err == nil {
		c.err = &Problem{Pos: c.pos(tk), Kind: Syntax, Message: fmt.Sprintf(format, args...)}
	}
	return &Node{Kind: Null, Tag: "null", Pos: c.pos(tk)}
}

func (c *converter) null(p Pos) *Node { return &Node{Kind: Null, Tag: "null", Pos: p} }

func (c *converter) convert(n ast.Node, depth int) *Node {
	if c.err != nil {
		return c.null(Pos{})
	}
	if n == nil {
		return c.null(Pos{File: c.file})
	}
	if depth > MaxDepth {
		return c.fail(n.GetToken(), "nesting deeper than %d levels", MaxDepth)
	}
	switch n := n.(type) {
	case *ast.NullNode:
		return c.null(c.pos(n.Token))
	case *ast.StringNode:
		return c.scalar(n.Token, n.Value, "str", nil)
	case *ast.IntegerNode:
		return c.scalar(n.Token, n.Token.Value, "int", n.Value)
	case *ast.FloatNode:
		// the source text: "1.10" as a name or label must stay "1.10"
		return c.scalar(n.Token, n.Token.Value, "float", n.Value)
	case *ast.InfinityNode:
		return c.scalar(n.Token, n.Token.Value, "float", n.Value)
	case *ast.NanNode:
		return c.scalar(n.Token, n.Token.Value, "float", math.NaN())
	case *ast.BoolNode:
		return c.scalar(n.Token, strconv.FormatBool(n.Value), "bool", nil)
	case *ast.LiteralNode:
		s := &Node{Kind: Scalar, Tag: "str", Value: n.Value.Value, Pos: c.pos(n.Start), Style: Literal}
		if strings.HasPrefix(n.Start.Value, ">") {
			s.Style = Folded
		}
		return s
	case *ast.MappingNode:
		m := &Node{Kind: Map, Pos: c.pos(n.Start)}
		c.mapping(m, n.Values, depth)
		if len(m.Keys) > 0 && !n.IsFlowStyle {
			m.Pos = m.Keys[0].Pos
		}
		return m
	case *ast.MappingValueNode:
		m := &Node{Kind: Map, Pos: c.pos(n.GetToken())}
		c.mapping(m, []*ast.MappingValueNode{n}, depth)
		if len(m.Keys) > 0 {
			m.Pos = m.Keys[0].Pos
		}
		return m
	case *ast.MappingKeyNode:
		return c.convert(n.Value, depth+1)
	case *ast.SequenceNode:
		s := &Node{Kind: Seq, Pos: c.pos(n.Start)}
		for _, v := range n.Values {
			s.Vals = append(s.Vals, c.convert(v, depth+1))
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
		if c.aliased += size(v, MaxAliasNodes); c.aliased > MaxAliasNodes {
			return c.fail(n.Start, "aliases expand to more than %d nodes", MaxAliasNodes)
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
			if v.Kind == Scalar && tag == "!!str" {
				// a copy: v may be an anchor's node, shared with every
				// other alias of it, which must keep its own type
				cp := *v
				cp.Tag, cp.Num = "str", nil
				v = &cp
			}
			return v
		}
		p := c.pos(n.Start)
		c.softError(p, Schema, "unsupported YAML tag %q: a plain value that starts with ! is a tag in YAML; quote it", tag)
		return &Node{Kind: Null, Tag: "null", Pos: p, Invalid: true}
	case *ast.CommentGroupNode, *ast.DirectiveNode:
		return c.null(c.pos(n.GetToken()))
	}
	return c.fail(n.GetToken(), "unsupported YAML construct %s", n.Type())
}

func (c *converter) scalar(tk *token.Token, v, tag string, num any) *Node {
	s := &Node{Kind: Scalar, Tag: tag, Value: v, Num: num, Pos: c.pos(tk)}
	switch tk.Type {
	case token.SingleQuoteType:
		s.Style = Single
	case token.DoubleQuoteType:
		s.Style = Double
	}
	return s
}

// size counts a node and its descendants, stopping at limit.
func size(n *Node, limit int) int {
	total := 1
	for _, v := range n.Vals {
		if total >= limit {
			break
		}
		total += size(v, limit-total)
	}
	return total + len(n.Keys)
}

// mapping fills m from pairs. Keys written in the mapping win over keys
// merged with <<, whatever their order; among merged mappings the first
// wins, as YAML's merge key specifies. A key written twice is reported and
// its first value kept.
func (c *converter) mapping(m *Node, pairs []*ast.MappingValueNode, depth int) {
	index := map[string]int{}
	var merged []*Node
	for _, mv := range pairs {
		if _, ok := mv.Key.(*ast.MergeKeyNode); ok {
			if mv.Value == nil {
				continue
			}
			src := c.convert(mv.Value, depth+1)
			switch src.Kind {
			case Map:
				merged = append(merged, src)
			case Seq:
				for _, it := range src.Vals {
					if it.Kind != Map {
						c.softError(it.Pos, Schema, "a merge (<<) list may hold only mappings, not a %s", it.Describe())
						continue
					}
					merged = append(merged, it)
				}
			default:
				c.softError(src.Pos, Schema, "a merge (<<) needs a mapping or a list of mappings, not a %s", src.Describe())
			}
			continue
		}
		k := c.convert(mv.Key, depth+1)
		if k.Kind != Scalar {
			c.fail(mv.Key.GetToken(), "mapping keys must be scalars")
			return
		}
		if first, dup := index[k.Value]; dup {
			c.softError(k.Pos, DuplicateKey, "key %s appears twice in this mapping (first at %d:%d)", k.Value, m.Keys[first].Pos.Line, m.Keys[first].Pos.Col)
			continue
		}
		var v *Node
		if mv.Value == nil {
			v = c.null(k.Pos)
		} else {
			v = c.convert(mv.Value, depth+1)
		}
		index[k.Value] = len(m.Keys)
		m.Keys = append(m.Keys, k)
		m.Vals = append(m.Vals, v)
	}
	for _, sm := range merged {
		for i, k := range sm.Keys {
			if _, ok := index[k.Value]; !ok {
				index[k.Value] = len(m.Keys)
				m.Keys = append(m.Keys, k)
				m.Vals = append(m.Vals, sm.Vals[i])
			}
		}
	}
}
