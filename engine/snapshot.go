package engine

// Snapshots: the engine's state as changelog entries (DESIGN §8).
//
// The daemon backs each partition's engine with a compacted changelog topic.
// Changes writes one entry per sku and per promotion that changed since the
// last call, and a checkpoint entry last; Restorer rebuilds an engine from
// the latest entry of every key. A restored engine is the engine that wrote
// the entries: fed the same events from there on, it emits the same records
// with the same ids as one that never stopped (TestSnapshotResume).
//
// Entries are JSON: a changelog is read by people during an incident, and
// restoring is bounded by the broker, not by decoding.

import (
	"container/heap"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"slices"
	"strings"
	"time"

	"github.com/promoguard/promoguard/event"

	"github.com/promoguard/promoguard/rules"
)

// Changelog entry keys: the checkpoint, a sku, a promotion.
const (
	CheckpointKey  = "checkpoint"
	skuKeyPrefix   = "sku|"
	promoKeyPrefix = "promo|"
)

// SnapshotVersion is the format of the entries Changes writes. Restorer
// refuses entries of another version rather than guess at them.
const SnapshotVersion = 1

func (e *Engine) markSKU(s *skuState) {
	if e.dirtySKUs != nil {
		e.dirtySKUs[s.id] = struct{}{}
	}
}

func (e *Engine) markPromo(id string) {
	if e.dirtyPromos != nil {
		e.dirtyPromos[id] = struct{}{}
	}
}

// TrackChanges starts recording which skus and promotions change, for
// Changes. Before it is called (replay, test) nothing is recorded. The
// first Changes after it writes every key, so that a new changelog starts
// complete.
func (e *Engine) TrackChanges() {
	e.dirtySKUs = make(map[string]struct{}, len(e.skus))
	e.dirtyPromos = make(map[string]struct{}, len(e.promoTS))
	for id := range e.skus {
		e.dirtySKUs[id] = struct{}{}
	}
	for id := range e.promoTS {
		e.dirtyPromos[id] = struct{}{}
	}
}

// Changes calls put for the entry of every sku and promotion that changed
// since the last call (in key order), then for the checkpoint, which
// carries the watermark and meta: the caller's own position (such as input
// offsets), returned again by Restorer. A nil value deletes the key. It
// stops at the first error put returns; the changes not yet written stay
// recorded.
func (e *Engine) Changes(meta json.RawMessage, put func(key string, value []byte) error) error {
	if e.dirtySKUs == nil {
		e.TrackChanges()
	}
	for _, id := range sortedKeys(e.dirtySKUs) {
		var v []byte
		if s := e.skus[id]; s != nil {
			var err error
			if v, err = json.Marshal(e.snapSKU(s)); err != nil {
				return fmt.Errorf("engine: snapshot of sku %q: %w", id, err)
			}
		}
		if err := put(skuKeyPrefix+id, v); err != nil {
			return err
		}
		delete(e.dirtySKUs, id)
	}
	for _, id := range sortedKeys(e.dirtyPromos) {
		var v []byte
		if ts, ok := e.promoTS[id]; ok {
			var err error
			if v, err = json.Marshal(e.snapPromo(id, ts)); err != nil {
				return fmt.Errorf("engine: snapshot of promotion %q: %w", id, err)
			}
		}
		if err := put(promoKeyPrefix+id, v); err != nil {
			return err
		}
		delete(e.dirtyPromos, id)
	}
	cp := checkpointSnap{
		Version:      SnapshotVersion,
		Watermark:    snapTime(e.wm),
		RulesVersion: e.rs.Version,
		IssuedAt:     snapTime(e.issuedAt),
		Issued:       e.issued,
		SKUs:         len(e.skus),
		Promos:       len(e.promoTS),
		Meta:         meta,
	}
	v, err := json.Marshal(cp)
	if err != nil {
		return fmt.Errorf("engine: checkpoint: %w", err)
	}
	return put(CheckpointKey, v)
}

// Pending reports how many skus and promotions changed since the last
// Changes.
func (e *Engine) Pending() int { return len(e.dirtySKUs) + len(e.dirtyPromos) }

