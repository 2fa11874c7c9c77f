//go:build integration

package kafka

import (
	"context"
	"crypto/x509"
	"errors"
	"io"
	"syscall"
	"testing"
	"time"

	"github.com/segmentio/kafka-go"

	"github.com/promoguard/promoguard/connectors/kafka/kafkatest"
)

// TLS and SASL against the real broker's SASL_SSL listener (broker.sh: a
// certificate for 127.0.0.1 from a throwaway CA, a PLAIN, a SCRAM-SHA-256
// and a SCRAM-SHA-512 user), with the Security config that `promoguard run`
// builds from its tls.* and sasl.* keys. The daemon and the helpers of the
// code under test get only the SASL_SSL address; the test checks what they
// wrote through the PLAINTEXT listener, an observer that shares nothing
// with them.

// saslSecurity is the config of `tls.enable: true, tls.ca_file: CA,
// sasl.mechanism/username/password` for user u.
func saslSecurity(l kafkatest.SASLListener, u kafkatest.SASLUser) Security {
	var s Security
	s.TLS.Enable, s.TLS.CAFile = true, l.CAFile
	s.SASL.Mechanism, s.SASL.Username, s.SASL.Password = u.Mechanism, u.Username, u.Password
	return s
}

// securityTimeout bounds every call that is expected to fail: a failure
// must come as an error well before it, not as the deadline.
const securityTimeout = 15 * time.Second

// For each mechanism, the whole path over TLS and SASL: EnsureTopics
// creates the topics (and checks the changelog's cleanup.policy with
// DescribeConfigs on a second call), events are produced with NewWriter,
// and the daemon joins its consumer group, reads, produces its outputs,
// writes its changelog and commits; stopped and started again, it
// restores from the changelog and continues with the ids of a run that
// never stopped.
func TestIntegrationSecurityDaemon(t *testing.T) {
	l := kafkatest.SASL(t)
	plain := kafkatest.Brokers(t)
	for _, mech := range []string{SASLPlain, SASLScramSHA256, SASLScramSHA512} {
		t.Run(mech, func(t *testing.T) {
			testSecureDaemon(t, l, plain, saslSecurity(l, l.User(t, mech)))
		})
	}
}

