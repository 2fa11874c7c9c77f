// Package demo is the "trying promoguard out" path of the daemon: the
// embedded single-node broker started on loopback when no brokers are
// configured (with the commands to feed it in its log line), and a
// generated catalog and event stream, in the present, so that `promoguard
// run --demo` shows alerts within seconds.
//
// The stream is written to Kafka like any producer's: it must never reach
// into the daemon beyond waiting for it to be ready. It must never import
// cmd.
package demo