// snapshot types: exported fields for encoding/json only

type checkpointSnap struct {
	Version      int            `json:"v"`
	Watermark    int64          `json:"wm"`
	RulesVersion string         `json:"rules_version"`
	IssuedAt     int64          `json:"issued_at,omitempty"`
	Issued       map[string]int `json:"issued,omitempty"`
	// SKUs and Promos count the keys the state holds (the engine never
	// forgets one): a restore that finds fewer lost some (see Engine).
	SKUs   int             `json:"skus,omitempty"`
	Promos int             `json:"promos,omitempty"`
	Meta   json.RawMessage `json:"meta,omitempty"`
}

type skuSnap struct {
	ID          string        `json:"id"`
	Category    string        `json:"category,omitempty"`
	Brand       string        `json:"brand,omitempty"`
	LastCrossed int64         `json:"last_crossed,omitempty"`
	SegKeys     []int64       `json:"seg_keys,omitempty"`
	TimerAt     int64         `json:"timer_at,omitempty"`
	NextBound   int64         `json:"next_boundary,omitempty"`
	NextEntry   int64         `json:"next_entry,omitempty"`
	NextHistory int64         `json:"next_history,omitempty"`
	Channels    []channelSnap `json:"channels,omitempty"`
	Stock       []stockSnap   `json:"stock,omitempty"`
	Alerts      []alertSnap   `json:"alerts,omitempty"`
	Corrections []corrSnap    `json:"corrections,omitempty"`
}

type channelSnap struct {
	Name     string      `json:"name"`
	TS       int64       `json:"ts"`
	Cur      *priceSnap  `json:"cur,omitempty"`
	Sched    []priceSnap `json:"sched,omitempty"`
	Delisted bool        `json:"delisted,omitempty"`
	Hist     []histSnap  `json:"hist,omitempty"`
}

type priceSnap struct {
	TS        int64        `json:"ts"`
	ValidFrom int64        `json:"valid_from,omitempty"`
	Price     event.Number `json:"price"`
	List      event.Number `json:"list"`
	Cost      event.Number `json:"cost"`
	MAP       event.Number `json:"map"`
	Currency  string       `json:"currency,omitempty"`
	Region    string       `json:"region,omitempty"`
	Category  string       `json:"category,omitempty"`
	Brand     string       `json:"brand,omitempty"`
	Seller    string       `json:"seller,omitempty"`
}

type histSnap struct {
	T      int64        `json:"t"`
	Price  event.Number `json:"p"`
	Change bool         `json:"c,omitempty"`
}

type stockSnap struct {
	Warehouse string       `json:"warehouse"`
	TS        int64        `json:"ts"`
	OnHand    event.Number `json:"on_hand"`
	Reserved  event.Number `json:"reserved"`
	Inbound   event.Number `json:"inbound"`
	Velocity  event.Number `json:"velocity"`
}

type spanSnap struct {
	Start int64 `json:"start,omitempty"`
	End   int64 `json:"end,omitempty"`
	None  bool  `json:"none,omitempty"`
}

type alertSnap struct {
	Rule        string       `json:"rule"`
	Scope       uint8        `json:"scope,omitempty"`
	Channel     string       `json:"channel,omitempty"`
	Seg         int64        `json:"seg,omitempty"`
	FP          string       `json:"fp"`
	SegKey      int64        `json:"seg_key,omitempty"`
	AtFrom      int64        `json:"at_from,omitempty"`
	Range       spanSnap     `json:"range"`
	ActiveSince int64        `json:"active_since,omitempty"`
	Firing      bool         `json:"firing,omitempty"`
	LastSent    int64        `json:"last_sent,omitempty"`
	Promos      []string     `json:"promos,omitempty"`
	Last        *event.Alert `json:"last,omitempty"`
}

