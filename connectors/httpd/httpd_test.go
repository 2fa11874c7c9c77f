package httpd

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"math"
	"net"
	"net/http"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
)

// start runs a server on a free loopback port and returns its base URL.
func start(t *testing.T, opts Options) (string, *Server) {
	t.Helper()
	opts.Addr = "127.0.0.1:0"
	s := New(opts)
	addr, err := s.Start(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		if err := s.Shutdown(ctx); err != nil {
			t.Errorf("shutdown: %v", err)
		}
	})
	return "http://" + addr, s
}

type response struct {
	code  int
	ctype string
	body  string
}

func do(t *testing.T, method, url string, hdr map[string]string) response {
	t.Helper()
	req, err := http.NewRequest(method, url, nil)
	if err != nil {
		t.Fatal(err)
	}
	for k, v := range hdr {
		req.Header.Set(k, v)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return response{resp.StatusCode, resp.Header.Get("Content-Type"), string(b)}
}

func TestEndpoints(t *testing.T) {
	reg := prometheus.NewRegistry()
	c := prometheus.NewCounterVec(prometheus.CounterOpts{Name: "promoguard_events_total", Help: "Events."}, []string{"topic", "type"})
	reg.MustRegister(c)
	c.WithLabelValues("pricing.prices", "price").Add(3)

	var ready atomic.Bool
	var reloads atomic.Int32
	var failReload atomic.Bool
	base, _ := start(t, Options{
		Gatherer: reg,
		Ready: func() (bool, string) {
			if ready.Load() {
				return true, ""
			}
			return false, "partition pricing.prices/2 is 1200 records behind"
		},
		Explain: func(sku, channel string) (any, bool) {
			switch {
			case sku == "tv-55" && channel == "web":
				return map[string]any{"sku": sku, "channel": channel, "facts": map[string]any{"margin": 0.12}, "note": "<b>&"}, true
			case sku == "nan":
				return math.NaN(), true
			}
			return nil, false
		},
		Reload: func() error {
			reloads.Add(1)
			if failReload.Load() {
				return errors.New("rules/margin.yaml:3:7: unknown name margn")
			}
			return nil
		},
	})

	for _, tc := range []struct {
		name, method, path string
		hdr                map[string]string
		code               int
		ctype, body        string // body: a substring
	}{
		{"metrics", "GET", "/metrics", nil, 200, "text/plain", `promoguard_events_total{topic="pricing.prices",type="price"} 3`},
		{"healthz", "GET", "/healthz", nil, 200, "text/plain", "ok"},
		{"healthz head", "HEAD", "/healthz", nil, 200, "text/plain", ""},
		{"readyz not ready", "GET", "/readyz", nil, 503, "text/plain", "not ready: partition pricing.prices/2 is 1200 records behind"},
		{"explain", "GET", "/explain?sku=tv-55&channel=web", nil, 200, "application/json", `"margin": 0.12`},
		{"explain no html escaping", "GET", "/explain?sku=tv-55&channel=web", nil, 200, "application/json", `"note": "<b>&"`},
		{"explain unknown", "GET", "/explain?sku=tv-55&channel=ebay", nil, 404, "application/json", `{"error":"no evaluation of sku \"tv-55\" on channel \"ebay\" is known`},
		{"explain without sku", "GET", "/explain?channel=web", nil, 400, "application/json", `the sku parameter is required`},
		{"explain not encodable", "GET", "/explain?sku=nan", nil, 500, "application/json", `unsupported value: NaN`},
		{"explain post", "POST", "/explain?sku=tv-55", nil, 405, "", ""},
		{"reload", "POST", "/-/reload", nil, 200, "text/plain", "reloaded"},
		{"reload put", "PUT", "/-/reload", nil, 200, "text/plain", "reloaded"},
		{"reload get", "GET", "/-/reload", nil, 405, "", ""},
		{"reload cross-origin", "POST", "/-/reload", map[string]string{"Sec-Fetch-Site": "cross-site"}, 403, "", ""},
		{"reload other origin", "POST", "/-/reload", map[string]string{"Origin": "http://evil.example"}, 403, "", ""},
		{"index", "GET", "/", nil, 200, "text/plain", "/explain?sku=SKU"},
		{"unknown path", "GET", "/nope", nil, 404, "", ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := do(t, tc.method, base+tc.path, tc.hdr)
			if r.code != tc.code || !strings.HasPrefix(r.ctype, tc.ctype) || !strings.Contains(r.body, tc.body) {
				t.Fatalf("%s %s = %d %q\n%s\nwant %d %q containing %q", tc.method, tc.path, r.code, r.ctype, r.body, tc.code, tc.ctype, tc.body)
			}
		})
	}
	if n := reloads.Load(); n != 2 {
		t.Errorf("Reload called %d times, want 2 (the cross-origin posts must not reach it)", n)
	}

	ready.Store(true)
	if r := do(t, "GET", base+"/readyz", nil); r.code != 200 || r.body != "ready\n" {
		t.Errorf("readyz when ready: %d %q", r.code, r.body)
	}
	failReload.Store(true)
	if r := do(t, "POST", base+"/-/reload", nil); r.code != 500 || !strings.Contains(r.body, "previous rules keep running") || !strings.Contains(r.body, "rules/margin.yaml:3:7") {
		t.Errorf("failed reload: %d %q", r.code, r.body)
	}
	var doc map[string]any
	if err := json.Unmarshal([]byte(do(t, "GET", base+"/explain?sku=tv-55&channel=web", nil).body), &doc); err != nil || doc["sku"] != "tv-55" {
		t.Errorf("explain document %v, %v", doc, err)
	}
}

