package yamlpos

import "fmt"

// Pos is a position in a file: 1-based line and column (in characters).
type Pos struct {
	File string `json:"file"`
	Line int    `json:"line"`
	Col  int    `json:"col"`
}

func (p Pos) String() string {
	switch {
	case p.Line == 0:
		return p.File
	case p.Col == 0:
		return fmt.Sprintf("%s:%d", p.File, p.Line)
	}
	return fmt.Sprintf("%s:%d:%d", p.File, p.Line, p.Col)
}

// Kind is the shape of a node once anchors and aliases are resolved.
type Kind int

// The shapes of a node.
const (
	Null Kind = iota
	Scalar
	Map
	Seq
)

func (k Kind) String() string {
	return [...]string{"null", "scalar", "mapping", "sequence"}[k]
}

// Style is how a scalar is written, used to map an offset inside its value
// back to the file.
type Style int

// The scalar styles.
const (
	Plain Style = iota
	Single
	Double
	Literal // | block
	Folded  // > block
)

// Node is a small, library-independent view of a YAML node with its
// position. Loaders walk it by hand so that they can report every problem
// with a position, rather than stopping at the first, as a decoder into
// structs would.
//
// Nodes reached through an alias are shared with their anchor: treat the
// tree as read-only.
type Node struct {
	Kind Kind
	Pos  Pos
	// Value is a scalar's text: as written for numbers ("1.10" stays
	// "1.10"), as resolved for strings.
	Value string
	// Tag is the scalar's type as YAML resolves it: "str", "int", "float",
	// "bool" or "null".
	Tag   string
	Style Style
	// Num is the number of an int or float scalar: int64, uint64 or
	// float64; nil for anything else.
	Num  any
	Keys []*Node // mapping keys, in order
	Vals []*Node // mapping values or sequence items
	// Invalid marks a node whose problem is already reported (an
	// unsupported tag), so that a loader does not report it again as a
	// wrong shape.
	Invalid bool
}

// Get returns the value of a mapping key, or nil.
func (n *Node) Get(key string) *Node {
	for i, k := range n.Keys {
		if k.Value == key {
			return n.Vals[i]
		}
	}
	return nil
}

// Describe names a node's shape for "expected X, not Y" messages.
func (n *Node) Describe() string {
	if n.Kind == Scalar {
		if n.Tag == "str" {
			return "string"
		}
		return n.Tag
	}
	return n.Kind.String()
}

// ProblemKind sorts problems so that callers can give them their own codes.
type ProblemKind int

// The kinds of problem Parse reports.
const (
	Syntax       ProblemKind = iota // not YAML, or beyond a bound: ends the file
	Schema                          // an unsupported tag, a bad merge
	DuplicateKey                    // a key twice in one mapping
)

// Problem is one problem of a file, with its position.
type Problem struct {
	Pos
	Kind    ProblemKind
	Message string
}

func (p *Problem) Error() string { return p.Pos.String() + ": " + p.Message }
