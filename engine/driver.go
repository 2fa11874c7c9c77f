package engine

import (
	"context"
	"errors"
	"io"
	"time"

	"github.com/promoguard/promoguard/event"
)

// Record is one raw input as a Source reads it: the bytes of an event and
// where they came from.
type Record struct {
	// Value is the event's JSON payload.
	Value []byte
	// Source names where the record came from, as dead letters and
	// explanations show it: "file:line", "topic/partition@offset".
	Source string
	// Input is which of several inputs the record came from (a Kafka
	// topic), for DriverOptions.Check; "" when there is one.
	Input string
	// Tombstone marks a Kafka record with a null value on the promotions
	// topic: the cancellation of promotion Key at Time (event.Tombstone).
	Tombstone bool
	Key       string
	Time      time.Time
	// Dead is set by a source that refused the record itself, such as a
	// line longer than it would hold in memory: the driver emits it as it
	// is, and counts it, instead of decoding Value.
	Dead *event.DeadLetter
}

// Ack acknowledges a record: its outputs have been emitted, so its offset
// may be committed (DESIGN §8, commit after emit).
type Ack func() error

// Source is an input: Read returns the next record and the Ack that
// commits it, or io.EOF at the end. The ack travels with the record, so
// nothing is committed before it is handled. A nil Ack has nothing to
// commit (a file).
type Source interface {
	Read(ctx context.Context) (Record, Ack, error)
}

// Sink takes the output records of a step, in order. It must not keep out:
// the driver reuses it.
type Sink interface {
	Emit(out []event.Output) error
}

// Clock tells the wall time. The engine never reads it itself: only the
// driver, to refuse events further in the future than
// DecodeOptions.MaxSkew.
type Clock interface {
	Now() time.Time
}

// ClockFunc is a func as a Clock.
type ClockFunc func() time.Time

// Now calls f.
func (f ClockFunc) Now() time.Time { return f() }

// SinkFunc is a func as a Sink.
type SinkFunc func(out []event.Output) error

// Emit calls f.
func (f SinkFunc) Emit(out []event.Output) error { return f(out) }

// DriverOptions configure a Driver. The zero value decodes as replay does:
// payloads up to event.DefaultMaxSize, no future check.
type DriverOptions struct {
	// Decode bounds the payload (MaxSize) and the skew of a ts into the
	// future (MaxSkew, checked against Clock; Decode.Now is ignored).
	Decode event.DecodeOptions
	// Clock is the wall clock for the future check; nil disables it, as
	// replay and test have no wall clock.
	Clock Clock
	// Check, when set, refuses a decoded event with the error it returns
	// (an *event.InputError): a price on the stock topic, say.
	Check func(rec Record, ev *event.Event) error
	// OnDeadLetter, when set, hears every dead letter the driver makes,
	// for metrics.
	OnDeadLetter func(d *event.DeadLetter)
}

// DriverStats count what a Driver was given.
type DriverStats struct {
	Records      int64                // records stepped
	Events       int64                // events pushed to the sequencer
	DeadLetters  int64                // records refused
	DeadByReason map[event.Code]int64 // records refused, by reason
}

// Driver is the one loop between an input and the engine: decode a raw
// record, turn a bad one into a dead letter, feed a good one through a
// Sequencer to the Engine, and hand the outputs to a sink. replay, test,
// bench and run's partition workers all drive the engine through it, so
// no caller has a loop of its own that could drift.
//
// Use it one of two ways:
//
//   - Run(ctx, src, sink) reads a Source to its end, emits after every
//     record and acknowledges each record once its outputs are emitted
//     (a record buffered in a run of equal timestamps is acknowledged when
//     the run is applied). Finish ends the input. This is replay.
//   - Step by step, when the caller owns the loop (a Kafka partition
//     worker merging several topics, a test with advance and until steps):
//     Step(rec, out) decodes and pushes one record; or, split in two,
//     Decode(rec) when a record is fetched, and later Push(ev, out) or
//     DeadLetter(rec, err) when the merge releases it. Flush applies the
//     buffered run (before a commit or a reload), Advance moves the
//     watermark without an event (idle partitions, test steps) and Finish
//     ends the input. Every method appends to out and returns it, as
//     Engine.Apply does.
//
// A Driver is not safe for concurrent use: one per engine.
type Driver struct {
	seq   *Sequencer
	opts  DriverOptions
	stats DriverStats

	buffered bool      // a run of equal timestamps is in the sequencer
	runTS    time.Time // its ts
	held     int       // records stepped since the buffered run began
}

// NewDriver returns a driver feeding e through a new Sequencer.
func NewDriver(e *Engine, opts DriverOptions) *Driver {
	return &Driver{seq: NewSequencer(e), opts: opts, stats: DriverStats{DeadByReason: map[event.Code]int64{}}}
}

