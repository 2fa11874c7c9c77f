package httpd

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"net/http"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"
)

// DefaultAddr is where the server listens when Options.Addr is empty.
const DefaultAddr = "127.0.0.1:9464"

// Options configure New. Nil functions disable what they serve.
type Options struct {
	// Addr is host:port to listen on; port 0 picks a free one. Empty means
	// DefaultAddr.
	Addr string
	// Gatherer serves /metrics; nil serves an empty page.
	Gatherer prometheus.Gatherer
	// Ready says whether the daemon is ready (every assigned partition
	// caught up) and, when not, why. Nil means always ready.
	Ready func() (ready bool, reason string)
	// Explain returns what /explain shows for a sku on a channel (channel
	// may be empty), encoded as JSON, and false when there is nothing to
	// show. Nil disables /explain (404).
	Explain func(sku, channel string) (any, bool)
	// Reload reloads the rules and returns why it failed. Nil disables
	// POST /-/reload: it answers 403.
	Reload func() error
}

// Server is the daemon's HTTP server.
type Server struct {
	opts    Options
	handler http.Handler

	mu      sync.Mutex
	srv     *http.Server
	served  chan struct{} // closed when Serve returns
	serveEr error
}

// New returns a server; Start starts it.
func New(opts Options) *Server {
	if opts.Addr == "" {
		opts.Addr = DefaultAddr
	}
	if opts.Gatherer == nil {
		opts.Gatherer = prometheus.NewRegistry()
	}
	s := &Server{opts: opts}
	s.handler = s.routes()
	return s
}

// Handler is the server's handler, for tests and for mounting elsewhere.
func (s *Server) Handler() http.Handler { return s.handler }

func (s *Server) routes() http.Handler {
	mux := http.NewServeMux()
	mux.Handle("GET /metrics", promhttp.HandlerFor(s.opts.Gatherer, promhttp.HandlerOpts{
		// a failing collector must not hide every other metric
		ErrorHandling:       promhttp.ContinueOnError,
		MaxRequestsInFlight: 4,
	}))
	mux.HandleFunc("GET /healthz", func(w http.ResponseWriter, r *http.Request) {
		text(w, http.StatusOK, "ok")
	})
	mux.HandleFunc("GET /readyz", s.readyz)
	mux.HandleFunc("GET /explain", s.explain)
	reload := http.NewCrossOriginProtection().Handler(http.HandlerFunc(s.reload))
	mux.Handle("POST /-/reload", reload)
	mux.Handle("PUT /-/reload", reload)
	mux.HandleFunc("GET /{$}", func(w http.ResponseWriter, r *http.Request) {
		text(w, http.StatusOK, "promoguard\n\n/metrics   Prometheus metrics\n/healthz   liveness\n/readyz    readiness: 200 once every assigned partition has caught up\n/explain?sku=SKU&channel=CHANNEL   the facts and rule results of the last evaluation\nPOST /-/reload   reload the rules (when enabled)")
	})
	return mux
}

func (s *Server) readyz(w http.ResponseWriter, r *http.Request) {
	if s.opts.Ready == nil {
		text(w, http.StatusOK, "ready")
		return
	}
	ok, reason := s.opts.Ready()
	if ok {
		text(w, http.StatusOK, "ready")
		return
	}
	if reason == "" {
		reason = "not ready"
	}
	text(w, http.StatusServiceUnavailable, "not ready: "+reason)
}

func (s *Server) explain(w http.ResponseWriter, r *http.Request) {
	if s.opts.Explain == nil {
		jsonError(w, http.StatusNotFound, "explain is not available")
		return
	}
	q := r.URL.Query()
	sku, channel := q.Get("sku"), q.Get("channel")
	if sku == "" {
		jsonError(w, http.StatusBadRequest, "the sku parameter is required: /explain?sku=SKU&channel=CHANNEL")
		return
	}
	v, ok := s.opts.Explain(sku, channel)
	if !ok {
		msg := fmt.Sprintf("no evaluation of sku %q", sku)
		if channel != "" {
			msg += fmt.Sprintf(" on channel %q", channel)
		}
		jsonError(w, http.StatusNotFound, msg+" is known to this instance (it may belong to a partition another instance owns)")
		return
	}
	// encode first, so that a value JSON cannot encode (a NaN) is a 500
	// with a message rather than half a document
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	enc.SetIndent("", "  ")
	if err := enc.Encode(v); err != nil {
		jsonError(w, http.StatusInternalServerError, "encode explanation: "+err.Error())
		return
	}
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(http.StatusOK)
	w.Write(buf.Bytes())
}

func (s *Server) reload(w http.ResponseWriter, r *http.Request) {
	if s.opts.Reload == nil {
		text(w, http.StatusForbidden, "admin reload is disabled: enable it (http.enable_admin_reload: true, --http-enable-admin-reload), or send SIGHUP")
		return
	}
	if err := s.opts.Reload(); err != nil {
		text(w, http.StatusInternalServerError, "reload failed, the previous rules keep running:\n"+err.Error())
		return
	}
	text(w, http.StatusOK, "reloaded")
}

func text(w http.ResponseWriter, code int, msg string) {
	w.Header().Set("Content-Type", "text/plain; charset=utf-8")
	w.Header().Set("X-Content-Type-Options", "nosniff")
	w.WriteHeader(code)
	fmt.Fprintln(w, msg)
}

func jsonError(w http.ResponseWriter, code int, msg string) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(code)
	b, _ := json.Marshal(struct {
		Error string `json:"error"`
	}{msg})
	w.Write(append(b, '\n'))
}

// Start listens and serves in the background, and returns the address it
// listens on (the real port when Addr asked for port 0). When ctx is done
// the server shuts down as Shutdown does, with 5 s for requests in flight.
func (s *Server) Start(ctx context.Context) (addr string, err error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.srv != nil {
		return "", errors.New("http server already started")
	}
	var lc net.ListenConfig
	ln, err := lc.Listen(ctx, "tcp", s.opts.Addr)
	if err != nil {
		return "", fmt.Errorf("http: %w", err)
	}
	srv := &http.Server{
		Handler:           s.handler,
		ReadHeaderTimeout: 10 * time.Second,
		ReadTimeout:       30 * time.Second,
		WriteTimeout:      60 * time.Second,
		IdleTimeout:       2 * time.Minute,
		MaxHeaderBytes:    64 << 10,
		BaseContext:       func(net.Listener) context.Context { return context.WithoutCancel(ctx) },
	}
	s.srv, s.served = srv, make(chan struct{})
	go func() {
		err := srv.Serve(ln)
		s.mu.Lock()
		if !errors.Is(err, http.ErrServerClosed) {
			s.serveEr = err
		}
		s.mu.Unlock()
		close(s.served)
	}()
	go func() {
		select {
		case <-ctx.Done():
			sctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
			defer cancel()
			s.Shutdown(sctx)
		case <-s.served:
		}
	}()
	return ln.Addr().String(), nil
}

// Shutdown stops accepting connections and waits for the requests in
// flight to finish, or for ctx to be done (then it closes what is left).
// It returns the error that stopped serving, if any. It may be called more
// than once, and before Start.
func (s *Server) Shutdown(ctx context.Context) error {
	s.mu.Lock()
	srv, served := s.srv, s.served
	s.mu.Unlock()
	if srv == nil {
		return nil
	}
	err := srv.Shutdown(ctx)
	if err != nil {
		srv.Close()
	}
	<-served
	s.mu.Lock()
	defer s.mu.Unlock()
	return errors.Join(err, s.serveEr)
}
