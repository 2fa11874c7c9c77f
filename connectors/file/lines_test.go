package file

import (
	"bytes"
	"crypto/sha256"
	"io"
	"strings"
	"testing"
)

// An oversize line's sha256 is of the line without its end of line,
// wherever the reader's buffer boundaries fall.
func TestLineReader(t *testing.T) {
	for _, n := range []int{0, 1, 9, 10, 11, 65534, 65535, 65536, 65537, 131071, 131072} {
		for _, eol := range []string{"\n", "\r\n", ""} {
			line := strings.Repeat("a", n)
			if n > 0 {
				line = line[:n-1] + "b"
			}
			lr := &lineReader{max: 10}
			rest := "next\r\n"
			if eol == "" { // the last line, without an end of line
				rest = ""
			}
			lr.reset(strings.NewReader(line + eol + rest))
			err := lr.next()
			if n == 0 && eol == "" {
				if err != io.EOF {
					t.Errorf("empty input: want EOF, got %v", err)
				}
				continue
			}
			if err != nil {
				t.Fatal(err)
			}
			over := n > 10
			if lr.size != int64(n) || (lr.sum != nil) != over || lr.num != 1 {
				t.Errorf("n %d eol %q: size %d, oversize %v, num %d", n, eol, lr.size, lr.sum != nil, lr.num)
			}
			if over {
				sum := sha256.Sum256([]byte(line))
				if !bytes.Equal(lr.sum, sum[:]) || string(lr.line) != line[:10] {
					t.Errorf("n %d eol %q: wrong sum or prefix %q", n, eol, lr.line)
				}
			} else if string(lr.line) != line {
				t.Errorf("n %d eol %q: line %q", n, eol, lr.line)
			}
			if eol != "" {
				if err := lr.next(); err != nil || string(lr.line) != "next" || lr.num != 2 {
					t.Errorf("n %d eol %q: second line %q, %v", n, eol, lr.line, err)
				}
			}
			if err := lr.next(); err != io.EOF {
				t.Errorf("n %d eol %q: want EOF, got %v", n, eol, err)
			}
		}
	}
}
