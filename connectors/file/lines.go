package file

import (
	"bufio"
	"crypto/sha256"
	"hash"
	"io"
)

// lineReader reads lines of any length in bounded memory: it keeps the
// first max bytes of a line, and of a longer one also its length and
// sha256. bufio.Scanner would instead stop at the first long line.
type lineReader struct {
	r   *bufio.Reader
	max int

	line []byte    // the line without its end of line (\n or \r\n), at most max bytes
	size int64     // the length of the whole line
	sum  []byte    // the sha256 of a line longer than max; nil otherwise
	num  int       // the line number, from 1
	h    hash.Hash // hashing the current line, once it is longer than max
	cr   bool      // a \r held back: it ends the line if \n follows
}

func (lr *lineReader) reset(r io.Reader) {
	if lr.r == nil {
		lr.r = bufio.NewReaderSize(r, 64<<10)
	} else {
		lr.r.Reset(r)
	}
	lr.num = 0
}

// next reads the next line; io.EOF when there is none.
func (lr *lineReader) next() error {
	lr.line, lr.size, lr.sum, lr.h, lr.cr = lr.line[:0], 0, nil, nil, false
	raw := 0
	for {
		chunk, err := lr.r.ReadSlice('\n')
		raw += len(chunk)
		if err == nil {
			chunk = chunk[:len(chunk)-1]
		}
		lr.feed(chunk)
		switch {
		case err == bufio.ErrBufferFull:
			continue
		case err == io.EOF && raw == 0:
			return io.EOF
		case err != nil && err != io.EOF:
			return err
		}
		// a \r held back ended the line
		lr.num++
		if lr.h != nil {
			lr.sum = lr.h.Sum(nil)
		}
		return nil
	}
}

func (lr *lineReader) feed(c []byte) {
	if len(c) == 0 {
		return
	}
	if lr.cr {
		lr.write([]byte{'\r'})
		lr.cr = false
	}
	if c[len(c)-1] == '\r' {
		lr.cr, c = true, c[:len(c)-1]
	}
	lr.write(c)
}

func (lr *lineReader) write(c []byte) {
	lr.size += int64(len(c))
	if lr.h == nil {
		if len(lr.line)+len(c) <= lr.max {
			lr.line = append(lr.line, c...)
			return
		}
		lr.h = sha256.New()
		lr.h.Write(lr.line)
		lr.line = append(lr.line, c[:lr.max-len(lr.line)]...)
	}
	lr.h.Write(c)
}
