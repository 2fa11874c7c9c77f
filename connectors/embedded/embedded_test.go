package embedded

import (
	"context"
	"errors"
	"fmt"
	"net"
	"strings"
	"testing"
	"time"

	"github.com/segmentio/kafka-go"
	"github.com/twmb/franz-go/pkg/kfake"
)

func start(t *testing.T, opts Options) *Broker {
	t.Helper()
	b, err := Start(opts)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { b.Close() })
	return b
}

// produce writes n records keyed k0..k{n-1} with acks=all and murmur2.
func produce(t *testing.T, addr, topic string, from, n int) {
	t.Helper()
	w := &kafka.Writer{
		Addr:         kafka.TCP(addr),
		Topic:        topic,
		Balancer:     &kafka.Murmur2Balancer{},
		RequiredAcks: kafka.RequireAll,
		BatchTimeout: 5 * time.Millisecond,
	}
	defer w.Close()
	msgs := make([]kafka.Message, n)
	for i := range msgs {
		msgs[i] = kafka.Message{Key: fmt.Appendf(nil, "k%d", from+i), Value: fmt.Appendf(nil, "v%d", from+i)}
	}
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	if err := w.WriteMessages(ctx, msgs...); err != nil {
		t.Fatalf("produce: %v", err)
	}
}

// endOffsets is the high watermark of each partition of topic.
func endOffsets(t *testing.T, addr, topic string, parts int) map[int]int64 {
	t.Helper()
	c := &kafka.Client{Addr: kafka.TCP(addr), Timeout: 10 * time.Second}
	req := &kafka.ListOffsetsRequest{Topics: map[string][]kafka.OffsetRequest{}}
	for p := range parts {
		req.Topics[topic] = append(req.Topics[topic], kafka.LastOffsetOf(p))
	}
	resp, err := c.ListOffsets(context.Background(), req)
	if err != nil {
		t.Fatal(err)
	}
	out := map[int]int64{}
	for _, po := range resp.Topics[topic] {
		if po.Error != nil {
			t.Fatalf("list offsets %s/%d: %v", topic, po.Partition, po.Error)
		}
		out[po.Partition] = po.LastOffset
	}
	return out
}

// readPartition reads the records of one partition in [from, to).
func readPartition(t *testing.T, addr, topic string, p int, from, to int64) []string {
	t.Helper()
	r := kafka.NewReader(kafka.ReaderConfig{Brokers: []string{addr}, Topic: topic, Partition: p, MaxWait: 50 * time.Millisecond})
	defer r.Close()
	if err := r.SetOffset(from); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	var out []string
	for off := from; off < to; off++ {
		m, err := r.ReadMessage(ctx) // a partition reader: no group, nothing committed
		if err != nil {
			t.Fatalf("read %s/%d@%d: %v", topic, p, off, err)
		}
		if m.Offset != off {
			t.Fatalf("read %s/%d: offset %d, want %d", topic, p, m.Offset, off)
		}
		out = append(out, string(m.Key)+"="+string(m.Value))
	}
	return out
}

// joinGroup joins group and returns its first generation's assignments.
func joinGroup(t *testing.T, addr, group, topic string) (*kafka.ConsumerGroup, *kafka.Generation) {
	t.Helper()
	cg, err := kafka.NewConsumerGroup(kafka.ConsumerGroupConfig{
		ID:                group,
		Brokers:           []string{addr},
		Topics:            []string{topic},
		StartOffset:       kafka.FirstOffset,
		SessionTimeout:    6 * time.Second,
		HeartbeatInterval: time.Second,
		JoinGroupBackoff:  100 * time.Millisecond,
	})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	gen, err := cg.Next(ctx)
	if err != nil {
		cg.Close()
		t.Fatalf("join group: %v", err)
	}
	return cg, gen
}

