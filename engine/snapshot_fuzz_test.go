package engine

import (
	"bytes"
	"encoding/json"
	"fmt"
	"math"
	"os"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/promoguard/promoguard/event"

	"github.com/promoguard/promoguard/rules"
)

// A changelog as FuzzRestore reads it: one entry a line, its key, a tab,
// and its value (JSON never holds a raw newline); a line with no tab or
// nothing after it deletes its key, as a tombstone does.

// encodeChangelog writes entries in the order given.
func encodeChangelog(keys []string, values map[string][]byte) []byte {
	var b bytes.Buffer
	for _, k := range keys {
		b.WriteString(k)
		b.WriteByte('\t')
		b.Write(values[k])
		b.WriteByte('\n')
	}
	return b.Bytes()
}

// restoreFrom adds every entry of data to a new Restorer; the errors of
// Add (unknown keys) are returned, not fatal: the daemon skips such an entry.
func restoreFrom(data []byte) (*Restorer, []error) {
	r := NewRestorer()
	var errs []error
	for _, line := range bytes.Split(data, []byte("\n")) {
		if len(line) == 0 {
			continue
		}
		key, value, _ := bytes.Cut(line, []byte("\t"))
		if err := r.Add(string(key), value); err != nil {
			errs = append(errs, err)
		}
	}
	return r, errs
}

// exampleChangelogs runs the example rule pack over the Black Friday events
// and returns the changelog (latest value of each key, checkpoint last) as
// it stood after each of the given numbers of events, plus at the end.
func exampleChangelogs(tb testing.TB, rs *rules.RuleSet, cuts ...int) [][]byte {
	tb.Helper()
	var evs []*event.Event
	for _, line := range readLines(tb, "../examples/events/black-friday.ndjson") {
		if t := bytes.TrimSpace(line); len(t) == 0 || t[0] == '#' {
			continue
		}
		if ev, err := event.Decode(line, event.DecodeOptions{}); err == nil {
			evs = append(evs, ev)
		}
	}
	e := New(rs, Options{})
	e.TrackChanges()
	seq := NewSequencer(e)
	cl := &changelog{m: map[string][]byte{}}
	var snaps [][]byte
	snap := func(i int) {
		seq.Flush(nil)
		if err := e.Changes(json.RawMessage(fmt.Sprintf(`{"next":%d}`, i)), cl.put); err != nil {
			tb.Fatal(err)
		}
		keys := sortedKeys(cl.m)
		keys = slices.DeleteFunc(keys, func(k string) bool { return k == CheckpointKey })
		snaps = append(snaps, encodeChangelog(append(keys, CheckpointKey), cl.m))
	}
	for i, ev := range evs {
		if slices.Contains(cuts, i) {
			snap(i)
		}
		seq.Push(ev, nil)
	}
	seq.Finish(nil)
	snap(len(evs))
	return snaps
}

// restoreProbe is what a restored engine is fed: it must take it without a
// panic, whatever the changelog held.
var restoreProbe = []string{
	`{"type":"price","sku":"tv-55-oled","channel":"web","price":699,"list_price":999,"cost":700,"map_price":799,"currency":"EUR","category":"tv","brand":"acme","ts":"2026-11-29T08:00:00Z"}`,
	`{"type":"stock","sku":"hdmi-2m","warehouse":"dc-hamburg","on_hand":3,"reserved":1,"daily_velocity":40,"ts":"2026-11-29T09:00:00Z"}`,
	`{"type":"promo","id":"acme-bf-tv","status":"cancelled","ts":"2026-11-29T10:00:00Z"}`,
	`{"type":"promo","id":"fz-1","partner":"acme","discount":{"kind":"percent","value":30},"skus":["*"],"stacking":"exclusive","start":"2026-11-29T00:00:00Z","end":"2026-12-03T00:00:00Z","ts":"2026-11-29T11:00:00Z"}`,
}

