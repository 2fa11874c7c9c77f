// Package engine is promoguard's pure, deterministic core: it decodes
// events (Decode), keeps the state per sku — prices per channel with
// scheduled prices, stock per warehouse, the promotion index, a short price
// history — stacks promotions, splits each sku's time ahead into calendar
// segments, builds the facts rules read, runs the compiled rules, and moves
// the alert and correction lifecycles, driven by timers on a watermark.
//
// Feed an Engine through a Sequencer, which applies each run of events
// with equal timestamps in the canonical order, so arrival order never
// changes an output; Advance moves the watermark without an event. The same
// input always gives the same outputs, ids included.
//
// It must never do I/O, read the wall clock, log through a backend, or
// import a Kafka client or net/http: time is passed in, and the connectors
// implement the small interfaces it owns. The same code path serves run,
// replay, test and bench, so there is no second evaluator. TestPurity in
// package rules enforces the imports.
package engine
