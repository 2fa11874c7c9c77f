package rules

import (
	"cmp"
	"encoding/json"
	"fmt"
	"slices"
	"strings"
)

// Code is a stable, machine-readable identifier for a kind of problem in a
// rule file. Codes never change meaning once published; tools may match on
// them.
type Code string

// The problems a rule file can have. Each is documented in README.md.
const (
	CodeYAMLSyntax       Code = "yaml_syntax"        // the file is not valid YAML
	CodeReadFile         Code = "read_file"          // a file or directory cannot be read
	CodeSchema           Code = "schema"             // a value has the wrong YAML shape (a list where a map is expected, ...)
	CodeUnknownField     Code = "unknown_field"      // a key the format does not define
	CodeMissingField     Code = "missing_field"      // a required key is absent
	CodeDuplicateKey     Code = "duplicate_key"      // the same key twice in one mapping
	CodeDuplicateGroup   Code = "duplicate_group"    // two groups with one name
	CodeDuplicateRule    Code = "duplicate_rule"     // two rules with one name in a group
	CodeBadName          Code = "bad_name"           // a group, rule, var, table or label name that is not an identifier
	CodeNameClash        Code = "name_clash"         // a var, table or let name that hides a fact, function or another name
	CodeUnknownSeverity  Code = "unknown_severity"   // severity other than info, warning, critical
	CodeUnknownScope     Code = "unknown_scope"      // scope other than calendar, now, promo
	CodeUnknownEvent     Code = "unknown_event_type" // an `on` entry other than price, stock, promo
	CodeBadDuration      Code = "bad_duration"       // `for` or `repeat` is not a duration
	CodeBadVar           Code = "bad_var"            // a var value of an unsupported shape
	CodeBadTable         Code = "bad_table"          // a table that is not a flat map of numbers or strings
	CodeMissingTable     Code = "missing_table"      // lookup() of a table the group does not define
	CodeMissingTableFile Code = "missing_table_file" // a table's CSV file does not exist
	CodeExprSyntax       Code = "expr_syntax"        // an expression that does not parse
	CodeUnknownFact      Code = "unknown_fact"       // a name that is no fact, var, table or function
	CodeUnknownMember    Code = "unknown_member"     // a field that a fact does not have (stock.availble)
	CodeTypeError        Code = "type_error"         // an expression of the wrong type, or a type mismatch inside it
	CodeFactScope        Code = "fact_out_of_scope"  // a fact used in a scope where it has no value
	CodeTooComplex       Code = "expr_too_complex"   // an expression over the node budget
	CodeRangeTooLarge    Code = "range_too_large"    // a constant range larger than the limit
	CodeClosureNesting   Code = "closure_nesting"    // predicates (map, filter, ...) nested too deep
	CodeBadTemplate      Code = "bad_template"       // a message template with an unclosed {{ or an empty one
	CodeNoRules          Code = "no_rules"           // a path that holds no rule file
)

// Error is one problem in a rule file, positioned like a compiler error.
type Error struct {
	Pos
	Group   string `json:"group,omitempty"`
	Rule    string `json:"rule,omitempty"`
	Code    Code   `json:"code"`
	Message string `json:"message"`
	// Snippet is the offending source line with a caret under the column,
	// when the source is known. It is not part of Error() so that one-line
	// output stays greppable; Errors.Pretty prints it.
	Snippet string `json:"snippet,omitempty"`
}

func (e *Error) Error() string {
	var b strings.Builder
	b.WriteString(e.Pos.String())
	b.WriteString(": ")
	if e.Group != "" {
		b.WriteString("group ")
		b.WriteString(e.Group)
		if e.Rule != "" {
			b.WriteString(" rule ")
			b.WriteString(e.Rule)
		}
		b.WriteString(": ")
	}
	b.WriteString(e.Message)
	b.WriteString(" [")
	b.WriteString(string(e.Code))
	b.WriteString("]")
	return b.String()
}

// Errors is every problem found while loading a rule set, sorted by file,
// line and column. A load either succeeds or returns a non-empty Errors.
type Errors []*Error

func (es Errors) Error() string {
	switch len(es) {
	case 0:
		return "no errors"
	case 1:
		return es[0].Error()
	}
	return fmt.Sprintf("%s (and %d more)", es[0].Error(), len(es)-1)
}

// Sort orders errors by position, then code and message, so output is stable.
func (es Errors) Sort() {
	slices.SortStableFunc(es, func(a, b *Error) int {
		return cmp.Or(
			cmp.Compare(a.File, b.File),
			cmp.Compare(a.Line, b.Line),
			cmp.Compare(a.Col, b.Col),
			cmp.Compare(a.Code, b.Code),
			cmp.Compare(a.Message, b.Message),
		)
	})
}

// Pretty renders every error on its own line followed by its source snippet,
// the way a compiler does.
func (es Errors) Pretty() string {
	var b strings.Builder
	for _, e := range es {
		b.WriteString(e.Error())
		b.WriteByte('\n')
		if e.Snippet != "" {
			b.WriteString(e.Snippet)
			b.WriteByte('\n')
		}
	}
	return b.String()
}

// MarshalJSON writes an empty list rather than null.
func (es Errors) MarshalJSON() ([]byte, error) {
	if es == nil {
		return []byte("[]"), nil
	}
	return json.Marshal([]*Error(es))
}

// errs collects errors during a load.
type errs struct {
	list Errors
}

func (c *errs) add(p Pos, group, rule string, code Code, format string, args ...any) {
	c.list = append(c.list, &Error{Pos: p, Group: group, Rule: rule, Code: code, Message: fmt.Sprintf(format, args...)})
}
