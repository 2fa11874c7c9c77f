package file

import (
	"bytes"
	"context"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"

	"github.com/schollz/progressbar/v3"

	"github.com/promoguard/promoguard/engine"
	"github.com/promoguard/promoguard/event"
)

// Input is one events file, opened.
type Input struct {
	Name string    // as given on the command line; "-" is stdin
	Size int64     // -1 when not known
	r    io.Reader // the file, or stdin
	c    io.Closer // nil for stdin
}

// Label is the file's name in sources and summaries: "stdin" for "-".
func (f *Input) Label() string {
	if f.Name == "-" {
		return "stdin"
	}
	return f.Name
}

// Open opens every events file before any is read, so that a misspelt
// name fails at once rather than after a long replay. "-" is stdin. The
// files opened are returned with the error, an *InputError, for Close.
func Open(names []string, stdin io.Reader) ([]*Input, error) {
	var files []*Input
	for _, name := range names {
		if name == "-" {
			files = append(files, &Input{Name: name, r: stdin, Size: -1})
			continue
		}
		f, err := os.Open(name)
		if err != nil {
			return files, &InputError{Name: name, Err: err}
		}
		in := &Input{Name: name, r: f, c: f, Size: -1}
		files = append(files, in)
		fi, err := f.Stat()
		if err != nil {
			return files, &InputError{Name: name, Err: err}
		}
		if fi.IsDir() {
			return files, &InputError{Name: name, Err: errors.New("is a directory")}
		}
		if fi.Mode().IsRegular() {
			in.Size = fi.Size()
		}
	}
	return files, nil
}

// Close closes the files Open opened (stdin stays open).
func Close(files []*Input) {
	for _, f := range files {
		if f.c != nil {
			f.c.Close()
		}
	}
}

// InputError is an events file that cannot be read.
type InputError struct {
	Name string
	Err  error
}

func (e *InputError) Error() string {
	return fmt.Sprintf("read events %s: %v", e.Name, PathErr(e.Err))
}

func (e *InputError) Unwrap() error { return e.Err }

// PathErr drops the path and operation of an *fs.PathError, which the
// caller names itself.
func PathErr(err error) error {
	var pe *fs.PathError
	if errors.As(err, &pe) {
		return pe.Err
	}
	return err
}

// Reader reads the lines of events files, in order, as an engine.Source:
// one record per line named file:line, a line longer than the limit as the
// dead letter of its first bytes, length and sha256. A UTF-8 byte order
// mark at the start of a file is dropped; blank lines and lines whose
// first non-space character is # are skipped and counted.
type Reader struct {
	// Bar, when set, moves by the bytes read.
	Bar *progressbar.ProgressBar

	Lines   int64 // every line, blank and comment lines included
	Skipped int64 // blank and comment lines
	Events  int64 // lines that are neither blank nor comments
	Opened  int   // files begun

	files []*Input
	cur   int
	open  bool
	lr    lineReader
}

// NewReader returns a reader of files whose lines are at most max bytes.
func NewReader(files []*Input, max int) *Reader {
	return &Reader{files: files, lr: lineReader{max: max}}
}

// Read returns the next event line; io.EOF after the last file. The
// record's Value is valid until the next Read. Its Ack is nil: a file has
// nothing to commit.
func (r *Reader) Read(context.Context) (engine.Record, engine.Ack, error) {
	for r.cur < len(r.files) {
		f := r.files[r.cur]
		if !r.open {
			src := f.r
			if r.Bar != nil {
				src = &countingReader{r: f.r, bar: r.Bar}
			}
			r.lr.reset(src)
			r.open = true
			r.Opened++
		}
		lr := &r.lr
		err := lr.next()
		if err == io.EOF {
			r.cur++
			r.open = false
			continue
		}
		if err != nil {
			return engine.Record{}, nil, &InputError{Name: f.Name, Err: err}
		}
		r.Lines++
		line := lr.line
		if lr.num == 1 {
			line = bytes.TrimPrefix(line, []byte("\xef\xbb\xbf"))
		}
		if lr.sum == nil && skipLine(line) {
			r.Skipped++
			continue
		}
		r.Events++
		rec := engine.Record{Value: line, Source: fmt.Sprintf("%s:%d", f.Label(), lr.num)}
		if lr.sum != nil {
			rec.Dead = oversize(lr, rec.Source)
		}
		return rec, nil, nil
	}
	return engine.Record{}, nil, io.EOF
}

// skipLine says whether a line is blank or a comment.
func skipLine(line []byte) bool {
	t := bytes.TrimLeft(line, " \t\r\v\f")
	return len(t) == 0 || t[0] == '#'
}

// oversize is the dead letter of a line longer than the limit: its first
// bytes, its length and the sha256 of the whole line.
func oversize(lr *lineReader, source string) *event.DeadLetter {
	err := &event.InputError{Reason: event.BadSize,
		Msg: fmt.Sprintf("line is %d bytes, more than the limit of %d", lr.size, lr.max)}
	o := event.NewDeadLetter(err, lr.line, source)
	o.DeadLetter.Truncated = true
	o.DeadLetter.SHA256 = hex.EncodeToString(lr.sum)
	return o.DeadLetter
}
