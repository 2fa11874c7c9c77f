//go:build integration

package e2e

// `promoguard run` as a process against the real broker: reloaded with
// broken rules, driven by kcat. The fault scenarios (a kill among them) are
// in reliability_integration_test.go.

import (
	"bufio"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/segmentio/kafka-go"

	"github.com/promoguard/promoguard/bench"
	"github.com/promoguard/promoguard/connectors/kafka/kafkatest"
	"github.com/promoguard/promoguard/rules"
)

var (
	binOnce sync.Once
	binPath string
	binErr  error
)

// binary builds promoguard once for the package's tests.
func binary(t *testing.T) string {
	t.Helper()
	binOnce.Do(func() {
		dir, err := os.MkdirTemp("", "promoguard-bin")
		if err != nil {
			binErr = err
			return
		}
		binPath = filepath.Join(dir, "promoguard")
		args := []string{"build", "-race", "-o", binPath, "../cmd/promoguard"}
		if os.Getenv("PROMOGUARD_RELIABILITY") == "large" {
			// `make reliability` measures: without the race detector
			args = slices.Delete(args, 1, 2)
		}
		out, err := exec.Command("go", args...).CombinedOutput()
		if err != nil {
			binErr = fmt.Errorf("go build: %v\n%s", err, out)
		}
	})
	if binErr != nil {
		t.Fatal(binErr)
	}
	return binPath
}

// daemonProc is a running `promoguard run`.
type daemonProc struct {
	cmd  *exec.Cmd
	http string // the HTTP address it serves
	mu   sync.Mutex
	logs []map[string]any
	done chan struct{}
}

// runScenario is the topics, group and rules of one test.
type runScenario struct {
	t       *testing.T
	brokers string
	daemon  string // brokers the daemon bootstraps from, when not brokers (a fault proxy)
	prefix  string
	rules   string // rules directory
	parts   int
}

func newRunScenario(t *testing.T, prefix string) *runScenario {
	dir := t.TempDir()
	for _, f := range exampleRuleFiles(t) {
		copyFile(t, filepath.Join("../examples/rules", f), filepath.Join(dir, f))
	}
	return &runScenario{t: t, brokers: kafkatest.Brokers(t), prefix: kafkatest.Name(t, prefix), rules: dir, parts: 3}
}

func copyFile(t *testing.T, from, to string) {
	t.Helper()
	b, err := os.ReadFile(from)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(to, b, 0o644); err != nil {
		t.Fatal(err)
	}
}

func (s *runScenario) topic(name string) string { return s.prefix + "." + name }

func (s *runScenario) args() []string {
	brokers := s.brokers
	if s.daemon != "" {
		brokers = s.daemon
	}
	return []string{"run", "--brokers", brokers, "--rules", s.rules, "--group-id", s.prefix,
		"--topics-prices", s.topic("prices"), "--topics-stock", s.topic("stock"), "--topics-promotions", s.topic("promotions"),
		"--topics-alerts", s.topic("alerts"), "--topics-corrections", s.topic("corrections"),
		"--topics-deadletter", s.topic("deadletter"), "--topics-changelog", s.topic("state"),
		"--partitions", fmt.Sprint(s.parts), "--http-addr", "127.0.0.1:0", "--log-format", "json",
		"--max-skew", "0s", "--batch-max-idle", "0s", "--batch-timeout", "10ms", "--batch-max-wait", "10s"}
}

