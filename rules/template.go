package rules

import (
	"fmt"
	"math"
	"reflect"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/expr-lang/expr/vm"
)

// Template is a compiled message: literal text with `{{ expression }}`
// parts, each an expression over the same facts as the rule.
type Template struct {
	Source string
	parts  []tplPart
	Reads  FactSet
	Paths  []string // facts read, as in Expr.Paths
}

type tplPart struct {
	text string
	expr *Expr
}

// compileTemplate parses and compiles a message. Problems are reported and
// nil returned.
func (c *compiler) compileTemplate(site exprSite, src string) *Template {
	t := &Template{Source: src}
	ok := true
	rest, base := src, 0 // base: rune offset of rest in src
	for rest != "" {
		i := strings.Index(rest, "{{")
		if i < 0 {
			t.parts = append(t.parts, tplPart{text: rest})
			break
		}
		if i > 0 {
			t.parts = append(t.parts, tplPart{text: rest[:i]})
		}
		j := strings.Index(rest[i+2:], "}}")
		open := base + runeLen(rest[:i])
		if j < 0 {
			s := site
			s.offset += open
			c.l.errs.add(c.src.PosAt(s.node, s.offset), c.group.Name, site.rule, CodeBadTemplate, "unclosed {{ in message")
			return nil
		}
		body := rest[i+2 : i+2+j]
		s := site
		s.offset += open + 2
		if strings.TrimSpace(body) == "" {
			c.l.errs.add(c.src.PosAt(s.node, s.offset), c.group.Name, site.rule, CodeBadTemplate, "empty {{ }} in message")
			ok = false
		} else if e := c.compile(s, body, typeAny); e == nil {
			ok = false
		} else if !printable(e.typ) {
			c.l.errs.add(c.src.PosAt(s.node, s.offset), c.group.Name, site.rule, CodeBadTemplate,
				"{{%s}} is a %s, which has no text of its own: show a field, len(), or join(map(...), \", \")", body, e.typ.Kind())
			ok = false
		} else {
			t.parts = append(t.parts, tplPart{expr: e})
			t.Reads |= e.Reads
			t.Paths = append(t.Paths, e.Paths...)
		}
		consumed := rest[:i+2+j+2]
		base += runeLen(consumed)
		rest = rest[len(consumed):]
	}
	if !ok {
		return nil
	}
	slices.Sort(t.Paths)
	t.Paths = slices.Compact(t.Paths)
	return t
}

// printable reports whether a template part's type renders as text: a
// scalar, a time or a duration (or unknown until run time).
func printable(t reflect.Type) bool {
	if t == nil {
		return true
	}
	switch t.Kind() {
	case reflect.Slice, reflect.Array, reflect.Map, reflect.Pointer, reflect.Func, reflect.Chan:
		return false
	case reflect.Struct:
		return t == reflect.TypeFor[time.Time]()
	}
	return true
}

func runeLen(s string) int { return len([]rune(s)) }

// Render evaluates the template. A part that fails renders as <error> and
// the first error is returned with the text, so that an alert still says
// what it can.
func (t *Template) Render(v *vm.VM, env any) (string, error) {
	var b strings.Builder
	var first error
	for _, p := range t.parts {
		if p.expr == nil {
			b.WriteString(p.text)
			continue
		}
		out, err := v.Run(p.expr.Program, env)
		if err != nil {
			if first == nil {
				first = err
			}
			b.WriteString("<error>")
			continue
		}
		b.WriteString(FormatValue(out))
	}
	return b.String(), first
}

// FormatValue renders a value for a message: numbers without float noise
// (at most 4 decimals), NaN and Inf as n/a, times as RFC 3339.
func FormatValue(v any) string {
	switch v := v.(type) {
	case nil:
		return ""
	case string:
		return v
	case float64:
		if math.IsNaN(v) || math.IsInf(v, 0) {
			return "n/a"
		}
		return strconv.FormatFloat(math.Round(v*1e4)/1e4, 'f', -1, 64)
	case int:
		return strconv.Itoa(v)
	case bool:
		return strconv.FormatBool(v)
	case time.Time:
		return v.UTC().Format(time.RFC3339)
	case time.Duration:
		return v.String()
	}
	return fmt.Sprint(v)
}
