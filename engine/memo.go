package engine

import (
	"math/bits"
)

// The memo is what the engine remembers of each evaluation context — one
// channel of a sku in one calendar segment — from one evaluation of the
// sku to the next, so that:
//   - a rule none of whose facts changed is not run again: its last result
//     (and its floor and ceiling) is reused; the lifecycle still moves, so
//     `for`, `repeat` and the alert records behave as if it had run;
//   - the facts of a context that no rule needs to run are never built.
//
// The facts that changed are found (changes.go) by comparing the inputs the
// facts are computed from — the price record (records are never modified),
// the active promotions (by pointer: an edit makes a new promoState), the
// stock, the price history, the watermark, the segment — never by
// reasoning about which event touched what. A memo is only a cache: an
// engine without one (a restored engine starts empty) gives the same
// outputs, only slower.

// memoRules is how many rules of a rule set the memo can hold results of,
// one bit each; a larger rule set is evaluated without it.
const memoRules = 64

// ctxMemo is one context's memo.
type ctxMemo struct {
	seg    int64  // the segment key (segNum)
	gen    uint32 // the engine's memo generation when written: a rule set change clears it
	epoch  uint32 // the evaluation that last visited it, to drop the contexts that are gone
	nch    int32  // channels of the sku in the segment
	rec    *priceRec
	active []*promoState
	segEnd int64 // the segment's end
	// valid marks, by rule index, the rules whose result held and bvalid
	// the ones whose bounds below hold; held is their condition.
	valid, held, bvalid uint64
	bounds              []memoBound
}

type memoBound struct {
	rule         int
	lo, hi       float64
	hasLo, hasHi bool
}

// recall returns what the memo holds of a context's rules, by rule index
// bit: the rules whose condition is known from an earlier evaluation on the
// same facts (valid), and which of those held. Nothing without a memo.
func (m *ctxMemo) recall() (valid, held uint64) {
	if m == nil {
		return 0, 0
	}
	return m.valid, m.held
}

// remember keeps the conditions phase 1 evaluated on a context (held
// marks the ones that held) and forgets the ones that failed: an error is
// not remembered, so that it is counted each time. The bounds of an
// evaluated rule are to be evaluated again.
func (m *ctxMemo) remember(evaluated, held, failed uint64) {
	if m == nil {
		return
	}
	m.valid = (m.valid | evaluated) &^ failed
	m.bvalid &^= evaluated
	m.held = m.held&^evaluated | held
}

// bound returns the memoized floor and ceiling of rule i (with bit).
func (m *ctxMemo) bound(bit uint64, i int) (memoBound, bool) {
	if m == nil || bit == 0 || m.bvalid&bit == 0 {
		return memoBound{}, false
	}
	for _, mb := range m.bounds {
		if mb.rule == i {
			return mb, true
		}
	}
	return memoBound{}, false
}

// keepBound memoizes the floor and ceiling of a rule.
func (m *ctxMemo) keepBound(bit uint64, mb memoBound) {
	if m == nil || bit == 0 {
		return
	}
	found := false
	for i := range m.bounds {
		if m.bounds[i].rule == mb.rule {
			m.bounds[i], found = mb, true
			break
		}
	}
	if !found {
		m.bounds = append(m.bounds, mb)
	}
	m.bvalid |= bit
}

// memoOK reports whether the memo can serve the current rule set.
func (e *Engine) memoOK() bool { return len(e.rs.Rules) <= memoRules }

// settled reports whether a context's rules of one scope need not be
// looked at one by one: the context has no alert, and every rule the
// trigger admits has a memoized condition that is false. Looking at them
// would only count them, which settled does.
func (e *Engine) settled(c *alertCtx, trig *trigger, on *[8]uint64) bool {
	mc := c.memo
	if mc == nil || !c.noAlerts || trig.fresh != nil {
		return false
	}
	adm := on[trig.on&7]
	if mc.valid&adm != adm || mc.held&adm != 0 {
		return false
	}
	n := int64(bits.OnesCount64(adm))
	for d := adm; d != 0; {
		i := bits.TrailingZeros64(d)
		rs := e.ruleStat[i]
		rs.Evaluations++
		rs.Reused++
		d &^= 1 << i
	}
	e.stats.Evaluations += n
	e.stats.Reused += n
	return true
}

// memoFor returns the memo of channel ch in segment seg, and whether it is
// a new one. The memos live in the channel's slice, which contexts sizes
// beforehand so that the pointers stay valid through an evaluation.
func (e *Engine) memoFor(ch *channelState, seg int64) (*ctxMemo, bool) {
	for i := range ch.memos {
		m := &ch.memos[i]
		if m.seg == seg {
			if m.gen != e.memoGen {
				*m = ctxMemo{seg: seg, gen: e.memoGen, active: m.active[:0], bounds: m.bounds[:0]}
				return m, true
			}
			return m, false
		}
	}
	n := len(ch.memos)
	ch.memos = ch.memos[:n+1]
	m := &ch.memos[n]
	*m = ctxMemo{seg: seg, gen: e.memoGen, active: m.active[:0], bounds: m.bounds[:0]}
	return m, true
}

// endMemos drops the memos of contexts this evaluation did not visit and
// remembers the watermark and stock it saw.
func (e *Engine) endMemos(s *skuState) {
	s.stockChanged = false
	s.memoW, s.memoSet = e.wm.UnixNano(), true
	for _, name := range s.names {
		ch := s.channels[name]
		n := 0
		for i := range ch.memos {
			m := &ch.memos[i]
			if m.epoch != uint32(e.epoch) || m.gen != e.memoGen {
				continue
			}
			if i != n {
				ch.memos[n], *m = *m, ctxMemo{}
			}
			n++
		}
		clear(ch.memos[n:])
		ch.memos = ch.memos[:n]
	}
}

func hasMemo(ms []ctxMemo, seg int64) bool {
	for i := range ms {
		if ms[i].seg == seg {
			return true
		}
	}
	return false
}