type corrSnap struct {
	Channel string            `json:"channel"`
	Seg     int64             `json:"seg,omitempty"`
	FP      string            `json:"fp"`
	SegKey  int64             `json:"seg_key,omitempty"`
	Active  bool              `json:"active,omitempty"`
	Price   event.Number      `json:"price"`
	Promos  []string          `json:"promos,omitempty"`
	Range   spanSnap          `json:"range"`
	Last    *event.Correction `json:"last,omitempty"`
}

// promoEventSnap is a Promo with its one optional number made
// encodable (NaN when absent).
type promoEventSnap struct {
	event.Promo
	ExpectedUplift event.Number
}

type promoSnap struct {
	ID string `json:"id"`
	TS int64  `json:"ts"`
	// Event is the promotion in force; absent once it ended or was
	// cancelled (the ts is kept to recognise late events for it).
	Event   *promoEventSnap `json:"event,omitempty"`
	TimerAt int64           `json:"timer_at,omitempty"`
	Alerts  []alertSnap     `json:"alerts,omitempty"`
}

func snapTime(t time.Time) int64 {
	if t.IsZero() {
		return 0
	}
	return t.UnixNano()
}

func unsnapTime(n int64) time.Time {
	if n == 0 {
		return time.Time{}
	}
	return time.Unix(0, n).UTC()
}

func snapPrice(r *priceRec) priceSnap {
	return priceSnap{
		TS: snapTime(r.ts), ValidFrom: snapTime(r.validFrom), Price: event.Number(r.price), List: event.Number(r.list),
		Cost: event.Number(r.cost), MAP: event.Number(r.mapPrice), Currency: r.currency, Region: r.region,
		Category: r.category, Brand: r.brand, Seller: r.seller,
	}
}

func (p priceSnap) rec() *priceRec {
	return &priceRec{
		ts: unsnapTime(p.TS), validFrom: unsnapTime(p.ValidFrom), price: float64(p.Price), list: float64(p.List),
		cost: float64(p.Cost), mapPrice: float64(p.MAP), currency: p.Currency, region: p.Region,
		category: p.Category, brand: p.Brand, seller: p.Seller,
	}
}

func snapSpan(s span) spanSnap {
	return spanSnap{Start: snapTime(s.start), End: snapTime(s.end), None: s.none}
}

func (s spanSnap) span() span {
	return span{start: unsnapTime(s.Start), end: unsnapTime(s.End), none: s.None}
}

func snapAlerts(m map[akey]*alertState) []alertSnap {
	if len(m) == 0 {
		return nil
	}
	out := make([]alertSnap, 0, len(m))
	for k, st := range m {
		out = append(out, alertSnap{
			Rule: k.rule, Scope: uint8(st.rule.Scope), Channel: k.channel, Seg: k.seg, FP: st.fp, SegKey: snapTime(st.segKey),
			AtFrom: snapTime(st.atFrom), Range: snapSpan(st.rng), ActiveSince: snapTime(st.activeSince),
			Firing: st.firing, LastSent: snapTime(st.lastSent), Promos: st.promos, Last: st.last,
		})
	}
	slices.SortFunc(out, func(a, b alertSnap) int { return strings.Compare(a.FP, b.FP) })
	return out
}

