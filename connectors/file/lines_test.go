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

// FuzzLineReader checks the reader against a plain split: every line, its
// \r\n or \n end dropped, whole when it fits, else its first max bytes,
// its length and its sha256.
func FuzzLineReader(f *testing.F) {
	f.Add([]byte("a\nbb\r\nccc"), 2)
	f.Add([]byte("\r\r\n\n\r"), 1)
	f.Add([]byte(strings.Repeat("x", 70000)+"\ny"), 10)
	f.Fuzz(func(t *testing.T, data []byte, max int) {
		if max <= 0 || max > 1<<20 {
			return
		}
		want := strings.Split(string(data), "\n")
		if len(want[len(want)-1]) == 0 {
			want = want[:len(want)-1] // no line after a final \n
		}
		lr := &lineReader{max: max}
		lr.reset(bytes.NewReader(data))
		for i, w := range want {
			w = strings.TrimSuffix(w, "\r")
			if err := lr.next(); err != nil {
				t.Fatalf("line %d: %v", i+1, err)
			}
			if lr.num != i+1 || lr.size != int64(len(w)) {
				t.Fatalf("line %d: num %d size %d, want %d", i+1, lr.num, lr.size, len(w))
			}
			if len(w) <= max {
				if lr.sum != nil || string(lr.line) != w {
					t.Fatalf("line %d: %q, want %q", i+1, lr.line, w)
				}
				continue
			}
			sum := sha256.Sum256([]byte(w))
			if !bytes.Equal(lr.sum, sum[:]) || string(lr.line) != w[:max] {
				t.Fatalf("line %d: wrong prefix or sum", i+1)
			}
		}
		if err := lr.next(); err != io.EOF {
			t.Fatalf("after %d lines: %v, want EOF", len(want), err)
		}
	})
}