// FuzzRestore feeds corrupted and arbitrary changelog entries to a
// Restorer. With base set, the input is a patch of the changelog of a real
// engine (restoreBase: alerts firing on a sku and a promotion, an active
// correction, a scheduled price, history): in the value of entry number
// entry, drop bytes at offset at are replaced by patch — a patch holding a
// newline adds entries of its own. Without base, patch is the changelog.
// The fuzzer thus mutates one field of a valid snapshot with a small input,
// which it can minimize. Whatever the entries hold — other keys, bad JSON, a
// corrupted snapshot — restoring returns an error or an engine, never
// panics; and a restored engine runs on: it writes its changes, which
// restore again, and takes events and time. Restoring is idempotent: the
// same entries restored again, and the state a restored engine writes
// restored in turn, give engines that write the same state and emit the
// same records when fed the same events. The entries a real engine writes
// always restore (checked before fuzzing).
func FuzzRestore(f *testing.F) {
	rs, err := rules.Load([]string{"../examples/rules"}, nil)
	if err != nil {
		f.Fatal(err)
	}
	var probe []*event.Event
	for _, line := range restoreProbe {
		ev, err := event.Decode([]byte(line), event.DecodeOptions{})
		if err != nil {
			f.Fatal(err)
		}
		probe = append(probe, ev)
	}
	base := smallChangelog(f, rs)
	for _, data := range append(exampleChangelogs(f, rs, 20), base) {
		r, errs := restoreFrom(data)
		if len(errs) > 0 {
			f.Fatal(errs[0])
		}
		if _, _, out, err := r.Engine(rs, Options{}, nil); err != nil || len(out) != 0 {
			f.Fatalf("a real changelog does not restore: %v, %d records", err, len(out))
		}
	}
	lines := bytes.Split(bytes.TrimSuffix(base, []byte("\n")), []byte("\n"))
	// seeds: the base as it is, then field by field corrupted
	f.Add(true, uint8(0), uint16(0), uint8(0), []byte{})
	for _, sd := range restoreSeeds {
		for i, line := range lines {
			key, value, _ := bytes.Cut(line, []byte("\t"))
			if !strings.HasPrefix(string(key), sd.key) {
				continue
			}
			at := bytes.Index(value, []byte(sd.find))
			if at < 0 {
				f.Fatalf("no %s in %s", sd.find, key)
			}
			f.Add(true, uint8(i), uint16(at), uint8(len(sd.find)), []byte(sd.patch))
		}
	}
	for _, cl := range []string{"", "checkpoint\t{\"v\":1,\"wm\":1}", "sku|a\t{}\ncheckpoint\t{\"v\":1}", "promo|p\t{\"id\":\"p\",\"event\":{}}\ncheckpoint\t{\"v\":1}", "x\ty"} {
		f.Add(false, uint8(0), uint16(0), uint8(0), []byte(cl))
	}
	f.Fuzz(func(t *testing.T, withBase bool, entry uint8, at uint16, drop uint8, patch []byte) {
		var r *Restorer
		if withBase {
			r, _ = restoreFrom(patchChangelog(lines, int(entry), int(at), int(drop), patch))
		} else {
			r, _ = restoreFrom(patch)
		}
		e, _, out, err := r.Engine(rs, Options{}, nil)
		if err != nil {
			if e != nil {
				t.Fatalf("an engine and an error: %v", err)
			}
			return
		}
		checkRestoredOutputs(t, out)
		// restoring is a function of the entries: the same Restorer again
		// gives the same engine
		e1, _, out1, err := r.Engine(rs, Options{}, nil)
		if err != nil {
			t.Fatalf("restored once, then: %v", err)
		}
		if got, want := outputsJSON(t, out1), outputsJSON(t, out); got != want {
			t.Fatalf("restored twice, the records differ:\n%s\nthen\n%s", want, got)
		}
		// the restored engine writes what it holds, and that restores to
		// an engine that writes the same again
		cl := snapshotOf(t, e)
		if again := snapshotOf(t, e1); again != cl {
			t.Fatalf("restored twice, the states differ:\n%s", firstDiff(cl, again))
		}
		r2, errs := restoreFrom([]byte(cl))
		if len(errs) > 0 {
			t.Fatal(errs[0])
		}
		e2, _, out2, err := r2.Engine(rs, Options{}, nil)
		if err != nil {
			t.Fatalf("what a restored engine wrote does not restore: %v", err)
		}
		if len(out2) != 0 {
			t.Fatalf("what a restored engine wrote restores with %d records", len(out2))
		}
		if again := snapshotOf(t, e2); again != cl {
			t.Fatalf("the restored engine's state restores to another:\n%s", firstDiff(cl, again))
		}
		// and the first and the last run on alike (the second's state is
		// the first's)
		var outs [2][]event.Output
		for i, e := range []*Engine{e, e2} {
			for _, ev := range probe {
				outs[i] = e.Apply(ev, outs[i])
			}
			outs[i] = e.Advance(e.Watermark().Add(8*24*time.Hour), outs[i])
		}
		checkRestoredOutputs(t, outs[0])
		if got, want := outputsJSON(t, outs[1]), outputsJSON(t, outs[0]); got != want {
			t.Fatalf("the engine restored from a restored engine's state emits other records:\n%s", firstDiff(want, got))
		}
	})
}