func (e *Engine) snapSKU(s *skuState) skuSnap {
	sn := skuSnap{
		ID: s.id, Category: s.category, Brand: s.brand, LastCrossed: snapTime(s.lastCrossed), SegKeys: s.segKeys,
		TimerAt: snapTime(s.timerAt), NextBound: snapTime(s.nextBoundary), NextEntry: snapTime(s.nextEntry),
		NextHistory: snapTime(s.nextHistory), Alerts: snapAlerts(s.alerts),
	}
	for _, name := range sortedKeys(s.channels) {
		ch := s.channels[name]
		cs := channelSnap{Name: name, TS: snapTime(ch.ts), Delisted: ch.delisted}
		if ch.cur != nil {
			p := snapPrice(ch.cur)
			cs.Cur = &p
		}
		for _, r := range ch.sched {
			cs.Sched = append(cs.Sched, snapPrice(r))
		}
		for _, h := range ch.hist {
			cs.Hist = append(cs.Hist, histSnap{T: snapTime(h.t), Price: event.Number(h.price), Change: h.change})
		}
		sn.Channels = append(sn.Channels, cs)
	}
	for _, name := range s.warehouses {
		w := s.stock[name]
		sn.Stock = append(sn.Stock, stockSnap{
			Warehouse: name, TS: snapTime(w.ts), OnHand: event.Number(w.onHand), Reserved: event.Number(w.reserved),
			Inbound: event.Number(w.inbound), Velocity: event.Number(w.vel),
		})
	}
	for k, cs := range s.corrections {
		sn.Corrections = append(sn.Corrections, corrSnap{
			Channel: k.channel, Seg: k.seg, FP: cs.fp, SegKey: snapTime(cs.segKey), Active: cs.active,
			Price: event.Number(cs.price), Promos: cs.promos, Range: snapSpan(cs.rng), Last: cs.last,
		})
	}
	slices.SortFunc(sn.Corrections, func(a, b corrSnap) int { return strings.Compare(a.FP, b.FP) })
	return sn
}

func (e *Engine) snapPromo(id string, ts time.Time) promoSnap {
	sn := promoSnap{ID: id, TS: snapTime(ts)}
	if p := e.promos[id]; p != nil {
		sn.Event = &promoEventSnap{Promo: *p.ev, ExpectedUplift: event.Number(p.ev.ExpectedUplift)}
		sn.TimerAt = snapTime(p.timerAt)
		sn.Alerts = snapAlerts(p.alerts)
	}
	return sn
}

// restoredEpoch marks restored alert and correction keys as visited by an
// evaluation, as every live key is: epoch 0 means "any key" to goneAlerts.
const restoredEpoch = 1

// Restorer rebuilds an engine from changelog entries. Add every entry in
// the order read (a later entry of a key replaces an earlier one), then
// call Engine.
type Restorer struct {
	skus   map[string][]byte
	promos map[string][]byte
	cp     []byte
}

// NewRestorer returns an empty Restorer.
func NewRestorer() *Restorer {
	return &Restorer{skus: map[string][]byte{}, promos: map[string][]byte{}}
}

// Add takes one entry; a nil or empty value deletes the key.
func (r *Restorer) Add(key string, value []byte) error {
	var m map[string][]byte
	var id string
	switch {
	case key == CheckpointKey:
		r.cp = value
		return nil
	case strings.HasPrefix(key, skuKeyPrefix):
		m, id = r.skus, key[len(skuKeyPrefix):]
	case strings.HasPrefix(key, promoKeyPrefix):
		m, id = r.promos, key[len(promoKeyPrefix):]
	default:
		return fmt.Errorf("engine: unknown changelog key %q", key)
	}
	if len(value) == 0 {
		delete(m, id)
	} else {
		m[id] = value
	}
	return nil
}

// Empty reports whether no entry has been added (a new changelog).
func (r *Restorer) Empty() bool { return r.cp == nil && len(r.skus) == 0 && len(r.promos) == 0 }

