package kafkatest

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"slices"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/promoguard/promoguard/event"

	"github.com/segmentio/kafka-go"

	"github.com/promoguard/promoguard/engine"
	"github.com/promoguard/promoguard/rules"
)

// Helpers for tests of the daemon: the reference outputs of a stream, and
// a collector of what the daemon produced.

// Reference runs events through the engine as `promoguard replay` does and
// returns its alerts and corrections by id: the outputs the daemon must
// produce for the same input.
func Reference(t testing.TB, rs *rules.RuleSet, events [][]byte) map[string]event.Output {
	t.Helper()
	ids := map[string]event.Output{}
	for _, o := range replay(rs, events) {
		if id := OutputID(o); id != "" {
			ids[id] = o
		}
	}
	return ids
}

// ReferenceFinal is the state each fingerprint ends in when events run
// through the engine as `promoguard replay` runs them: firing or resolved
// for an alert, active or withdrawn for a correction.
func ReferenceFinal(t testing.TB, rs *rules.RuleSet, events [][]byte) map[string]string {
	t.Helper()
	final := map[string]string{}
	for _, o := range replay(rs, events) {
		if fp, state := fingerprintState(o); fp != "" {
			final[fp] = state
		}
	}
	return final
}

// replay runs events through the engine's one driver loop, as `promoguard
// replay` does; dead letters are among the outputs.
func replay(rs *rules.RuleSet, events [][]byte) []event.Output {
	d := engine.NewDriver(engine.New(rs, engine.Options{}), engine.DriverOptions{})
	var outs []event.Output
	for _, l := range events {
		outs = d.Step(engine.Record{Value: l}, outs)
	}
	return d.Finish(outs)
}

func fingerprintState(o event.Output) (fp, state string) {
	switch {
	case o.Alert != nil:
		return o.Alert.Fingerprint, string(o.Alert.State)
	case o.Correction != nil:
		return o.Correction.Fingerprint, string(o.Correction.State)
	}
	return "", ""
}

// FinalStates is the state each fingerprint ends in among the collected
// records. A fingerprint's records share a key, hence a partition, whose
// order the collector keeps; records read again after a restart repeat ids
// already seen and are skipped, so the last first-seen record of a
// fingerprint is its final state however many duplicates came after it.
func (c *Collector) FinalStates(t testing.TB) map[string]string {
	t.Helper()
	seen := map[string]bool{}
	final := map[string]string{}
	for _, m := range c.Messages() {
		var o event.Output
		if err := json.Unmarshal(m.Value, &o); err != nil {
			t.Fatalf("kafkatest: output %s: %v", m.Value, err)
		}
		id := OutputID(o)
		if id == "" || seen[id] {
			continue
		}
		seen[id] = true
		fp, state := fingerprintState(o)
		final[fp] = state
	}
	return final
}

// DiffFinal lists the fingerprints whose final state got differs from want.
func DiffFinal(got, want map[string]string) []string {
	var out []string
	for fp, w := range want {
		if g := got[fp]; g != w {
			out = append(out, fmt.Sprintf("%s: %q, want %q", fp, g, w))
		}
	}
	for fp, g := range got {
		if _, ok := want[fp]; !ok {
			out = append(out, fmt.Sprintf("%s: %q, not in the reference", fp, g))
		}
	}
	sort.Strings(out)
	return out
}

// OutputID is the id of an alert or a correction; "" for a dead letter.
func OutputID(o event.Output) string {
	switch {
	case o.Alert != nil:
		return o.Alert.ID
	case o.Correction != nil:
		return o.Correction.ID
	}
	return ""
}

// Collector reads topics from their first offsets, every partition, in the
// background until the test ends.
type Collector struct {
	mu    sync.Mutex
	msgs  []kafka.Message
	allow []string // fields that may differ from the reference: AllowDiffer
}