// TestRoundTripSurvivesRestart produces with acks=all, consumes half of
// every partition through kafka-go's ConsumerGroup/Generation API with
// explicit CommitOffsets, restarts the broker on the same DataDir, and
// finds the topic, every record and the committed offsets again.
func TestRoundTripSurvivesRestart(t *testing.T) {
	dir := t.TempDir()
	const topic, group, parts = "pricing.prices", "g1", 3
	b, err := Start(Options{Addr: "127.0.0.1:0", DataDir: dir, Partitions: parts})
	if err != nil {
		t.Fatal(err)
	}
	defer b.Close()
	if err := b.CreateTopic(topic, 0, nil); err != nil {
		t.Fatal(err)
	}
	if err := b.CreateTopic(topic, 0, nil); err != nil {
		t.Fatalf("creating an existing topic: %v", err)
	}
	produce(t, b.Addr(), topic, 0, 60)
	ends := endOffsets(t, b.Addr(), topic, parts)
	var total int64
	for p := range parts {
		if ends[p] == 0 {
			t.Fatalf("partition %d is empty: murmur2 should spread 60 keys over %d partitions: %v", p, parts, ends)
		}
		total += ends[p]
	}
	if total != 60 {
		t.Fatalf("end offsets %v sum to %d, want 60", ends, total)
	}
	before := map[int][]string{}
	for p := range parts {
		before[p] = readPartition(t, b.Addr(), topic, p, 0, ends[p])
	}

	cg, gen := joinGroup(t, b.Addr(), group, topic)
	as := gen.Assignments[topic]
	if len(as) != parts {
		t.Fatalf("one member was assigned %d partitions, want %d", len(as), parts)
	}
	commit := map[int]int64{}
	for _, a := range as {
		if a.Offset != kafka.FirstOffset {
			t.Fatalf("partition %d starts at %d, want FirstOffset with nothing committed", a.ID, a.Offset)
		}
		commit[a.ID] = ends[a.ID] / 2 // the next offset to process
	}
	if err := gen.CommitOffsets(map[string]map[int]int64{topic: commit}); err != nil {
		t.Fatalf("commit: %v", err)
	}
	cg.Close()
	if err := b.Close(); err != nil {
		t.Fatalf("close: %v", err)
	}

	b2, err := Start(Options{Addr: "127.0.0.1:0", DataDir: dir})
	if err != nil {
		t.Fatalf("restart: %v", err)
	}
	defer b2.Close()
	if got := endOffsets(t, b2.Addr(), topic, parts); fmt.Sprint(got) != fmt.Sprint(ends) {
		t.Fatalf("after restart end offsets %v, want %v", got, ends)
	}
	for p := range parts {
		if got := readPartition(t, b2.Addr(), topic, p, 0, ends[p]); strings.Join(got, ",") != strings.Join(before[p], ",") {
			t.Fatalf("partition %d after restart:\n%v\nwant\n%v", p, got, before[p])
		}
	}
	cg2, gen2 := joinGroup(t, b2.Addr(), group, topic)
	defer cg2.Close()
	for _, a := range gen2.Assignments[topic] {
		if a.Offset != commit[a.ID] {
			t.Errorf("partition %d resumes at %d after restart, want the committed %d", a.ID, a.Offset, commit[a.ID])
		}
	}
	// the broker still takes writes after a restart
	produce(t, b2.Addr(), topic, 60, 3)
}

// TestInMemory: without a DataDir nothing survives a restart, and topics
// created without a partition count get Options.Partitions.
func TestInMemory(t *testing.T) {
	b, err := Start(Options{Addr: "127.0.0.1:0", Partitions: 4, AutoCreateTopics: true})
	if err != nil {
		t.Fatal(err)
	}
	if err := b.CreateTopic("a", 0, map[string]string{"cleanup.policy": "compact"}); err != nil {
		t.Fatal(err)
	}
	produce(t, b.Addr(), "a", 0, 10)
	conn, err := kafka.Dial("tcp", b.Addr())
	if err != nil {
		t.Fatal(err)
	}
	ps, err := conn.ReadPartitions("a")
	conn.Close()
	if err != nil || len(ps) != 4 {
		t.Fatalf("partitions of a: %d (%v), want 4", len(ps), err)
	}
	for _, p := range ps {
		if h, _, _ := net.SplitHostPort(p.Leader.Host + ":0"); h != "127.0.0.1" {
			t.Errorf("partition leader advertised as %s, want 127.0.0.1", p.Leader.Host)
		}
	}
	if err := b.Close(); err != nil {
		t.Fatal(err)
	}
	if err := b.Close(); err != nil {
		t.Fatalf("second close: %v", err)
	}

	b2 := start(t, Options{Addr: "127.0.0.1:0"})
	c := &kafka.Client{Addr: kafka.TCP(b2.Addr()), Timeout: 5 * time.Second}
	md, err := c.Metadata(context.Background(), &kafka.MetadataRequest{Topics: []string{"a"}})
	if err != nil {
		t.Fatal(err)
	}
	if len(md.Topics) != 1 || !errors.Is(md.Topics[0].Error, kafka.UnknownTopicOrPartition) {
		t.Fatalf("topic a after an in-memory restart: %+v, want unknown", md.Topics)
	}
}