// Engine builds the engine the entries describe, running rule set rs, and
// returns it with the checkpoint's meta. Alerts of rules that rs no longer
// has resolve with reason rule_removed, as a reload would; when rs is not
// the rule set that wrote the checkpoint, every key is evaluated again as
// after a reload. Those records are returned in out. With no entries at
// all it returns a new engine.
func (r *Restorer) Engine(rs *rules.RuleSet, opts Options, out []event.Output) (*Engine, json.RawMessage, []event.Output, error) {
	e := New(rs, opts)
	if r.Empty() {
		e.TrackChanges()
		return e, nil, out, nil
	}
	if r.cp == nil {
		return nil, nil, out, errors.New("engine: changelog has entries but no checkpoint")
	}
	var cp checkpointSnap
	if err := json.Unmarshal(r.cp, &cp); err != nil {
		return nil, nil, out, fmt.Errorf("engine: checkpoint: %w", err)
	}
	if cp.Version != SnapshotVersion {
		return nil, nil, out, fmt.Errorf("engine: changelog format %d, this build reads %d", cp.Version, SnapshotVersion)
	}
	// Compaction keeps a key's latest entry: when that is one of an
	// unfinished checkpoint (left out by the caller), the committed value
	// it replaced may be gone. The state is then not the checkpoint's, and
	// restoring it would emit other records than the engine that wrote it.
	if len(r.skus) < cp.SKUs || len(r.promos) < cp.Promos {
		return nil, nil, out, fmt.Errorf("engine: changelog holds %d skus and %d promotions, its checkpoint %d and %d: entries were lost (compacted under an unfinished checkpoint?)",
			len(r.skus), len(r.promos), cp.SKUs, cp.Promos)
	}
	e.epoch = restoredEpoch
	e.wm = unsnapTime(cp.Watermark)
	e.issuedAt = unsnapTime(cp.IssuedAt)
	for k, n := range cp.Issued {
		e.issued[k] = n
	}
	rule := func(id string) *rules.Rule {
		if r := e.ruleByID[id]; r != nil {
			return r
		}
		for _, b := range BuiltinRules() {
			if b.ID() == id {
				return b
			}
		}
		return nil
	}
	var orphans []*alertState // alerts of rules rs does not have
	alerts := func(snaps []alertSnap) map[akey]*alertState {
		m := make(map[akey]*alertState, len(snaps))
		for _, a := range snaps {
			st := &alertState{
				fp: a.FP, channel: a.Channel, segKey: unsnapTime(a.SegKey), atFrom: unsnapTime(a.AtFrom),
				rng: a.Range.span(), activeSince: unsnapTime(a.ActiveSince), firing: a.Firing,
				lastSent: unsnapTime(a.LastSent), promos: a.Promos, last: a.Last,
				epoch: restoredEpoch,
			}
			st.rule = rule(a.Rule)
			if st.rule == nil || st.rule.Scope != rules.Scope(a.Scope) {
				if st.firing && st.last != nil {
					orphans = append(orphans, st)
				}
				continue
			}
			m[akey{rule: a.Rule, channel: a.Channel, seg: a.Seg}] = st
		}
		return m
	}
	for _, id := range sortedKeys(r.promos) {
		var ps promoSnap
		if err := json.Unmarshal(r.promos[id], &ps); err != nil {
			return nil, nil, out, fmt.Errorf("engine: promotion %q: %w", id, err)
		}
		if err := ps.check(id); err != nil {
			return nil, nil, out, fmt.Errorf("engine: promotion %q: %w", id, err)
		}
		e.promoTS[ps.ID] = unsnapTime(ps.TS)
		if ps.Event == nil {
			continue
		}
		pe := ps.Event.Promo
		pe.ExpectedUplift = float64(ps.Event.ExpectedUplift)
		p := &promoState{ev: &pe, ts: unsnapTime(ps.TS), fact: newPromoFact(&pe),
			alerts: alerts(ps.Alerts), timerAt: unsnapTime(ps.TimerAt)}
		e.indexPromo(p)
		if !p.timerAt.IsZero() {
			heap.Push(&e.timers, timer{at: p.timerAt, promo: p})
		}
	}
	for _, id := range sortedKeys(r.skus) {
		var sn skuSnap
		if err := json.Unmarshal(r.skus[id], &sn); err != nil {
			return nil, nil, out, fmt.Errorf("engine: sku %q: %w", id, err)
		}
		if err := sn.check(id); err != nil {
			return nil, nil, out, fmt.Errorf("engine: sku %q: %w", id, err)
		}
		s := e.sku(sn.ID)
		e.setAttrs(s, sn.Category, sn.Brand)
		s.lastCrossed, s.segKeys = unsnapTime(sn.LastCrossed), sn.SegKeys
		s.timerAt, s.nextBoundary = unsnapTime(sn.TimerAt), unsnapTime(sn.NextBound)
		s.nextEntry, s.nextHistory = unsnapTime(sn.NextEntry), unsnapTime(sn.NextHistory)
		for _, cs := range sn.Channels {
			ch := s.channel(cs.Name)
			ch.ts, ch.delisted = unsnapTime(cs.TS), cs.Delisted
			if cs.Cur != nil {
				ch.cur = cs.Cur.rec()
			}
			for _, p := range cs.Sched {
				ch.sched = append(ch.sched, p.rec())
			}
			for _, h := range cs.Hist {
				ch.hist = append(ch.hist, histPoint{t: unsnapTime(h.T), price: float64(h.Price), change: h.Change})
			}
		}
		for _, w := range sn.Stock {
			s.stock[w.Warehouse] = &warehouse{ts: unsnapTime(w.TS), onHand: float64(w.OnHand), reserved: float64(w.Reserved),
				inbound: float64(w.Inbound), vel: float64(w.Velocity)}
			s.warehouses = append(s.warehouses, w.Warehouse)
		}
		slices.Sort(s.warehouses)
		s.alerts = alerts(sn.Alerts)
		for _, c := range sn.Corrections {
			s.corrections[akey{channel: c.Channel, seg: c.Seg}] = &corrState{
				fp: c.FP, channel: c.Channel, segKey: unsnapTime(c.SegKey), active: c.Active,
				price: float64(c.Price), promos: c.Promos, rng: c.Range.span(), last: c.Last,
				epoch: restoredEpoch,
			}
		}
		if !s.timerAt.IsZero() {
			heap.Push(&e.timers, timer{at: s.timerAt, sku: s})
		}
	}
	e.TrackChanges()
	clear(e.dirtySKUs) // what was just read is what the changelog holds
	clear(e.dirtyPromos)
	slices.SortFunc(orphans, func(a, b *alertState) int { return strings.Compare(a.fp, b.fp) })
	for _, st := range orphans {
		out = e.resolveOrphan(st, out)
	}
	if cp.RulesVersion != rs.Version {
		// other rules than those that wrote the changelog: every rule may
		// have changed, so every key is looked at again as after a reload
		// that changed every rule
		fresh := make([]bool, len(rs.Rules))
		for i := range fresh {
			fresh[i] = true
		}
		out = e.reevaluate(fresh, out)
	}
	return e, cp.Meta, out, nil
}

