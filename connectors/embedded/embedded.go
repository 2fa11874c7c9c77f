package embedded

import (
	"errors"
	"fmt"
	"net"
	"os"
	"strconv"
	"sync"
	"time"

	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kfake"
)

// DefaultAddr is where the broker listens when Options.Addr is empty: the
// port every Kafka tool tries first.
const DefaultAddr = "127.0.0.1:9092"

// DefaultPartitions is the partition count of topics created without one
// (auto-created topics, CreateTopic with 0).
const DefaultPartitions = 6

// Options configure Start. The zero value starts an in-memory broker on
// DefaultAddr.
type Options struct {
	// Addr is host:port to listen on. The host must be a loopback
	// address or localhost; an empty host means 127.0.0.1, port 0 a free
	// port (Broker.Addr tells which). Empty means DefaultAddr.
	Addr string
	// DataDir, when set, keeps topics, records and committed offsets in
	// this directory across restarts (created if needed). Empty keeps
	// everything in memory. One broker at a time may use a directory.
	DataDir string
	// Partitions is the partition count of topics created without one;
	// 0 means DefaultPartitions.
	Partitions int32
	// AutoCreateTopics lets a client create a topic by asking for its
	// metadata, as a stock Kafka broker does by default, so that a tool
	// such as kcat can produce to a topic nobody created.
	AutoCreateTopics bool
	// Log, when set, receives the broker's warnings and errors, one
	// formatted message a call. Nil keeps the broker silent: its
	// informational logging (every request) is never passed on.
	Log func(level, msg string)
}

// Broker is a running embedded broker.
type Broker struct {
	c      *kfake.Cluster
	addr   string
	unlock func()
	log    *logger

	closeOnce sync.Once
	closeErr  error
}

// Start starts a broker and returns once it accepts connections.
func Start(opts Options) (*Broker, error) {
	addr, err := listenAddr(opts.Addr)
	if err != nil {
		return nil, err
	}
	_, portStr, _ := net.SplitHostPort(addr)
	port, _ := strconv.Atoi(portStr)
	parts := opts.Partitions
	if parts < 0 {
		return nil, fmt.Errorf("embedded broker: partitions must be positive, got %d", parts)
	}
	if parts == 0 {
		parts = DefaultPartitions
	}

	lg := &logger{log: opts.Log}
	kopts := []kfake.Opt{
		kfake.NumBrokers(1),
		kfake.Ports(port),
		// kfake listens on 127.0.0.1:port; listen on the loopback
		// address asked for instead (::1, 127.0.0.2, ...).
		kfake.ListenFn(func(network, _ string) (net.Listener, error) {
			return net.Listen(network, addr)
		}),
		kfake.ClusterID("promoguard-embedded"),
		kfake.DefaultNumPartitions(int(parts)),
		kfake.WithLogger(lg),
		// a dev broker: let tests and demos use short sessions
		kfake.GroupMinSessionTimeout(time.Second),
	}
	if opts.AutoCreateTopics {
		kopts = append(kopts, kfake.AllowAutoTopicCreation())
	}
	unlock := func() {}
	if opts.DataDir != "" {
		if err := os.MkdirAll(opts.DataDir, 0o755); err != nil {
			return nil, fmt.Errorf("embedded broker: data dir: %w", err)
		}
		unlock, err = lockDir(opts.DataDir)
		if err != nil {
			return nil, err
		}
		kopts = append(kopts, kfake.DataDir(opts.DataDir))
	}
	c, err := kfake.NewCluster(kopts...)
	if err != nil {
		unlock()
		var opErr *net.OpError
		if errors.As(err, &opErr) && opErr.Op == "listen" {
			return nil, fmt.Errorf("embedded broker: %w (is another Kafka broker running? configure its address as brokers, or another embedded address)", err)
		}
		return nil, fmt.Errorf("embedded broker: %w", err)
	}
	b := &Broker{c: c, unlock: unlock, log: lg}
	if addrs := c.ListenAddrs(); len(addrs) > 0 {
		b.addr = addrs[0]
	}
	return b, nil
}

// listenAddr checks and completes an Options.Addr.
func listenAddr(a string) (string, error) {
	if a == "" {
		return DefaultAddr, nil
	}
	host, port, err := net.SplitHostPort(a)
	if err != nil {
		return "", fmt.Errorf("embedded broker: address %q: %w", a, err)
	}
	if n, err := strconv.Atoi(port); err != nil || n < 0 || n > 65535 {
		return "", fmt.Errorf("embedded broker: address %q: bad port %q", a, port)
	}
	switch host {
	case "", "localhost":
		host = "127.0.0.1"
	default:
		ip := net.ParseIP(host)
		if ip == nil || !ip.IsLoopback() {
			return "", fmt.Errorf("embedded broker: address %q: the embedded broker listens on a loopback address only (127.0.0.1, ::1 or localhost); point brokers at a real Kafka cluster to serve other hosts", a)
		}
	}
	return net.JoinHostPort(host, port), nil
}

// Addr is the host:port the broker listens on, the one bootstrap address
// clients need.
func (b *Broker) Addr() string { return b.addr }

// Brokers is Addr as a bootstrap list.
func (b *Broker) Brokers() []string { return []string{b.addr} }

// CreateTopic creates a topic with the given partition count (0: the
// broker's default) and topic configs (such as cleanup.policy=compact),
// nil for none. It does nothing when the topic exists: clients that want
// to check partition counts or configs ask over the protocol, as against
// any broker.
func (b *Broker) CreateTopic(name string, partitions int32, configs map[string]string) error {
	err := b.c.CreateTopic(name, partitions, configs)
	if errors.Is(err, kerr.TopicAlreadyExists) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("embedded broker: create topic %s: %w", name, err)
	}
	return nil
}

// Close stops the broker. With a DataDir it first writes its state, so a
// broker started on the same directory finds the topics, records and
// committed offsets again; the error reports a failure to do so. Close may
// be called more than once.
func (b *Broker) Close() error {
	b.closeOnce.Do(func() {
		b.c.Close()
		b.unlock()
		b.closeErr = b.log.closeErr()
	})
	return b.closeErr
}

// logger passes kfake's warnings and errors on, and remembers the errors,
// which is how kfake reports a failure to persist on Close.
type logger struct {
	log func(level, msg string)

	mu   sync.Mutex
	errs []error
}

func (l *logger) Logf(level kfake.LogLevel, format string, args ...any) {
	if level > kfake.LogLevelWarn || level == kfake.LogLevelNone {
		return
	}
	msg := fmt.Sprintf(format, args...)
	if level == kfake.LogLevelError {
		l.mu.Lock()
		if len(l.errs) < 10 {
			l.errs = append(l.errs, errors.New(msg))
		}
		l.mu.Unlock()
	}
	if l.log != nil {
		name := "warn"
		if level == kfake.LogLevelError {
			name = "error"
		}
		l.log(name, msg)
	}
}

func (l *logger) closeErr() error {
	l.mu.Lock()
	defer l.mu.Unlock()
	if len(l.errs) == 0 {
		return nil
	}
	return fmt.Errorf("embedded broker: %w", errors.Join(l.errs...))
}
