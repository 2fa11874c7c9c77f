// Package kafkabench measures promoguard through Kafka: a generated stream
// produced to a broker, the daemon consuming it, and its outputs consumed
// back; beside it, a pass-through (consume and produce, no rules) on the
// same broker gives the ceiling of the Kafka path. It reports sustained
// throughput at saturation, end-to-end latency at a fixed offered rate,
// and how fast a restarted daemon restores its state.
//
// The daemon runs in this process, as connectors/kafka runs it in
// `promoguard run`; producer, daemon and consumer share the machine, so on
// a small machine the figures are a floor, and runs should be repeated.
//
// Only the bench command imports it; it is never on the daemon's path.
package kafkabench
