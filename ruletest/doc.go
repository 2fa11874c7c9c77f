// Package ruletest runs rule unit tests (the files of package
// rules/testspec) through the real engine: each case gets a fresh
// engine.Engine fed through an engine.Driver in event time, exactly as
// replay and run feed it — there is no second evaluator — and the records it
// emits are compared with the case's expectations at each checkpoint. It
// also reports which loaded rules no case exercised, and writes results as
// text, JSON or JUnit XML.
//
// It must stay pure like the engine: no wall clock, no logging, no I/O but
// reading the rule files it is told to load and writing to the writers it
// is given.
//
// It must never import a Kafka client, a logging backend, net/http, the
// connectors or cmd (TestPurity in this package enforces it).
package ruletest