// A changelog is read back from a topic that anything with write access
// can write to, and a corrupted entry must not take the daemon down when it
// restores, nor later when the state is used: the checks below refuse, with
// an error, the entries that break what the engine relies on — what Decode
// guarantees of events, and that a firing alert or an active correction
// has the record it re-emits.

// check validates a sku entry read under key id.
func (sn *skuSnap) check(id string) error {
	if sn.ID != id || id == "" {
		return fmt.Errorf("holds sku %q", sn.ID)
	}
	names := map[string]bool{}
	for _, cs := range sn.Channels {
		if cs.Name == "" || names[cs.Name] {
			return fmt.Errorf("channel %q empty or repeated", cs.Name)
		}
		names[cs.Name] = true
		if cs.Cur != nil {
			if err := cs.Cur.check(); err != nil {
				return fmt.Errorf("channel %s: %w", cs.Name, err)
			}
		}
		for i, p := range cs.Sched {
			if err := p.check(); err != nil {
				return fmt.Errorf("channel %s: scheduled %w", cs.Name, err)
			}
			// in the order of valid_from, which the engine searches
			if p.ValidFrom == 0 || i > 0 && p.ValidFrom <= cs.Sched[i-1].ValidFrom {
				return fmt.Errorf("channel %s: scheduled prices out of order", cs.Name)
			}
		}
		for _, h := range cs.Hist {
			if !money(float64(h.Price)) {
				return fmt.Errorf("channel %s: history price %v", cs.Name, float64(h.Price))
			}
		}
	}
	whs := map[string]bool{}
	for _, w := range sn.Stock {
		if w.Warehouse == "" || whs[w.Warehouse] {
			return fmt.Errorf("warehouse %q empty or repeated", w.Warehouse)
		}
		whs[w.Warehouse] = true
		for _, x := range []event.Number{w.OnHand, w.Reserved, w.Inbound} {
			if !money(float64(x)) {
				return fmt.Errorf("warehouse %s: quantity %v", w.Warehouse, float64(x))
			}
		}
		if v := float64(w.Velocity); !math.IsNaN(v) && !money(v) {
			return fmt.Errorf("warehouse %s: velocity %v", w.Warehouse, v)
		}
	}
	if err := checkAlerts(sn.Alerts); err != nil {
		return err
	}
	for _, c := range sn.Corrections {
		if c.Active && (c.Last == nil || !money(float64(c.Price))) {
			return fmt.Errorf("active correction %s without its record or price", c.FP)
		}
	}
	return nil
}

