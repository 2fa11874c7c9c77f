// Package engine is promoguard's pure, deterministic core: state per sku,
// the promotion calendar and stacking, fact building, rule evaluation, and
// the alert and correction lifecycles, driven by timers on a watermark.
//
// It must never do I/O, read the wall clock, log through a backend, or
// import a Kafka client or net/http: time is passed in, and the connectors
// implement the small interfaces it owns. The same code path serves run,
// replay, test and bench, so there is no second evaluator.
//
// The engine arrives with issue 3 (foundation 2); this file fixes its place
// in the layout and its import rules, which TestPurity in package rules
// enforces.
package engine
