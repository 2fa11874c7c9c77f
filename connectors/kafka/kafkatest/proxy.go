package kafkatest

import (
	"net"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"
)

// A Proxy is a TCP proxy between Kafka clients and the broker's PROXIED
// listener, which advertises the proxy's address (broker.sh writes both to
// DIR/proxied): every connection a client opens, bootstrap and after, goes
// through it, so a test can cut, black-hole or slow the network without
// touching the broker.
type Proxy struct {
	addr, target string
	ln           net.Listener

	mu      sync.Mutex
	mode    proxyMode
	latency time.Duration
	conns   map[*proxyConn]struct{}
	resume  chan struct{} // closed when a black hole ends
	wg      sync.WaitGroup
}

type proxyMode int

const (
	proxyUp        proxyMode = iota
	proxyDown                // connections refused (accepted and closed at once)
	proxyBlackhole           // connections held open, no byte passes
)

type proxyConn struct {
	client, server net.Conn
}

// EnvBrokerDir names the directory of the broker `make integration`
// started (broker.sh start DIR): the fault tests restart it and find its
// proxied listener there.
const EnvBrokerDir = "PROMOGUARD_TEST_BROKER_DIR"

// BrokerDir returns PROMOGUARD_TEST_BROKER_DIR, failing the test (skipping
// it without the integration tag) when it is not set.
func BrokerDir(t testing.TB) string {
	t.Helper()
	if d := strings.TrimSpace(os.Getenv(EnvBrokerDir)); d != "" {
		return d
	}
	const how = "`make integration` sets it to the directory of the broker it starts (connectors/kafka/testbroker/broker.sh start DIR)"
	if integrationBuild {
		t.Fatalf("%s is not set: %s", EnvBrokerDir, how)
	}
	t.Skipf("%s is not set: %s", EnvBrokerDir, how)
	return ""
}

// StartProxy starts the proxy of the broker in BrokerDir on the address its
// PROXIED listener advertises, and stops it when the test ends. Clients
// given Proxy.Addr as their bootstrap broker then talk to the broker only
// through it.
func StartProxy(t testing.TB) *Proxy {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(BrokerDir(t), "proxied"))
	if err != nil {
		t.Fatalf("kafkatest: the broker has no proxied listener: %v", err)
	}
	f := strings.Fields(string(b))
	if len(f) != 2 {
		t.Fatalf("kafkatest: proxied file %q: want \"PROXY TARGET\"", b)
	}
	p, err := NewProxy(f[0], f[1])
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(p.Close)
	return p
}

// NewProxy listens on addr and forwards every connection to target.
func NewProxy(addr, target string) (*Proxy, error) {
	var ln net.Listener
	var err error
	// the port was free when the broker started; a test that just closed
	// a proxy on it may leave it in use for a moment
	for try := 0; try < 50; try++ {
		if ln, err = net.Listen("tcp", addr); err == nil {
			break
		}
		time.Sleep(100 * time.Millisecond)
	}
	if err != nil {
		return nil, err
	}
	p := &Proxy{addr: addr, target: target, ln: ln, conns: map[*proxyConn]struct{}{}, resume: make(chan struct{})}
	p.wg.Add(1)
	go p.accept()
	return p, nil
}

// Addr is the address clients bootstrap from.
func (p *Proxy) Addr() string { return p.addr }

func (p *Proxy) accept() {
	defer p.wg.Done()
	for {
		c, err := p.ln.Accept()
		if err != nil {
			return
		}
		p.mu.Lock()
		mode := p.mode
		p.mu.Unlock()
		if mode == proxyDown {
			c.Close()
			continue
		}
		p.wg.Add(1)
		go p.serve(c)
	}
}

func (p *Proxy) serve(client net.Conn) {
	defer p.wg.Done()
	server, err := net.DialTimeout("tcp", p.target, 5*time.Second)
	if err != nil {
		client.Close()
		return
	}
	pc := &proxyConn{client: client, server: server}
	p.mu.Lock()
	if p.mode == proxyDown {
		p.mu.Unlock()
		client.Close()
		server.Close()
		return
	}
	p.conns[pc] = struct{}{}
	p.mu.Unlock()
	var wg sync.WaitGroup
	wg.Add(2)
	go func() { defer wg.Done(); p.pipe(server, client) }()
	go func() { defer wg.Done(); p.pipe(client, server) }()
	wg.Wait()
	p.mu.Lock()
	delete(p.conns, pc)
	p.mu.Unlock()
}

// pipe copies src to dst, holding each chunk while the proxy is a black
// hole and delivering it the latency set after it was read: a reader
// goroutine stamps chunks and a writer waits for each one's time, so the
// delay is latency, not a cap on bandwidth.
func (p *Proxy) pipe(dst, src net.Conn) {
	defer dst.Close()
	defer src.Close()
	type chunk struct {
		due  time.Time
		data []byte
	}
	chunks := make(chan chunk, 64)
	go func() {
		defer close(chunks)
		for {
			buf := make([]byte, 64<<10)
			n, err := src.Read(buf)
			if n > 0 {
				p.mu.Lock()
				lat := p.latency
				p.mu.Unlock()
				chunks <- chunk{time.Now().Add(lat), buf[:n]}
			}
			if err != nil {
				return // EOF or closed: closing both ends tells the other side
			}
		}
	}()
	for c := range chunks {
		p.mu.Lock()
		mode, resume := p.mode, p.resume
		p.mu.Unlock()
		if mode == proxyBlackhole {
			<-resume
			p.mu.Lock()
			mode = p.mode
			p.mu.Unlock()
		}
		if mode == proxyDown {
			break
		}
		time.Sleep(time.Until(c.due))
		if _, err := dst.Write(c.data); err != nil {
			break
		}
	}
	src.Close()
	for range chunks {
		// let the reader finish
	}
}

// Down closes every connection and refuses new ones until Up: to the
// clients, the broker is gone.
func (p *Proxy) Down() {
	p.mu.Lock()
	p.setMode(proxyDown)
	conns := make([]*proxyConn, 0, len(p.conns))
	for c := range p.conns {
		conns = append(conns, c)
	}
	p.mu.Unlock()
	for _, c := range conns {
		c.client.Close()
		c.server.Close()
	}
}

// Blackhole keeps every connection open but lets no byte through, as a
// network partition does: clients see timeouts, not closed connections.
func (p *Proxy) Blackhole() {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.setMode(proxyBlackhole)
}

// Up lets traffic through again.
func (p *Proxy) Up() {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.setMode(proxyUp)
}

// SetLatency delays every chunk of data in either direction by d: a
// round trip takes 2d more.
func (p *Proxy) SetLatency(d time.Duration) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.latency = d
}

// setMode changes the mode; p.mu is held. Leaving a black hole releases
// the chunks it held (dropped when the proxy goes down).
func (p *Proxy) setMode(m proxyMode) {
	if p.mode == proxyBlackhole && m != proxyBlackhole {
		close(p.resume)
		p.resume = make(chan struct{})
	}
	p.mode = m
}

// Close stops the proxy and closes every connection.
func (p *Proxy) Close() {
	p.ln.Close()
	p.Down()
	p.wg.Wait()
}
