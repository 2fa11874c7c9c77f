package main

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"

	"github.com/promoguard/promoguard/event"
)

func TestReplayOversize(t *testing.T) {
	dir := t.TempDir()
	big := `{"type":"price","sku":"SKU-1","channel":"web","price":20,"ts":"2025-11-20T08:00:00Z","note":"` +
		strings.Repeat("x", 5<<20) + `"}`
	events := writeFile(t, dir, "big.ndjson", strings.Join([]string{
		`{"type":"price","sku":"SKU-1","channel":"web","price":20,"cost":12,"ts":"2025-11-20T08:00:00Z"}`,
		big,
		`{"type":"price","sku":"SKU-1","channel":"web","price":10,"cost":12,"ts":"2025-11-20T09:00:00Z"}`,
	}, "\r\n")+"\r\n")
	code, out, errOut := runReplay(t, nil, "replay", "--rules", replayRules, events)
	if code != 0 {
		t.Fatalf("exit %d, stderr:\n%s", code, errOut)
	}
	recs := records(t, out)
	dls := deadLetters(recs)
	if len(dls) != 1 {
		t.Fatalf("want 1 dead letter, got %d", len(dls))
	}
	d := dls[0]
	sum := sha256.Sum256([]byte(big))
	if d.Reason != event.BadSize || d.Source != events+":2" || !d.Truncated ||
		d.SHA256 != hex.EncodeToString(sum[:]) || len(d.Payload) != event.MaxDeadLetterPayload ||
		!strings.HasPrefix(big, d.Payload) {
		t.Errorf("oversize dead letter: reason %s source %s truncated %v sha256 %s payload %d bytes",
			d.Reason, d.Source, d.Truncated, d.SHA256, len(d.Payload))
	}
	if want := fmt.Sprintf("line is %d bytes, more than the limit of %d", len(big), 4<<20); d.Error != want {
		t.Errorf("error %q, want %q", d.Error, want)
	}
	// the line after it still counts: the price below cost fires
	if len(alerts(recs, "below-cost", event.StateFiring)) != 1 {
		t.Errorf("the line after the oversize one was not applied:\n%s", out)
	}
}

func TestReplayMaxLine(t *testing.T) {
	dir := t.TempDir()
	events := writeFile(t, dir, "e.ndjson",
		`{"type":"price","sku":"SKU-1","channel":"web","price":20,"ts":"2025-11-20T08:00:00Z"}`+"\n")
	code, out, errOut := runReplay(t, nil, "replay", "--rules", replayRules, "--max-line", "50", events)
	if code != 0 {
		t.Fatalf("exit %d, stderr:\n%s", code, errOut)
	}
	dls := deadLetters(records(t, out))
	if len(dls) != 1 || dls[0].Reason != event.BadSize || !dls[0].Truncated || len(dls[0].Payload) != 50 {
		t.Errorf("want one truncated oversize dead letter, got:\n%s", out)
	}
}

func TestReplaySkipsBlankAndComments(t *testing.T) {
	dir := t.TempDir()
	events := writeFile(t, dir, "e.ndjson", "\ufeff# a comment after a byte order mark\n\n   \n\t# indented\r\n"+
		`{"type":"price","sku":"SKU-1","channel":"web","price":20,"ts":"2025-11-20T08:00:00Z"}`+"\n"+
		"#\n"+
		`  {"type":"oops"}`) // no final newline
	code, out, errOut := runReplay(t, nil, "replay", "--rules", replayRules, events)
	if code != 0 {
		t.Fatalf("exit %d, stderr:\n%s", code, errOut)
	}
	dls := deadLetters(records(t, out))
	if len(dls) != 1 || dls[0].Source != events+":7" || dls[0].Reason != event.BadType {
		t.Errorf("want one unknown_type dead letter at line 7, got:\n%s", out)
	}
	if !strings.Contains(errOut, "replay: 2 events from 1 file") || !regexp.MustCompile(`(?m)^  skipped +5 `).MatchString(errOut) {
		t.Errorf("summary:\n%s", errOut)
	}
}

