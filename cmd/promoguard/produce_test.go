package main

import (
	"bytes"
	"context"
	"fmt"
	"sort"
	"strings"
	"testing"
	"time"

	kafkago "github.com/segmentio/kafka-go"
	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/promoguard/promoguard/connectors/embedded"
	"github.com/promoguard/promoguard/connectors/kafka"
)

const produceParts = 6

// produceBroker starts an embedded broker with the input topics.
func produceBroker(t *testing.T, topics ...string) string {
	t.Helper()
	b, err := embedded.Start(embedded.Options{Addr: "127.0.0.1:0", Partitions: produceParts})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { b.Close() })
	for _, tp := range topics {
		if err := b.CreateTopic(tp, produceParts, nil); err != nil {
			t.Fatal(err)
		}
	}
	return b.Addr()
}

type record struct {
	topic     string
	partition int
	key       string
	value     string
}

// readAll reads every record of topic, partition by partition.
func readAll(t *testing.T, addr, topic string) []record {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	var out []record
	for p := range produceParts {
		conn, err := kafkago.DialLeader(ctx, "tcp", addr, topic, p)
		if err != nil {
			t.Fatal(err)
		}
		end, err := conn.ReadLastOffset()
		conn.Close()
		if err != nil {
			t.Fatal(err)
		}
		if end == 0 {
			continue
		}
		r := kafkago.NewReader(kafkago.ReaderConfig{Brokers: []string{addr}, Topic: topic, Partition: p, MaxWait: 50 * time.Millisecond})
		for range end {
			m, err := r.ReadMessage(ctx)
			if err != nil {
				r.Close()
				t.Fatal(err)
			}
			out = append(out, record{topic, p, string(m.Key), string(m.Value)})
		}
		r.Close()
	}
	return out
}

func runProduce(t *testing.T, stdin string, args ...string) (int, string, string) {
	t.Helper()
	var o, e bytes.Buffer
	code := run(append([]string{"produce"}, args...), env{stdin: strings.NewReader(stdin), stdout: &o, stderr: &e})
	return code, o.String(), e.String()
}

const produceEvents = `# a comment, then a blank line

{"type":"price","sku":"tv-55","channel":"web","price":799,"currency":"EUR","ts":"2026-11-20T10:00:00Z"}
{"type":"price","sku":"tv-55","channel":"amazon","price":789,"currency":"EUR","ts":"2026-11-20T10:00:00Z"}
{"type":"stock","sku":"tv-55","warehouse":"fra","on_hand":40,"ts":"2026-11-20T10:00:00Z"}
{"type":"price","sku":"hdmi-2m","channel":"web","price":-1,"ts":"2026-11-20T10:00:00Z"}
{"type":"promo","id":"bf-tv","partner":"acme","discount":{"kind":"percent","value":10},"skus":["tv-55"],"start":"2026-11-27T00:00:00Z","end":"2026-11-28T00:00:00Z","ts":"2026-11-20T10:00:00Z"}
not json
{"type":"price","sku":"soundbar","channel":"web","price":299,"currency":"EUR","ts":"2026-11-20T10:00:00Z"}
{"type":"stock","sku":"soundbar","warehouse":"fra","on_hand":3,"ts":"2026-11-20T10:00:00Z"}
`

// TestProduceAuto: each event goes to the topic of its type, keyed by sku
// or promotion id, on the partition murmur2 picks (the same number for a
// sku in prices and stock); invalid lines are reported with their line
// number and skipped, and make the exit status 1.
func TestProduceAuto(t *testing.T) {
	clearConfigEnv(t)
	addr := produceBroker(t, defaultPricesTopic, defaultStockTopic, defaultPromotionsTopic)
	f := writeConfigFile(t, t.TempDir(), "events.ndjson", produceEvents)
	code, stdout, stderr := runProduce(t, "", "--brokers", addr, f)
	if code != 1 {
		t.Fatalf("exit %d, want 1 (invalid lines)\nstdout: %s\nstderr: %s", code, stdout, stderr)
	}
	for _, w := range []string{
		f + ":6: negative_value: price: ",
		f + ":8: malformed_json: ",
	} {
		if !strings.Contains(stderr, w) {
			t.Errorf("stderr %q does not report %q", stderr, w)
		}
	}
	if n := strings.Count(stderr, "(skipped)"); n != 2 {
		t.Errorf("%d lines reported, want 2:\n%s", n, stderr)
	}
	if !strings.Contains(stdout, "produce: 6 events from 1 file in ") ||
		!strings.Contains(stdout, ": pricing.prices 3, pricing.promotions 1, pricing.stock 2\n") ||
		!strings.Contains(stdout, "invalid  2 lines skipped") {
		t.Errorf("summary %q", stdout)
	}

	java := kgo.StickyKeyPartitioner(nil).ForTopic("")
	partOf := map[string]int{}
	var got []string
	for _, topic := range []string{defaultPricesTopic, defaultStockTopic, defaultPromotionsTopic} {
		for _, r := range readAll(t, addr, topic) {
			got = append(got, r.topic+" "+r.key)
			if want := java.Partition(&kgo.Record{Key: []byte(r.key)}, produceParts); r.partition != want {
				t.Errorf("%s key %s on partition %d, murmur2 says %d", topic, r.key, r.partition, want)
			}
			if p, ok := partOf[r.key]; ok && p != r.partition {
				t.Errorf("key %s on partitions %d and %d", r.key, p, r.partition)
			}
			partOf[r.key] = r.partition
			if kind, key, err := kafka.KeyOf([]byte(r.value)); err != nil || key != r.key || (kind == kafka.KindPrices) != (topic == defaultPricesTopic) {
				t.Errorf("%s record %s = %s: %s %s %v", topic, r.key, r.value, kind, key, err)
			}
		}
	}
	sort.Strings(got)
	want := "pricing.prices soundbar,pricing.prices tv-55,pricing.prices tv-55,pricing.promotions bf-tv,pricing.stock soundbar,pricing.stock tv-55"
	if strings.Join(got, ",") != want {
		t.Errorf("records\n%s\nwant\n%s", strings.Join(got, ","), want)
	}
}

