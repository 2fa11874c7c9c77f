// Package testspec is the rule unit-test file format: its schema, loading
// with positions, and validation. It is to `promoguard test` what package
// rules is to rule files: it parses and validates, and never evaluates.
// The runner, ruletest, decodes the events with event.Decode and
// drives the real engine; this package must never import the engine, read
// the clock, or log.
//
// A test file (by convention named *_test.yaml) looks like:
//
//	rule_files: [../rules/margin.yaml]   # relative to this file; a case may set its own
//	horizon: 30d                         # engine options, optional (also per case)
//	lateness: 0s
//	tests:
//	  - name: a promotion that breaks the tv floor alerts now, for Friday
//	    events:                          # applied first, in order, each at its ts
//	      - {type: price, sku: tv, channel: web, price: 899, cost: 700, category: tv, currency: EUR, ts: 2026-11-23T08:00:00Z}
//	    steps:
//	      - event: {type: promo, id: bf, partner: acme, discount: {kind: percent, value: 20}, skus: [tv],
//	                start: 2026-11-27T00:00:00Z, end: 2026-12-01T00:00:00Z, ts: 2026-11-23T10:00:00Z}
//	        expect:                      # a checkpoint after this step
//	          alerts:
//	            - {rule: margin/margin-floor, sku: tv, channel: web, at: 2026-11-27T00:00:00Z}
//	          corrections:
//	            - {sku: tv, channel: web, corrected: 760.87, bound_by: margin/margin-floor}
//	      - until: 2026-12-01T00:00:00Z  # move the watermark without an event
//	    expect:                          # after the last step
//	      alerts:
//	        - {rule: margin/margin-floor, sku: tv, channel: web, state: resolved, reason: ended}
//
// Decisions, in brief (README.md has the user's reference):
//
//   - Expectations are about output records, the transitions consumers see
//     (an alert firing or resolving, a correction active or withdrawn), not
//     about a state: each checkpoint compares the records emitted since the
//     previous checkpoint (the first: since the start). A list that is
//     written is matched exactly — every record of that kind in the window
//     must match an expectation and every expectation a record, in any
//     order; a list left out is not checked. So a test loads only the rule
//     files it is about, and lists what they emit.
//   - Fields left out of an expectation match anything, except state, which
//     defaults to firing (alerts) and active (corrections). Labels and values
//     are subsets; numbers compare to 1e-9 relative (RelTolerance,
//     AbsTolerance near zero), or within an expectation's absolute
//     `tolerance:`.
//   - A rule is written group/rule, or rule alone for that name in any group.
//   - `quiet: [group/rule]` asserts that rules emit nothing in a window
//     without listing the other rules' records; `expect_none: true` asserts
//     that a whole case emits no alert and no correction.
//   - Events are the JSON events of DESIGN §2 written as YAML mappings; the
//     loader keeps them as JSON bytes with their position, so a bad event
//     is reported at file:line:col when the runner decodes it. A series
//     expands a template event over lists of values (one event per element,
//     fields such as price or discount.value) and a ts list or start: +
//     every:, or over count: alone.
//   - advance: is relative to the watermark after the events so far are
//     applied, so it needs an event before it; until: is absolute.
//   - Errors reuse package rules' Error type (file, line, column, stable
//     code, snippet), with the codes of this package for what rule files
//     do not have; every problem is reported, sorted by position.
package testspec
