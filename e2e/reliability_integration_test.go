//go:build integration

package e2e

// Reliability (RELIABILITY.md): each scenario runs a generated stream
// through `promoguard run` processes against the real broker, injects a
// fault while they work, and compares what they produced with a
// fault-free replay of the same events: every transition id of the
// reference must appear, none it lacks, every record must have the
// contents of the reference record of its id (kafkatest WaitFor), and
// every fingerprint must end in the state it ends in there. Duplicates
// (at-least-once delivery) are counted and reported, as is the time to
// recover.
//
// `make test` runs them at a small size; `make reliability` runs them at
// PROMOGUARD_RELIABILITY=large and writes the table RELIABILITY.md holds
// (PROMOGUARD_RELIABILITY_REPORT names the file rows are appended to).

import (
	"context"
	"encoding/json"
	"fmt"
	"math"
	"math/rand/v2"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/promoguard/promoguard/event"

	"github.com/segmentio/kafka-go"

	"github.com/promoguard/promoguard/connectors/kafka/kafkatest"
)

// relSize is the size of a scenario's stream.
type relSize struct {
	skus, events int
	parts        int // the stream is produced in this many parts
	kills        int // SIGKILLs in the kill scenario
}

func reliabilitySize() relSize {
	if os.Getenv("PROMOGUARD_RELIABILITY") == "large" {
		return relSize{2000, 120000, 24, 3}
	}
	return relSize{300, 6000, 12, 2}
}

// relRun is one scenario: its topics, stream, reference and collector.
type relRun struct {
	*runScenario
	size   relSize
	parts  [][][]byte // the stream in parts, the sentinels in the last
	events int
	want   map[string]event.Output
	final  map[string]string
	col    *kafkatest.Collector
	began  time.Time
	procs  int
}

// The daemon flags of every scenario: a 6 s session (the test broker allows
// it), and a grace long enough that the events of one part, produced to
// three topics one after the other, are always merged in timestamp order
// however the fetches interleave, so that the outputs are exactly the
// replay's.
var relFlags = []string{"--session-timeout", "6s", "--batch-grace", "2s"}

func newRelRun(t *testing.T, prefix string) *relRun {
	return newRelRunSized(t, prefix, reliabilitySize())
}

func newRelRunSized(t *testing.T, prefix string, size relSize) *relRun {
	s := newRunScenario(t, prefix)
	s.parts = 3
	events := generated(t, size.skus, size.events)
	last := lastTS(t, events)
	r := &relRun{runScenario: s, size: size, events: len(events), began: time.Now()}
	for i := range size.parts {
		r.parts = append(r.parts, events[i*len(events)/size.parts:(i+1)*len(events)/size.parts])
	}
	sentinels := kafkatest.Sentinels(s.parts, last.Add(time.Hour).Format(time.RFC3339))
	r.parts[len(r.parts)-1] = append(r.parts[len(r.parts)-1], sentinels...)
	r.events += len(sentinels)
	return r
}

// reference computes the fault-free outputs of the whole stream under the
// scenario's rules.
func (r *relRun) reference() {
	var all [][]byte
	for _, p := range r.parts {
		all = append(all, p...)
	}
	rs := r.loadRules()
	r.want = kafkatest.Reference(r.t, rs, all)
	r.final = kafkatest.ReferenceFinal(r.t, rs, all)
}

// startDaemon starts an instance with the scenario's flags and, on the
// first call, the collector of its outputs (their topics exist once an
// instance has set them up).
func (r *relRun) startDaemon(extra ...string) *daemonProc {
	p := r.start(append(append([]string{}, relFlags...), extra...)...)
	r.procs++
	n := r.procs
	r.t.Cleanup(func() {
		// kept on failure, or always with PROMOGUARD_RELIABILITY_LOGS set
		if r.t.Failed() || os.Getenv("PROMOGUARD_RELIABILITY_LOGS") != "" {
			path := filepath.Join(os.TempDir(), fmt.Sprintf("%s-daemon-%d.log", r.prefix, n))
			if err := os.WriteFile(path, []byte(p.logText()), 0o644); err == nil {
				r.t.Logf("daemon %d's log: %s", n, path)
			}
		}
	})
	if r.col == nil {
		p.waitReady(r.t)
		r.col = kafkatest.Collect(r.t, kafkatest.Addrs(r.brokers), r.topic("alerts"), r.topic("corrections"))
		r.t.Cleanup(r.dumpOnFailure)
	}
	return p
}

// feed produces parts [from, to), each to promotions, then stock, then
// prices, with gap between parts.
func (r *relRun) feed(from, to int, gap time.Duration) {
	for i := from; i < to && i < len(r.parts); i++ {
		r.produceOrdered(r.parts[i])
		if gap > 0 && i+1 < to {
			time.Sleep(gap)
		}
	}
}

func (s *runScenario) produceOrdered(events [][]byte) {
	s.t.Helper()
	byTopic := map[string][]kafka.Message{}
	for _, l := range events {
		var ev struct{ Type, SKU, ID string }
		if err := json.Unmarshal(l, &ev); err != nil {
			s.t.Fatal(err)
		}
		topic, key := "prices", ev.SKU
		switch ev.Type {
		case "stock":
			topic = "stock"
		case "promo":
			topic, key = "promotions", ev.ID
		}
		byTopic[topic] = append(byTopic[topic], kafka.Message{Key: []byte(key), Value: l})
	}
	for _, topic := range []string{"promotions", "stock", "prices"} {
		if msgs := byTopic[topic]; len(msgs) > 0 {
			kafkatest.Produce(s.t, s.brokers, s.topic(topic), msgs...)
		}
	}
}

