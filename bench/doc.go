// Package bench generates synthetic catalogs and event streams and measures
// how fast the engine runs them: `promoguard gen` and `promoguard bench` are
// thin wrappers around it.
//
// The generator is seeded and deterministic: the same Config writes the same
// bytes on every machine, so a benchmark figure names the stream it was
// measured on. The harness drives the real engine through the one
// engine.Driver per shard (decode, sequencer, engine), then encodes the
// outputs as the daemon writes them; it never imports Kafka, and it never
// asserts a speed.
package bench
