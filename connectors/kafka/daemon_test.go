package kafka

import (
	"bufio"
	"bytes"
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

	"github.com/rs/zerolog"
	"github.com/segmentio/kafka-go"

	"github.com/promoguard/promoguard/engine"
	"github.com/promoguard/promoguard/rules"
)

// The daemon's tests run on the embedded broker here; the same scenarios
// run against a real Apache Kafka broker in daemon_integration_test.go.

// dtEnv is one daemon scenario: its broker, topics and rules.
type dtEnv struct {
	t       testing.TB
	brokers []string
	topics  Topics
	group   string
	rs      *rules.RuleSet
	parts   int
}

func newDTEnv(t testing.TB, brokers []string, prefix string, parts int) *dtEnv {
	rs, err := rules.Load([]string{"../../examples/rules"}, nil)
	if err != nil {
		t.Fatal(err)
	}
	group := prefix + "-group"
	tp := Topics{
		Prices: prefix + ".prices", Stock: prefix + ".stock", Promotions: prefix + ".promotions",
		Alerts: prefix + ".alerts", Corrections: prefix + ".corrections", DeadLetter: prefix + ".deadletter",
		Changelog: prefix + ".state", ChannelAlertPrefix: prefix + ".alerts.",
	}
	return &dtEnv{t: t, brokers: brokers, topics: tp, group: group, rs: rs, parts: parts}
}

func (env *dtEnv) config() Config {
	return Config{
		Brokers: env.brokers, Group: env.group, Topics: env.topics, CreateTopics: true, Partitions: env.parts,
		SessionTimeout: 6 * time.Second, BatchTimeout: 10 * time.Millisecond, MaxWait: 300 * time.Millisecond,
		Log: zerolog.New(zerolog.NewTestWriter(env.t)).Level(zerolog.InfoLevel),
	}
}

// runDaemon starts a daemon; stop cancels it and waits for Run to return.
func (env *dtEnv) runDaemon(cfg Config) (d *Daemon, stop func()) {
	t := env.t
	d, err := NewDaemon(cfg, env.rs)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- d.Run(ctx) }()
	var once sync.Once
	stop = func() {
		once.Do(func() {
			cancel()
			select {
			case err := <-done:
				if err != nil {
					t.Errorf("daemon: %v", err)
				}
			case <-time.After(60 * time.Second):
				t.Errorf("daemon did not stop within 60 s")
			}
		})
	}
	t.Cleanup(stop)
	return d, stop
}

