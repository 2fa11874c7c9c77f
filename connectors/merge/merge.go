package merge

import "time"

// Item is one record of an input, as queued.
type Item[T any] struct {
	Value T
	// TS is its event time; it orders items of different inputs.
	TS time.Time
	// Bad marks input that has no event time (it failed to decode): it
	// is released ahead of every event and waits for nothing.
	Bad bool
	// Fetched is when the caller received it: its grace counts from then.
	Fetched time.Time
}

// Merger merges inputs added with Add. The zero value has no inputs and
// releases nothing while Grace and MaxWait are zero; set both. It is not
// safe for concurrent use: one goroutine owns it.
type Merger[T any] struct {
	// Grace is how long an event waits, once fetched, while a caught-up
	// input has nothing queued: an event of that input with an earlier
	// time may have been produced alongside it and not be fetched yet.
	Grace time.Duration
	// MaxWait is how long the merge waits while an input that has not
	// caught up has nothing queued, before it releases the others' events
	// ahead of that input's.
	MaxWait time.Duration

	inputs       []input[T]
	blockedSince time.Time // since when an input lagging has held the merge
	resumed      time.Time // see Resumed
}

type input[T any] struct {
	queue    []Item[T]
	caughtUp bool
}

// Add adds an input and returns its index. Among items with equal times
// (and among bad ones) the input added first goes first: add them in the
// canonical order of equal timestamps. caughtUp is whether the input has
// delivered everything there is (see SetCaughtUp).
func (m *Merger[T]) Add(caughtUp bool) int {
	m.inputs = append(m.inputs, input[T]{caughtUp: caughtUp})
	return len(m.inputs) - 1
}

// Inputs returns the number of inputs.
func (m *Merger[T]) Inputs() int { return len(m.inputs) }

// Push queues it at the end of input in.
func (m *Merger[T]) Push(in int, it Item[T]) {
	m.inputs[in].queue = append(m.inputs[in].queue, it)
}

// SetCaughtUp records whether input in has delivered everything there is
// for now (its last fetch reached the end of its log). An empty input that
// has caught up costs an event Grace; one that has not holds the merge up
// to MaxWait.
func (m *Merger[T]) SetCaughtUp(in int, caughtUp bool) { m.inputs[in].caughtUp = caughtUp }

// Queued returns the number of items queued on input in.
func (m *Merger[T]) Queued(in int) int { return len(m.inputs[in].queue) }

// Empty reports whether no input has an item queued.
func (m *Merger[T]) Empty() bool {
	for i := range m.inputs {
		if len(m.inputs[i].queue) > 0 {
			return false
		}
	}
	return true
}

// CaughtUp reports whether every input has caught up (SetCaughtUp); items
// may still be queued.
func (m *Merger[T]) CaughtUp() bool {
	for i := range m.inputs {
		if !m.inputs[i].caughtUp {
			return false
		}
	}
	return true
}

// Resumed tells the merge that the caller could not take items from its
// inputs until at (it was busy producing, say): what was fetched meanwhile
// waited for the caller, not for the inputs, so the grace and the wait for
// a lagging input count from at.
func (m *Merger[T]) Resumed(at time.Time) {
	m.resumed = at
	if !m.blockedSince.IsZero() {
		m.blockedSince = at
	}
}

// Next returns the next item in time order and its input, or false when
// none can go at now: no item is queued, or the earliest must wait for an
// input that has none queued. When every input has an item queued, the
// earliest goes at once.
func (m *Merger[T]) Next(now time.Time) (in int, it Item[T], ok bool) {
	best := -1
	lagging, empty := false, false
	for i := range m.inputs {
		x := &m.inputs[i]
		if len(x.queue) == 0 {
			empty = true
			if !x.caughtUp {
				lagging = true
			}
			continue
		}
		if best < 0 || less(x.queue[0], m.inputs[best].queue[0]) {
			best = i
		}
	}
	if best < 0 {
		m.blockedSince = time.Time{}
		return -1, it, false
	}
	b := &m.inputs[best]
	if empty && !b.queue[0].Bad {
		if lagging {
			if m.blockedSince.IsZero() {
				m.blockedSince = now
			}
			if now.Sub(m.blockedSince) < m.MaxWait {
				return -1, it, false
			}
		} else if now.Sub(later(b.queue[0].Fetched, m.resumed)) < m.Grace {
			return -1, it, false
		}
	}
	it = b.queue[0]
	b.queue[0] = Item[T]{}
	b.queue = b.queue[1:]
	m.blockedSince = time.Time{}
	return best, it, true
}

// less orders the heads of two inputs: bad input first, then by time. At
// equal times it is false both ways, and the input added first wins.
func less[T any](x, y Item[T]) bool {
	if x.Bad != y.Bad {
		return x.Bad
	}
	return !x.Bad && x.TS.Before(y.TS)
}

func later(a, b time.Time) time.Time {
	if a.After(b) {
		return a
	}
	return b
}
