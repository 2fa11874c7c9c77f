// Package rules is the rule language (DESIGN §5): the rule-file schema,
// loading with positions, validation that collects every error with
// file:line:col and a stable code, and compilation of each condition and
// bound — once, against the typed Facts env — into a program the engine
// runs. It also owns the Facts the rules read, the built-in functions, and
// the message templates.
//
// It parses and validates; it never evaluates an event, keeps no state
// between loads, and must never import the engine, a Kafka client, a
// logging backend or net/http (TestPurity enforces it).
package rules