// check validates a price as Decode would have.
func (p *priceSnap) check() error {
	if !money(float64(p.Price)) {
		return fmt.Errorf("price %v", float64(p.Price))
	}
	for _, x := range []event.Number{p.List, p.Cost, p.MAP} {
		if f := float64(x); !math.IsNaN(f) && !money(f) {
			return fmt.Errorf("price %v: a list price, cost or MAP of %v", float64(p.Price), f)
		}
	}
	return nil
}

// money reports whether x is a finite amount, not negative.
func money(x float64) bool { return x >= 0 && !math.IsInf(x, 0) }

func checkAlerts(as []alertSnap) error {
	for _, a := range as {
		if a.Firing && a.Last == nil {
			return fmt.Errorf("firing alert %s without its record", a.FP)
		}
	}
	return nil
}

// check validates a promotion entry read under key id: its promotion must
// be one Decode could have returned.
func (ps *promoSnap) check(id string) error {
	if ps.ID != id || id == "" {
		return fmt.Errorf("holds promotion %q", ps.ID)
	}
	if err := checkAlerts(ps.Alerts); err != nil {
		return err
	}
	p := ps.Event
	if p == nil {
		return nil
	}
	switch {
	case p.ID != id || p.Partner == "" || p.Cancelled:
		return fmt.Errorf("event of promotion %q by %q (cancelled %v)", p.ID, p.Partner, p.Cancelled)
	case p.Kind == event.KindPercent && !(p.Value > 0 && p.Value <= 100),
		(p.Kind == event.KindAmount || p.Kind == event.KindFixedPrice) && (!money(p.Value) || p.Currency == ""):
		return fmt.Errorf("discount %s %v %s", p.Kind, p.Value, p.Currency)
	case p.Kind != event.KindPercent && p.Kind != event.KindAmount && p.Kind != event.KindFixedPrice:
		return fmt.Errorf("discount kind %q", p.Kind)
	case p.Start.IsZero() || !p.Start.Before(p.End):
		return fmt.Errorf("window [%v, %v)", p.Start, p.End)
	case p.Stacking != event.StackExclusive && p.Stacking != event.StackStackable && p.Stacking != event.StackStop:
		return fmt.Errorf("stacking %q", p.Stacking)
	case !p.AllSKUs && len(p.SKUs) == 0 && len(p.Categories) == 0 && len(p.Brands) == 0:
		return errors.New("no selector")
	}
	if u := float64(ps.Event.ExpectedUplift); !math.IsNaN(u) && !money(u) {
		return fmt.Errorf("expected uplift %v", u)
	}
	for partner, share := range p.FundedBy {
		if partner == "" || !(share >= 0 && share <= 1) {
			return fmt.Errorf("funded_by %q: %v", partner, share)
		}
	}
	return nil
}

// resolveOrphan resolves a firing alert whose rule is gone, from its last
// record: the rule itself is not there to build one.
func (e *Engine) resolveOrphan(st *alertState, out []event.Output) []event.Output {
	a := *st.last
	a.State, a.Reason = event.StateResolved, event.ReasonRuleRemoved
	a.ID = e.id(event.KindAlert, st.fp, event.StateResolved)
	a.Watermark = e.wm
	a.At = maxTime(st.atFrom, e.wm)
	a.Segment = endedRange(st.rng, event.ReasonRuleRemoved, e.wm)
	a.RulesVersion = e.rs.Version
	return append(out, event.Output{Alert: &a})
}
