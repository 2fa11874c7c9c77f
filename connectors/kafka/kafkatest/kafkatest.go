package kafkatest

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/segmentio/kafka-go"
)

// EnvBrokers names the environment variable that holds the brokers'
// addresses, comma-separated host:port.
const EnvBrokers = "PROMOGUARD_TEST_BROKERS"

// requestTimeout bounds each admin request and each produce call.
const requestTimeout = 30 * time.Second

// Brokers returns PROMOGUARD_TEST_BROKERS. When it is not set, a test built
// with the integration tag fails (the suite is meant to run, and a skip would
// hide that it did not); without the tag it skips.
func Brokers(t testing.TB) string {
	t.Helper()
	if b := strings.TrimSpace(os.Getenv(EnvBrokers)); b != "" {
		return b
	}
	const how = "run `make integration` (or `make test`), which starts a Kafka broker and sets it, " +
		"or point it at your own broker: " + EnvBrokers + "=127.0.0.1:9092 go test -tags integration -p 1 ./..."
	if integrationBuild {
		t.Fatalf("%s is not set: %s", EnvBrokers, how)
	}
	t.Skipf("%s is not set: %s", EnvBrokers, how)
	return ""
}

// Addrs splits a comma-separated broker list.
func Addrs(brokers string) []string {
	var out []string
	for _, a := range strings.Split(brokers, ",") {
		if a = strings.TrimSpace(a); a != "" {
			out = append(out, a)
		}
	}
	return out
}

var (
	nameSeq  atomic.Int64
	nameRun  string
	nameOnce sync.Once
)

// Name returns a topic or group name unique to this test and this run:
// prefix, the test's name and a suffix, in the characters Kafka allows
// (letters, digits, '.', '_', '-'; only '-' is added here).
func Name(t testing.TB, prefix string) string {
	t.Helper()
	nameOnce.Do(func() {
		b := make([]byte, 3)
		_, _ = rand.Read(b)
		nameRun = hex.EncodeToString(b)
	})
	clean := func(s string) string {
		return strings.Map(func(r rune) rune {
			switch {
			case r >= 'a' && r <= 'z', r >= 'A' && r <= 'Z', r >= '0' && r <= '9', r == '.', r == '_', r == '-':
				return r
			}
			return '-'
		}, s)
	}
	test := clean(t.Name())
	if len(test) > 120 {
		test = test[:120]
	}
	n := prefix
	if n != "" {
		n = clean(n) + "-"
	}
	return n + test + "-" + nameRun + "-" + strconv.FormatInt(nameSeq.Add(1), 10)
}

// TopicSpec describes a topic for [CreateTopics].
type TopicSpec struct {
	Name       string
	Partitions int // default 1
	// Compacted sets cleanup.policy=compact.
	Compacted bool
	// Configs are more topic configs, e.g. "segment.ms" or
	// "min.cleanable.dirty.ratio" to see compaction happen within a test.
	Configs map[string]string
}

// newClient returns a client with a transport of its own, and the function
// that closes its connections. A kafka-go Transport answers metadata requests
// from a cache it refreshes every 6 s or so (DefaultTransport is shared by
// every client that sets none), and a test must see at once the topics that
// another client, such as the daemon, created a moment ago.
func newClient(brokers string) (*kafka.Client, func()) {
	tr := &kafka.Transport{ClientID: "promoguard-kafkatest"}
	c := &kafka.Client{Addr: kafka.TCP(Addrs(brokers)...), Timeout: requestTimeout, Transport: tr}
	return c, tr.CloseIdleConnections
}

// Metadata returns the brokers' current metadata of the topics (of every
// topic when none is named), not a cached copy.
func Metadata(t testing.TB, brokers string, topics ...string) *kafka.MetadataResponse {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), requestTimeout)
	defer cancel()
	md, err := metadata(ctx, brokers, topics)
	if err != nil {
		t.Fatalf("kafkatest: metadata of %v: %v", topics, err)
	}
	return md
}

