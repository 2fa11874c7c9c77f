package kafkatest

import (
	"bytes"
	"encoding/json"
	"fmt"
	"reflect"
	"slices"
	"sort"
	"strings"
	"testing"

	"github.com/promoguard/promoguard/event"
	"github.com/segmentio/kafka-go"
)

// An output's id hashes its kind, fingerprint, state and watermark only: a
// daemon that wrote every correction one euro too high, or every alert
// with another severity, would still write the reference's ids. So the
// collector compares each collected record, field by field, with the
// reference record of the same id (WaitFor does it once every id is in).

// MayDiffer names every output field that may legitimately differ between
// a record the daemon wrote and the reference record of its id, and why.
// No field is allowed by default: a test allows one with
// [Collector.AllowDiffer], naming it from this list, and checks that field
// its own way.
var MayDiffer = map[string]string{
	// The reference runs the whole stream under one rule set; a test that
	// swaps rule files under a running daemon (between variants whose
	// outputs are the same) gets each record stamped with the version in
	// force when it was made.
	"rules_version": "the test reloads rules while the daemon runs",
}

// AllowDiffer lets fields, each a key of [MayDiffer], differ from the
// reference in the records this collector compares.
func (c *Collector) AllowDiffer(t testing.TB, fields ...string) {
	t.Helper()
	c.mu.Lock()
	defer c.mu.Unlock()
	for _, f := range fields {
		if _, ok := MayDiffer[f]; !ok {
			t.Fatalf("kafkatest: field %q is not in MayDiffer: say there why it may differ", f)
		}
		c.allow = append(c.allow, f)
	}
}

// DiffContents compares each record of msgs whose id want has with the
// reference record of that id: its key, and every field of its JSON but
// those of allow. It returns one line per record that differs, naming the
// id, where the record is, and each differing field with both values.
// Records of other ids (Unexpected reports them) and dead letters are left
// out.
func DiffContents(msgs []kafka.Message, want map[string]event.Output, allow ...string) ([]string, error) {
	var out []string
	ref := map[string]map[string]any{}
	for _, m := range msgs {
		var o event.Output
		if err := json.Unmarshal(m.Value, &o); err != nil {
			return nil, fmt.Errorf("output %s: %v", m.Value, err)
		}
		id := OutputID(o)
		w, ok := want[id]
		if id == "" || !ok {
			continue
		}
		wf, ok := ref[id]
		if !ok {
			b, err := json.Marshal(w)
			if err != nil {
				return nil, fmt.Errorf("reference %s: %v", id, err)
			}
			if wf, err = fields(b); err != nil {
				return nil, fmt.Errorf("reference %s: %v", id, err)
			}
			ref[id] = wf
		}
		gf, err := fields(m.Value)
		if err != nil {
			return nil, fmt.Errorf("output %s: %v", m.Value, err)
		}
		var diffs []string
		if k := w.Key(); string(m.Key) != k {
			diffs = append(diffs, fmt.Sprintf("(kafka key): got %q, want %q", m.Key, k))
		}
		for _, f := range unionKeys(gf, wf) {
			if slices.Contains(allow, f) {
				continue
			}
			g, gok := gf[f]
			x, wok := wf[f]
			switch {
			case !gok:
				diffs = append(diffs, fmt.Sprintf("%s: missing, want %s", f, show(x)))
			case !wok:
				diffs = append(diffs, fmt.Sprintf("%s: got %s, not in the reference", f, show(g)))
			case !reflect.DeepEqual(g, x):
				diffs = append(diffs, fmt.Sprintf("%s: got %s, want %s", f, show(g), show(x)))
			}
		}
		if len(diffs) > 0 {
			out = append(out, fmt.Sprintf("%s %s (%s/%d@%d): %s", o.Kind(), id, m.Topic, m.Partition, m.Offset, strings.Join(diffs, "; ")))
		}
	}
	sort.Strings(out)
	return out, nil
}

// checkContents fails the test when a collected record differs from the
// reference record of its id.
func (c *Collector) checkContents(t testing.TB, want map[string]event.Output) {
	t.Helper()
	c.mu.Lock()
	allow := slices.Clone(c.allow)
	c.mu.Unlock()
	diff, err := DiffContents(c.Messages(), want, allow...)
	if err != nil {
		t.Fatalf("kafkatest: %v", err)
	}
	if len(diff) > 0 {
		n := len(diff)
		if n > 5 {
			diff = append(diff[:5], "…")
		}
		t.Errorf("%d collected records differ from the reference record of their id (fields allowed to differ: %v), e.g.:\n%s",
			n, allow, strings.Join(diff, "\n"))
	}
}

// fields decodes a JSON object into its fields, numbers kept as written.
func fields(b []byte) (map[string]any, error) {
	d := json.NewDecoder(bytes.NewReader(b))
	d.UseNumber()
	var m map[string]any
	if err := d.Decode(&m); err != nil {
		return nil, err
	}
	return m, nil
}

func unionKeys(a, b map[string]any) []string {
	var keys []string
	for k := range a {
		keys = append(keys, k)
	}
	for k := range b {
		if _, ok := a[k]; !ok {
			keys = append(keys, k)
		}
	}
	sort.Strings(keys)
	return keys
}

func show(v any) string {
	b, err := json.Marshal(v)
	if err != nil {
		return fmt.Sprint(v)
	}
	return string(b)
}
