package engine

import (
	"slices"
	"time"

	"github.com/promoguard/promoguard/rules"
)

// segment is one calendar range of a sku: nothing that feeds a fact changes
// within it.
type segment struct {
	key   time.Time // the boundary that started it; zero for a present segment nothing started
	start time.Time // the instant its facts are computed at: the watermark for the present one
	end   time.Time // zero: nothing changes within the horizon
}

// chanCtx is one channel of a sku in one segment.
type chanCtx struct {
	name string
	ch   *channelState
	rec  *priceRec
	res  stackResult
	// the memo (memo.go): the context's, whether it is new, what changed
	// since it was written, and the facts that may differ for calendar and
	// now-scope rules
	memo                             *ctxMemo
	fresh, recChanged, activeChanged bool
	dirty, dirtyNow                  rules.FactSet
	hist                             *rules.History // the channel's history facts, computed once
}

// alertCtx is what an alert transition needs to know of its context.
type alertCtx struct {
	sku, channel, promo string
	segKey              time.Time // identity; zero in now and promo scope
	rng                 span      // the segment shown in outputs
	at                  time.Time
	active              []*promoState
	env                 any // a boxed rules.Facts, shared by every rule of the context
	// built-in alerts give their message and values here
	message string
	values  map[string]any
	// lazy builds env when a rule first needs it (envOf); ctxID identifies
	// env for an Evaluator
	lazy  *lazyEnv
	ctxID uint64
	fp    *rules.Facts // env unboxed, for an Evaluator where lazy has none
	// the context's memo and the facts changed since it was written; nil
	// where results are not memoized
	memo  *ctxMemo
	dirty rules.FactSet
	// noAlerts says the context has no alert key yet, so rules need not
	// look theirs up
	noAlerts bool
}

// segments splits the time from the watermark to the horizon at every
// boundary of the sku: a promotion covering it starting or ending, a
// scheduled price of any of its channels taking effect. It also returns
// the first boundary ahead and when the first boundary beyond the horizon
// enters it.
func (e *Engine) segments(s *skuState, promos []*promoState) (segs []segment, nextBoundary, nextEntry time.Time) {
	w := e.wm
	limit := w.Add(e.opt.Horizon)
	bs := e.bsBuf[:0]
	defer func() { e.bsBuf = bs[:0] }()
	key := s.lastCrossed
	consider := func(b time.Time) {
		// a boundary at or before the watermark that no timer crossed (a
		// promotion registered after its start, a price effective at
		// once) starts nothing: the present segment keeps its key
		switch {
		case !b.After(w):
		case !b.After(limit):
			bs = append(bs, b)
		default:
			nextEntry = earliest(nextEntry, b.Add(-e.opt.Horizon))
		}
	}
	for _, p := range promos {
		consider(p.ev.Start)
		consider(p.ev.End)
	}
	for _, name := range s.names {
		ch := s.channels[name]
		for _, r := range ch.sched {
			consider(r.validFrom)
		}
	}
	slices.SortFunc(bs, time.Time.Compare)
	bs = slices.CompactFunc(bs, time.Time.Equal)
	segs = append(e.segBuf[:0], segment{key: key, start: w})
	defer func() { e.segBuf = segs[:0] }()
	for _, b := range bs {
		segs[len(segs)-1].end = b
		segs = append(segs, segment{key: b, start: b})
	}
	if len(bs) > 0 {
		nextBoundary = bs[0]
	}
	return segs, nextBoundary, nextEntry
}

