package event

import (
	"bytes"
	"math"
	"testing"
	"time"
)

// TestAppendJSONMatchesEncodingJSON checks the hand-written encoder against
// encoding/json, on the records of the example week and on odd values.
func TestAppendJSONMatchesEncodingJSON(t *testing.T) {
	var outs []Output
	for i, line := range readLines(t, "../examples/expected/black-friday.ndjson") {
		var o Output
		if err := o.UnmarshalJSON(line); err != nil {
			t.Fatalf("expected record %d: %v", i+1, err)
		}
		outs = append(outs, o)
	}
	t0 := time.Date(2026, 11, 27, 0, 0, 0, 123456789, time.UTC)
	t1 := t0.Add(time.Hour).In(time.FixedZone("x", 3600))
	odd := "q\"b\\s/<>&\x00\x01\x1f\x7f\b\f\n\r\t é \u2028\u2029 \xff\xfe 😀"
	outs = append(outs,
		Output{Alert: &Alert{ID: odd, Message: odd, Labels: map[string]string{odd: odd, "a": ""}, Segment: &Range{Start: &t0},
			Watermark: t1, Values: map[string]any{"x": []any{nil, 1e-7, 1e21, 1e20, math.Copysign(0, -1), 5e-324, int64(-3), true, "s", odd},
				"y": map[string]any{"b": []string{odd}, "a": map[string]any{}}, "z": []string(nil), odd: 0.1 + 0.2}}},
		Output{Alert: &Alert{Promos: []string{}, Values: map[string]any{}, Labels: map[string]string{}}},
		Output{Alert: &Alert{Values: map[string]any{"nan": math.NaN()}}}, // encoding/json refuses it
		Output{Alert: &Alert{Watermark: time.Date(10000, 1, 1, 0, 0, 0, 0, time.UTC)}},
		Output{Correction: &Correction{EffectivePrice: Number(math.NaN()), CorrectedPrice: Number(math.Inf(1)), Floor: 1e-9,
			Ceiling: 123456789012345678901234.5, Segment: &Range{End: &t1}, Rules: []string{}}},
		Output{Correction: &Correction{}},
		NewDeadLetter(&InputError{Reason: BadJSON, Msg: "x"}, []byte(odd), "f:1"),
		Output{},
	)
	n := 0
	for i, o := range outs {
		want, werr := o.marshalSlow()
		got, gerr := o.AppendJSON([]byte("prefix"))
		if (werr != nil) != (gerr != nil) {
			t.Fatalf("record %d: encoding/json error %v, AppendJSON error %v", i, werr, gerr)
		}
		if werr != nil {
			if string(got) != "prefix" {
				t.Errorf("record %d: AppendJSON wrote %q with an error", i, got)
			}
			continue
		}
		if !bytes.Equal(got, append([]byte("prefix"), want...)) {
			t.Fatalf("record %d differs:\nencoding/json %s\nAppendJSON    %s", i, want, got[len("prefix"):])
		}
		n++
	}
	if n < 50 {
		t.Errorf("only %d records compared", n)
	}
}