func metadata(ctx context.Context, brokers string, topics []string) (*kafka.MetadataResponse, error) {
	c, done := newClient(brokers)
	defer done()
	return c.Metadata(ctx, &kafka.MetadataRequest{Topics: topics})
}

// CreateTopics creates the topics with one replica each, waits until every
// partition has a leader, and deletes them when the test ends (so that runs
// against a long-lived broker do not pile up topics).
func CreateTopics(t testing.TB, brokers string, specs ...TopicSpec) {
	t.Helper()
	c, done := newClient(brokers)
	defer done()
	req := &kafka.CreateTopicsRequest{}
	var names []string
	for _, s := range specs {
		tc := kafka.TopicConfig{Topic: s.Name, NumPartitions: max(s.Partitions, 1), ReplicationFactor: 1}
		if s.Compacted {
			tc.ConfigEntries = append(tc.ConfigEntries, kafka.ConfigEntry{ConfigName: "cleanup.policy", ConfigValue: "compact"})
		}
		for _, k := range sortedKeys(s.Configs) {
			tc.ConfigEntries = append(tc.ConfigEntries, kafka.ConfigEntry{ConfigName: k, ConfigValue: s.Configs[k]})
		}
		req.Topics = append(req.Topics, tc)
		names = append(names, s.Name)
	}
	ctx, cancel := context.WithTimeout(context.Background(), requestTimeout)
	defer cancel()
	res, err := c.CreateTopics(ctx, req)
	if err != nil {
		t.Fatalf("kafkatest: create topics %v: %v", names, err)
	}
	for _, n := range names {
		if err := res.Errors[n]; err != nil {
			t.Fatalf("kafkatest: create topic %s: %v", n, err)
		}
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), requestTimeout)
		defer cancel()
		c, done := newClient(brokers)
		defer done()
		if _, err := c.DeleteTopics(ctx, &kafka.DeleteTopicsRequest{Topics: names}); err != nil {
			t.Logf("kafkatest: delete topics %v: %v", names, err)
		}
	})
	want := make(map[string]int, len(specs))
	for _, s := range specs {
		want[s.Name] = max(s.Partitions, 1)
	}
	var last error
	for {
		if last = topicsReady(ctx, brokers, names, want); last == nil {
			return
		}
		select {
		case <-ctx.Done():
			t.Fatalf("kafkatest: topics %v created but not ready: %v", names, last)
		case <-time.After(50 * time.Millisecond):
		}
	}
}

func topicsReady(ctx context.Context, brokers string, names []string, want map[string]int) error {
	md, err := metadata(ctx, brokers, names)
	if err != nil {
		return err
	}
	seen := 0
	for _, tp := range md.Topics {
		if _, ok := want[tp.Name]; !ok {
			continue
		}
		if tp.Error != nil {
			return fmt.Errorf("%s: %w", tp.Name, tp.Error)
		}
		if len(tp.Partitions) != want[tp.Name] {
			return fmt.Errorf("%s: %d of %d partitions", tp.Name, len(tp.Partitions), want[tp.Name])
		}
		for _, p := range tp.Partitions {
			if p.Error != nil || p.Leader.Host == "" {
				return fmt.Errorf("%s/%d: no leader yet (%v)", tp.Name, p.ID, p.Error)
			}
		}
		seen++
	}
	if seen != len(want) {
		return errors.New("not all topics in the metadata yet")
	}
	return nil
}

// Partitions returns the topic's partition count.
func Partitions(t testing.TB, brokers, topic string) int {
	t.Helper()
	for _, tp := range Metadata(t, brokers, topic).Topics {
		if tp.Name == topic {
			if tp.Error != nil {
				t.Fatalf("kafkatest: metadata of %s: %v", topic, tp.Error)
			}
			return len(tp.Partitions)
		}
	}
	t.Fatalf("kafkatest: topic %s not in the metadata", topic)
	return 0
}

