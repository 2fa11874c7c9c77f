// Command promoguard is the real-time pricing and promotion-conflict rules
// engine. This package only wires flags to the libraries: each subcommand is
// a params struct in a file of its own whose Run writes to injected writers.
//
// Nothing imports it. Library code (readers, writers, config layering,
// Kafka wiring) belongs in a package of its own, with its tests.
package main
