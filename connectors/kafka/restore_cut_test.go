package kafka

import (
	"bytes"
	"encoding/json"
	"fmt"
	"maps"
	"strings"
	"testing"

	"github.com/promoguard/promoguard/connectors/kafka/kafkatest"
	"github.com/promoguard/promoguard/engine"
	"github.com/promoguard/promoguard/event"
	"github.com/promoguard/promoguard/rules"
)

// Restores after a checkpoint that was cut off: what the changelog holds
// when a write failed or the process died between a checkpoint's entries
// and its checkpoint entry, with and without compaction in between. Each
// restored engine is fed the rest of the input from its checkpoint's
// offset and must emit, record for record and byte for byte, what a run
// that never stopped emitted from there.

// clEntry is one changelog record; a nil val is a tombstone.
type clEntry struct {
	key string
	val []byte
}

// compact is Kafka's log cleaner run over the closed segments, log[:end]:
// of the records there it keeps the last of each key; the active segment
// (log[end:]) is neither cleaned nor consulted. With dropTombstones
// (delete.retention.ms has passed) the tombstones it keeps go too. Offsets
// are not renumbered: the order of what remains is the log's.
func compact(log []clEntry, end int, dropTombstones bool) []clEntry {
	last := map[string]int{}
	for i, en := range log[:end] {
		last[en.key] = i
	}
	var out []clEntry
	for i, en := range log {
		if i < end && (last[en.key] != i || dropTombstones && en.val == nil) {
			continue
		}
		out = append(out, en)
	}
	return out
}

func TestCompactModel(t *testing.T) {
	e := func(k, v string) clEntry {
		if v == "" {
			return clEntry{k, nil}
		}
		return clEntry{k, []byte(v)}
	}
	str := func(log []clEntry) string {
		var b []string
		for _, en := range log {
			b = append(b, en.key+"="+string(en.val))
		}
		return strings.Join(b, " ")
	}
	log := []clEntry{e("a", "1"), e("b", "1"), e("c", "1"), e("cp", "1"), e("a", "2"), e("b", ""), e("cp", "2"), e("a", "3"), e("c", "")}
	for _, tc := range []struct {
		end  int
		tomb bool
		want string
	}{
		{0, false, "a=1 b=1 c=1 cp=1 a=2 b= cp=2 a=3 c="},
		{4, false, "a=1 b=1 c=1 cp=1 a=2 b= cp=2 a=3 c="}, // nothing repeats within the closed segments
		{7, false, "c=1 a=2 b= cp=2 a=3 c="},              // a=3 and c= are in the active segment: a=2, c=1 stay
		{7, true, "c=1 a=2 cp=2 a=3 c="},                  // the tombstone b= goes, and with it b
		{9, false, "b= cp=2 a=3 c="},                      // a closed tombstone stays until its retention
		{9, true, "cp=2 a=3"},
	} {
		if got := str(compact(log, tc.end, tc.tomb)); got != tc.want {
			t.Errorf("compact(%d, %v) = %s, want %s", tc.end, tc.tomb, got, tc.want)
		}
	}
}

// cutRun is one run of a partition's engine: it applies batches of the
// input, and writes checkpoints (meta: the index of the next event) to a
// changelog as the worker does.
type cutRun struct {
	t   *testing.T
	e   *engine.Engine
	seq *engine.Sequencer
	log *[]clEntry
}

// batch applies the events of batch b and returns its outputs, flushed as
// commit flushes them.
func (r *cutRun) batch(c *cutCase, b int) []event.Output {
	var outs []event.Output
	for _, ev := range c.evs[c.cuts[b]:c.cuts[b+1]] {
		outs = r.seq.Push(ev, outs)
	}
	if b == len(c.cuts)-2 {
		return r.seq.Finish(outs)
	}
	return r.seq.Flush(outs)
}

// changes returns the records of a checkpoint whose next event is next, as
// Changes hands them over (its checkpoint entry last).
func (r *cutRun) changes(next int) []clEntry {
	var cl []clEntry
	if err := r.e.Changes(json.RawMessage(fmt.Sprintf(`{"next":%d}`, next)), func(k string, v []byte) error {
		cl = append(cl, clEntry{k, append([]byte(nil), v...)})
		return nil
	}); err != nil {
		r.t.Fatal(err)
	}
	return cl
}

// checkpoint writes a whole checkpoint to the changelog.
func (r *cutRun) checkpoint(next int) { *r.log = append(*r.log, r.changes(next)...) }

// failed writes only the first keep records of a checkpoint, as a write
// that failed midway, after which the worker writes every key again at its
// next checkpoint (worker.checkpoint). It returns how many records there
// were.
func (r *cutRun) failed(next int, keep func(n int) int) int {
	cl := r.changes(next)
	*r.log = append(*r.log, cl[:keep(len(cl))]...)
	r.e.TrackChanges()
	return len(cl)
}

func half(n int) int       { return n / 2 }
func allButLast(n int) int { return n - 1 }

