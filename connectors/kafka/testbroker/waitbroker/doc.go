// Command waitbroker is broker.sh's helper. With -free N it prints N free TCP
// ports on 127.0.0.1. Otherwise it waits until the Kafka broker at -brokers
// answers a metadata request listing at least one broker, and fails after
// -timeout or as soon as the process -pid has exited.
//
// It imports nothing of promoguard's: it must run before anything is built
// but itself.
package main
