package rules

import (
	"strconv"
	"strings"
	"unicode/utf8"
)

// source is one rule file's text, kept to map positions inside expressions
// back to the file and to print snippets under errors.
type source struct {
	file  string
	lines []string
}

func newSource(file string, data []byte) *source {
	return &source{file: file, lines: strings.Split(string(data), "\n")}
}

func (s *source) line(n int) string {
	if n < 1 || n > len(s.lines) {
		return ""
	}
	return strings.TrimRight(s.lines[n-1], "\r")
}

// pos maps a rune offset inside a scalar's value to a file position. YAML
// quoting, escapes and folding mean the value's text is not always a verbatim
// slice of the file; where it is not, the position falls back to searching
// the text near the offset, and finally to the scalar's own start.
func (s *source) pos(n *node, off int) Pos {
	if n == nil {
		return Pos{File: s.file}
	}
	if off <= 0 && n.style != styleLiteral && n.style != styleFolded {
		return n.pos
	}
	vlines := strings.Split(n.value, "\n")
	vline, vcol := 0, 0
	for i, r := range []rune(n.value) {
		if i == off {
			break
		}
		if r == '\n' {
			vline++
			vcol = 0
		} else {
			vcol++
		}
	}
	switch n.style {
	case styleLiteral:
		first := n.pos.Line + 1
		indent := -1
		for l := first; l <= len(s.lines); l++ {
			if t := s.line(l); strings.TrimSpace(t) != "" {
				indent = len(t) - len(strings.TrimLeft(t, " "))
				break
			}
		}
		if indent >= 0 {
			fl := s.line(first + vline)
			if strings.HasPrefix(runeSuffix(fl, indent), vlines[vline]) {
				return Pos{File: s.file, Line: first + vline, Col: indent + vcol + 1}
			}
		}
	case stylePlain, styleSingle, styleDouble:
		if len(vlines) == 1 {
			start := n.pos.Col - 1 // 0-based rune column of the token
			if n.style != stylePlain {
				start++
			}
			if start >= 0 && strings.HasPrefix(runeSuffix(s.line(n.pos.Line), start), string([]rune(n.value)[:min(off, utf8.RuneCountInString(n.value))])) {
				return Pos{File: s.file, Line: n.pos.Line, Col: start + vcol + 1}
			}
		}
	}
	// Search for the text at the offset near the scalar.
	if vline < len(vlines) {
		needle := []rune(vlines[vline])
		if vcol < len(needle) {
			needle = needle[vcol:min(len(needle), vcol+16)]
			if ns := string(needle); strings.TrimSpace(ns) != "" {
				for l := n.pos.Line; l <= min(len(s.lines), n.pos.Line+200); l++ {
					if i := strings.Index(s.line(l), ns); i >= 0 {
						return Pos{File: s.file, Line: l, Col: utf8.RuneCountInString(s.line(l)[:i]) + 1}
					}
				}
			}
		}
	}
	return n.pos
}

// runeSuffix is s from rune index i on.
func runeSuffix(s string, i int) string {
	for j := range s {
		if i == 0 {
			return s[j:]
		}
		i--
	}
	return ""
}

// snippet renders a source line with a caret under col.
func (s *source) snippet(p Pos) string {
	l := s.line(p.Line)
	if l == "" || p.Col < 1 {
		return ""
	}
	l = strings.ReplaceAll(l, "\t", " ")
	num := strconv.Itoa(p.Line)
	pad := strings.Repeat(" ", len(num))
	return "  " + num + " | " + l + "\n  " + pad + " | " + strings.Repeat(" ", min(p.Col-1, utf8.RuneCountInString(l))) + "^"
}
