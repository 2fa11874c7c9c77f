// Package embedded runs a single-node Kafka-protocol broker inside the
// process, so that `promoguard run` works with nothing installed: a new
// user starts the daemon, produces a few events to 127.0.0.1:9092 and sees
// alerts. It wraps franz-go's kfake, an in-memory (optionally disk-backed)
// implementation of the Kafka protocol that kafka-go talks to over TCP.
//
// It is for trying promoguard out and for unit tests, never for
// production: it has one node, no replication and no quotas, skips the
// initial rebalance delay, and keeps its data in memory unless a DataDir
// is given. It listens on a loopback address only.
//
// Nothing of the core (event, rules, engine) may import it.
package embedded
