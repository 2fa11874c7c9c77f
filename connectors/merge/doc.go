// Package merge interleaves several inputs, each in its own order, into one
// stream in event-time order, as far as that order is known: the merge of a
// partition's promotions, stock and prices before they reach the engine's
// sequencer (DESIGN §4, §8).
//
// It owns the two waits of that merge: while an input that has not caught
// up has nothing queued, the others wait for it, up to MaxWait; while a
// caught-up input has nothing queued, an event waits Grace from its fetch
// for one of another input produced alongside it. Bad input waits for
// nothing.
//
// It is pure: no I/O, no goroutines, no wall clock (every call that needs
// the time is given it), so it is tested in virtual time. It must never
// import a Kafka client, the engine or the wire format: its items are
// whatever the caller queues, with an event time.
package merge