// cutCase is the input, cut into batches where the timestamp changes (as a
// batch ends), and the outputs of each batch in a run that never stopped.
type cutCase struct {
	rs   *rules.RuleSet
	evs  []*event.Event
	cuts []int // batch b is evs[cuts[b]:cuts[b+1]]
	want [][]event.Output
	// states[b] is the latest value of every key after batches before b
	states []map[string]string
}

// latest is the latest value of every key in log, up to its last checkpoint
// entry: what a restore applies.
func latest(log []clEntry) map[string]string {
	m, last := map[string]string{}, map[string]string{}
	for _, en := range log {
		if en.val == nil {
			delete(m, en.key)
		} else {
			m[en.key] = string(en.val)
		}
		if en.key == engine.CheckpointKey {
			maps.Copy(last, m)
			for k := range last {
				if _, ok := m[k]; !ok {
					delete(last, k)
				}
			}
		}
	}
	return last
}

func newCutCase(t *testing.T, batches int) *cutCase {
	rs, err := rules.Load([]string{"../../examples/rules"}, nil)
	if err != nil {
		t.Fatal(err)
	}
	c := &cutCase{rs: rs}
	for _, l := range kafkatest.ExampleEvents(t, "../../examples/events/black-friday.ndjson") {
		if ev, err := event.Decode(l, event.DecodeOptions{}); err == nil {
			c.evs = append(c.evs, ev)
		}
	}
	var ends []int // where a timestamp changes
	for i := 1; i < len(c.evs); i++ {
		if !c.evs[i].TS.Equal(c.evs[i-1].TS) {
			ends = append(ends, i)
		}
	}
	if len(ends) < batches-1 {
		t.Fatalf("%d timestamps: too few for %d batches", len(ends)+1, batches)
	}
	c.cuts = []int{0}
	for b := 1; b < batches; b++ {
		c.cuts = append(c.cuts, ends[len(ends)*b/batches])
	}
	c.cuts = append(c.cuts, len(c.evs))
	var log []clEntry
	r := c.run(t, engine.New(rs, engine.Options{}), &log)
	c.states = append(c.states, nil)
	for b := 0; b < batches; b++ {
		outs := r.batch(c, b)
		c.want = append(c.want, outs)
		// the whole state after batch b, as a first checkpoint writes it
		e := engine.New(rs, engine.Options{})
		seq := engine.NewSequencer(e)
		for _, ev := range c.evs[:c.cuts[b+1]] {
			seq.Push(ev, nil)
		}
		if b == batches-1 {
			seq.Finish(nil)
		} else {
			seq.Flush(nil)
		}
		c.states = append(c.states, latest((&cutRun{t: t, e: e}).changes(c.cuts[b+1])))
	}
	return c
}

func (c *cutCase) run(t *testing.T, e *engine.Engine, log *[]clEntry) *cutRun {
	e.TrackChanges()
	return &cutRun{t: t, e: e, seq: engine.NewSequencer(e), log: log}
}

// restore reads log as worker.restore does and returns the engine and the
// index of the batch its checkpoint resumes at, or the error of the restore.
func (c *cutCase) restore(t *testing.T, log []clEntry) (*cutRun, int, error) {
	t.Helper()
	cr := &checkpointed{r: engine.NewRestorer()}
	for _, en := range log {
		if err := cr.add(en.key, en.val); err != nil {
			t.Fatal(err)
		}
	}
	e, raw, outs, err := cr.engine(c.rs, engine.Options{})
	if err != nil {
		return nil, 0, err
	}
	if len(outs) != 0 {
		t.Fatalf("the restore emitted %d records with the same rules", len(outs))
	}
	var meta struct{ Next int }
	if err := json.Unmarshal(raw, &meta); err != nil {
		t.Fatalf("checkpoint meta %s: %v", raw, err)
	}
	for b, cut := range c.cuts {
		if cut == meta.Next {
			// the state the restore read is the uninterrupted run's
			got, want := latest(log), c.states[b]
			for k, v := range want {
				if got[k] != v {
					t.Errorf("restored %s (resuming at batch %d):\n got %.200s\nwant %.200s", k, b, got[k], v)
				}
			}
			for k := range got {
				if _, ok := want[k]; !ok {
					t.Errorf("restored %s (resuming at batch %d), which the state does not hold", k, b)
				}
			}
			return &cutRun{t: t, e: e, seq: engine.NewSequencer(e), log: &log}, b, nil
		}
	}
	t.Fatalf("checkpoint meta %s is no batch's start", raw)
	return nil, 0, nil
}

// resume feeds a restored run the batches from..to-1 and compares each
// batch's outputs, in full, with the uninterrupted run's.
func (c *cutCase) resume(t *testing.T, r *cutRun, from, to int) {
	t.Helper()
	for b := from; b < to; b++ {
		got, want := r.batch(c, b), c.want[b]
		if len(got) != len(want) {
			t.Fatalf("batch %d after the restore: %d outputs, want %d", b, len(got), len(want))
		}
		for i := range want {
			g, err := got[i].AppendJSON(nil)
			if err != nil {
				t.Fatal(err)
			}
			w, err := want[i].AppendJSON(nil)
			if err != nil {
				t.Fatal(err)
			}
			if !bytes.Equal(g, w) {
				t.Fatalf("batch %d output %d after the restore:\n got %s\nwant %s", b, i, g, w)
			}
		}
	}
}

