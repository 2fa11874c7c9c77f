package config

import (
	"errors"
	"fmt"
	"reflect"
	"sort"
	"strings"

	"github.com/goccy/go-yaml"
	"github.com/goccy/go-yaml/ast"
	"github.com/goccy/go-yaml/parser"

	"github.com/promoguard/promoguard/internal/yamlpos"
)

// Errors are the problems of a configuration, each on a line of its own
// with where it comes from.
type Errors []string

func (e Errors) Error() string {
	if len(e) == 1 {
		return "config: " + e[0]
	}
	return fmt.Sprintf("config: %d problems:\n  %s", len(e), strings.Join(e, "\n  "))
}

// UnmarshalYAML decodes a duration from the config file, with the position
// of a bad one.
func (d *Duration) UnmarshalYAML(n ast.Node) error {
	var s string
	switch v := n.(type) {
	case *ast.StringNode:
		s = v.Value
	case *ast.IntegerNode, *ast.FloatNode:
		s = v.GetToken().Value
	default:
		return nodeError(n, "want a duration such as 90s, 15m, 12h, 30d or 1w, got %s", strings.ToLower(n.Type().String()))
	}
	if err := d.parse(s); err != nil {
		return nodeError(n, "%v", err)
	}
	return nil
}

// posError is an error at a position of the config file.
type posError struct {
	line, col int
	msg       string
}

func (e *posError) Error() string { return fmt.Sprintf("%d:%d: %s", e.line, e.col, e.msg) }

func nodeError(n ast.Node, format string, args ...any) *posError {
	e := &posError{msg: fmt.Sprintf(format, args...)}
	if tk := n.GetToken(); tk != nil && tk.Position != nil {
		e.line, e.col = tk.Position.Line, tk.Position.Column
	}
	return e
}

// Decode decodes a config file strictly into cfg: every key must be a
// known one (an unknown key is reported with the closest known one), each
// once, with a value of its type. It returns the keys the file sets (not
// to null), with their "line:col". Errors are Errors of "line:col:
// message", sorted by position.
//
// The values are decoded by go-yaml into the struct, so the key check
// walks go-yaml's own tree; internal/yamlpos gives the positions of the
// library's errors and the suggestions.
func Decode(data []byte, cfg *Daemon) (map[string]string, error) {
	f, err := parser.ParseBytes(data, 0)
	if err != nil {
		return nil, Errors{errorText(err)}
	}
	present := map[string]string{}
	// an empty document (a leading or trailing ---, or only comments)
	// holds nothing
	var docs []*ast.DocumentNode
	for _, d := range f.Docs {
		if d == nil || d.Body == nil {
			continue
		}
		if _, comment := d.Body.(*ast.CommentGroupNode); !comment {
			docs = append(docs, d)
		}
	}
	if len(docs) > 1 {
		return nil, Errors{startPos(docs[1].Body) + ": a config file holds one YAML document"}
	}
	if len(docs) == 0 {
		return present, nil
	}
	body := docs[0].Body
	var errs []*posError
	checkKeys(body, reflect.TypeOf(*cfg), "", present, &errs)
	if len(errs) > 0 {
		sort.SliceStable(errs, func(i, j int) bool {
			if errs[i].line != errs[j].line {
				return errs[i].line < errs[j].line
			}
			return errs[i].col < errs[j].col
		})
		list := make(Errors, len(errs))
		for i, e := range errs {
			list[i] = e.Error()
		}
		return nil, list
	}
	if err := yaml.NodeToValue(body, cfg, yaml.DisallowUnknownField()); err != nil {
		return nil, Errors{errorText(err)}
	}
	return present, nil
}

