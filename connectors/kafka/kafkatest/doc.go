// Package kafkatest helps integration tests use the real Apache Kafka broker
// that `make integration` (and so `make test`) starts with
// connectors/kafka/testbroker/broker.sh.
//
// The contract: integration tests live in files with the `integration` build
// tag, have "Integration" in their names, and get the broker's address from
// PROMOGUARD_TEST_BROKERS (comma-separated host:port) through [Brokers]. They
// run one package at a time (-p 1) against one shared broker, so every test
// makes its own topics and groups with [Name]. The broker does not create
// topics on its own: create them with [CreateTopics]. Tests of TLS and SASL
// find the broker's SASL_SSL listener, its CA and its users with [SASL].
//
// Every helper fails the test on an error; none needs a cleanup call.
//
// Only tests import it; production code must never.
package kafkatest
