package kafka

import (
	"context"
	"errors"
	"net"
	"strings"
	"testing"
	"time"

	"github.com/segmentio/kafka-go"

	"github.com/promoguard/promoguard/connectors/embedded"
)

// startEmbedded starts an in-process broker for one test.
func startEmbedded(t *testing.T) []string {
	t.Helper()
	b, err := embedded.Start(embedded.Options{Addr: "127.0.0.1:0", Partitions: 3})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { b.Close() })
	return b.Brokers()
}

func testCtx(t *testing.T) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	t.Cleanup(cancel)
	return ctx
}

// cleanupPolicy asks the broker for a topic's cleanup.policy.
func cleanupPolicy(t *testing.T, brokers []string, topic string) string {
	t.Helper()
	c := &kafka.Client{Addr: kafka.TCP(brokers...), Timeout: 10 * time.Second}
	resp, err := c.DescribeConfigs(testCtx(t), &kafka.DescribeConfigsRequest{Resources: []kafka.DescribeConfigRequestResource{
		{ResourceType: kafka.ResourceTypeTopic, ResourceName: topic, ConfigNames: []string{"cleanup.policy"}}}})
	if err != nil {
		t.Fatal(err)
	}
	for _, r := range resp.Resources {
		for _, e := range r.ConfigEntries {
			if e.ConfigName == "cleanup.policy" {
				return e.ConfigValue
			}
		}
	}
	return ""
}

var daemonTopics = []TopicSpec{
	{Name: "pricing.prices", Partitions: 6},
	{Name: "pricing.stock", Partitions: 6},
	{Name: "pricing.promotions", Partitions: 1},
	{Name: "pricing.alerts"}, // the broker's default
	{Name: "promoguard.state.g", Partitions: 6, Compacted: true},
}

// TestEnsureTopics: without create, the error names exactly the missing
// topics; with create, they are made with their partition counts (the
// changelog compacted) and served at once; a second call is a no-op.
func TestEnsureTopics(t *testing.T) {
	brokers := startEmbedded(t)
	ctx := testCtx(t)
	if err := EnsureTopics(ctx, brokers, Security{}, daemonTopics[:1], true); err != nil {
		t.Fatal(err)
	}

	err := EnsureTopics(ctx, brokers, Security{}, daemonTopics, false)
	var me *MissingTopicsError
	if !errors.As(err, &me) {
		t.Fatalf("create=false: %v, want a *MissingTopicsError", err)
	}
	if got, want := strings.Join(me.Topics, " "), "pricing.alerts pricing.promotions pricing.stock promoguard.state.g"; got != want {
		t.Fatalf("missing %q, want %q", got, want)
	}
	if !strings.Contains(err.Error(), "topics missing on the brokers: pricing.alerts, pricing.promotions, pricing.stock, promoguard.state.g") {
		t.Fatalf("message %q", err)
	}

	if err := EnsureTopics(ctx, brokers, Security{}, daemonTopics, true); err != nil {
		t.Fatal(err)
	}
	counts, err := PartitionCounts(ctx, brokers, Security{}, "pricing.prices", "pricing.stock", "pricing.promotions", "pricing.alerts", "promoguard.state.g")
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]int{"pricing.prices": 6, "pricing.stock": 6, "pricing.promotions": 1, "pricing.alerts": 3, "promoguard.state.g": 6}
	for n, w := range want {
		if counts[n] != w {
			t.Errorf("%s has %d partitions, want %d", n, counts[n], w)
		}
	}
	if p := cleanupPolicy(t, brokers, "promoguard.state.g"); p != "compact" {
		t.Errorf("changelog cleanup.policy = %q, want compact", p)
	}
	if p := cleanupPolicy(t, brokers, "pricing.prices"); p == "compact" {
		t.Errorf("input topic cleanup.policy = %q", p)
	}
	// the topics are usable at once: a write with acks=all succeeds
	w, err := NewWriter(brokers, Security{}, "promoguard.state.g")
	if err != nil {
		t.Fatal(err)
	}
	defer w.Close()
	if err := w.WriteMessages(ctx, kafka.Message{Key: []byte("k"), Value: []byte("v")}); err != nil {
		t.Fatalf("write to a new topic: %v", err)
	}
	if err := EnsureTopics(ctx, brokers, Security{}, daemonTopics, false); err != nil {
		t.Fatalf("second call: %v", err)
	}
}

func TestEnsureTopicsNotCompacted(t *testing.T) {
	brokers := startEmbedded(t)
	ctx := testCtx(t)
	if err := EnsureTopics(ctx, brokers, Security{}, []TopicSpec{{Name: "state", Partitions: 2}}, true); err != nil {
		t.Fatal(err)
	}
	err := EnsureTopics(ctx, brokers, Security{}, []TopicSpec{{Name: "state", Partitions: 2, Compacted: true}}, true)
	if err == nil || !strings.Contains(err.Error(), "topic state has cleanup.policy=delete, but it must be compacted") {
		t.Fatalf("existing delete-policy changelog: %v", err)
	}
}

