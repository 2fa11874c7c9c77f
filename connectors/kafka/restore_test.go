package kafka

import (
	"encoding/json"
	"testing"

	"github.com/promoguard/promoguard/event"

	"github.com/promoguard/promoguard/connectors/kafka/kafkatest"
	"github.com/promoguard/promoguard/engine"
	"github.com/promoguard/promoguard/rules"
)

// A checkpoint whose entries reached the changelog but whose checkpoint
// entry did not (the brokers went away between two produce requests) is
// left out of a restore: the state is the last whole checkpoint's, which
// the input offsets of that checkpoint match, and re-reading the input
// from there gives exactly the outputs of a run that never stopped.
func TestRestoreLeavesOutUnfinishedCheckpoint(t *testing.T) {
	rs, err := rules.Load([]string{"../../examples/rules"}, nil)
	if err != nil {
		t.Fatal(err)
	}
	var evs []*event.Event
	for _, l := range kafkatest.ExampleEvents(t, "../../examples/events/black-friday.ndjson") {
		if ev, err := event.Decode(l, event.DecodeOptions{}); err == nil {
			evs = append(evs, ev) // the week has bad events on purpose
		}
	}
	// the cut is where the timestamp changes, as a batch ends
	cut := len(evs) / 2
	for cut < len(evs) && evs[cut].TS.Equal(evs[cut-1].TS) {
		cut++
	}
	type entry struct {
		key string
		val []byte
	}
	var log []entry
	put := func(k string, v []byte) error { log = append(log, entry{k, append([]byte(nil), v...)}); return nil }

	e := engine.New(rs, engine.Options{})
	e.TrackChanges()
	seq := engine.NewSequencer(e)
	var first, rest []event.Output
	for _, ev := range evs[:cut] {
		first = seq.Push(ev, first)
	}
	if first = seq.Flush(first); len(first) == 0 {
		t.Fatal("the first half emitted nothing")
	}
	if err := e.Changes(json.RawMessage(`{"next":1}`), put); err != nil {
		t.Fatal(err)
	}
	whole := len(log)
	for _, ev := range evs[cut:] {
		rest = seq.Push(ev, rest)
	}
	rest = seq.Finish(rest)
	if err := e.Changes(json.RawMessage(`{"next":2}`), put); err != nil {
		t.Fatal(err)
	}
	// the second checkpoint's entries but its checkpoint entry
	unfinished := log[:len(log)-1]
	if len(unfinished) == whole {
		t.Fatal("the second half changed nothing: no unfinished checkpoint to leave out")
	}

	cr := &checkpointed{r: engine.NewRestorer()}
	for _, en := range unfinished {
		if err := cr.add(en.key, en.val); err != nil {
			t.Fatal(err)
		}
	}
	if cr.n != whole || len(cr.pending) != len(unfinished)-whole {
		t.Fatalf("added %d and left %d pending, want %d and %d", cr.n, len(cr.pending), whole, len(unfinished)-whole)
	}
	re, meta, _, err := cr.r.Engine(rs, engine.Options{}, nil)
	if err != nil {
		t.Fatal(err)
	}
	if string(meta) != `{"next":1}` {
		t.Fatalf("restored checkpoint meta %s, want the first", meta)
	}
	// the input from the first checkpoint on, again
	rseq := engine.NewSequencer(re)
	var again []event.Output
	for _, ev := range evs[cut:] {
		again = rseq.Push(ev, again)
	}
	again = rseq.Finish(again)
	if len(rest) == 0 {
		t.Fatal("the second half emitted nothing")
	}
	want, got := ids(rest), ids(again)
	if len(want) != len(got) {
		t.Fatalf("%d outputs after the restore, want %d", len(got), len(want))
	}
	for i := range want {
		if want[i] != got[i] {
			t.Fatalf("output %d: %s, want %s", i, got[i], want[i])
		}
	}
}

func ids(outs []event.Output) []string {
	var out []string
	for _, o := range outs {
		if id := kafkatest.OutputID(o); id != "" {
			out = append(out, id)
		}
	}
	return out
}