// next is the index of the event after batch b.
func (c *cutCase) next(b int) int { return c.cuts[b+1] }

// (a) A checkpoint cut off by a failed write, then the whole one the
// worker writes next (every key again): the restore reads the cut-off
// entries, the whole checkpoint's entries and its checkpoint entry as one
// checkpoint, in which a key's later entry must win.
func TestRestorePartialThenWholeCheckpoint(t *testing.T) {
	c := newCutCase(t, 5)
	var log []clEntry
	r := c.run(t, engine.New(c.rs, engine.Options{}), &log)
	r.batch(c, 0)
	r.checkpoint(c.next(0))
	r.batch(c, 1)
	r.checkpoint(c.next(1))
	r.batch(c, 2)
	if n := r.failed(c.next(2), half); n < 4 {
		t.Fatalf("batch 2 changed %d keys: too few to cut", n)
	}
	r.batch(c, 3)
	r.checkpoint(c.next(3)) // every key again, and its checkpoint entry
	// the process stops here
	re, from, err := c.restore(t, log)
	if err != nil {
		t.Fatal(err)
	}
	if from != 4 {
		t.Fatalf("restored the checkpoint before batch %d, want 4", from)
	}
	c.resume(t, re, from, len(c.want))
}

// (b) The process dies between two produce requests of a checkpoint, twice:
// the first time after all of the checkpoint's entries but its checkpoint
// entry (of a checkpoint that covered three batches), the second time in
// the middle of the restored run's second checkpoint. Each restore resumes
// at the last whole checkpoint, and the restored run writes every key at
// its first checkpoint: the changelog's latest value of a key may be a
// left-out one, of a later state than the restored one, and a key the
// restored run's first batch does not change (console-x, most promotions
// here) would keep it.
func TestRestoreCrashBetweenChangelogBatches(t *testing.T) {
	c := newCutCase(t, 5)
	var log []clEntry
	r := c.run(t, engine.New(c.rs, engine.Options{}), &log)
	r.batch(c, 0)
	r.checkpoint(c.next(0))
	r.batch(c, 1)
	r.checkpoint(c.next(1))
	r.batch(c, 2)
	r.batch(c, 3)
	r.batch(c, 4)
	r.failed(c.next(4), allButLast) // and the process dies

	re, from, err := c.restore(t, log)
	if err != nil {
		t.Fatal(err)
	}
	if from != 2 {
		t.Fatalf("first restore resumes at batch %d, want 2", from)
	}
	c.resume(t, re, 2, 3) // the outputs the dead run produced, again
	re.checkpoint(c.next(2))
	c.resume(t, re, 3, 4)
	re.failed(c.next(3), half) // and it dies too

	re2, from, err := c.restore(t, *re.log)
	if err != nil {
		t.Fatal(err)
	}
	if from != 3 {
		t.Fatalf("second restore resumes at batch %d, want 3", from)
	}
	c.resume(t, re2, from, len(c.want))
}

// (c) Compaction in the middle of a checkpoint. When the segment rolled
// between a checkpoint's entries and its checkpoint entry and the cleaner
// ran before the checkpoint entry was written, the committed values it
// dropped are replaced by the entries the checkpoint entry then commits:
// harmless. When the checkpoint entry never came (the process died), the
// committed values the left-out entries shadowed are gone: the state of the
// last whole checkpoint cannot be rebuilt, and the restore must refuse
// rather than resume from another state (the checkpoint counts its keys).
func TestRestoreCompactedMidCheckpoint(t *testing.T) {
	c := newCutCase(t, 5)
	for _, died := range []bool{false, true} {
		t.Run(fmt.Sprintf("died=%v", died), func(t *testing.T) {
			var log []clEntry
			r := c.run(t, engine.New(c.rs, engine.Options{}), &log)
			r.batch(c, 0)
			r.checkpoint(c.next(0))
			r.batch(c, 1)
			r.checkpoint(c.next(1))
			r.batch(c, 2)
			cl := r.changes(c.next(2))
			log = append(log, cl[:len(cl)-1]...)
			// the segment rolls here, and the cleaner runs
			before := len(log)
			log = compact(log, len(log), true)
			if len(log) == before {
				t.Fatal("compaction dropped nothing")
			}
			if !died {
				log = append(log, cl[len(cl)-1])
			}
			re, from, err := c.restore(t, log)
			if died {
				if err == nil {
					// it must then at least be the right state
					c.resume(t, re, from, len(c.want))
					t.Fatal("restored a state whose entries compaction dropped")
				}
				if !strings.Contains(err.Error(), "lost") {
					t.Fatalf("restore refused with %v, want it to say entries were lost", err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if from != 3 {
				t.Fatalf("restore resumes at batch %d, want 3", from)
			}
			c.resume(t, re, from, len(c.want))
		})
	}
}