// checkKeys walks a mapping against a config struct type: it reports
// unknown keys, sections that are not mappings, and records the keys
// present.
func checkKeys(n ast.Node, t reflect.Type, prefix string, present map[string]string, errs *[]*posError) {
	n = unwrap(n)
	if _, ok := n.(*ast.NullNode); ok {
		return
	}
	m, ok := n.(ast.MapNode)
	if !ok {
		what := "the config file"
		if prefix != "" {
			what = strings.TrimSuffix(prefix, ".")
		}
		*errs = append(*errs, nodeError(n, "%s must be a mapping of keys to values, got %s", what, strings.ToLower(n.Type().String())))
		return
	}
	fields := map[string]reflect.StructField{}
	var names []string
	collectFields(t, fields, &names)
	it := m.MapRange()
	for it.Next() {
		kn := it.Key()
		k := kn.GetToken().Value
		f, ok := fields[k]
		if !ok {
			msg := fmt.Sprintf("unknown key %s", prefix+k)
			// config keys are long and compound (group_id): allow about
			// half the name's length in edits
			if i := yamlpos.Closest(k, names, len(k)/2+1); i >= 0 {
				msg += fmt.Sprintf("; did you mean %s?", prefix+names[i])
			}
			*errs = append(*errs, nodeError(kn, "%s", msg))
			continue
		}
		v := unwrap(it.Value())
		if tag := tagOf(it.Value()); tag != nil && f.Type.Kind() == reflect.Slice {
			// go-yaml panics decoding a tagged value that is not a
			// sequence into a slice (rules: !!str r.yaml)
			if _, seq := v.(*ast.SequenceNode); !seq {
				*errs = append(*errs, nodeError(tag, "%s %s was used where sequence is expected", tag.Start.Value, strings.ToLower(v.Type().String())))
				continue
			}
		}
		if _, null := v.(*ast.NullNode); null {
			continue
		}
		if f.Type.Kind() == reflect.Struct {
			checkKeys(v, f.Type, prefix+k+".", present, errs)
			continue
		}
		present[prefix+k] = nodePos(v)
	}
}

// collectFields maps the yaml keys of a struct type to their fields,
// inline structs merged in.
func collectFields(t reflect.Type, out map[string]reflect.StructField, names *[]string) {
	for i := range t.NumField() {
		f := t.Field(i)
		name, inline := yamlName(f)
		if !f.IsExported() || name == "-" {
			continue
		}
		if inline {
			collectFields(f.Type, out, names)
			continue
		}
		out[name] = f
		*names = append(*names, name)
	}
}

func unwrap(n ast.Node) ast.Node {
	for {
		switch v := n.(type) {
		case *ast.TagNode:
			n = v.Value
		case *ast.AnchorNode:
			n = v.Value
		default:
			return n
		}
	}
}

// tagOf is the tag of a value (such as !!str), through anchors; nil when
// it has none.
func tagOf(n ast.Node) *ast.TagNode {
	for {
		switch v := n.(type) {
		case *ast.TagNode:
			if v.Start == nil {
				return nil
			}
			return v
		case *ast.AnchorNode:
			n = v.Value
		default:
			return nil
		}
	}
}

func nodePos(n ast.Node) string {
	if n == nil {
		return "1:1"
	}
	if tk := n.GetToken(); tk != nil && tk.Position != nil {
		return fmt.Sprintf("%d:%d", tk.Position.Line, tk.Position.Column)
	}
	return "1:1"
}

// startPos is where a node starts: a mapping's token is its first ':'.
func startPos(n ast.Node) string {
	if m, ok := unwrap(n).(*ast.MappingNode); ok && len(m.Values) > 0 {
		return nodePos(m.Values[0].Key)
	}
	if m, ok := unwrap(n).(*ast.MappingValueNode); ok {
		return nodePos(m.Key)
	}
	return nodePos(n)
}

// errorText renders an error of go-yaml (or of a value's UnmarshalYAML) as
// "line:col: message".
func errorText(err error) string {
	var pe *posError
	if errors.As(err, &pe) {
		return pe.Error()
	}
	msg, line, col := yamlpos.ErrorAt(err)
	if line == 0 {
		return msg
	}
	return fmt.Sprintf("%d:%d: %s", line, col, msg)
}