// snapshotOf is every entry an engine writes, as restoreFrom reads them,
// in key order with the checkpoint last. It marks every key changed.
func snapshotOf(t *testing.T, e *Engine) string {
	t.Helper()
	cl := &changelog{m: map[string][]byte{}}
	e.TrackChanges()
	if err := e.Changes(nil, cl.put); err != nil {
		t.Fatalf("Changes of a restored engine: %v", err)
	}
	keys := slices.DeleteFunc(sortedKeys(cl.m), func(k string) bool { return k == CheckpointKey })
	return string(encodeChangelog(append(keys, CheckpointKey), cl.m))
}

// outputsJSON is the records as the daemon produces them, one a line.
func outputsJSON(t *testing.T, out []event.Output) string {
	t.Helper()
	var b []byte
	for _, o := range out {
		var err error
		if b, err = o.AppendJSON(b); err != nil {
			t.Fatalf("record does not encode: %v", err)
		}
		b = append(b, '\n')
	}
	return string(b)
}

// patchChangelog replaces drop bytes at offset at of the value of entry
// number entry (both taken modulo what there is) by patch.
func patchChangelog(lines [][]byte, entry, at, drop int, patch []byte) []byte {
	var b bytes.Buffer
	entry %= len(lines)
	for i, line := range lines {
		if i == entry {
			key, value, _ := bytes.Cut(line, []byte("\t"))
			at %= len(value) + 1
			drop = min(drop, len(value)-at)
			b.Write(key)
			b.WriteByte('\t')
			b.Write(value[:at])
			b.Write(patch)
			b.Write(value[at+drop:])
		} else {
			b.Write(line)
		}
		b.WriteByte('\n')
	}
	return b.Bytes()
}

