package yamlpos

import (
	"strconv"
	"strings"
	"unicode"
	"unicode/utf8"
)

// Source is one file's text, kept to map offsets inside scalars back to the
// file and to print snippets under errors.
type Source struct {
	file  string
	lines []string
}

// NewSource keeps data (as Parse was given it) for file.
func NewSource(file string, data []byte) *Source {
	return &Source{file: file, lines: strings.Split(string(data), "\n")}
}

// File is the file's name.
func (s *Source) File() string { return s.file }

// Line is line n (1-based) without its line ending, or "".
func (s *Source) Line(n int) string {
	if n < 1 || n > len(s.lines) {
		return ""
	}
	return strings.TrimRight(s.lines[n-1], "\r")
}

// Snippet renders the line of p with a caret under its column, the way a
// compiler does; "" when the line is empty or unknown.
func (s *Source) Snippet(p Pos) string {
	l := s.Line(p.Line)
	if l == "" || p.Col < 1 {
		return ""
	}
	l = strings.ReplaceAll(l, "\t", " ")
	num := strconv.Itoa(p.Line)
	pad := strings.Repeat(" ", len(num))
	return "  " + num + " | " + l + "\n  " + pad + " | " + strings.Repeat(" ", min(p.Col-1, utf8.RuneCountInString(l))) + "^"
}

// PosAt maps a rune offset inside a scalar's value to a file position. YAML
// quoting, escapes and folding mean the value's text is not always a verbatim
// slice of the file; where it is not, the position falls back to searching
// the text near the offset, and finally to the scalar's own start.
func (s *Source) PosAt(n *Node, off int) Pos {
	if n == nil {
		return Pos{File: s.file}
	}
	if off <= 0 && n.Style != Literal && n.Style != Folded {
		return n.Pos
	}
	vlines := strings.Split(n.Value, "\n")
	vline, vcol := 0, 0
	for i, r := range []rune(n.Value) {
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
	switch n.Style {
	case Literal:
		first := n.Pos.Line + 1
		indent := -1
		for l := first; l <= len(s.lines); l++ {
			if t := s.Line(l); strings.TrimSpace(t) != "" {
				indent = len(t) - len(strings.TrimLeft(t, " "))
				break
			}
		}
		if indent >= 0 {
			fl := s.Line(first + vline)
			if strings.HasPrefix(RuneSuffix(fl, indent), vlines[vline]) {
				return Pos{File: s.file, Line: first + vline, Col: indent + vcol + 1}
			}
		}
	case Plain, Single, Double:
		if len(vlines) == 1 {
			start := n.Pos.Col - 1 // 0-based rune column of the token
			if n.Style != Plain {
				start++
			}
			// verbatim up to and including the character at the offset
			upto := []rune(n.Value)[:min(off+1, utf8.RuneCountInString(n.Value))]
			if start >= 0 && strings.HasPrefix(RuneSuffix(s.Line(n.Pos.Line), start), string(upto)) {
				return Pos{File: s.file, Line: n.Pos.Line, Col: start + vcol + 1}
			}
		}
	}
	// The value is not a verbatim slice of the file (folding, escapes, a
	// multi-line plain scalar). Take the token at the offset, count how
	// often it occurs in the value before the offset, and find the same
	// occurrence in the file text from where the scalar's content starts.
	runes := []rune(n.Value)
	if off >= len(runes) {
		return n.Pos
	}
	end := off
	for end < len(runes) && end-off < 16 && !unicode.IsSpace(runes[end]) {
		end++
	}
	if end == off {
		return n.Pos
	}
	needle := string(runes[off:end])
	skip := strings.Count(string(runes[:off]), needle)
	line, col := n.Pos.Line, n.Pos.Col-1 // 0-based rune column to search from
	switch n.Style {
	case Single, Double:
		col++
	case Literal, Folded:
		line, col = line+1, 0
	}
	for l := line; l <= min(len(s.lines), line+200); l++ {
		text := RuneSuffix(s.Line(l), col)
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
	return n.Pos
}

// RuneSuffix is s from rune index i on.
func RuneSuffix(s string, i int) string {
	for j := range s {
		if i == 0 {
			return s[j:]
		}
		i--
	}
	return ""
}
