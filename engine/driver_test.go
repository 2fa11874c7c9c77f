package engine_test

import (
	"context"
	"fmt"
	"io"
	"slices"
	"testing"
	"time"

	"github.com/promoguard/promoguard/engine"
	"github.com/promoguard/promoguard/event"
	"github.com/promoguard/promoguard/rules"
)

// lines is a Source of in-memory lines that logs its acknowledgements.
type lines struct {
	l     []string
	i     int
	acked *[]string
}

func (s *lines) Read(context.Context) (engine.Record, engine.Ack, error) {
	if s.i == len(s.l) {
		return engine.Record{}, nil, io.EOF
	}
	s.i++
	src := fmt.Sprintf("mem:%d", s.i)
	ack := func() error {
		if s.acked != nil {
			*s.acked = append(*s.acked, src)
		}
		return nil
	}
	return engine.Record{Value: []byte(s.l[s.i-1]), Source: src}, ack, nil
}

// A Driver reads a Source to its end and hands every output to a Sink: a
// bad line becomes a dead letter at once, the events go through the
// canonical order of equal timestamps to the engine.
func ExampleDriver() {
	rs, err := rules.LoadSource("margin.yaml", []byte(`
group: margin
rules:
  - name: margin-floor
    if: has_cost && margin < 0.10
    floor: cost / (1 - 0.10)
    message: '{{sku}} on {{channel}}: margin {{pct(margin)}}'
`), nil)
	if err != nil {
		fmt.Println(err)
		return
	}
	src := &lines{l: []string{
		`{"type":"price","sku":"tv-55","channel":"web","price":899,"cost":700,"currency":"EUR","ts":"2026-11-23T08:00:00Z"}`,
		`{"type":"price","sku":"tv-55","channel":"web","price":-1,"ts":"2026-11-23T09:00:00Z"}`,
		`{"type":"promo","id":"bf-20","partner":"acme","discount":{"kind":"percent","value":20},"skus":["tv-55"],"start":"2026-11-27T00:00:00Z","end":"2026-12-01T00:00:00Z","ts":"2026-11-23T10:00:00Z"}`,
	}}
	sink := engine.SinkFunc(func(out []event.Output) error {
		for _, o := range out {
			switch {
			case o.Alert != nil:
				fmt.Println("alert", o.Alert.Rule, o.Alert.State, "-", o.Alert.Message)
			case o.Correction != nil:
				fmt.Println("correction", o.Correction.State, float64(o.Correction.CorrectedPrice))
			case o.DeadLetter != nil:
				fmt.Println("dead letter", o.DeadLetter.Source, o.DeadLetter.Reason)
			}
		}
		return nil
	})
	d := engine.NewDriver(engine.New(rs, engine.Options{}), engine.DriverOptions{})
	if err := d.Run(context.Background(), src, sink); err != nil {
		fmt.Println(err)
		return
	}
	st := d.Stats()
	fmt.Println(st.Records, "records,", st.Events, "events,", st.DeadLetters, "dead letter")
	// Output:
	// dead letter mem:2 negative_value
	// alert margin-floor firing - tv-55 on web: margin 2.7%
	// correction active 777.78
	// 3 records, 2 events, 1 dead letter
}

// TestDriverAcks checks that a record is acknowledged only once the outputs
// it caused are emitted, and in order: an event waits for its run of equal
// timestamps, and a dead letter behind a waiting run waits with it.
func TestDriverAcks(t *testing.T) {
	rs, err := rules.LoadSource("r.yaml", []byte("group: g\nrules:\n  - name: r\n    if: price < 1\n"), nil)
	if err != nil {
		t.Fatal(err)
	}
	price := func(ts string) string {
		return `{"type":"price","sku":"a","channel":"web","price":5,"ts":"2026-01-01T00:00:0` + ts + `Z"}`
	}
	var acked []string
	src := &lines{l: []string{price("1"), price("1"), "bad", price("2"), "bad"}, acked: &acked}
	sink := engine.SinkFunc(func([]event.Output) error { return nil })
	d := engine.NewDriver(engine.New(rs, engine.Options{}), engine.DriverOptions{})
	var steps [][]string
	wrapped := &ackLog{src: src, acked: &acked, steps: &steps}
	if err := d.Run(context.Background(), wrapped, sink); err != nil {
		t.Fatal(err)
	}
	want := [][]string{
		nil,                         // after mem:1: its run is buffered
		nil,                         // after mem:2: the same run
		nil,                         // after the bad mem:3: behind the run
		{"mem:1", "mem:2", "mem:3"}, // after mem:4: the first run applied
		{"mem:1", "mem:2", "mem:3"}, // after the bad mem:5: behind mem:4's run
	}
	if !slices.EqualFunc(steps, want, slices.Equal) {
		t.Errorf("acks after each read: %q, want %q", steps, want)
	}
	if w := []string{"mem:1", "mem:2", "mem:3", "mem:4", "mem:5"}; !slices.Equal(acked, w) {
		t.Errorf("acks at the end: %q, want %q", acked, w)
	}
	if st := d.Stats(); st.Records != 5 || st.Events != 3 || st.DeadLetters != 2 || st.DeadByReason[event.BadJSON] != 2 {
		t.Errorf("stats %+v", st)
	}
}