// restoreSeeds are FuzzRestore's hand-picked corruptions of the base
// changelog: in the entry whose key starts with key, find becomes patch.
var restoreSeeds = []struct{ key, find, patch string }{
	{"sku|hp-anc-300", `"last":{"id":""`, `"lost":{"id":""`},          // a firing alert without its record
	{"sku|hp-anc-300", `"last":{"id":"9`, `"lost":{"id":"9`},          // an active correction without its record
	{"sku|hp-anc-300", `"rule":"map/below-map"`, `"rule":"map/nope"`}, // an alert of a rule that is gone
	{"sku|hp-anc-300", `"rule":"map/below-map"`, `"rule":"promoguard/unsatisfiable"`},
	{"sku|hp-anc-300", `"fp":"686c941e8e701401"`, `"scope":1,"fp":"686c941e8e701401"`},
	{"sku|hp-anc-300", `"firing":true`, `"firing":false`},
	{"sku|hp-anc-300", `"active":true`, `"active":false`},
	{"sku|hp-anc-300", `"price":194.99`, `"price":-1`},
	{"sku|hp-anc-300", `"price":194.99`, `"price":null`},
	{"sku|hp-anc-300", `"price":194.99`, `"price":1e308`},
	{"sku|hp-anc-300", `"price":169.99`, `"price":null`},
	{"sku|hp-anc-300", `"id":"hp-anc-300"`, `"id":"hdmi-2m"`}, // an entry under another sku's key
	{"sku|hp-anc-300", `"id":"hp-anc-300"`, `"id":""`},
	{"sku|hp-anc-300", `"name":"ebay"`, `"name":""`},
	{"sku|hp-anc-300", `"channels":[`, `"channels":[{"name":"ebay"},`}, // a channel twice
	{"sku|hp-anc-300", `"seg_keys":[`, `"seg_keys":[-1,`},
	{"sku|hp-anc-300", `"timer_at":1796083200000000000`, `"timer_at":1`},
	{"sku|hp-anc-300", `"seg":1795651200000000000`, `"seg":-9223372036854775808`},
	{"sku|hp-anc-300", `"range":{"start":1795651200000000000`, `"range":{"none":true,"start":1795651200000000000`},
	{"sku|hp-anc-300", `"segment":{`, `"segment":null,"x":{`},
	{"sku|hdmi-2m", `"sched":[`, `"sched":[null,`},
	{"sku|hdmi-2m", `"hist":[`, `"hist":[{"t":9223372036854775807,"p":1e308},`},
	{"sku|hdmi-2m", `"stock":[`, `"stock":[{"warehouse":"dc-hamburg","on_hand":-1},`}, // a warehouse twice
	{"sku|hdmi-2m", `"cur":{`, `"cur":null,"x":{`},
	{"promo|acme-bf-audio", `"Start":"2026-11-26T00:00:00Z"`, `"Start":"2026-12-26T00:00:00Z"`}, // ends before it starts
	{"promo|acme-bf-audio", `"Kind":"percent"`, `"Kind":"bogo"`},
	{"promo|acme-bf-audio", `"Value":20`, `"Value":-1e308`},
	{"promo|acme-bf-audio", `"Stacking":"stackable"`, `"Stacking":"sideways"`},
	{"promo|acme-bf-audio", `"id":"acme-bf-audio"`, `"id":"nd-cables-10"`},
	{"promo|acme-bf-audio", `"event":{`, `"event":null,"x":{`},
	{"promo|acme-bf-audio", `"Categories":["audio"]`, `"Categories":null,"AllSKUs":true`},
	{"promo|nd-cables-10", `"scope":2`, `"scope":0`},
	{"promo|nd-cables-10", `"last":{`, `"lost":{`},
	{"checkpoint", `"v":1`, `"v":2`},
	{"checkpoint", `"wm":`, `"wm":-1,"x":`},
	{"checkpoint", `"rules_version":"`, `"rules_version":"other`}, // restored under other rules: everything is evaluated again
	{"checkpoint", `"issued":{`, `"issued":{"":-1,`},
}

// checkRestoredOutputs: every record encodes, and no NaN or Inf is a
// corrected price.
func checkRestoredOutputs(t *testing.T, out []event.Output) {
	t.Helper()
	for _, o := range out {
		if _, err := o.AppendJSON(nil); err != nil {
			t.Fatalf("record does not encode: %v", err)
		}
		if c := o.Correction; c != nil && c.State == event.StateActive {
			if p := float64(c.CorrectedPrice); math.IsNaN(p) || math.IsInf(p, 0) || p < 0 {
				t.Fatalf("corrected price %v", p)
			}
		}
	}
}