// relResult is one row of RELIABILITY.md.
type relResult struct {
	scenario, injected string
	duplicates         int
	recovery           string // time from the end of the fault to ready again
	notes              string
}

// verify waits for every output of the reference, fails on one it does not
// have or a fingerprint ending elsewhere, and reports the row.
func (r *relRun) verify(res relResult) {
	t := r.t
	t.Helper()
	got := r.col.WaitFor(t, r.want, relWait)
	if extra := kafkatest.Unexpected(got, r.want); len(extra) > 0 {
		t.Errorf("%d outputs the reference does not have, e.g. %v", len(extra), extra[:min(5, len(extra))])
	}
	if diff := kafkatest.DiffFinal(r.col.FinalStates(t), r.final); len(diff) > 0 {
		t.Errorf("%d fingerprints end in another state than in the reference, e.g.:\n%s", len(diff), strings.Join(diff[:min(5, len(diff))], "\n"))
	}
	res.duplicates = kafkatest.Duplicates(got)
	row := fmt.Sprintf("| %s | %s | %d | %d | 0 | %d | %s | %s | %s |", res.scenario, res.injected, r.events, len(r.want),
		res.duplicates, orDash(res.recovery), time.Since(r.began).Round(time.Second), res.notes)
	t.Logf("RELIABILITY %s", row)
	if path := os.Getenv("PROMOGUARD_RELIABILITY_REPORT"); path != "" && !t.Failed() {
		f, err := os.OpenFile(path, os.O_APPEND|os.O_CREATE|os.O_WRONLY, 0o644)
		if err != nil {
			t.Fatal(err)
		}
		fmt.Fprintf(f, "%s\n", row)
		f.Close()
	}
}

// dumpOnFailure writes what was collected and what the reference has to
// files, for comparing them.
func (r *relRun) dumpOnFailure() {
	if !r.t.Failed() {
		return
	}
	var got, want strings.Builder
	for _, m := range r.col.Messages() {
		fmt.Fprintf(&got, "%s\t%d\t%d\t%s\n", m.Topic, m.Partition, m.Offset, m.Value)
	}
	for _, o := range r.want {
		b, _ := json.Marshal(o)
		fmt.Fprintf(&want, "%s\n", b)
	}
	base := filepath.Join(os.TempDir(), r.prefix)
	os.WriteFile(base+"-collected.tsv", []byte(got.String()), 0o644)
	os.WriteFile(base+"-reference.ndjson", []byte(want.String()), 0o644)
	r.t.Logf("outputs collected: %s-collected.tsv, reference: %s-reference.ndjson", base, base)
}

func orDash(s string) string {
	if s == "" {
		return "–"
	}
	return s
}