func (s *runScenario) start(extra ...string) *daemonProc {
	t := s.t
	t.Helper()
	cmd := exec.Command(binary(t), append(s.args(), extra...)...)
	cmd.Env = append(os.Environ(), "GORACE=halt_on_error=1")
	stderr, err := cmd.StderrPipe()
	if err != nil {
		t.Fatal(err)
	}
	cmd.Stdout = io.Discard
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	p := &daemonProc{cmd: cmd, done: make(chan struct{})}
	addr := make(chan string, 1)
	go func() {
		sc := bufio.NewScanner(stderr)
		sc.Buffer(make([]byte, 1<<20), 1<<20)
		for sc.Scan() {
			var m map[string]any
			if json.Unmarshal(sc.Bytes(), &m) != nil {
				m = map[string]any{"message": sc.Text()}
			}
			p.mu.Lock()
			p.logs = append(p.logs, m)
			p.mu.Unlock()
			if strings.HasPrefix(fmt.Sprint(m["message"]), "serving /metrics") {
				addr <- fmt.Sprint(m["addr"])
			}
		}
	}()
	go func() { cmd.Wait(); close(p.done) }()
	t.Cleanup(func() { p.kill() })
	select {
	case p.http = <-addr:
	case <-p.done:
		t.Fatalf("promoguard run exited: %s", p.logText())
	case <-time.After(60 * time.Second):
		t.Fatalf("promoguard run did not serve HTTP within 60 s: %s", p.logText())
	}
	return p
}

func (p *daemonProc) logText() string {
	p.mu.Lock()
	defer p.mu.Unlock()
	var sb strings.Builder
	for _, m := range p.logs {
		b, _ := json.Marshal(m)
		sb.Write(b)
		sb.WriteByte('\n')
	}
	return sb.String()
}

func (p *daemonProc) kill() {
	p.cmd.Process.Signal(syscall.SIGKILL)
	<-p.done
}

// stop sends SIGTERM and waits for a clean exit.
func (p *daemonProc) stop(t *testing.T) {
	t.Helper()
	p.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-p.done:
		if code := p.cmd.ProcessState.ExitCode(); code != 0 {
			t.Errorf("exit status %d after SIGTERM: %s", code, p.logText())
		}
	case <-time.After(60 * time.Second):
		t.Errorf("no exit within 60 s of SIGTERM")
		p.kill()
	}
}

func (p *daemonProc) get(t *testing.T, path string) (int, string) {
	t.Helper()
	resp, err := http.Get("http://" + p.http + path)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b)
}

// metric returns the value of a metric line with that name and labels
// prefix (e.g. `promoguard_rules_reload_success`).
func (p *daemonProc) metric(t *testing.T, name string) string {
	t.Helper()
	_, body := p.get(t, "/metrics")
	for _, l := range strings.Split(body, "\n") {
		if f := strings.Fields(l); len(f) == 2 && f[0] == name {
			return f[1]
		}
	}
	return ""
}

