// Package metrics defines the daemon's Prometheus metrics. Every metric is
// registered on the registry the daemon passes in, never on a global one,
// so tests and several daemons in one process do not share counters.
//
// Names start with promoguard_; counters end in _total and durations in
// _seconds. Counters the engine keeps itself (rule evaluations, errors,
// alert transitions, corrections) are filled from engine.Stats deltas with
// AddStats, so the engine stays free of Prometheus.
//
// event, rules and engine must never import it.
package metrics