// waitReadyFor waits for /readyz to answer 200 and returns how long that
// took.
func (p *daemonProc) waitReadyFor(t *testing.T, timeout time.Duration) time.Duration {
	t.Helper()
	start := time.Now()
	for {
		if code, _ := p.tryGet("/readyz"); code == 200 {
			return time.Since(start)
		}
		if time.Since(start) > timeout {
			_, why := p.tryGet("/readyz")
			t.Fatalf("not ready %v after the fault ended: %s\n%s", timeout, why, p.tail(40))
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// waitNotReady waits for /readyz to answer 503 and returns its reason.
func (p *daemonProc) waitNotReady(t *testing.T, timeout time.Duration) (time.Duration, string) {
	t.Helper()
	start := time.Now()
	for {
		if code, why := p.tryGet("/readyz"); code == 503 {
			return time.Since(start), strings.TrimSpace(why)
		}
		if time.Since(start) > timeout {
			t.Fatalf("/readyz still 200 %v into the fault", timeout)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// relHTTP gives up on a process that does not answer (SIGSTOP).
var relHTTP = &http.Client{Timeout: 3 * time.Second}

// tryGet is get without failing the test: 0 when the process does not
// answer (stopped, killed).
func (p *daemonProc) tryGet(path string) (int, string) {
	resp, err := relHTTP.Get("http://" + p.http + path)
	if err != nil {
		return 0, err.Error()
	}
	defer resp.Body.Close()
	var sb strings.Builder
	buf := make([]byte, 4096)
	for {
		n, err := resp.Body.Read(buf)
		sb.Write(buf[:n])
		if err != nil {
			break
		}
	}
	return resp.StatusCode, sb.String()
}

// metricSum sums the samples of a metric whose labels contain match.
func (p *daemonProc) metricSum(t *testing.T, name, match string) float64 {
	t.Helper()
	_, body := p.tryGet("/metrics")
	sum := 0.0
	for _, l := range strings.Split(body, "\n") {
		f := strings.Fields(l)
		if len(f) != 2 || !(f[0] == name || strings.HasPrefix(f[0], name+"{")) || !strings.Contains(f[0], match) {
			continue
		}
		v, _ := strconv.ParseFloat(f[1], 64)
		sum += v
	}
	return sum
}

func (p *daemonProc) tail(n int) string {
	lines := strings.Split(strings.TrimSpace(p.logText()), "\n")
	return strings.Join(lines[max(0, len(lines)-n):], "\n")
}

// waitApplying waits until the process has applied at least n events.
func (p *daemonProc) waitApplying(t *testing.T, n float64) {
	t.Helper()
	deadline := time.Now().Add(60 * time.Second)
	for p.metricSum(t, "promoguard_events_total", "") < n {
		if time.Now().After(deadline) {
			t.Fatalf("fewer than %v events applied after 60 s:\n%s", n, p.tail(20))
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// 1. The daemon is killed with SIGKILL several times while the stream
// flows, and restarted at once.
func TestIntegrationReliabilityKill(t *testing.T) {
	r := newRelRun(t, "rel-kill")
	r.reference()
	p := r.startDaemon()
	rng := rand.New(rand.NewPCG(1, 2))
	kills := 0
	var recovery time.Duration
	step := max(1, r.size.parts/(r.size.kills+1))
	for from := 0; from < len(r.parts); from += step {
		r.feed(from, from+step, 100*time.Millisecond)
		if from+step >= len(r.parts) {
			break
		}
		p.waitApplying(t, 1)
		time.Sleep(time.Duration(rng.IntN(400)) * time.Millisecond)
		p.kill()
		kills++
		p = r.startDaemon()
		recovery = max(recovery, p.waitReadyFor(t, 120*time.Second))
	}
	r.verify(relResult{scenario: "daemon killed", injected: fmt.Sprintf("SIGKILL ×%d mid-stream, restarted at once", kills),
		recovery: "≤ " + recovery.Round(100*time.Millisecond).String(), notes: "restart to ready (restore + catch up)"})
	p.stop(t)
}

// 2. The broker is stopped and restarted while the daemon works, cleanly
// and with SIGKILL: /readyz turns false while it is down, the daemon
// reconnects by itself and nothing is lost.
func TestIntegrationReliabilityBrokerRestart(t *testing.T) {
	for _, mode := range []string{"clean", "kill"} {
		t.Run(mode, func(t *testing.T) {
			dir := kafkatest.BrokerDir(t)
			r := newRelRun(t, "rel-broker-"+mode)
			r.reference()
			p := r.startDaemon()
			half := len(r.parts) / 2
			r.feed(0, half, 50*time.Millisecond)
			p.waitApplying(t, 1)
			args := []string{"halt", dir}
			if mode == "kill" {
				args = append(args, "--kill")
			}
			broker(t, args...)
			down := time.Now()
			notReady, why := p.waitNotReady(t, 20*time.Second)
			t.Logf("not ready %v after the broker stopped: %s", notReady.Round(time.Millisecond), why)
			// down for longer than the session timeout
			time.Sleep(time.Until(down.Add(8 * time.Second)))
			if code, _ := p.tryGet("/readyz"); code != 503 {
				t.Errorf("/readyz %d while the broker is down", code)
			}
			broker(t, "resume", dir)
			up := time.Now()
			recovery := p.waitReadyFor(t, 120*time.Second)
			t.Logf("ready %v after the broker was back", recovery.Round(time.Millisecond))
			r.feed(half, len(r.parts), 50*time.Millisecond)
			how := "stopped (SIGTERM)"
			if mode == "kill" {
				how = "killed (SIGKILL)"
			}
			r.verify(relResult{scenario: "broker " + how + " and restarted",
				injected: fmt.Sprintf("broker down %s mid-stream", up.Sub(down).Round(100*time.Millisecond)),
				recovery: recovery.Round(100 * time.Millisecond).String(),
				notes:    fmt.Sprintf("/readyz 503 %s after the stop", notReady.Round(100*time.Millisecond))})
			p.stop(t)
		})
	}
}

// broker runs broker.sh on the test broker.
func broker(t *testing.T, args ...string) {
	t.Helper()
	cmd := exec.Command("../connectors/kafka/testbroker/broker.sh", args...)
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("broker.sh %v: %v\n%s", args, err, out)
	}
}

// 2b. The network between daemon and broker is cut (every connection held
// open, no byte through) for longer than the session timeout.
func TestIntegrationReliabilityPartition(t *testing.T) {
	proxy := kafkatest.StartProxy(t)
	r := newRelRun(t, "rel-partition")
	r.daemon = proxy.Addr()
	r.reference()
	p := r.startDaemon()
	half := len(r.parts) / 2
	r.feed(0, half, 50*time.Millisecond)
	p.waitApplying(t, 1)
	proxy.Blackhole()
	cut := time.Now()
	// the producer is not behind the proxy: the stream goes on
	r.feed(half, len(r.parts)-1, 50*time.Millisecond)
	notReady, why := p.waitNotReady(t, 20*time.Second)
	t.Logf("not ready %v after the cut: %s", notReady.Round(time.Millisecond), why)
	time.Sleep(time.Until(cut.Add(10 * time.Second)))
	proxy.Up()
	healed := time.Now()
	recovery := p.waitReadyFor(t, 120*time.Second)
	r.feed(len(r.parts)-1, len(r.parts), 0)
	r.verify(relResult{scenario: "network partition", injected: fmt.Sprintf("daemon cut off from the broker for %s (black hole)", healed.Sub(cut).Round(100*time.Millisecond)),
		recovery: recovery.Round(100 * time.Millisecond).String(), notes: fmt.Sprintf("/readyz 503 %s after the cut", notReady.Round(100*time.Millisecond))})
	p.stop(t)
}

// 3. A second instance joins the group mid-stream and later leaves it.
func TestIntegrationReliabilityRebalance(t *testing.T) {
	r := newRelRun(t, "rel-rebalance")
	r.reference()
	a := r.startDaemon()
	third := len(r.parts) / 3
	r.feed(0, third, 100*time.Millisecond)
	joining := time.Now()
	b := r.startDaemon()
	r.feed(third, 2*third, 100*time.Millisecond)
	var pa, pb float64
	waitFor(t, 30*time.Second, func() bool {
		pa, pb = a.metricSum(t, "promoguard_partitions_assigned", ""), b.metricSum(t, "promoguard_partitions_assigned", "")
		return pa+pb == float64(r.runScenario.parts) && pb > 0
	}, func() string {
		return fmt.Sprintf("after the join: %v + %v partitions assigned, want %d shared", pa, pb, r.runScenario.parts)
	})
	b.waitReadyFor(t, 120*time.Second)
	a.waitReadyFor(t, 120*time.Second)
	joined := time.Since(joining)
	b.stop(t)
	leaving := time.Now()
	waitFor(t, 30*time.Second, func() bool {
		pa = a.metricSum(t, "promoguard_partitions_assigned", "")
		return pa == float64(r.runScenario.parts)
	}, func() string {
		return fmt.Sprintf("after the leave: %v partitions assigned to the remaining instance, want %d", pa, r.runScenario.parts)
	})
	a.waitReadyFor(t, 120*time.Second)
	left := time.Since(leaving)
	r.feed(2*third, len(r.parts), 100*time.Millisecond)
	r.verify(relResult{scenario: "rebalance", injected: fmt.Sprintf("a second instance joins mid-stream (took %v of the %d partitions), later leaves (SIGTERM)", pb, r.runScenario.parts),
		recovery: fmt.Sprintf("%s join, %s leave", joined.Round(100*time.Millisecond), left.Round(100*time.Millisecond)),
		notes:    "from the second instance's start, and from its exit, to every partition assigned, restored and caught up"})
	a.stop(t)
}

// 4. One of two instances is paused (SIGSTOP) for longer than the session
// timeout, then continued: the other takes its partitions, the paused one
// finds its generation over, writes no stale state, and rejoins.
func TestIntegrationReliabilityPause(t *testing.T) {
	r := newRelRun(t, "rel-pause")
	r.reference()
	a := r.startDaemon()
	b := r.startDaemon()
	b.waitReadyFor(t, 120*time.Second)
	half := len(r.parts) / 2
	r.feed(0, half, 50*time.Millisecond)
	a.waitApplying(t, 1)
	if err := a.cmd.Process.Signal(syscall.SIGSTOP); err != nil {
		t.Fatal(err)
	}
	stopped := time.Now()
	r.feed(half, len(r.parts)-1, 100*time.Millisecond)
	// the session (6 s) expires; b takes every partition
	waitFor(t, 60*time.Second, func() bool {
		return b.metricSum(t, "promoguard_partitions_assigned", "") == float64(r.runScenario.parts)
	}, func() string { return "the running instance did not take the paused one's partitions:\n" + b.tail(20) })
	took := time.Since(stopped)
	time.Sleep(time.Until(stopped.Add(12 * time.Second)))
	if err := a.cmd.Process.Signal(syscall.SIGCONT); err != nil {
		t.Fatal(err)
	}
	paused := time.Since(stopped)
	cont := time.Now()
	r.feed(len(r.parts)-1, len(r.parts), 0)
	ra := a.waitReadyFor(t, 120*time.Second)
	rb := b.waitReadyFor(t, 120*time.Second)
	// every partition is held, by one instance or the other
	var na, nb float64
	waitFor(t, 60*time.Second, func() bool {
		na, nb = a.metricSum(t, "promoguard_partitions_assigned", ""), b.metricSum(t, "promoguard_partitions_assigned", "")
		return na+nb == float64(r.runScenario.parts)
	}, func() string {
		return fmt.Sprintf("%v + %v partitions assigned after the pause, want %d", na, nb, r.runScenario.parts)
	})
	r.verify(relResult{scenario: "paused process", injected: fmt.Sprintf("SIGSTOP for %s (session timeout 6s), then SIGCONT", paused.Round(100*time.Millisecond)),
		recovery: max(ra, rb).Round(100 * time.Millisecond).String(),
		notes:    fmt.Sprintf("the other instance held every partition %s after the stop; both ready %s after SIGCONT", took.Round(100*time.Millisecond), time.Since(cont).Round(100*time.Millisecond))})
	a.stop(t)
	b.stop(t)
}

// poisonRecord is a bad record and the dead-letter reason it must get.
type poisonRecord struct {
	topic      string
	reason     event.Code
	key, value []byte
}

func poisonRecords() []poisonRecord {
	big := `{"type":"price","sku":"big","channel":"web","price":1,"currency":"EUR","ts":"2026-11-23T00:00:00Z","note":"` +
		strings.Repeat("x", event.DefaultMaxSize) + `"}`
	return []poisonRecord{
		{"prices", event.BadJSON, []byte("p1"), []byte(`{"type":"price","sku":`)},
		{"prices", event.BadJSON, []byte("p2"), []byte(`not json at all`)},
		{"prices", event.BadWrongType, []byte("p3"), []byte(`{"type":"price","sku":"p3","channel":"web","price":"12.5","currency":"EUR","ts":"2026-11-23T00:00:00Z"}`)},
		{"prices", event.BadMissing, []byte("p4"), []byte(`{"type":"price","sku":"p4","price":12.5,"currency":"EUR","ts":"2026-11-23T00:00:00Z"}`)},
		{"prices", event.BadNegative, []byte("p5"), []byte(`{"type":"price","sku":"p5","channel":"web","price":-3,"currency":"EUR","ts":"2026-11-23T00:00:00Z"}`)},
		{"prices", event.BadJSON, []byte("p6"), []byte(`{"type":"price","sku":"p6","channel":"web","price":NaN,"currency":"EUR","ts":"2026-11-23T00:00:00Z"}`)},
		{"prices", event.BadNotFinite, []byte("p7"), []byte(`{"type":"price","sku":"p7","channel":"web","price":1e999,"currency":"EUR","ts":"2026-11-23T00:00:00Z"}`)},
		{"prices", event.BadType, []byte("p8"), []byte(`{"type":"coupon","sku":"p8","ts":"2026-11-23T00:00:00Z"}`)},
		{"prices", event.BadUTF8, []byte("p9"), []byte("{\"type\":\"price\",\"sku\":\"p\xff\xfe9\",\"channel\":\"web\",\"price\":1,\"currency\":\"EUR\",\"ts\":\"2026-11-23T00:00:00Z\"}")},
		{"prices", event.BadSize, []byte("big"), []byte(big)},
		{"stock", "wrong_topic", []byte("p10"), []byte(`{"type":"price","sku":"p10","channel":"web","price":1,"currency":"EUR","ts":"2026-11-23T00:00:00Z"}`)},
		{"stock", event.BadMissing, []byte("p11"), []byte(`{"type":"stock","sku":"p11","ts":"2026-11-23T00:00:00Z"}`)},
		{"promotions", event.BadWindow, []byte("x1"), []byte(`{"type":"promo","id":"x1","partner":"acme","discount":{"kind":"percent","value":10},"skus":["tv-55"],"start":"2026-11-25T00:00:00Z","end":"2026-11-24T00:00:00Z","funded_by":{"acme":1},"ts":"2026-11-23T00:00:00Z"}`)},
		{"promotions", event.BadPercent, []byte("x2"), []byte(`{"type":"promo","id":"x2","partner":"acme","discount":{"kind":"percent","value":150},"skus":["tv-55"],"start":"2026-11-24T00:00:00Z","end":"2026-11-25T00:00:00Z","funded_by":{"acme":1},"ts":"2026-11-23T00:00:00Z"}`)},
	}
}

// 5. Poison input mixed into a valid stream: every bad record becomes one
// dead letter with its headers, and the valid events around it are
// neither lost nor held up.
func TestIntegrationReliabilityPoison(t *testing.T) {
	r := newRelRun(t, "rel-poison")
	r.reference()
	// the topics allow records larger than promoguard accepts (1 MiB), so
	// that an oversize event reaches it
	n := r.runScenario.parts
	kafkatest.CreateTopics(t, r.brokers,
		kafkatest.TopicSpec{Name: r.topic("prices"), Partitions: n, Configs: map[string]string{"max.message.bytes": "3000000"}},
		kafkatest.TopicSpec{Name: r.topic("stock"), Partitions: n},
		kafkatest.TopicSpec{Name: r.topic("promotions"), Partitions: 1})
	p := r.startDaemon()
	poison := poisonRecords()
	wantReasons := map[string]int{}
	w := &kafka.Writer{Addr: kafka.TCP(kafkatest.Addrs(r.brokers)...), Balancer: &kafka.Murmur2Balancer{},
		RequiredAcks: kafka.RequireAll, BatchTimeout: 5 * time.Millisecond, BatchBytes: 4 << 20,
		Transport: &kafka.Transport{ClientID: "promoguard-poison"}}
	defer w.Close()
	injected := 0
	var lastFeed time.Time
	for i := range r.parts {
		// a round of poison before every part but the last
		if i < len(r.parts)-1 {
			for _, pr := range poison {
				ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
				err := w.WriteMessages(ctx, kafka.Message{Topic: r.topic(pr.topic), Key: pr.key, Value: pr.value})
				cancel()
				if err != nil {
					t.Fatalf("produce poison %s: %v", pr.reason, err)
				}
				wantReasons[string(pr.reason)]++
				injected++
			}
		}
		lastFeed = time.Now()
		r.feed(i, i+1, 0)
		// slow enough for the daemon to keep up: the last part's latency
		// is then the delay, not a backlog
		time.Sleep(700 * time.Millisecond)
	}
	r.col.WaitFor(t, r.want, relWait)
	drained := time.Since(lastFeed)
	dead := kafkatest.Consume(t, r.brokers, r.topic("deadletter"), injected+1, 5*time.Second)
	gotReasons := map[string]int{}
	for _, m := range dead {
		h := map[string]string{}
		for _, x := range m.Headers {
			h[x.Key] = string(x.Value)
		}
		for _, k := range []string{"source_topic", "source_partition", "source_offset", "reason"} {
			if h[k] == "" {
				t.Errorf("dead letter at offset %d without header %s: %v", m.Offset, k, h)
			}
		}
		var dl struct {
			Kind, Reason, Source string
		}
		if err := json.Unmarshal(m.Value, &dl); err != nil {
			t.Errorf("dead letter %q: %v", m.Value, err)
		}
		if dl.Kind != "dead_letter" || dl.Reason != h["reason"] || dl.Source != fmt.Sprintf("%s/%s@%s", h["source_topic"], h["source_partition"], h["source_offset"]) {
			t.Errorf("dead letter %.200s does not agree with its headers %v", m.Value, h)
		}
		if len(m.Value) > 16<<10 {
			t.Errorf("a dead letter of %d bytes: the payload should be cut", len(m.Value))
		}
		gotReasons[h["reason"]]++
	}
	if len(dead) != injected {
		t.Errorf("%d dead letters for %d poison records", len(dead), injected)
	}
	// the offsets they name are where the poison really is: the input
	// topics read back, not the headers checked against the body
	isPoison := func(topic string, m kafka.Message) bool {
		for _, pr := range poison {
			if r.topic(pr.topic) == topic && string(pr.value) == string(m.Value) {
				return true
			}
		}
		return false
	}
	if diff := kafkatest.DiffDeadLetterSources(t, r.brokers, dead, isPoison, r.topic("prices"), r.topic("stock"), r.topic("promotions")); len(diff) > 0 {
		t.Errorf("%d dead letters that do not point at their poison record, e.g.:\n%s", len(diff), strings.Join(diff[:min(5, len(diff))], "\n"))
	}
	for reason, n := range wantReasons {
		if gotReasons[reason] != n {
			t.Errorf("reason %s: %d dead letters, want %d", reason, gotReasons[reason], n)
		}
	}
	if m := p.metricSum(t, "promoguard_dead_letters_total", ""); m != float64(injected) {
		t.Errorf("promoguard_dead_letters_total %v, want %d", m, injected)
	}
	r.verify(relResult{scenario: "poison input", injected: fmt.Sprintf("%d bad records (%d kinds, 1.0 MiB+ oversize included) among the valid ones", injected, len(poison)),
		notes: fmt.Sprintf("%d dead letters, each with its 4 headers; last part's outputs %s after it was produced", len(dead), drained.Round(100*time.Millisecond))})
	p.stop(t)
}

// 6. Hostile rules next to the example pack: the daemon never crashes, the
// offending rules are counted, the others fire as in the replay, and no
// NaN or Inf reaches an output.
func TestIntegrationReliabilityHostileRules(t *testing.T) {
	// a quarter of the stream: the runaway rules spend their memory
	// budget on every evaluation
	size := reliabilitySize()
	size.events /= 4
	r := newRelRunSized(t, "rel-hostile", size)
	copyFile(t, "../engine/testdata/hostile/hostile.yaml", filepath.Join(r.rules, "hostile.yaml"))
	rs := r.loadRules()
	r.reference()
	p := r.startDaemon()
	r.feed(0, len(r.parts), 50*time.Millisecond)
	r.col.WaitFor(t, r.want, relWait)
	// every output is finite
	for _, m := range r.col.Messages() {
		var o event.Output
		if err := json.Unmarshal(m.Value, &o); err != nil {
			t.Fatalf("output %s: %v", m.Value, err)
		}
		if c := o.Correction; c != nil && c.State == "active" {
			for name, v := range map[string]event.Number{"corrected_price": c.CorrectedPrice, "effective_price": c.EffectivePrice} {
				if f := float64(v); math.IsNaN(f) || math.IsInf(f, 0) {
					t.Errorf("correction %s: %s is %v", c.ID, name, f)
				}
			}
		}
		if strings.Contains(string(m.Value), "NaN") || strings.Contains(string(m.Value), "Inf") {
			t.Errorf("an output mentions NaN or Inf: %s", m.Value)
		}
	}
	errorsByRule := map[string]float64{}
	for _, rule := range rs.Rules {
		if rule.Group.Name == "hostile" {
			errorsByRule[rule.ID()] = p.metricSum(t, "promoguard_rule_errors_total", `rule="`+rule.ID()+`"`)
		}
	}
	erring := 0
	for _, n := range errorsByRule {
		if n > 0 {
			erring++
		}
	}
	if erring < 3 {
		t.Errorf("only %d hostile rules counted errors: %v", erring, errorsByRule)
	}
	if code, _ := p.tryGet("/healthz"); code != 200 {
		t.Errorf("/healthz %d", code)
	}
	select {
	case <-p.done:
		t.Fatalf("the daemon exited:\n%s", p.tail(20))
	default:
	}
	// each erring rule is reported in the log, with where it failed
	logged := map[string]bool{}
	p.mu.Lock()
	for _, m := range p.logs {
		if m["message"] == "rule failed" && (m["sku"] != "" || m["promo"] != "") && m["error"] != "" {
			logged[fmt.Sprint(m["rule"])] = true
		}
	}
	p.mu.Unlock()
	for id, n := range errorsByRule {
		if n > 0 && !logged[id] {
			t.Errorf("rule %s erred %v times but the log does not say so", id, n)
		}
	}
	r.verify(relResult{scenario: "hostile rules", injected: fmt.Sprintf("%d hostile rules next to the example pack", len(errorsByRule)),
		notes: fmt.Sprintf("%d of them erring (counted in rule_errors_total), no crash, no NaN/Inf output", erring)})
	p.stop(t)
}

// 7. Rule files swapped while events flow: a valid variant, a broken file,
// the fix, the first variant again, and so on, each followed by SIGHUP.
func TestIntegrationReliabilityReload(t *testing.T) {
	r := newRelRun(t, "rel-reload")
	r.reference()
	vA := r.loadRules().Version
	// variant B has one more rule, which never fires: the outputs stay the
	// reference's, under either version
	extra := filepath.Join(r.rules, "zz-extra.yaml")
	broken := filepath.Join(r.rules, "zz-broken.yaml")
	writeFile(t, r.rules, filepath.Base(extra), "group: extra\nrules:\n  - name: never\n    if: price < 0\n")
	vB := r.loadRules().Version
	os.Remove(extra)
	p := r.startDaemon("--no-watch-rules")
	// each output carries the version in force when it was made, A or B
	// (checked below); every other field is the reference's
	r.col.AllowDiffer(t, "rules_version")
	done := make(chan struct{})
	reloads, rejected := 0, 0
	go func() {
		defer close(done)
		for i := 0; i < len(r.parts); i++ {
			r.feed(i, i+1, 0)
			time.Sleep(150 * time.Millisecond)
		}
	}()
	func() {
		for step := 0; ; step++ {
			select {
			case <-done:
				return
			case <-time.After(300 * time.Millisecond):
			}
			switch step % 4 {
			case 0:
				writeFile(t, r.rules, filepath.Base(extra), "group: extra\nrules:\n  - name: never\n    if: price < 0\n")
			case 1:
				writeFile(t, r.rules, filepath.Base(broken), "group: broken\nrules:\n  - name: r\n    if: price <\n")
			case 2:
				os.Remove(broken)
			case 3:
				os.Remove(extra)
			}
			p.cmd.Process.Signal(syscall.SIGHUP)
			if step%4 == 1 {
				rejected++
			} else {
				reloads++
			}
			// the gauge follows
			want := "1"
			if step%4 == 1 {
				want = "0"
			}
			deadline := time.Now().Add(20 * time.Second)
			for p.metric(t, "promoguard_rules_reload_success") != want {
				if time.Now().After(deadline) {
					t.Fatalf("reload gauge not %s after step %d:\n%s", want, step, p.tail(20))
				}
				time.Sleep(20 * time.Millisecond)
			}
		}
	}()
	// the last state may have been broken or B: the outputs are the same
	os.Remove(broken)
	if !strings.Contains(p.logText(), "zz-broken.yaml:4:") {
		t.Errorf("the log does not give the broken file's position:\n%s", p.tail(20))
	}
	r.col.WaitFor(t, r.want, relWait)
	// every output carries one of the two versions, and a partition's
	// outputs change version no more often than the rules did
	switches := map[string]int{}
	last := map[string]string{}
	for _, m := range r.col.Messages() {
		var o event.Output
		if err := json.Unmarshal(m.Value, &o); err != nil {
			t.Fatalf("output %s: %v", m.Value, err)
		}
		v := ""
		switch {
		case o.Alert != nil:
			v = o.Alert.RulesVersion
		case o.Correction != nil:
			v = o.Correction.RulesVersion
		}
		if v != vA && v != vB {
			t.Errorf("output %s has rules_version %q, neither %s nor %s", m.Value, v, vA, vB)
		}
		key := m.Topic + "/" + strconv.Itoa(m.Partition)
		if last[key] != "" && last[key] != v {
			switches[key]++
		}
		last[key] = v
	}
	most := 0
	for key, n := range switches {
		most = max(most, n)
		if n > reloads {
			t.Errorf("%s: the outputs switch version %d times for %d reloads", key, n, reloads)
		}
	}
	r.verify(relResult{scenario: "reload under load", injected: fmt.Sprintf("%d reloads (SIGHUP) between two valid rule sets, %d with a broken file, while events flow", reloads, rejected),
		notes: fmt.Sprintf("broken files rejected with file:line:col, gauge 0 then 1; outputs of one partition switch version at most %d times", most)})
	p.stop(t)
}

// waitFor polls cond until it holds, failing the test with why() after
// timeout.
func waitFor(t *testing.T, timeout time.Duration, cond func() bool, why func() string) {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatal(why())
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// relWait bounds the wait for the reference's outputs.
var relWait = func() time.Duration {
	if d, err := time.ParseDuration(os.Getenv("PROMOGUARD_RELIABILITY_WAIT")); err == nil {
		return d
	}
	return 180 * time.Second
}()

// 8. Output back-pressure. "unavailable": the alerts topic refuses writes
// (its max.message.bytes set below any alert: MESSAGE_TOO_LARGE; Kafka 4
// does not refuse acks=all writes to a one-replica topic whose
// min.insync.replicas is 2) while events flow; the daemon keeps retrying, says it is not
// ready, and commits no input past what it produced; when the topic
// accepts writes again nothing is missing. "slow": every chunk of bytes
// between daemon and broker is delayed 50 ms each way by a proxy (before
// the readers' long poll went from 100 ms to 2 s, they never completed a
// fetch at that latency).
func TestIntegrationReliabilityBackpressure(t *testing.T) {
	t.Run("unavailable", func(t *testing.T) {
		r := newRelRun(t, "rel-unavailable")
		r.reference()
		p := r.startDaemon()
		third := len(r.parts) / 3
		r.feed(0, third, 50*time.Millisecond)
		p.waitApplying(t, 1)
		setTopicConfig(t, r.brokers, r.topic("alerts"), "max.message.bytes", "64")
		blocked := time.Now()
		r.feed(third, 2*third, 50*time.Millisecond)
		after, why := p.waitNotReady(t, 30*time.Second)
		t.Logf("not ready %v after the alerts topic refused writes: %.300s", after.Round(time.Millisecond), why)
		if !strings.Contains(why, "not acknowledged") {
			t.Errorf("/readyz does not say that outputs are not acknowledged: %s", why)
		}
		// give the partitions time to fail their first writes, then the
		// group's offsets must stand still
		time.Sleep(2 * time.Second)
		c1 := committed(t, r.brokers, r.prefix, r.topic("prices"), r.topic("stock"), r.runScenario.parts)
		time.Sleep(4 * time.Second)
		c2 := committed(t, r.brokers, r.prefix, r.topic("prices"), r.topic("stock"), r.runScenario.parts)
		if fmt.Sprint(c1) != fmt.Sprint(c2) {
			t.Errorf("input committed while its outputs could not be produced: %v, then %v", c1, c2)
		}
		failures := p.metricSum(t, "promoguard_produce_failures_total", "")
		if failures == 0 {
			t.Errorf("promoguard_produce_failures_total is 0 while the alerts topic refuses writes")
		}
		setTopicConfig(t, r.brokers, r.topic("alerts"), "max.message.bytes", "1048588")
		restored := time.Now()
		recovery := p.waitReadyFor(t, 120*time.Second)
		r.feed(2*third, len(r.parts), 50*time.Millisecond)
		r.verify(relResult{scenario: "output topic unavailable", injected: fmt.Sprintf("alerts topic refused writes for %s (MESSAGE_TOO_LARGE) mid-stream", restored.Sub(blocked).Round(100*time.Millisecond)),
			recovery: recovery.Round(100 * time.Millisecond).String(),
			notes:    fmt.Sprintf("group offsets still for 4 s while blocked; %v failed produce attempts retried; /readyz 503 after %s", failures, after.Round(100*time.Millisecond))})
		p.stop(t)
	})
	t.Run("slow", func(t *testing.T) {
		proxy := kafkatest.StartProxy(t)
		proxy.SetLatency(50 * time.Millisecond)
		r := newRelRun(t, "rel-slow")
		r.daemon = proxy.Addr()
		r.reference()
		p := r.startDaemon()
		start := time.Now()
		r.feed(0, len(r.parts), 50*time.Millisecond)
		r.col.WaitFor(t, r.want, relWait)
		took := time.Since(start)
		r.verify(relResult{scenario: "slow network", injected: "every chunk between daemon and broker delayed 50 ms each way (proxy)",
			notes: fmt.Sprintf("all outputs %s after the stream started", took.Round(100*time.Millisecond))})
		p.stop(t)
	})
}

// setTopicConfig sets one config of a topic.
func setTopicConfig(t *testing.T, brokers, topic, name, value string) {
	t.Helper()
	c := &kafka.Client{Addr: kafka.TCP(kafkatest.Addrs(brokers)...), Timeout: 30 * time.Second, Transport: &kafka.Transport{ClientID: "promoguard-test"}}
	res, err := c.IncrementalAlterConfigs(context.Background(), &kafka.IncrementalAlterConfigsRequest{
		Resources: []kafka.IncrementalAlterConfigsRequestResource{{
			ResourceType: kafka.ResourceTypeTopic, ResourceName: topic,
			Configs: []kafka.IncrementalAlterConfigsRequestConfig{{Name: name, Value: value, ConfigOperation: kafka.ConfigOperationSet}},
		}},
	})
	if err != nil {
		t.Fatalf("set %s=%s on %s: %v", name, value, topic, err)
	}
	for _, r := range res.Resources {
		if r.Error != nil {
			t.Fatalf("set %s=%s on %s: %v", name, value, topic, r.Error)
		}
	}
}

// committed returns the group's committed offsets of the topics' partitions.
func committed(t *testing.T, brokers, group string, topics ...any) map[string]int64 {
	t.Helper()
	parts := topics[len(topics)-1].(int)
	req := &kafka.OffsetFetchRequest{GroupID: group, Topics: map[string][]int{}}
	for _, tp := range topics[:len(topics)-1] {
		for p := range parts {
			req.Topics[tp.(string)] = append(req.Topics[tp.(string)], p)
		}
	}
	c := &kafka.Client{Addr: kafka.TCP(kafkatest.Addrs(brokers)...), Timeout: 30 * time.Second, Transport: &kafka.Transport{ClientID: "promoguard-test"}}
	res, err := c.OffsetFetch(context.Background(), req)
	if err != nil {
		t.Fatalf("offset fetch: %v", err)
	}
	out := map[string]int64{}
	for topic, ps := range res.Topics {
		for _, p := range ps {
			out[fmt.Sprintf("%s/%d", topic, p.Partition)] = p.CommittedOffset
		}
	}
	return out
}