func TestReplayStdin(t *testing.T) {
	data, err := os.ReadFile(replayEvents)
	if err != nil {
		t.Fatal(err)
	}
	_, fromFile, _ := runReplay(t, nil, "replay", "--rules", replayRules, replayEvents)
	code, fromStdin, errOut := runReplay(t, bytes.NewReader(data), "replay", "--rules", replayRules, "-")
	if code != 0 {
		t.Fatalf("exit %d, stderr:\n%s", code, errOut)
	}
	if want := strings.ReplaceAll(fromFile, `"source":"`+replayEvents+`:`, `"source":"stdin:`); fromStdin != want {
		t.Errorf("stdin gives other records than the file:\n%s\nwant:\n%s", fromStdin, want)
	}
	if !strings.Contains(errOut, "from 1 file") {
		t.Errorf("summary:\n%s", errOut)
	}
}

// Files are read in order through one sequencer: a promotion in the first
// file applies to the prices of the second, and each dead letter names its
// file.
func TestReplaySeveralFiles(t *testing.T) {
	dir := t.TempDir()
	a := writeFile(t, dir, "a.ndjson",
		`{"type":"promo","id":"P","partner":"acme","discount":{"kind":"percent","value":50},"start":"2025-11-21T00:00:00Z","end":"2025-11-22T00:00:00Z","skus":["SKU-1"],"ts":"2025-11-20T08:00:00Z"}`+"\nbad\n")
	b := writeFile(t, dir, "b.ndjson",
		"bad\n"+`{"type":"price","sku":"SKU-1","channel":"web","price":20,"cost":12,"ts":"2025-11-20T09:00:00Z"}`+"\n")
	code, out, errOut := runReplay(t, nil, "replay", "--rules", replayRules, a, b)
	if code != 0 {
		t.Fatalf("exit %d, stderr:\n%s", code, errOut)
	}
	recs := records(t, out)
	var sources []string
	for _, d := range deadLetters(recs) {
		sources = append(sources, d.Source)
	}
	if want := []string{a + ":2", b + ":1"}; !slices.Equal(sources, want) {
		t.Errorf("dead letters from %v, want %v", sources, want)
	}
	if f := alerts(recs, "below-cost", event.StateFiring); len(f) != 1 || !slices.Equal(f[0].Promos, []string{"P"}) {
		t.Errorf("the promotion of a.ndjson did not apply to the price of b.ndjson:\n%s", out)
	}
}

func TestReplayUnreadable(t *testing.T) {
	dir := t.TempDir()
	for _, path := range []string{filepath.Join(dir, "missing.ndjson"), dir} {
		code, out, errOut := runReplay(t, nil, "replay", "--rules", replayRules, replayEvents, path)
		if code != 1 {
			t.Errorf("%s: exit %d, want 1", path, code)
		}
		if !strings.HasPrefix(errOut, "promoguard: read events "+path+": ") {
			t.Errorf("%s: stderr does not name the file:\n%s", path, errOut)
		}
		if out != "" {
			t.Errorf("%s: no record should be written when a file cannot be opened:\n%s", path, out)
		}
	}
}

// failReader fails after its data.
type failReader struct{ r io.Reader }

func (f failReader) Read(p []byte) (int, error) {
	n, err := f.r.Read(p)
	if err == io.EOF {
		return n, errors.New("input/output error")
	}
	return n, err
}

func TestReplayReadErrorMidway(t *testing.T) {
	stdin := failReader{strings.NewReader("bad\n")}
	code, out, errOut := runReplay(t, stdin, "replay", "--rules", replayRules, "-")
	if code != 1 || errOut != "promoguard: read events -: input/output error\n" {
		t.Errorf("exit %d, stderr:\n%s", code, errOut)
	}
	if dls := deadLetters(records(t, out)); len(dls) != 1 {
		t.Errorf("the records before the error should be written:\n%s", out)
	}
}