// Engine returns the engine the driver feeds.
func (d *Driver) Engine() *Engine { return d.seq.Engine() }

// Stats returns the driver's counts. DeadByReason is the driver's own map:
// read it, do not keep it across steps.
func (d *Driver) Stats() DriverStats { return d.stats }

// Decode decodes rec into an event with the driver's options: a tombstone
// becomes the cancellation of its promotion, the payload is decoded
// strictly (size, then the future skew against the Clock), Check runs, and
// the event is labelled with rec.Source. The error is an
// *event.InputError for DeadLetter.
func (d *Driver) Decode(rec Record) (*event.Event, error) {
	if rec.Tombstone {
		return event.Tombstone(rec.Key, rec.Time.UTC(), rec.Source), nil
	}
	opts := d.opts.Decode
	opts.Now = time.Time{}
	if opts.MaxSkew > 0 && d.opts.Clock != nil {
		opts.Now = d.opts.Clock.Now()
	}
	ev, err := event.Decode(rec.Value, opts)
	if err == nil && d.opts.Check != nil {
		err = d.opts.Check(rec, ev)
	}
	if err != nil {
		return nil, err
	}
	ev.Source = rec.Source
	return ev, nil
}

// DeadLetter returns the dead letter of rec, refused with err (or rec.Dead
// as it is when the source refused it), and counts it.
func (d *Driver) DeadLetter(rec Record, err error) event.Output {
	o := event.Output{DeadLetter: rec.Dead}
	if rec.Dead == nil {
		o = event.NewDeadLetter(err, rec.Value, rec.Source)
	}
	d.stats.DeadLetters++
	d.stats.DeadByReason[o.DeadLetter.Reason]++
	if d.opts.OnDeadLetter != nil {
		d.opts.OnDeadLetter(o.DeadLetter)
	}
	return o
}

// Step handles one record: its dead letter is appended to out at once; its
// event goes to the sequencer, which applies the previous run of equal
// timestamps first when the event's ts differs.
func (d *Driver) Step(rec Record, out []event.Output) []event.Output {
	d.stats.Records++
	if rec.Dead != nil {
		return d.refuse(rec, nil, out)
	}
	ev, err := d.Decode(rec)
	if err != nil {
		return d.refuse(rec, err, out)
	}
	return d.Push(ev, out)
}

func (d *Driver) refuse(rec Record, err error, out []event.Output) []event.Output {
	if d.buffered {
		d.held++ // acknowledged behind the run it arrived in, in order
	}
	return append(out, d.DeadLetter(rec, err))
}

// Push feeds a decoded event to the sequencer.
func (d *Driver) Push(ev *event.Event, out []event.Output) []event.Output {
	d.stats.Events++
	if d.buffered && ev.TS.Equal(d.runTS) {
		d.held++
	} else {
		d.held = 1
	}
	d.buffered, d.runTS = true, ev.TS
	return d.seq.Push(ev, out)
}

// Flush applies the buffered run of equal timestamps.
func (d *Driver) Flush(out []event.Output) []event.Output {
	d.buffered, d.held = false, 0
	return d.seq.Flush(out)
}

// Advance applies the buffered run and moves the watermark to t, firing
// the timers due.
func (d *Driver) Advance(t time.Time, out []event.Output) []event.Output {
	d.buffered, d.held = false, 0
	return d.seq.Advance(t, out)
}

// Finish ends the input: it applies the buffered run and moves the
// watermark to the highest ts pushed, ending the lateness hold.
func (d *Driver) Finish(out []event.Output) []event.Output {
	d.buffered, d.held = false, 0
	return d.seq.Finish(out)
}

// Run reads src to its end, stepping every record and emitting its outputs
// to sink, then Finishes. Each record is acknowledged, in order, once the
// outputs it caused are emitted. It stops at the first error of src (other
// than io.EOF), of sink or of an Ack, after emitting what was produced
// before it.
func (d *Driver) Run(ctx context.Context, src Source, sink Sink) error {
	var out []event.Output
	var acks []Ack
	emit := func(keep int) error {
		if len(out) > 0 {
			err := sink.Emit(out)
			clear(out)
			out = out[:0]
			if err != nil {
				return err
			}
		}
		n := len(acks) - keep
		for i, a := range acks[:n] {
			acks[i] = nil
			if a != nil {
				if err := a(); err != nil {
					return err
				}
			}
		}
		acks = append(acks[:0], acks[n:]...)
		return nil
	}
	for {
		rec, ack, err := src.Read(ctx)
		if errors.Is(err, io.EOF) {
			out = d.Finish(out)
			return emit(0)
		}
		if err != nil {
			return err // what was stepped before is emitted already
		}
		acks = append(acks, ack)
		out = d.Step(rec, out)
		if err := emit(d.held); err != nil {
			return err
		}
	}
}