// setup creates the topics as the daemon would.
func (env *dtEnv) setup(cfg Config) {
	env.t.Helper()
	d, err := NewDaemon(cfg, env.rs)
	if err != nil {
		env.t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if err := d.Setup(ctx); err != nil {
		env.t.Fatal(err)
	}
}

// exampleEvents reads the example week, comments left out.
func exampleEvents(t testing.TB) [][]byte {
	t.Helper()
	f, err := os.ReadFile("../../examples/events/black-friday.ndjson")
	if err != nil {
		t.Fatal(err)
	}
	var evs [][]byte
	sc := bufio.NewScanner(bytes.NewReader(f))
	for sc.Scan() {
		l := strings.TrimSpace(sc.Text())
		if l == "" || strings.HasPrefix(l, "#") {
			continue
		}
		evs = append(evs, []byte(l))
	}
	return evs
}

// sentinels are price events at ts, one on a sku of each partition, so
// that every partition's watermark reaches ts: timers fire where the
// partition's event time passes them.
func sentinels(t testing.TB, parts int, ts string) [][]byte {
	var out [][]byte
	seen := map[int]bool{}
	for i := 0; len(seen) < parts && i < 1000; i++ {
		sku := fmt.Sprintf("sentinel-%d", i)
		p := partitionOf(sku, parts)
		if seen[p] {
			continue
		}
		seen[p] = true
		out = append(out, []byte(fmt.Sprintf(`{"type":"price","sku":%q,"channel":"web","price":10,"currency":"EUR","ts":%q}`, sku, ts)))
	}
	return out
}

// reference runs events through the engine as replay does and returns the
// ids of its outputs.
func (env *dtEnv) reference(events [][]byte) map[string]engine.Output {
	env.t.Helper()
	e := engine.New(env.rs, engine.Options{})
	seq := engine.NewSequencer(e)
	var outs []engine.Output
	for _, l := range events {
		ev, err := engine.Decode(l, engine.DecodeOptions{})
		if err != nil {
			outs = append(outs, engine.NewDeadLetter(err, l, "ref"))
			continue
		}
		outs = seq.Push(ev, outs)
	}
	outs = seq.Finish(outs)
	ids := map[string]engine.Output{}
	for _, o := range outs {
		if o.DeadLetter == nil {
			ids[outID(o)] = o
		}
	}
	return ids
}

func outID(o engine.Output) string {
	switch {
	case o.Alert != nil:
		return o.Alert.ID
	case o.Correction != nil:
		return o.Correction.ID
	}
	return ""
}

// produce writes events to their topics keyed as the daemon expects.
func (env *dtEnv) produce(events [][]byte) {
	t := env.t
	t.Helper()
	w, err := NewWriter(env.brokers, Security{}, "")
	if err != nil {
		t.Fatal(err)
	}
	defer w.Close()
	var msgs []kafka.Message
	for _, l := range events {
		kind, key, err := KeyOf(l)
		topic := env.topics.Prices
		switch {
		case err != nil:
			// bad input goes to prices, keyed by nothing
		case kind == KindStock:
			topic = env.topics.Stock
		case kind == KindPromotions:
			topic = env.topics.Promotions
		}
		msgs = append(msgs, kafka.Message{Topic: topic, Key: []byte(key), Value: l})
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if err := w.WriteMessages(ctx, msgs...); err != nil {
		t.Fatal(err)
	}
}

// collector reads output topics from the start, from every partition.
type collector struct {
	mu   sync.Mutex
	msgs []kafka.Message
	stop context.CancelFunc
	wg   sync.WaitGroup
}

func (env *dtEnv) collect(topics ...string) *collector {
	t := env.t
	ctx, cancel := context.WithCancel(context.Background())
	c := &collector{stop: cancel}
	t.Cleanup(func() { cancel(); c.wg.Wait() })
	for _, topic := range topics {
		n, err := waitPartitions(ctx, env.brokers, topic)
		if err != nil {
			t.Fatal(err)
		}
		for p := range n {
			r := kafka.NewReader(kafka.ReaderConfig{Brokers: env.brokers, Topic: topic, Partition: p, MinBytes: 1, MaxBytes: 10 << 20, MaxWait: 100 * time.Millisecond})
			c.wg.Add(1)
			go func() {
				defer c.wg.Done()
				defer r.Close()
				for {
					m, err := r.FetchMessage(ctx)
					if err != nil {
						return
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

func waitPartitions(ctx context.Context, brokers []string, topic string) (int, error) {
	for {
		n, err := Partitions(ctx, brokers, Security{}, topic)
		if err == nil && n > 0 {
			return n, nil
		}
		select {
		case <-ctx.Done():
			return 0, fmt.Errorf("topic %s: %v", topic, err)
		case <-time.After(100 * time.Millisecond):
		}
	}
}

// ids returns the ids of the outputs collected so far, and how many
// records carried each.
func (c *collector) ids(t testing.TB) map[string]int {
	c.mu.Lock()
	defer c.mu.Unlock()
	ids := map[string]int{}
	for _, m := range c.msgs {
		var o engine.Output
		if err := json.Unmarshal(m.Value, &o); err != nil {
			t.Fatalf("output %s: %v", m.Value, err)
		}
		if id := outID(o); id != "" {
			ids[id]++
		}
	}
	return ids
}

func (c *collector) messages() []kafka.Message {
	c.mu.Lock()
	defer c.mu.Unlock()
	return slices.Clone(c.msgs)
}

// waitFor waits until every id of want was collected.
func (c *collector) waitFor(t testing.TB, want map[string]engine.Output, timeout time.Duration) map[string]int {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for {
		got := c.ids(t)
		var missing []string
		for id, o := range want {
			if got[id] == 0 {
				b, _ := json.Marshal(o)
				missing = append(missing, string(b))
			}
		}
		if len(missing) == 0 {
			return got
		}
		if time.Now().After(deadline) {
			sort.Strings(missing)
			n := len(missing)
			if len(missing) > 5 {
				missing = append(missing[:5], "…")
			}
			t.Fatalf("%d of %d expected outputs missing after %v (%d distinct collected), e.g.:\n%s", n, len(want), timeout, len(got), strings.Join(missing, "\n"))
			_ = n
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// unexpected lists collected ids the reference does not have.
func unexpected(got map[string]int, want map[string]engine.Output) []string {
	var out []string
	for id := range got {
		if _, ok := want[id]; !ok {
			out = append(out, id)
		}
	}
	sort.Strings(out)
	return out
}

func TestDaemonEmbedded(t *testing.T) {
	if testing.Short() {
		t.Skip("starts a broker")
	}
	testDaemonLifecycle(t, startEmbedded(t), "dt")
}

// testDaemonLifecycle runs the example week through the daemon in three
// phases, against the reference run of the engine:
//  1. half the week (and two bad events) produced before it starts: it
//     catches up in timestamp order across its inputs;
//  2. stopped, the rest produced, restarted: it restores its state from
//     the changelog and continues every lifecycle with the ids of a run
//     that never stopped;
//  3. live: events produced while it runs are followed.
func testDaemonLifecycle(t *testing.T, brokers []string, prefix string) {
	env := newDTEnv(t, brokers, prefix, 3)
	events := exampleEvents(t)
	half := len(events) / 2
	bad := [][]byte{[]byte(`{"type":"price","sku":"x"`), []byte(`{"type":"price","sku":"x","channel":"web","price":-1,"currency":"EUR","ts":"2026-11-23T08:00:00Z"}`)}
	cfg := env.config()
	env.setup(cfg)
	col := env.collect(env.topics.Alerts, env.topics.Corrections, env.topics.DeadLetter)

	// 1
	env.produce(events[:half])
	env.produce(bad)
	want1 := env.reference(events[:half])
	d, stop := env.runDaemon(cfg)
	got := col.waitFor(t, want1, 30*time.Second)
	waitReady(t, d, 10*time.Second)
	if extra := unexpected(got, want1); len(extra) > 0 {
		t.Errorf("phase 1: %d outputs the reference does not have: %v", len(extra), extra)
	}
	for id, n := range got {
		if n > 1 {
			t.Errorf("output %s produced %d times without a restart", id, n)
		}
	}
	var dead []kafka.Message
	for _, m := range col.messages() {
		if m.Topic == env.topics.DeadLetter {
			dead = append(dead, m)
		}
	}
	if len(dead) != len(bad) {
		t.Fatalf("%d dead letters, want %d", len(dead), len(bad))
	}
	for _, m := range dead {
		h := map[string]string{}
		for _, x := range m.Headers {
			h[x.Key] = string(x.Value)
		}
		if h["source_topic"] != env.topics.Prices || h["source_partition"] == "" || h["source_offset"] == "" || h["reason"] == "" {
			t.Errorf("dead letter headers %v", h)
		}
	}
	stop()

	// 2
	before := len(col.messages())
	env.produce(events[half:])
	all := append(slices.Clone(events), sentinels(t, 3, "2026-12-01T09:00:00Z")...)
	env.produce(all[len(events):])
	want2 := env.reference(all)
	if len(want2) < 50 {
		t.Fatalf("the reference has %d outputs: the test would show little", len(want2))
	}
	d2, stop2 := env.runDaemon(cfg)
	got = col.waitFor(t, want2, 30*time.Second)
	waitReady(t, d2, 10*time.Second)
	if extra := unexpected(got, want2); len(extra) > 0 {
		t.Errorf("phase 2: %d outputs the reference does not have: %v", len(extra), extra)
	}
	if len(col.messages()) == before {
		t.Fatal("phase 2 produced nothing")
	}

	// 3
	live := sentinels(t, 3, "2026-12-03T00:00:00Z")
	want3 := env.reference(append(slices.Clone(all), live...))
	env.produce(live)
	got = col.waitFor(t, want3, 30*time.Second)
	if extra := unexpected(got, want3); len(extra) > 0 {
		t.Errorf("phase 3: %d outputs the reference does not have: %v", len(extra), extra)
	}
	stop2()
}

func waitReady(t testing.TB, d *Daemon, timeout time.Duration) {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for {
		ok, why := d.Ready()
		if ok {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("not ready after %v: %s", timeout, why)
		}
		time.Sleep(50 * time.Millisecond)
	}
}