// ackLog notes, at each read after the first, which records were acked.
type ackLog struct {
	src   *lines
	acked *[]string
	steps *[][]string
	n     int
}

func (a *ackLog) Read(ctx context.Context) (engine.Record, engine.Ack, error) {
	if a.n > 0 {
		*a.steps = append(*a.steps, slices.Clone(*a.acked))
	}
	a.n++
	return a.src.Read(ctx)
}

// TestDriverSteps drives the engine step by step as a Kafka partition
// worker does: the future check against the Clock, a Check of the topic, a
// tombstone, and the dead-letter hook.
func TestDriverSteps(t *testing.T) {
	rs, err := rules.LoadSource("r.yaml", []byte("group: g\nrules:\n  - name: r\n    if: price < 1\n"), nil)
	if err != nil {
		t.Fatal(err)
	}
	now := time.Date(2026, 1, 1, 12, 0, 0, 0, time.UTC)
	var hooked []event.Code
	d := engine.NewDriver(engine.New(rs, engine.Options{}), engine.DriverOptions{
		Decode: event.DecodeOptions{MaxSkew: time.Hour},
		Clock:  engine.ClockFunc(func() time.Time { return now }),
		Check: func(rec engine.Record, ev *event.Event) error {
			if rec.Input == "prices" && ev.Type != event.TypePrice {
				return &event.InputError{Reason: event.WrongTopic, Msg: "not a price"}
			}
			return nil
		},
		OnDeadLetter: func(dl *event.DeadLetter) { hooked = append(hooked, dl.Reason) },
	})
	price := `{"type":"price","sku":"a","channel":"web","price":0.5,"ts":"2026-01-01T12:00:00Z"}`
	future := `{"type":"price","sku":"a","channel":"web","price":5,"ts":"2026-01-01T14:00:00Z"}`
	stock := `{"type":"stock","sku":"a","warehouse":"w","on_hand":1,"ts":"2026-01-01T12:00:00Z"}`

	ev, err := d.Decode(engine.Record{Value: []byte(price), Source: "prices/0@1", Input: "prices"})
	if err != nil || ev.Source != "prices/0@1" {
		t.Fatalf("decode: %v, %v", ev, err)
	}
	out := d.Push(ev, nil)
	out = d.Step(engine.Record{Value: []byte(future), Source: "prices/0@2", Input: "prices"}, out)
	out = d.Step(engine.Record{Value: []byte(stock), Source: "prices/0@3", Input: "prices"}, out)
	out = d.Step(engine.Record{Tombstone: true, Key: "p1", Time: now, Source: "promotions/0@1"}, out)
	out = d.Flush(out)
	var kinds []string
	for _, o := range out {
		kinds = append(kinds, o.Kind())
	}
	if w := []string{"dead_letter", "dead_letter", "alert"}; !slices.Equal(kinds, w) {
		t.Errorf("outputs %q, want %q", kinds, w)
	}
	if w := []event.Code{event.BadFuture, event.WrongTopic}; !slices.Equal(hooked, w) {
		t.Errorf("dead letters %q, want %q", hooked, w)
	}
	if st := d.Stats(); st.Records != 3 || st.Events != 2 || st.DeadLetters != 2 {
		t.Errorf("stats %+v", st)
	}
}
