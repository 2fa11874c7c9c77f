package kafkatest

import (
	"encoding/json"
	"math"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/promoguard/promoguard/event"
	"github.com/segmentio/kafka-go"
)

func TestDiffContents(t *testing.T) {
	at := time.Date(2026, 11, 24, 9, 0, 0, 0, time.UTC)
	corr := func() event.Output {
		return event.Output{Correction: &event.Correction{ID: "c1", Fingerprint: "fc", State: "active", SKU: "tv-55", Channel: "web",
			Watermark: at, At: at, Currency: "EUR", EffectivePrice: 399, CorrectedPrice: 449, Floor: 449, Ceiling: event.Number(math.NaN()),
			Rules: []string{"map/floor"}, RulesVersion: "v1"}}
	}
	alert := func() event.Output {
		return event.Output{Alert: &event.Alert{ID: "a1", Fingerprint: "fa", Rule: "below-map", Group: "map", Severity: "critical",
			State: "firing", SKU: "tv-55", Channel: "web", Watermark: at, At: at, Promos: []string{"p1"}, Partners: []string{"acme"},
			Message: "below MAP", Values: map[string]any{"price": 399}, RulesVersion: "v1"}}
	}
	want := map[string]event.Output{"c1": corr(), "a1": alert()}
	rec := func(o event.Output, key string) kafka.Message {
		b, err := json.Marshal(o)
		if err != nil {
			t.Fatal(err)
		}
		return kafka.Message{Topic: "out", Key: []byte(key), Value: b, Offset: 7}
	}
	for _, tc := range []struct {
		name  string
		msg   kafka.Message
		allow []string
		want  []string
	}{
		{"same", rec(corr(), "tv-55"), nil, nil},
		{"same alert", rec(alert(), "tv-55"), nil, nil},
		{"price a euro too high", func() kafka.Message { o := corr(); o.Correction.CorrectedPrice = 450; return rec(o, "tv-55") }(), nil,
			[]string{"correction c1 (out/0@7): corrected_price: got 450, want 449"}},
		{"wrong severity", func() kafka.Message { o := alert(); o.Alert.Severity = "warning"; return rec(o, "tv-55") }(), nil,
			[]string{`alert a1 (out/0@7): severity: got "warning", want "critical"`}},
		{"two fields and the key", func() kafka.Message {
			o := alert()
			o.Alert.Values = map[string]any{"price": 398}
			o.Alert.Promos = nil
			return rec(o, "tv-65")
		}(), nil,
			[]string{`alert a1 (out/0@7): (kafka key): got "tv-65", want "tv-55"; promos: got null, want ["p1"]; values: got {"price":398}, want {"price":399}`}},
		{"a field left out", func() kafka.Message { o := corr(); o.Correction.Currency = ""; return rec(o, "tv-55") }(), nil,
			[]string{`correction c1 (out/0@7): currency: missing, want "EUR"`}},
		{"null for a number", func() kafka.Message {
			o := corr()
			o.Correction.Floor = event.Number(math.NaN())
			return rec(o, "tv-55")
		}(), nil,
			[]string{"correction c1 (out/0@7): floor: got null, want 449"}},
		{"rules_version differs", func() kafka.Message { o := corr(); o.Correction.RulesVersion = "v2"; return rec(o, "tv-55") }(), nil,
			[]string{`correction c1 (out/0@7): rules_version: got "v2", want "v1"`}},
		{"rules_version allowed", func() kafka.Message { o := corr(); o.Correction.RulesVersion = "v2"; return rec(o, "tv-55") }(), []string{"rules_version"}, nil},
		{"allowed field, another differs", func() kafka.Message {
			o := corr()
			o.Correction.RulesVersion = "v2"
			o.Correction.EffectivePrice = 398.99
			return rec(o, "tv-55")
		}(), []string{"rules_version"}, []string{"correction c1 (out/0@7): effective_price: got 398.99, want 399"}},
		{"an id the reference lacks is Unexpected's", func() kafka.Message { o := corr(); o.Correction.ID = "c9"; return rec(o, "x") }(), nil, nil},
		{"a dead letter is left out", rec(event.NewDeadLetter(&event.InputError{Reason: "bad_json"}, []byte("{"), "in/0@3"), ""), nil, nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, err := DiffContents([]kafka.Message{tc.msg}, want, tc.allow...)
			if err != nil {
				t.Fatal(err)
			}
			if !slices.Equal(got, tc.want) {
				t.Errorf("got\n%s\nwant\n%s", strings.Join(got, "\n"), strings.Join(tc.want, "\n"))
			}
		})
	}
}