func (p *daemonProc) waitReady(t *testing.T) {
	t.Helper()
	deadline := time.Now().Add(60 * time.Second)
	for {
		if code, _ := p.get(t, "/readyz"); code == 200 {
			return
		}
		if time.Now().After(deadline) {
			_, why := p.get(t, "/readyz")
			t.Fatalf("not ready after 60 s: %s", why)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// produce writes events to the scenario's input topics, keyed by sku or
// promotion id.
func (s *runScenario) produce(events [][]byte) {
	s.t.Helper()
	byTopic := map[string][]kafka.Message{}
	for _, l := range events {
		var ev struct {
			Type, SKU, ID string
		}
		if err := json.Unmarshal(l, &ev); err != nil {
			s.t.Fatal(err)
		}
		topic, key := s.topic("prices"), ev.SKU
		switch ev.Type {
		case "stock":
			topic = s.topic("stock")
		case "promo":
			topic, key = s.topic("promotions"), ev.ID
		}
		byTopic[topic] = append(byTopic[topic], kafka.Message{Key: []byte(key), Value: l})
	}
	for topic, msgs := range byTopic {
		kafkatest.Produce(s.t, s.brokers, topic, msgs...)
	}
}

func (s *runScenario) loadRules() *rules.RuleSet {
	rs, err := rules.Load([]string{s.rules}, nil)
	if err != nil {
		s.t.Fatal(err)
	}
	return rs
}

// generated is a generated catalog and stream in the example week.
func generated(t *testing.T, skus, n int) [][]byte {
	in, err := bench.Generate(bench.Config{SKUs: skus, Events: n, Seed: 7}, nil)
	if err != nil {
		t.Fatal(err)
	}
	return in.Lines
}

func lastTS(t *testing.T, events [][]byte) time.Time {
	var last time.Time
	for _, l := range events {
		var ev struct{ TS time.Time }
		if err := json.Unmarshal(l, &ev); err != nil {
			t.Fatal(err)
		}
		if ev.TS.After(last) {
			last = ev.TS
		}
	}
	return last
}

// A rule file that fails to load on reload (SIGHUP or a file change)
// keeps the old rules running and sets the reload gauge to 0; fixing it
// sets it back to 1.
func TestIntegrationRunBadReload(t *testing.T) {
	s := newRunScenario(t, "reload")
	// prices only: produced while the daemon runs, one topic keeps their
	// order on each partition
	var events [][]byte
	for _, l := range kafkatest.ExampleEvents(t, "../examples/events/black-friday.ndjson") {
		if strings.Contains(string(l), `"type":"price"`) {
			events = append(events, l)
		}
	}
	events = append(events, kafkatest.Sentinels(s.parts, "2026-12-01T09:00:00Z")...)
	want := kafkatest.Reference(t, s.loadRules(), events)
	p := s.start("--no-watch-rules")
	p.waitReady(t)
	if v := p.metric(t, "promoguard_rules_reload_success"); v != "1" {
		t.Fatalf("reload gauge %q at start", v)
	}
	bad := filepath.Join(s.rules, "broken.yaml")
	if err := os.WriteFile(bad, []byte("groups:\n  - group: broken\n    rules:\n      - name: r\n        if: price <\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	p.cmd.Process.Signal(syscall.SIGHUP)
	deadline := time.Now().Add(30 * time.Second)
	for p.metric(t, "promoguard_rules_reload_success") != "0" {
		if time.Now().After(deadline) {
			t.Fatalf("reload gauge not 0 after a broken reload: %s", p.logText())
		}
		time.Sleep(100 * time.Millisecond)
	}
	if !strings.Contains(p.logText(), "broken.yaml:5:") {
		t.Errorf("the log does not give the positioned error:\n%s", p.logText())
	}
	// the old rules still run
	col := kafkatest.Collect(t, kafkatest.Addrs(s.brokers), s.topic("alerts"), s.topic("corrections"))
	s.produce(events)
	time.Sleep(5 * time.Second)
	got := col.WaitFor(t, want, 60*time.Second)
	if extra := kafkatest.Unexpected(got, want); len(extra) > 0 {
		t.Errorf("%d outputs the old rules would not give: %v", len(extra), extra)
	}
	// fixed: the gauge goes back to 1
	os.Remove(bad)
	p.cmd.Process.Signal(syscall.SIGHUP)
	deadline = time.Now().Add(30 * time.Second)
	for p.metric(t, "promoguard_rules_reload_success") != "1" {
		if time.Now().After(deadline) {
			t.Fatalf("reload gauge not back to 1: %s", p.logText())
		}
		time.Sleep(100 * time.Millisecond)
	}
	p.stop(t)
}

// kcat, a client no one here wrote, drives the daemon: it produces the
// events with the Java client's partitioner, and reads the alerts back.
func TestIntegrationRunKcat(t *testing.T) {
	kcat, err := exec.LookPath("kcat")
	if err != nil {
		t.Fatal("kcat is not installed: make test installs it (Debian package kcat)")
	}
	s := newRunScenario(t, "kcat")
	events := append(kafkatest.ExampleEvents(t, "../examples/events/black-friday.ndjson"), kafkatest.Sentinels(s.parts, "2026-12-01T09:00:00Z")...)
	want := kafkatest.Reference(t, s.loadRules(), events)
	// the daemon creates its topics, then stops: the input is produced
	// while it is down, so that it merges the topics in timestamp order
	p := s.start()
	p.waitReady(t)
	p.stop(t)
	byTopic := map[string][]string{}
	for _, l := range events {
		var ev struct{ Type, SKU, ID string }
		json.Unmarshal(l, &ev)
		topic, key := s.topic("prices"), ev.SKU
		switch ev.Type {
		case "stock":
			topic = s.topic("stock")
		case "promo":
			topic, key = s.topic("promotions"), ev.ID
		}
		byTopic[topic] = append(byTopic[topic], key+"|"+string(l))
	}
	// promotions first, as a producer of a calendar would
	for _, topic := range []string{s.topic("promotions"), s.topic("stock"), s.topic("prices")} {
		cmd := exec.Command(kcat, "-b", s.brokers, "-P", "-t", topic, "-K", "|", "-X", "topic.partitioner=murmur2_random")
		cmd.Stdin = strings.NewReader(strings.Join(byTopic[topic], "\n") + "\n")
		if out, err := cmd.CombinedOutput(); err != nil {
			t.Fatalf("kcat produce: %v\n%s", err, out)
		}
	}
	p = s.start()
	// read the outputs back with kcat until every expected id is there
	deadline := time.Now().Add(60 * time.Second)
	var read []kafka.Message
	for {
		ids := map[string]bool{}
		read = read[:0]
		for _, topic := range []string{s.topic("alerts"), s.topic("corrections")} {
			out, err := exec.Command(kcat, "-b", s.brokers, "-C", "-t", topic, "-e", "-q", "-f", "%p\t%o\t%k\t%s\n").Output()
			if err != nil {
				t.Fatalf("kcat consume: %v", err)
			}
			for _, l := range strings.Split(strings.TrimSpace(string(out)), "\n") {
				f := strings.SplitN(l, "\t", 4)
				if len(f) != 4 {
					continue
				}
				part, _ := strconv.Atoi(f[0])
				off, _ := strconv.ParseInt(f[1], 10, 64)
				key, val := f[2], f[3]
				var o struct{ ID, SKU, Promo string }
				if err := json.Unmarshal([]byte(val), &o); err != nil {
					t.Fatalf("kcat read %q: %v", l, err)
				}
				if key != o.SKU && key != o.Promo {
					t.Errorf("record keyed %q, not by its sku %q", key, o.SKU)
				}
				ids[o.ID] = true
				read = append(read, kafka.Message{Topic: topic, Partition: part, Offset: off, Key: []byte(key), Value: []byte(val)})
			}
		}
		var missing []string
		for id := range want {
			if !ids[id] {
				missing = append(missing, id)
			}
		}
		if len(missing) == 0 {
			break
		}
		if time.Now().After(deadline) {
			slices.Sort(missing)
			t.Fatalf("%d of %d outputs not read back by kcat: %v", len(missing), len(want), missing[:min(5, len(missing))])
		}
		time.Sleep(500 * time.Millisecond)
	}
	// and each record read back is the reference record of its id
	diff, err := kafkatest.DiffContents(read, want)
	if err != nil {
		t.Fatal(err)
	}
	if len(diff) > 0 {
		t.Errorf("%d records read back by kcat differ from the reference record of their id, e.g.:\n%s", len(diff), strings.Join(diff[:min(5, len(diff))], "\n"))
	}
	if n := p.metric(t, `promoguard_wrong_partition_total{topic="`+s.topic("prices")+`"}`); n != "" && n != "0" {
		t.Errorf("kcat's murmur2 records counted on the wrong partition: %s", n)
	}
	p.stop(t)
}

func exampleRuleFiles(t *testing.T) []string {
	ents, err := os.ReadDir("../examples/rules")
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	for _, e := range ents {
		out = append(out, e.Name())
	}
	return out
}

func writeFile(t *testing.T, dir, name, data string) string {
	t.Helper()
	p := filepath.Join(dir, name)
	if err := os.WriteFile(p, []byte(data), 0o644); err != nil {
		t.Fatal(err)
	}
	return p
}