func TestEnsureTopicsBadSpecs(t *testing.T) {
	for _, tc := range []struct {
		specs []TopicSpec
		want  string
	}{
		{[]TopicSpec{{Name: "a b"}}, `character ' ' is not allowed`},
		{[]TopicSpec{{Name: ""}}, "topic name is empty"},
		{[]TopicSpec{{Name: "a", Partitions: -1}}, "partitions must be positive"},
		{[]TopicSpec{{Name: "a", Partitions: 1}, {Name: "a", Partitions: 2}}, "given twice with different settings"},
	} {
		err := EnsureTopics(context.Background(), []string{"127.0.0.1:1"}, Security{}, tc.specs, true)
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%+v: %v, want %q", tc.specs, err, tc.want)
		}
	}
	if err := EnsureTopics(context.Background(), nil, Security{}, nil, true); err != nil {
		t.Errorf("no specs: %v", err)
	}
}

// TestNoBroker: a broker that is not there is an error naming it, within
// the context's deadline.
func TestNoBroker(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Second)
	defer cancel()
	start := time.Now()
	err = EnsureTopics(ctx, []string{addr}, Security{}, daemonTopics, true)
	if err == nil || !strings.Contains(err.Error(), addr) {
		t.Fatalf("no broker: %v", err)
	}
	if d := time.Since(start); d > 5*time.Second {
		t.Fatalf("took %s", d)
	}
	if _, err := Partitions(ctx, nil, Security{}, "x"); err == nil || !strings.Contains(err.Error(), "no brokers") {
		t.Fatalf("no brokers: %v", err)
	}
}

func TestCheckCoPartitioned(t *testing.T) {
	brokers := startEmbedded(t)
	ctx := testCtx(t)
	if err := EnsureTopics(ctx, brokers, Security{}, []TopicSpec{
		{Name: "prices", Partitions: 6}, {Name: "stock", Partitions: 6}, {Name: "state", Partitions: 6, Compacted: true},
		{Name: "stock3", Partitions: 3},
	}, true); err != nil {
		t.Fatal(err)
	}
	if err := CheckCoPartitioned(ctx, brokers, Security{}, "prices", "stock", "state"); err != nil {
		t.Fatalf("equal counts: %v", err)
	}
	err := CheckCoPartitioned(ctx, brokers, Security{}, "prices", "stock3", "state")
	if err == nil || !strings.Contains(err.Error(), "topics are not co-partitioned: prices has 6, stock3 has 3, state has 6 partitions") {
		t.Fatalf("different counts: %v", err)
	}
	err = CheckCoPartitioned(ctx, brokers, Security{}, "prices", "nope")
	var me *MissingTopicsError
	if !errors.As(err, &me) || strings.Join(me.Topics, ",") != "nope" || err.Error() != "topic missing on the brokers: nope (create them, or let promoguard create them with create_topics: true)" {
		t.Fatalf("missing topic: %v", err)
	}
	if n, err := Partitions(ctx, brokers, Security{}, "stock3"); n != 3 || err != nil {
		t.Fatalf("Partitions(stock3) = %d, %v", n, err)
	}
}

func TestValidTopicName(t *testing.T) {
	for name, ok := range map[string]bool{
		"pricing.alerts": true, "promoguard.state.my-group_1": true, "": false, ".": false, "..": false,
		"a b": false, "a/b": false, "ünï": false, strings.Repeat("a", 249): true, strings.Repeat("a", 250): false,
	} {
		if err := ValidTopicName(name); (err == nil) != ok {
			t.Errorf("ValidTopicName(%.20q) = %v", name, err)
		}
	}
}

func TestChannelTopic(t *testing.T) {
	for _, tc := range []struct{ channel, want string }{
		{"amazon", "pricing.alerts.amazon"},
		{"Amazon DE", "pricing.alerts.Amazon_DE"},
		{"ebay/uk", "pricing.alerts.ebay_uk"},
		{"web-shop_2.0", "pricing.alerts.web-shop_2.0"},
		{"bücher", "pricing.alerts.b__cher"}, // one '_' a byte: ü is two
		{"", "pricing.alerts._"},
	} {
		got := ChannelTopic("pricing.alerts.", tc.channel)
		if got != tc.want {
			t.Errorf("ChannelTopic(%q) = %q, want %q", tc.channel, got, tc.want)
		}
		if err := ValidTopicName(got); err != nil {
			t.Errorf("ChannelTopic(%q): %v", tc.channel, err)
		}
	}
	a, b := ChannelTopic("pricing.alerts.", strings.Repeat("x", 300)+"a"), ChannelTopic("pricing.alerts.", strings.Repeat("x", 300)+"b")
	if a == b || len(a) != 249 || ValidTopicName(a) != nil {
		t.Errorf("long channels: %q and %q", a, b)
	}
}