// PartitionOf returns the partition that the Java client's default
// partitioner (murmur2) gives key among n partitions, computed with
// kafka-go's Murmur2Balancer, as promoguard's writers use it. A nil key has
// no such partition: it returns -1. (kafka-go reads an empty key back as
// nil: for a consumed message whose key may be empty, pass []byte{} then.)
func PartitionOf(key []byte, n int) int {
	if key == nil {
		return -1
	}
	parts := make([]int, n)
	for i := range parts {
		parts[i] = i
	}
	return kafka.Murmur2Balancer{}.Balance(kafka.Message{Key: key}, parts...)
}

// Produce writes msgs to topic and waits until every replica has them
// (RequiredAcks all). Keyed messages go to the partition murmur2 gives their
// key, as the Java client would put them; unkeyed ones anywhere. The
// messages' Topic fields are ignored.
func Produce(t testing.TB, brokers, topic string, msgs ...kafka.Message) {
	t.Helper()
	produce(t, brokers, topic, &kafka.Murmur2Balancer{}, msgs)
}

// ProducePartition writes msgs to one partition of topic, whatever their
// keys: to test what a consumer does with a record on a partition its key
// does not hash to.
func ProducePartition(t testing.TB, brokers, topic string, partition int, msgs ...kafka.Message) {
	t.Helper()
	if n := Partitions(t, brokers, topic); partition < 0 || partition >= n {
		t.Fatalf("kafkatest: %s has %d partitions, no partition %d", topic, n, partition)
	}
	produce(t, brokers, topic, kafka.BalancerFunc(func(kafka.Message, ...int) int { return partition }), msgs)
}

func produce(t testing.TB, brokers, topic string, b kafka.Balancer, msgs []kafka.Message) {
	t.Helper()
	tr := &kafka.Transport{ClientID: "promoguard-kafkatest"} // see newClient
	defer tr.CloseIdleConnections()
	w := &kafka.Writer{
		Transport:    tr,
		Addr:         kafka.TCP(Addrs(brokers)...),
		Topic:        topic,
		Balancer:     b,
		RequiredAcks: kafka.RequireAll,
		BatchTimeout: 5 * time.Millisecond,
		BatchSize:    max(len(msgs), 1),
		WriteTimeout: requestTimeout,
	}
	defer w.Close()
	cp := make([]kafka.Message, len(msgs))
	for i, m := range msgs {
		m.Topic = ""
		cp[i] = m
	}
	ctx, cancel := context.WithTimeout(context.Background(), requestTimeout)
	defer cancel()
	if err := w.WriteMessages(ctx, cp...); err != nil {
		t.Fatalf("kafkatest: produce %d messages to %s: %v", len(msgs), topic, err)
	}
}

// Consume reads every partition of topic from its first offset, outside any
// consumer group, until it has n messages or timeout has passed, and returns
// what it read, sorted by partition and offset: n or a few more when
// partitions deliver at once, fewer if the timeout came first (it does not
// fail the test for that: compare the count; reading n+1 with a short timeout
// checks that there are no more than n). n <= 0 reads until the timeout.
func Consume(t testing.TB, brokers, topic string, n int, timeout time.Duration) []kafka.Message {
	t.Helper()
	parts := Partitions(t, brokers, topic)
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	defer cancel()
	var (
		mu   sync.Mutex
		got  []kafka.Message
		wg   sync.WaitGroup
		errs = make(chan error, parts)
	)
	for p := range parts {
		r := kafka.NewReader(kafka.ReaderConfig{
			Brokers:   Addrs(brokers),
			Topic:     topic,
			Partition: p,
			MinBytes:  1,
			MaxBytes:  10 << 20,
			MaxWait:   100 * time.Millisecond,
		})
		wg.Add(1)
		go func() {
			defer wg.Done()
			defer r.Close()
			for {
				m, err := r.ReadMessage(ctx)
				if err != nil {
					if ctx.Err() == nil {
						errs <- fmt.Errorf("partition %d: %w", p, err)
						cancel()
					}
					return
				}
				mu.Lock()
				got = append(got, m)
				full := n > 0 && len(got) >= n
				mu.Unlock()
				if full {
					cancel()
					return
				}
			}
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Fatalf("kafkatest: consume %s: %v", topic, err)
	}
	slices.SortFunc(got, func(a, b kafka.Message) int {
		if a.Partition != b.Partition {
			return a.Partition - b.Partition
		}
		return int(a.Offset - b.Offset)
	})
	return got
}

func sortedKeys(m map[string]string) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	return keys
}

