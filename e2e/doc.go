// Package e2e holds promoguard's end-to-end tests: the `promoguard` binary,
// built with the race detector, run as real processes against a real Apache
// Kafka broker (`make integration` starts one), its outputs compared record
// by record with a replay of the same input. The reliability scenarios of
// RELIABILITY.md — kills, broker restarts, network partitions, rebalances,
// pauses, poison input, hostile rules, reloads and back-pressure — are here
// too. Every test carries the integration build tag.
//
// It has no code of its own besides tests, and nothing imports it.
package e2e