func testSecureDaemon(t *testing.T, l kafkatest.SASLListener, plain string, sec Security) {
	const parts = 2
	env := newDTEnv(t, []string{l.Addr}, kafkatest.Name(t, "sec"), parts)
	cfg := env.config()
	cfg.Security = sec
	tp := env.topics
	specs := []TopicSpec{
		{Name: tp.Prices, Partitions: parts}, {Name: tp.Stock, Partitions: parts}, {Name: tp.Promotions, Partitions: 1},
		{Name: tp.Alerts, Partitions: parts}, {Name: tp.Corrections, Partitions: parts}, {Name: tp.DeadLetter, Partitions: 1},
		{Name: tp.Changelog, Partitions: parts, Compacted: true},
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if err := EnsureTopics(ctx, cfg.Brokers, sec, specs, true); err != nil {
		t.Fatalf("EnsureTopics over SASL_SSL: %v", err)
	}
	for _, s := range specs {
		if n := kafkatest.Partitions(t, plain, s.Name); n != s.Partitions {
			t.Fatalf("%s has %d partitions, want %d", s.Name, n, s.Partitions)
		}
	}
	if p := cleanupPolicy(t, kafkatest.Addrs(plain), tp.Changelog); p != "compact" {
		t.Fatalf("changelog cleanup.policy %q", p)
	}
	// the topics exist now: this call describes the changelog's config
	if err := EnsureTopics(ctx, cfg.Brokers, sec, specs, false); err != nil {
		t.Fatalf("EnsureTopics over SASL_SSL, topics present: %v", err)
	}

	col := kafkatest.Collect(t, kafkatest.Addrs(plain), tp.Alerts, tp.Corrections, tp.DeadLetter)
	events := kafkatest.ExampleEvents(t, "../../examples/events/black-friday.ndjson")
	half := len(events) / 2
	all := append(events[:len(events):len(events)], kafkatest.Sentinels(parts, "2026-12-01T09:00:00Z")...)

	env.produceWith(sec, events[:half])
	want1 := kafkatest.Reference(t, env.rs, events[:half])
	d, stop := env.runDaemon(cfg)
	got := col.WaitFor(t, want1, 30*time.Second)
	waitReady(t, d, 10*time.Second)
	if extra := kafkatest.Unexpected(got, want1); len(extra) > 0 {
		t.Errorf("first run: %d outputs the reference does not have: %v", len(extra), extra)
	}
	stop()
	if n := len(kafkatest.Consume(t, plain, tp.Changelog, 1, 10*time.Second)); n == 0 {
		t.Fatal("the first run wrote nothing to the changelog")
	}

	env.produceWith(sec, all[half:])
	want2 := kafkatest.Reference(t, env.rs, all)
	if len(want2) <= len(want1) {
		t.Fatalf("the reference has %d outputs, %d after the first half: the second run would show nothing", len(want2), len(want1))
	}
	d2, stop2 := env.runDaemon(cfg)
	got = col.WaitFor(t, want2, 30*time.Second)
	waitReady(t, d2, 10*time.Second)
	if extra := kafkatest.Unexpected(got, want2); len(extra) > 0 {
		t.Errorf("after the restart: %d outputs the reference does not have (state not restored?): %v", len(extra), extra)
	}
	var bad int
	for _, e := range all {
		if _, _, err := KeyOf(e); err != nil {
			bad++
		}
	}
	if bad == 0 {
		t.Fatal("no invalid event in the input: the dead-letter writer is not exercised")
	}
	deadline := time.Now().Add(10 * time.Second)
	for deadLetters(col, tp.DeadLetter) < bad {
		if time.Now().After(deadline) {
			t.Fatalf("%d dead letters, want %d", deadLetters(col, tp.DeadLetter), bad)
		}
		time.Sleep(50 * time.Millisecond)
	}
	stop2()
	t.Logf("%d outputs, %d duplicates, %d dead letters", len(got), kafkatest.Duplicates(got), deadLetters(col, tp.DeadLetter))
}

func deadLetters(col *kafkatest.Collector, topic string) int {
	n := 0
	for _, m := range col.Messages() {
		if m.Topic == topic {
			n++
		}
	}
	return n
}

// Every way of getting TLS or SASL wrong fails at once, not at a timeout,
// through both of the connections the daemon makes (the Transport of its
// writers and admin requests, the Dialer of its readers and consumer
// group) and from the daemon's Run: an authentication error (whose text,
// through the Transport, is the broker's: "invalid credentials with SASL
// mechanism SCRAM-SHA-256"), a certificate error, or, when the client
// speaks plaintext or skips SASL, the broker closing the connection
// (kafka-go's Transport then adds "broker appears to be expecting TLS" for
// plaintext; TLS without SASL is a bare "unexpected EOF").
func TestIntegrationSecurityRefused(t *testing.T) {
	l := kafkatest.SASL(t)
	good := func(mech string) Security { return saslSecurity(l, l.User(t, mech)) }
	authFailed := func(err error) string {
		if errors.Is(err, kafka.SASLAuthenticationFailed) {
			return ""
		}
		return "want kafka.SASLAuthenticationFailed"
	}
	unknownCA := func(err error) string {
		var ua x509.UnknownAuthorityError
		if errors.As(err, &ua) {
			return ""
		}
		return "want an x509.UnknownAuthorityError"
	}
	closed := func(err error) string {
		if errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) || errors.Is(err, syscall.ECONNRESET) || errors.Is(err, syscall.EPIPE) {
			return ""
		}
		return "want the connection closed by the broker (EOF or reset)"
	}

	for _, tc := range []struct {
		name  string
		sec   Security
		check func(error) string // "" when err is the expected kind
	}{
		{"wrong password PLAIN", with(good(SASLPlain), func(s *Security) { s.SASL.Password += "-wrong" }), authFailed},
		{"wrong password SCRAM-SHA-256", with(good(SASLScramSHA256), func(s *Security) { s.SASL.Password += "-wrong" }), authFailed},
		{"wrong password SCRAM-SHA-512", with(good(SASLScramSHA512), func(s *Security) { s.SASL.Password += "-wrong" }), authFailed},
		{"unknown user", with(good(SASLScramSHA256), func(s *Security) { s.SASL.Username = "nobody" }), authFailed},
		{"SCRAM-SHA-256 user with SCRAM-SHA-512", with(good(SASLScramSHA256), func(s *Security) { s.SASL.Mechanism = SASLScramSHA512 }), authFailed},
		{"another CA", with(good(SASLPlain), func(s *Security) { s.TLS.CAFile = newPKI(t).caFile }), unknownCA},
		{"system CAs", with(good(SASLPlain), func(s *Security) { s.TLS.CAFile = "" }), unknownCA},
		{"wrong server name", with(good(SASLPlain), func(s *Security) { s.TLS.ServerName = "kafka.example.com" }), func(err error) string {
			var he x509.HostnameError
			if errors.As(err, &he) {
				return ""
			}
			return "want an x509.HostnameError"
		}},
		{"PLAINTEXT", Security{}, closed},
		{"SASL without TLS", with(good(SASLPlain), func(s *Security) { s.TLS.Enable, s.TLS.CAFile = false, "" }), closed},
		{"TLS without SASL", with(good(SASLPlain), func(s *Security) { s.SASL.Mechanism, s.SASL.Username, s.SASL.Password = "", "", "" }), closed},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Run("Transport", func(t *testing.T) {
				refused(t, tc.check, func(ctx context.Context) error {
					_, err := PartitionCounts(ctx, []string{l.Addr}, tc.sec)
					return err
				})
			})
			t.Run("Dialer", func(t *testing.T) {
				refused(t, tc.check, func(ctx context.Context) error {
					d, err := tc.sec.Dialer()
					if err != nil {
						t.Fatal(err)
					}
					conn, err := d.DialContext(ctx, "tcp", l.Addr)
					if err == nil {
						_, err = conn.ReadPartitions()
						conn.Close()
					}
					return err
				})
			})
			// what an operator sees: Run stops at once with the error
			// (of Setup's first request), rather than retrying until
			// stopped
			t.Run("Daemon", func(t *testing.T) {
				env := newDTEnv(t, []string{l.Addr}, kafkatest.Name(t, "sec"), 1)
				cfg := env.config()
				cfg.Security = tc.sec
				d, err := NewDaemon(cfg, env.rs)
				if err != nil {
					t.Fatal(err)
				}
				refused(t, tc.check, d.Run)
			})
		})
	}
}

func with(s Security, mod func(*Security)) Security {
	mod(&s)
	return s
}

// refused runs call with a bounded context and checks that it fails, with
// an error that check accepts, before the bound.
func refused(t *testing.T, check func(error) string, call func(ctx context.Context) error) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), securityTimeout)
	defer cancel()
	start := time.Now()
	err := call(ctx)
	took := time.Since(start)
	switch {
	case err == nil:
		t.Fatal("succeeded")
	case ctx.Err() != nil || errors.Is(err, context.DeadlineExceeded):
		t.Fatalf("no answer within %v (%v): a misconfiguration must fail, not hang", securityTimeout, err)
	}
	if why := check(err); why != "" {
		t.Errorf("error %q (%T): %s", err, err, why)
	}
	t.Logf("after %v: %v", took.Round(time.Millisecond), err)
}