// TestRestoreExampleChangelogs: a changelog written by a real engine
// restores into an engine that writes the same changelog again.
func TestRestoreExampleChangelogs(t *testing.T) {
	rs, err := rules.Load([]string{"../examples/rules"}, nil)
	if err != nil {
		t.Fatal(err)
	}
	for i, data := range exampleChangelogs(t, rs, 10, 20, 32) {
		r, errs := restoreFrom(data)
		if len(errs) > 0 {
			t.Fatal(errs[0])
		}
		e, meta, out, err := r.Engine(rs, Options{}, nil)
		if err != nil || len(out) != 0 {
			t.Fatalf("changelog %d: %v, %d records", i, err, len(out))
		}
		cl := &changelog{m: map[string][]byte{}}
		e.TrackChanges()
		if err := e.Changes(meta, cl.put); err != nil {
			t.Fatal(err)
		}
		keys := slices.DeleteFunc(sortedKeys(cl.m), func(k string) bool { return k == CheckpointKey })
		if got := encodeChangelog(append(keys, CheckpointKey), cl.m); !bytes.Equal(got, data) {
			t.Fatalf("changelog %d written again differs:\n%s", i, firstDiff(string(data), string(got)))
		}
	}
	if !strings.Contains(string(exampleChangelogs(t, rs)[0]), "sku|tv-55-oled\t") {
		t.Fatal("the example changelog has no entry for tv-55-oled")
	}
}

// restoreBase are the events of FuzzRestore's base changelog: two skus on
// one channel each, a scheduled price, stock, price history, and two
// promotions that make sku and promo-scope alerts fire and a correction
// active under the example rule pack.
var restoreBase = []string{
	`{"type":"price","sku":"hp-anc-300","channel":"ebay","price":194.99,"list_price":249.99,"cost":120,"map_price":169,"currency":"EUR","category":"audio","brand":"acme","ts":"2026-11-23T08:00:00Z"}`,
	`{"type":"price","sku":"hdmi-2m","channel":"amazon","price":19.99,"list_price":24.99,"cost":9,"currency":"EUR","category":"cables","brand":"globex","ts":"2026-11-23T08:00:00Z"}`,
	`{"type":"stock","sku":"hdmi-2m","warehouse":"dc-hamburg","on_hand":50,"reserved":5,"daily_velocity":10,"ts":"2026-11-23T08:00:00Z"}`,
	`{"type":"promo","id":"acme-bf-audio","partner":"acme","partner_role":"manufacturer","discount":{"kind":"percent","value":20},"categories":["audio"],"start":"2026-11-26T00:00:00Z","end":"2026-12-01T00:00:00Z","priority":10,"funded_by":{"acme":1},"ts":"2026-11-23T09:00:00Z"}`,
	`{"type":"promo","id":"nd-cables-10","partner":"nordic-dist","discount":{"kind":"percent","value":10},"categories":["cables"],"start":"2026-11-27T00:00:00Z","end":"2026-12-01T00:00:00Z","priority":5,"funded_by":{"nordic-dist":0.6,"globex":0.5},"ts":"2026-11-23T09:30:00Z"}`,
	`{"type":"price","sku":"hdmi-2m","channel":"amazon","price":17.99,"list_price":24.99,"cost":9,"currency":"EUR","category":"cables","brand":"globex","valid_from":"2026-11-29T00:00:00Z","ts":"2026-11-23T10:00:00Z"}`,
	`{"type":"price","sku":"hdmi-2m","channel":"amazon","price":18.49,"list_price":24.99,"cost":9,"currency":"EUR","category":"cables","brand":"globex","ts":"2026-11-26T10:00:00Z"}`,
	`{"type":"price","sku":"hdmi-2m","channel":"amazon","price":17.49,"list_price":24.99,"cost":9,"currency":"EUR","category":"cables","brand":"globex","ts":"2026-11-26T10:15:00Z"}`,
}

// smallChangelog is the changelog of the example rule pack after the
// restoreBase events: about 5 KB, small enough for the fuzzer to minimize
// what it finds.
func smallChangelog(tb testing.TB, rs *rules.RuleSet) []byte {
	tb.Helper()
	e := New(rs, Options{})
	e.TrackChanges()
	seq := NewSequencer(e)
	for _, line := range restoreBase {
		ev, err := event.Decode([]byte(line), event.DecodeOptions{})
		if err != nil {
			tb.Fatal(err)
		}
		seq.Push(ev, nil)
	}
	seq.Finish(nil)
	cl := &changelog{m: map[string][]byte{}}
	if err := e.Changes(json.RawMessage(`{"next":8}`), cl.put); err != nil {
		tb.Fatal(err)
	}
	keys := slices.DeleteFunc(sortedKeys(cl.m), func(k string) bool { return k == CheckpointKey })
	return encodeChangelog(append(keys, CheckpointKey), cl.m)
}