func TestAutoCreateTopics(t *testing.T) {
	b := start(t, Options{Addr: "127.0.0.1:0", Partitions: 2, AutoCreateTopics: true})
	w := &kafka.Writer{Addr: kafka.TCP(b.Addr()), Topic: "auto", RequiredAcks: kafka.RequireAll,
		BatchTimeout: 5 * time.Millisecond, AllowAutoTopicCreation: true}
	defer w.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	var err error
	for range 50 { // the first write may race the topic's creation
		if err = w.WriteMessages(ctx, kafka.Message{Value: []byte("x")}); err == nil {
			break
		}
		time.Sleep(50 * time.Millisecond)
	}
	if err != nil {
		t.Fatalf("write to an auto-created topic: %v", err)
	}
}

func TestListenAddr(t *testing.T) {
	for _, tc := range []struct{ in, want, err string }{
		{"", DefaultAddr, ""},
		{":0", "127.0.0.1:0", ""},
		{"localhost:9093", "127.0.0.1:9093", ""},
		{"127.0.0.1:9092", "127.0.0.1:9092", ""},
		{"[::1]:0", "[::1]:0", ""},
		{"0.0.0.0:9092", "", "loopback address only"},
		{"192.168.1.4:9092", "", "loopback address only"},
		{"kafka.example.com:9092", "", "loopback address only"},
		{"9092", "", "missing port"},
		{"127.0.0.1:x", "", "bad port"},
		{"127.0.0.1:70000", "", "bad port"},
	} {
		got, err := listenAddr(tc.in)
		switch {
		case tc.err != "" && (err == nil || !strings.Contains(err.Error(), tc.err)):
			t.Errorf("listenAddr(%q) error %v, want one containing %q", tc.in, err, tc.err)
		case tc.err == "" && (err != nil || got != tc.want):
			t.Errorf("listenAddr(%q) = %q, %v; want %q", tc.in, got, err, tc.want)
		}
	}
	if _, err := Start(Options{Addr: "0.0.0.0:0"}); err == nil {
		t.Fatal("Start on 0.0.0.0 succeeded")
	}
}

// TestBindsLoopbackOnly: the broker's socket is bound to 127.0.0.1, not
// to every interface.
func TestBindsLoopbackOnly(t *testing.T) {
	b := start(t, Options{Addr: "127.0.0.1:0"})
	host, _, err := net.SplitHostPort(b.Addr())
	if err != nil || host != "127.0.0.1" {
		t.Fatalf("Addr() = %q, want 127.0.0.1:port", b.Addr())
	}
	if !strings.HasPrefix(b.Brokers()[0], "127.0.0.1:") {
		t.Fatalf("Brokers() = %v", b.Brokers())
	}
}

func TestPortInUse(t *testing.T) {
	b := start(t, Options{Addr: "127.0.0.1:0"})
	_, err := Start(Options{Addr: b.Addr()})
	if err == nil || !strings.Contains(err.Error(), "address already in use") || !strings.Contains(err.Error(), "another Kafka broker") {
		t.Fatalf("second broker on %s: %v, want an address-in-use error with a hint", b.Addr(), err)
	}
}

func TestDataDirInUse(t *testing.T) {
	dir := t.TempDir()
	start(t, Options{Addr: "127.0.0.1:0", DataDir: dir})
	_, err := Start(Options{Addr: "127.0.0.1:0", DataDir: dir})
	if err == nil || !strings.Contains(err.Error(), "in use by another embedded broker") {
		t.Fatalf("second broker on the same data dir: %v", err)
	}
}

// TestLoggerQuiet: kfake's request-level logging never reaches Log; its
// warnings and errors do, and errors are what Close reports.
func TestLoggerQuiet(t *testing.T) {
	var got []string
	l := &logger{log: func(level, msg string) { got = append(got, level+" "+msg) }}
	l.Logf(kfake.LogLevelDebug, "debug %d", 1)
	l.Logf(kfake.LogLevelInfo, "request %s", "Produce")
	l.Logf(kfake.LogLevelWarn, "slow %s", "x")
	l.Logf(kfake.LogLevelError, "persist to disk: %v", "disk full")
	if want := "warn slow x|error persist to disk: disk full"; strings.Join(got, "|") != want {
		t.Fatalf("passed on %q, want %q", strings.Join(got, "|"), want)
	}
	if err := l.closeErr(); err == nil || !strings.Contains(err.Error(), "disk full") {
		t.Fatalf("closeErr = %v", err)
	}
	if err := (&logger{}).closeErr(); err != nil {
		t.Fatalf("closeErr with no errors = %v", err)
	}
}
