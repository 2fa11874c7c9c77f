// Package engine is promoguard's pure, deterministic core: it keeps the
// state per sku — prices per channel with scheduled prices, stock per
// warehouse, the promotion index, a short price history — stacks
// promotions, splits each sku's time ahead into calendar segments, builds
// the facts rules read, runs the compiled rules, and moves the alert and
// correction lifecycles, driven by timers on a watermark. Events come
// decoded (package event); outputs leave as event.Output records.
//
// Feed an Engine through a Driver (driver.go): the one loop of replay,
// run, test and bench, which decodes raw records, turns bad ones into dead
// letters, and pushes the events through a Sequencer, which applies each
// run of equal timestamps in the canonical order, so arrival order never
// changes an output; Advance moves the watermark without an event. The
// engine owns the small interfaces its callers implement: Source (records
// with their acks), Sink (outputs) and Clock. The same input always gives
// the same outputs, ids included.
//
// The path of one event reads top down, and no file on it calls back into
// a file that called it:
//   - engine.go: Apply and Advance, the watermark and the timers due;
//   - apply.go: the event changes the state (state.go, index.go) and names
//     the sku or promotion to evaluate; evalSKU drives the rest;
//   - contexts.go: the sku's calendar segments and in each its channel
//     contexts (price in effect, active promotions, stacking in stack.go
//     under the channel's policy: Options.Channels),
//     with what changed since the memo last saw them (changes.go);
//   - facts.go: a context's facts, built once, when a rule first needs them;
//   - eval.go: phase 1, the rules of a context into a list of results
//     (held, floor, ceiling, error), from the memo's cache of results
//     where none of the facts a rule reads changed (memo.go);
//   - lifecycle.go: phase 2, the alert (alert.go) and correction
//     (correction.go) lifecycles over those results, and the keys that
//     vanished;
//   - keys.go, timer.go, stats.go: record keys and ids, the next timer,
//     counters.
//
// reload.go swaps the rule set, snapshot.go checkpoints and restores the
// state, explain.go explains one sku. The facts reach expr without a copy
// through facts_unsafe.go; -tags promoguard_safe builds without package
// unsafe (facts_safe.go), with the same outputs.
//
// It must never do I/O, read the wall clock, log through a backend, or
// import a Kafka client or net/http: time is passed in, and the connectors
// implement the small interfaces it owns. The same code path serves run,
// replay, test and bench, so there is no second evaluator. TestPurity in
// package rules enforces the imports.
package engine