// Collect starts a Collector of topics, which must exist.
func Collect(t testing.TB, brokers []string, topics ...string) *Collector {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	c := &Collector{}
	var wg sync.WaitGroup
	t.Cleanup(func() { cancel(); wg.Wait() })
	for _, topic := range topics {
		n := Partitions(t, strings.Join(brokers, ","), topic)
		for p := range n {
			r := kafka.NewReader(kafka.ReaderConfig{Brokers: brokers, Topic: topic, Partition: p, MinBytes: 1, MaxBytes: 10 << 20, MaxWait: 100 * time.Millisecond})
			wg.Add(1)
			go func() {
				defer wg.Done()
				defer r.Close()
				for {
					m, err := r.FetchMessage(ctx)
					if err != nil {
						if ctx.Err() != nil {
							return
						}
						// the broker restarting, in the fault tests: the
						// reader reconnects on the next fetch
						time.Sleep(100 * time.Millisecond)
						continue
					}
					c.mu.Lock()
					c.msgs = append(c.msgs, m)
					c.mu.Unlock()
				}
			}()
		}
	}
	return c
}

// Messages returns what was collected so far.
func (c *Collector) Messages() []kafka.Message {
	c.mu.Lock()
	defer c.mu.Unlock()
	return slices.Clone(c.msgs)
}

// IDs returns the ids of the alerts and corrections collected so far, and
// how many records carried each.
func (c *Collector) IDs(t testing.TB) map[string]int {
	t.Helper()
	ids := map[string]int{}
	for _, m := range c.Messages() {
		var o event.Output
		if err := json.Unmarshal(m.Value, &o); err != nil {
			t.Fatalf("kafkatest: output %s: %v", m.Value, err)
		}
		if id := OutputID(o); id != "" {
			ids[id]++
		}
	}
	return ids
}

// WaitFor waits until every output of want was collected and returns the
// ids collected, failing the test after timeout with what is missing. Then
// it compares every record collected so far whose id want has with want's
// record of that id, field by field (see [DiffContents]; only the fields
// [Collector.AllowDiffer] allowed may differ), and fails the test on a
// difference.
func (c *Collector) WaitFor(t testing.TB, want map[string]event.Output, timeout time.Duration) map[string]int {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for {
		got := c.IDs(t)
		var missing []string
		for id, o := range want {
			if got[id] == 0 {
				b, _ := json.Marshal(o)
				missing = append(missing, string(b))
			}
		}
		if len(missing) == 0 {
			c.checkContents(t, want)
			return got
		}
		if time.Now().After(deadline) {
			sort.Strings(missing)
			n := len(missing)
			if n > 5 {
				missing = append(missing[:5], "…")
			}
			t.Fatalf("%d of %d expected outputs missing after %v (%d distinct collected), e.g.:\n%s",
				n, len(want), timeout, len(got), strings.Join(missing, "\n"))
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// Unexpected lists the collected ids that want does not have.
func Unexpected(got map[string]int, want map[string]event.Output) []string {
	var out []string
	for id := range got {
		if _, ok := want[id]; !ok {
			out = append(out, id)
		}
	}
	sort.Strings(out)
	return out
}

// Duplicates counts the records beyond the first of each id.
func Duplicates(got map[string]int) int {
	n := 0
	for _, c := range got {
		n += c - 1
	}
	return n
}

// ExampleEvents reads an NDJSON events file, blank and # lines left out.
func ExampleEvents(t testing.TB, path string) [][]byte {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	var evs [][]byte
	for _, l := range strings.Split(string(b), "\n") {
		l = strings.TrimSpace(l)
		if l == "" || strings.HasPrefix(l, "#") {
			continue
		}
		evs = append(evs, []byte(l))
	}
	return evs
}

// Sentinels are price events at ts on one sku of each of parts partitions,
// so that every partition's watermark reaches ts (timers fire where a
// partition's event time passes them).
func Sentinels(parts int, ts string) [][]byte {
	var out [][]byte
	seen := map[int]bool{}
	for i := 0; len(seen) < parts && i < 10000; i++ {
		sku := fmt.Sprintf("sentinel-%d", i)
		p := PartitionOf([]byte(sku), parts)
		if seen[p] {
			continue
		}
		seen[p] = true
		out = append(out, []byte(fmt.Sprintf(`{"type":"price","sku":%q,"channel":"web","price":10,"currency":"EUR","ts":%q}`, sku, ts)))
	}
	return out
}