// TestDisabled: with only the defaults, reload answers 403 and explain 404,
// readiness is always 200 and /metrics serves an empty page.
func TestDisabled(t *testing.T) {
	base, _ := start(t, Options{})
	for _, tc := range []struct {
		method, path string
		code         int
		body         string
	}{
		{"POST", "/-/reload", 403, "admin reload is disabled"},
		{"GET", "/explain?sku=x", 404, "explain is not available"},
		{"GET", "/readyz", 200, "ready"},
		{"GET", "/metrics", 200, ""},
	} {
		if r := do(t, tc.method, base+tc.path, nil); r.code != tc.code || !strings.Contains(r.body, tc.body) {
			t.Errorf("%s %s = %d %q, want %d %q", tc.method, tc.path, r.code, r.body, tc.code, tc.body)
		}
	}
}

// TestShutdownGraceful: a request in flight when Shutdown is called
// completes; new connections are refused afterwards.
func TestShutdownGraceful(t *testing.T) {
	entered, release := make(chan struct{}), make(chan struct{})
	s := New(Options{Addr: "127.0.0.1:0", Explain: func(sku, channel string) (any, bool) {
		close(entered)
		<-release
		return map[string]string{"sku": sku}, true
	}})
	addr, err := s.Start(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if h, _, _ := net.SplitHostPort(addr); h != "127.0.0.1" || strings.HasSuffix(addr, ":0") {
		t.Fatalf("Start returned %q, want the real 127.0.0.1 port", addr)
	}
	got := make(chan response, 1)
	go func() {
		resp, err := http.Get("http://" + addr + "/explain?sku=slow")
		if err != nil {
			got <- response{body: err.Error()}
			return
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		got <- response{resp.StatusCode, resp.Header.Get("Content-Type"), string(b)}
	}()
	<-entered
	done := make(chan error, 1)
	go func() {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		done <- s.Shutdown(ctx)
	}()
	select {
	case err := <-done:
		t.Fatalf("Shutdown returned %v with a request in flight", err)
	case <-time.After(100 * time.Millisecond):
	}
	close(release)
	if r := <-got; r.code != 200 || !strings.Contains(r.body, `"sku": "slow"`) {
		t.Fatalf("in-flight request: %d %q", r.code, r.body)
	}
	if err := <-done; err != nil {
		t.Fatalf("Shutdown: %v", err)
	}
	if _, err := net.DialTimeout("tcp", addr, time.Second); err == nil {
		t.Fatal("still accepting connections after Shutdown")
	}
	if err := s.Shutdown(context.Background()); err != nil {
		t.Fatalf("second Shutdown: %v", err)
	}
}

// TestContextStops: cancelling Start's context shuts the server down.
func TestContextStops(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	s := New(Options{Addr: "127.0.0.1:0"})
	addr, err := s.Start(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if r := do(t, "GET", "http://"+addr+"/healthz", nil); r.code != 200 {
		t.Fatalf("healthz %d", r.code)
	}
	cancel()
	deadline := time.Now().Add(5 * time.Second)
	for {
		c, err := net.DialTimeout("tcp", addr, time.Second)
		if err != nil {
			break
		}
		c.Close()
		if time.Now().After(deadline) {
			t.Fatal("still listening after the context was cancelled")
		}
		time.Sleep(20 * time.Millisecond)
	}
	if _, err := s.Start(context.Background()); err == nil {
		t.Fatal("a second Start succeeded")
	}
}

func TestAddrInUse(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	if _, err := New(Options{Addr: ln.Addr().String()}).Start(context.Background()); err == nil || !strings.Contains(err.Error(), "address already in use") {
		t.Fatalf("Start on a used port: %v", err)
	}
	if New(Options{}).opts.Addr != DefaultAddr {
		t.Fatal("default address")
	}
}