// contexts builds the contexts of every segment of s: for each channel with
// a price then, its price record, active promotions and stacking, with
// what changed since the last evaluation.
func (e *Engine) contexts(s *skuState, segs []segment, promos []*promoState) [][]chanCtx {
	w := e.wm
	memo := e.memoOK()
	withOverlaps := e.reads.Has(factOverlaps)
	all := e.ctxBuf[:0]
	for len(all) < len(segs) {
		if len(all) < cap(all) {
			all = all[:len(all)+1]
			all[len(all)-1] = all[len(all)-1][:0]
		} else {
			all = append(all, nil)
		}
	}
	all = all[:len(segs)]
	readsHistory := e.reads.Has(factHistory)
	for _, name := range s.names {
		ch := s.channels[name]
		if memo {
			// room for the memos of the segments that are new: memoFor never
			// reallocates, so the pointers it gives stay valid
			need := len(ch.memos)
			for _, seg := range segs {
				if !hasMemo(ch.memos, segNum(seg.key)) {
					need++
				}
			}
			if need > cap(ch.memos) {
				ch.memos = append(make([]ctxMemo, 0, need), ch.memos...)
			}
		}
		if readsHistory {
			h := ch.history(w)
			ch.histDirty = !ch.memoHistSet || !sameHistory(h, ch.memoHist)
			ch.memoHist, ch.memoHistSet = h, true
		}
	}
	wMoved := !s.memoSet || s.memoW != w.UnixNano()
	for i, seg := range segs {
		ctxs := all[i][:0]
		segChanged := false
		for _, name := range s.names {
			ch := s.channels[name]
			rec := ch.priceAt(seg.start)
			if rec == nil {
				continue
			}
			act := e.activeBuf[:0]
			for _, p := range promos {
				if !p.ev.Start.After(seg.start) && p.ev.End.After(seg.start) && p.appliesTo(name, rec.region) {
					act = append(act, p)
				}
			}
			e.activeBuf = act[:0]
			ctxs = append(ctxs, chanCtx{})
			c := &ctxs[len(ctxs)-1]
			c.name, c.ch, c.rec = name, ch, rec
			var active []*promoState
			if memo {
				m, fresh := e.memoFor(ch, segNum(seg.key))
				c.memo, c.fresh = m, fresh
				c.recChanged = fresh || m.rec != rec
				c.activeChanged = fresh || !samePromos(m.active, act)
				if c.activeChanged {
					m.active = append(m.active[:0], act...)
				}
				active = m.active
				if len(active) == 0 {
					active = nil
				}
				segChanged = segChanged || c.recChanged || c.activeChanged
			} else if len(act) > 0 {
				active = append([]*promoState(nil), act...)
			}
			c.res = stack(e.policy(name), rec.price, rec.currency, active, withOverlaps)
			if readsHistory {
				c.hist = &ch.memoHist
			}
		}
		if memo {
			for ci := range ctxs {
				c := &ctxs[ci]
				m := c.memo
				if int(m.nch) != len(ctxs) {
					segChanged = true
				}
			}
			for ci := range ctxs {
				c := &ctxs[ci]
				e.dirtyFacts(s, c, seg, i == 0, wMoved, segChanged, len(ctxs))
			}
		}
		all[i] = ctxs
	}
	e.ctxBuf = all
	return all
}

// calendarCtx sets up the alert context of a calendar context, its facts to
// be built when a rule first needs them.
func (e *Engine) calendarCtx(s *skuState, c *chanCtx, seg segment, rng span, chl *segChannels, trig *trigger) *alertCtx {
	l := &e.lazyCal
	if e.factsCal == nil {
		e.factsCal, e.factsNow = new(rules.Facts), new(rules.Facts)
	}
	*l = lazyEnv{s: s, c: c, seg: seg, chl: chl, typ: trig.typ, ts: trig.ts, f: e.factsCal}
	ac := &e.acCal
	*ac = alertCtx{sku: s.id, channel: c.name, segKey: seg.key, rng: rng, at: maxTime(seg.start, e.wm), active: c.res.active,
		lazy: l, memo: c.memo, dirty: c.dirty, noAlerts: !e.hasAlerts(s, c.name, segNum(seg.key))}
	return ac
}

// nowCtx is the now-scope context of the present segment's calendar
// context: keyed and shown without a segment.
func (e *Engine) nowCtx(ac *alertCtx, c *chanCtx, seg segment) *alertCtx {
	l := &e.lazyNow
	*l = lazyEnv{base: ac.lazy, nseg: rules.Segment{Start: e.wm, End: seg.end}, f: e.factsNow}
	nc := &e.acNow
	*nc = *ac
	nc.segKey, nc.rng, nc.env, nc.ctxID, nc.lazy, nc.fp = time.Time{}, span{none: true}, nil, 0, l, nil
	nc.dirty = c.dirtyNow
	nc.noAlerts = !e.hasAlerts(ac.lazy.s, c.name, 0)
	return nc
}

// noteAlerts lists the (channel, segment) keys of s that have alerts, so
// that the rules of a context without any skip their lookups. An evaluation
// visits each alert key once, so a key created during it is never looked up
// again in it.
func (e *Engine) noteAlerts(s *skuState) {
	e.alertKeys = e.alertKeys[:0]
	for k := range s.alerts {
		e.alertKeys = append(e.alertKeys, akey{channel: k.channel, seg: k.seg})
	}
}

func (e *Engine) hasAlerts(s *skuState, channel string, seg int64) bool {
	if len(s.alerts) == 0 {
		return false
	}
	for _, k := range e.alertKeys {
		if k.seg == seg && k.channel == channel {
			return true
		}
	}
	return false
}