// TestRestoreRefusesCorruptEntries: entries that break what the engine
// relies on are refused with an error naming the entry, instead of
// restoring an engine that panics later (a firing alert or an active
// correction without the record it re-emits did: found by FuzzRestore).
func TestRestoreRefusesCorruptEntries(t *testing.T) {
	rs, err := rules.Load([]string{"../examples/rules"}, nil)
	if err != nil {
		t.Fatal(err)
	}
	base := smallChangelog(t, rs)
	lines := bytes.Split(bytes.TrimSuffix(base, []byte("\n")), []byte("\n"))
	for _, tc := range []struct{ key, find, patch, want string }{
		{"sku|hp-anc-300", `"last":{"id":""`, `"lost":{"id":""`, `sku "hp-anc-300": firing alert 686c941e8e701401 without its record`},
		{"sku|hp-anc-300", `"last":{"id":"9`, `"lost":{"id":"9`, `sku "hp-anc-300": active correction a3bacd72f2b3edfe without its record`},
		{"promo|nd-cables-10", `"last":{`, `"lost":{`, `promotion "nd-cables-10": firing alert`},
		{"sku|hp-anc-300", `"id":"hp-anc-300"`, `"id":"hdmi-2m"`, `sku "hp-anc-300": holds sku "hdmi-2m"`},
		{"sku|hp-anc-300", `"price":194.99`, `"price":-1`, `sku "hp-anc-300": channel ebay: price -1`},
		{"sku|hp-anc-300", `"price":194.99`, `"price":null`, `sku "hp-anc-300": channel ebay: price NaN`},
		{"sku|hp-anc-300", `"channels":[`, `"channels":[{"name":"ebay"},`, `channel "ebay" empty or repeated`},
		{"sku|hdmi-2m", `"stock":[`, `"stock":[{"warehouse":"dc-hamburg","on_hand":1},`, `warehouse "dc-hamburg" empty or repeated`},
		{"sku|hdmi-2m", `"sched":[`, `"sched":[null,`, `scheduled prices out of order`},
		{"promo|acme-bf-audio", `"Start":"2026-11-26T00:00:00Z"`, `"Start":"2026-12-26T00:00:00Z"`, `promotion "acme-bf-audio": window`},
		{"promo|acme-bf-audio", `"Kind":"percent"`, `"Kind":"bogo"`, `discount kind "bogo"`},
		{"promo|acme-bf-audio", `"Value":20`, `"Value":-1e308`, `discount percent -1e+308`},
		{"promo|acme-bf-audio", `"id":"acme-bf-audio"`, `"id":"nd-cables-10"`, `holds promotion "nd-cables-10"`},
	} {
		entry, at := -1, -1
		for i, line := range lines {
			if k, v, _ := bytes.Cut(line, []byte("\t")); strings.HasPrefix(string(k), tc.key) {
				entry, at = i, bytes.Index(v, []byte(tc.find))
			}
		}
		if entry < 0 || at < 0 {
			t.Fatalf("no %s in %s", tc.find, tc.key)
		}
		r, _ := restoreFrom(patchChangelog(lines, entry, at, len(tc.find), []byte(tc.patch)))
		if _, _, _, err := r.Engine(rs, Options{}, nil); err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%s with %s: got %v, want an error with %q", tc.key, tc.patch, err, tc.want)
		}
	}
}

func readLines(tb testing.TB, name string) [][]byte {
	tb.Helper()
	data, err := os.ReadFile(name)
	if err != nil {
		tb.Fatal(err)
	}
	return bytes.Split(bytes.TrimSuffix(data, []byte("\n")), []byte("\n"))
}
