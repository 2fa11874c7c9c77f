// Package httpd is the daemon's HTTP server: Prometheus metrics, liveness
// and readiness probes, /explain (the facts and rule results of the last
// evaluation of a sku on a channel), and the admin reload endpoint.
//
// It knows nothing of Kafka or the engine: the daemon passes in a
// prometheus.Gatherer and small functions. It listens on 127.0.0.1 by
// default; the reload endpoint exists only when the daemon enables it, and
// refuses cross-origin browser requests.
package httpd