// TestProduceTopicAndStdin: --topic sends everything to one topic, still
// keyed; - reads stdin; topic names come from the PROMOGUARD_TOPICS_*
// variables run reads too.
func TestProduceTopicAndStdin(t *testing.T) {
	clearConfigEnv(t)
	addr := produceBroker(t, "all-events", "my.prices")
	valid := "{\"type\":\"price\",\"sku\":\"a\",\"channel\":\"web\",\"price\":1,\"ts\":\"2026-11-20T10:00:00Z\"}\n" +
		"{\"type\":\"stock\",\"sku\":\"a\",\"warehouse\":\"w\",\"on_hand\":1,\"ts\":\"2026-11-20T10:00:00Z\"}\n"
	code, stdout, stderr := runProduce(t, valid, "--brokers", addr, "--topic", "all-events", "-")
	if code != 0 {
		t.Fatalf("exit %d\n%s%s", code, stdout, stderr)
	}
	recs := readAll(t, addr, "all-events")
	if len(recs) != 2 || recs[0].key != "a" || recs[1].key != "a" || recs[0].partition != recs[1].partition {
		t.Fatalf("records %+v", recs)
	}
	if !strings.Contains(stdout, "produce: 2 events from 1 file") || !strings.Contains(stdout, "all-events 2") {
		t.Errorf("summary %q", stdout)
	}

	t.Setenv("PROMOGUARD_BROKERS", addr)
	t.Setenv("PROMOGUARD_TOPICS_PRICES", "my.prices")
	code, stdout, stderr = runProduce(t, valid[:strings.Index(valid, "\n")+1], "-")
	if code != 0 || len(readAll(t, addr, "my.prices")) != 1 {
		t.Fatalf("env: exit %d\n%s%s", code, stdout, stderr)
	}
}

// TestProduceMissingTopic: a topic that does not exist is named at once.
func TestProduceMissingTopic(t *testing.T) {
	clearConfigEnv(t)
	addr := produceBroker(t, defaultPricesTopic)
	ev := "{\"type\":\"stock\",\"sku\":\"a\",\"warehouse\":\"w\",\"on_hand\":1,\"ts\":\"2026-11-20T10:00:00Z\"}\n"
	start := time.Now()
	code, _, stderr := runProduce(t, ev, "--brokers", addr, "-")
	if code != 1 || !strings.Contains(stderr, "topic missing on the brokers: pricing.stock") {
		t.Fatalf("exit %d, stderr %q", code, stderr)
	}
	if d := time.Since(start); d > 5*time.Second {
		t.Errorf("took %s to report a missing topic", d)
	}
}

// TestProduceRate: --rate spaces the events out: 11 events at 100/s take
// at least 100 ms (only a lower bound is checked: a slow machine is
// slower, never faster).
func TestProduceRate(t *testing.T) {
	clearConfigEnv(t)
	addr := produceBroker(t, defaultPricesTopic)
	var b strings.Builder
	for i := range 11 {
		fmt.Fprintf(&b, "{\"type\":\"price\",\"sku\":\"s%d\",\"channel\":\"web\",\"price\":1,\"ts\":\"2026-11-20T10:00:00Z\"}\n", i)
	}
	start := time.Now()
	code, stdout, stderr := runProduce(t, b.String(), "--brokers", addr, "--rate", "100/s", "-")
	if code != 0 {
		t.Fatalf("exit %d\n%s%s", code, stdout, stderr)
	}
	if d := time.Since(start); d < 100*time.Millisecond {
		t.Errorf("11 events at 100/s took %s", d)
	}
	if n := len(readAll(t, addr, defaultPricesTopic)); n != 11 {
		t.Errorf("%d records", n)
	}
}

func TestProduceFlags(t *testing.T) {
	clearConfigEnv(t)
	for _, tc := range []struct {
		args []string
		code int
		want string
	}{
		{[]string{"--rate", "fast", "-"}, 2, `rate "fast" is not a number`},
		{[]string{"--rate", "5/d", "-"}, 2, "the unit is /s, /m or /h"},
		{[]string{"--topic", "a b", "-"}, 2, `--topic: topic name "a b"`},
		{[]string{"--sasl-mechanism", "PLAIN", "-"}, 2, "sasl.username is empty"},
		{[]string{"missing.ndjson"}, 1, "read events missing.ndjson"},
	} {
		code, _, stderr := runProduce(t, "", tc.args...)
		if code != tc.code || !strings.Contains(stderr, tc.want) {
			t.Errorf("%q: exit %d, stderr %q; want %d and %q", tc.args, code, stderr, tc.code, tc.want)
		}
	}
	var r rate
	for s, want := range map[string]float64{"0": 0, "500": 500, "500/s": 500, "30/m": 0.5, "3600/h": 1} {
		if err := r.parse(s); err != nil || float64(r) != want {
			t.Errorf("rate %q = %v, %v; want %v", s, float64(r), err, want)
		}
	}
}
