package rules

import (
	"strconv"
	"strings"
	"unicode"
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
			// verbatim up to and including the character at the offset
			upto := []rune(n.value)[:min(off+1, utf8.RuneCountInString(n.value))]
			if start >= 0 && strings.HasPrefix(runeSuffix(s.line(n.pos.Line), start), string(upto)) {
				return Pos{File: s.file, Line: n.pos.Line, Col: start + vcol + 1}
			}
		}
	}
	// The value is not a verbatim slice of the file (folding, escapes, a
	// multi-line plain scalar). Take the token at the offset, count how
	// often it occurs in the value before the offset, and find the same
	// occurrence in the file text from where the scalar's content starts.
	runes := []rune(n.value)
	if off >= len(runes) {
		return n.pos
	}
	end := off
	for end < len(runes) && end-off < 16 && !unicode.IsSpace(runes[end]) {
		end++
	}
	if end == off {
		return n.pos
	}
	needle := string(runes[off:end])
	skip := strings.Count(string(runes[:off]), needle)
	line, col := n.pos.Line, n.pos.Col-1 // 0-based rune column to search from
	switch n.style {
	case styleSingle, styleDouble:
		col++
	case styleLiteral, styleFolded:
		line, col = line+1, 0
	}
	for l := line; l <= min(len(s.lines), line+200); l++ {
		text := runeSuffix(s.line(l), col)
		for {
			i := strings.Index(text, needle)
			if i < 0 {
				break
			}
			if skip == 0 {
				return Pos{File: s.file, Line: l, Col: col + utf8.RuneCountInString(text[:i]) + 1}
			}
			skip--
			adv := i + len(needle)
			col += utf8.RuneCountInString(text[:adv])
			text = text[adv:]
		}
		col = 0
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