// SASLUser is a user of the test broker's SASL_SSL listener.
type SASLUser struct {
	Mechanism string // PLAIN, SCRAM-SHA-256 or SCRAM-SHA-512
	Username  string
	Password  string
}

// SASLListener is the SASL_SSL listener of the broker that broker.sh
// started: TLS with a certificate for 127.0.0.1 signed by a throwaway CA,
// then SASL PLAIN, SCRAM-SHA-256 or SCRAM-SHA-512, each with a user of its
// own. It advertises its own address, so a client bootstrapped from it
// talks to the broker over SASL_SSL only.
type SASLListener struct {
	Addr   string     // host:port
	CAFile string     // PEM file of the CA that signed the listener's certificate
	Users  []SASLUser // one per mechanism
}

// SASL returns the SASL_SSL listener of the broker in BrokerDir, from the
// files broker.sh start writes there: DIR/sasl (host:port), DIR/ca.pem and
// DIR/sasl-users ("MECHANISM USER PASSWORD" lines). When they are missing a
// test built with the integration tag fails (without the tag it skips).
func SASL(t testing.TB) SASLListener {
	t.Helper()
	dir := BrokerDir(t)
	missing := func(err error) {
		t.Helper()
		msg := fmt.Sprintf("kafkatest: the broker in %s (%s) has no SASL_SSL listener: %v; "+
			"start it with this tree's connectors/kafka/testbroker/broker.sh start DIR, as `make integration` does",
			dir, EnvBrokerDir, err)
		if integrationBuild {
			t.Fatal(msg)
		}
		t.Skip(msg)
	}
	addr, err := os.ReadFile(filepath.Join(dir, "sasl"))
	if err != nil {
		missing(err)
		return SASLListener{}
	}
	l := SASLListener{Addr: strings.TrimSpace(string(addr)), CAFile: filepath.Join(dir, "ca.pem")}
	if _, err := os.Stat(l.CAFile); err != nil {
		missing(err)
		return SASLListener{}
	}
	users, err := os.ReadFile(filepath.Join(dir, "sasl-users"))
	if err != nil {
		missing(err)
		return SASLListener{}
	}
	for _, line := range strings.Split(string(users), "\n") {
		f := strings.Fields(line)
		switch len(f) {
		case 0:
			continue
		case 3:
			l.Users = append(l.Users, SASLUser{Mechanism: f[0], Username: f[1], Password: f[2]})
		default:
			t.Fatalf("kafkatest: %s: line %q is not \"MECHANISM USER PASSWORD\"", filepath.Join(dir, "sasl-users"), line)
		}
	}
	if l.Addr == "" || len(l.Users) == 0 {
		t.Fatalf("kafkatest: the SASL_SSL listener in %s has no address or no users", dir)
	}
	return l
}

// User returns the listener's user of mechanism, failing the test when it
// has none.
func (l SASLListener) User(t testing.TB, mechanism string) SASLUser {
	t.Helper()
	for _, u := range l.Users {
		if u.Mechanism == mechanism {
			return u
		}
	}
	t.Fatalf("kafkatest: the SASL_SSL listener %s has no %s user", l.Addr, mechanism)
	return SASLUser{}
}
