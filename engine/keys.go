package engine

import (
	"crypto/sha256"
	"encoding/hex"
	"strconv"
	"time"

	"github.com/promoguard/promoguard/event"
)

// akey is how the engine finds an alert or correction key in its maps:
// cheap to build on every evaluation, where the fingerprint (a hash) is
// computed once when the key is first seen. rule is the rule id ("" for a
// correction); the sku or promotion is implied by the map that holds it.
type akey struct {
	rule    string
	channel string
	seg     int64 // the segment key as nanoseconds; 0 for none
}

func segNum(t time.Time) int64 {
	if t.IsZero() {
		return 0
	}
	return t.UnixNano()
}

// fingerprint identifies an alert or a correction key: group, rule, sku,
// channel and segment key (or promotion id). 64 bits, hex.
func fingerprint(parts ...string) string { return fingerprintN(8, parts...) }

// outputID is a record's id: a hash of its kind, fingerprint, state and the
// watermark instant of the transition — never of a file line or an offset,
// so replay and run emit the same ids for the same input. 128 bits, hex.
func outputID(kind, fp string, state event.State, wm time.Time) string {
	return fingerprintN(16, kind, fp, string(state), instant(wm))
}

// id issues the id of a transition at the present watermark. The n-th
// repeat of the same kind, fingerprint and state at one watermark (a key
// firing, resolving and firing again within one timestamp) hashes n in as
// well, so no two records share an id; the common first one is exactly
// outputID.
func (e *Engine) id(kind, fp string, state event.State) string {
	if !e.issuedAt.Equal(e.wm) {
		clear(e.issued)
		e.issuedAt = e.wm
	}
	k := kind + "\x00" + fp + "\x00" + string(state)
	n := e.issued[k]
	e.issued[k] = n + 1
	if n == 0 {
		return outputID(kind, fp, state, e.wm)
	}
	return fingerprintN(16, kind, fp, string(state), instant(e.wm), strconv.Itoa(n))
}

func fingerprintN(n int, parts ...string) string {
	h := sha256.New()
	for _, p := range parts {
		h.Write([]byte(p))
		h.Write([]byte{0})
	}
	var sum [sha256.Size]byte
	return hex.EncodeToString(h.Sum(sum[:0])[:n])
}

// instant writes a time as nanoseconds since the epoch; the zero time as 0.
func instant(t time.Time) string {
	if t.IsZero() {
		return "0"
	}
	return strconv.FormatInt(t.UnixNano(), 10)
}

// span is a segment as outputs show it, kept as values so that building a
// context allocates nothing: a zero start or end is null. none marks a
// context shown without a segment (now scope).
type span struct {
	start, end time.Time
	none       bool
}

func segSpan(seg segment) span { return span{start: seg.key, end: seg.end} }

// toRange is the span as an output's segment.
func (s span) toRange() *event.Range {
	if s.none {
		return nil
	}
	r := &event.Range{}
	if !s.start.IsZero() {
		t := s.start
		r.Start = &t
	}
	if !s.end.IsZero() {
		t := s.end
		r.End = &t
	}
	return r
}

// endedRange is the segment a record shows: as last seen, and for a key that
// ended, ending at the watermark that ended it (a split may have moved its
// end since it was last emitted).
func endedRange(s span, reason event.Reason, w time.Time) *event.Range {
	if !s.none && reason == event.ReasonEnded && (s.end.IsZero() || s.end.After(w)) {
		s.end = w
	}
	return s.toRange()
}
