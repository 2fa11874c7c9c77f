// Package kafka runs promoguard's engine on Apache Kafka (DESIGN §8) with
// kafka-go: the Daemon behind `promoguard run`, the writer that the
// produce command and the tools share, topic administration, the
// co-partitioning group balancer, and the connection security (TLS, SASL).
//
// The daemon is a consumer group over the co-partitioned prices and stock
// topics; each assigned partition number is a worker (worker.go) that
// restores its engine from its changelog partition, merges its inputs in
// event time (package merge), applies them, and ends each batch in the
// order that makes delivery at-least-once with deterministic ids: outputs
// produced and acknowledged, then the changelog, then the offsets. Its
// outputs equal a replay of the same input.
//
// It must never commit an offset before the outputs of what it covers are
// acknowledged (no ReadMessage in a group, no CommitInterval), never write
// with fewer acks than all in-sync replicas; its writers are configured in
// one place, newWriter. The engine, rules and event packages must never
// import it; it imports them.
package kafka
