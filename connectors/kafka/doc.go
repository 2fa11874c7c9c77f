// Package kafka is promoguard's edge to Apache Kafka (DESIGN §8), on
// segmentio/kafka-go: the daemon that runs one engine per assigned
// partition number (restore from the changelog, fetch and merge the input
// topics in event time, apply, produce the outputs, write the changelog,
// commit — in that order), the co-partitioning group balancer, topic
// creation and checks, dialing with TLS and SASL, and the producer behind
// `promoguard produce`.
//
// Delivery is at-least-once: outputs are acknowledged before the changelog,
// the changelog before the input offsets. It holds no evaluation logic of
// its own — events go through the engine's one driver path — and it must
// never be imported by event, rules or engine.
package kafka
