package file

import (
	"bytes"
	"context"
	"errors"
	"io"
	"strings"
	"testing"

	"github.com/promoguard/promoguard/event"
)

// The reader names each event line file:line, skips a byte order mark,
// blank and comment lines, refuses an oversize line as a dead letter of
// its own, and goes on to the next file.
func TestReader(t *testing.T) {
	a := &Input{Name: "a.ndjson", r: strings.NewReader("\ufeff# comment\n\n  {\"x\":1}\r\n" + strings.Repeat("y", 20) + "\n"), Size: -1}
	b := &Input{Name: "-", r: strings.NewReader("\t#\n{}"), Size: -1}
	r := NewReader([]*Input{a, b}, 12)
	var got []string
	for {
		rec, ack, err := r.Read(context.Background())
		if err == io.EOF {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
		if ack != nil {
			t.Errorf("%s: a file record with an ack", rec.Source)
		}
		s := rec.Source + " " + string(rec.Value)
		if rec.Dead != nil {
			s = rec.Source + " dead " + string(rec.Dead.Reason)
		}
		got = append(got, s)
	}
	want := []string{`a.ndjson:3   {"x":1}`, "a.ndjson:4 dead " + string(event.BadSize), "stdin:2 {}"}
	if strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Errorf("records:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
	if r.Lines != 6 || r.Skipped != 3 || r.Events != 3 || r.Opened != 2 {
		t.Errorf("lines %d skipped %d events %d opened %d", r.Lines, r.Skipped, r.Events, r.Opened)
	}
}

// A read error names its file.
func TestReaderError(t *testing.T) {
	f := &Input{Name: "broken", r: io.MultiReader(strings.NewReader("{}\n"), errReader{}), Size: -1}
	r := NewReader([]*Input{f}, 100)
	if _, _, err := r.Read(context.Background()); err != nil {
		t.Fatal(err)
	}
	_, _, err := r.Read(context.Background())
	var ie *InputError
	if !errors.As(err, &ie) || ie.Name != "broken" || err.Error() != "read events broken: boom" {
		t.Errorf("error %v", err)
	}
}

type errReader struct{}

func (errReader) Read([]byte) (int, error) { return 0, errors.New("boom") }

// The writer counts records by kind and renders the table form.
func TestRecordWriter(t *testing.T) {
	var buf bytes.Buffer
	w := NewRecordWriter(&buf, true)
	dl := event.NewDeadLetter(&event.InputError{Reason: event.BadJSON, Msg: "bad"}, []byte("x"), "f:1")
	if err := w.Emit([]event.Output{dl}); err != nil {
		t.Fatal(err)
	}
	if err := w.Flush(); err != nil {
		t.Fatal(err)
	}
	if w.Counts()[event.KindDeadLetter] != 1 || !strings.Contains(buf.String(), "dead letter") || !strings.Contains(buf.String(), "malformed_json") {
		t.Errorf("counts %v, table %q", w.Counts(), buf.String())
	}
}
