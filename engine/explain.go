package engine

import (
	"slices"
	"strings"
	"time"

	"github.com/promoguard/promoguard/event"

	"github.com/promoguard/promoguard/rules"
)

// Explanation is what the engine makes of one (sku, channel) at its
// watermark: per calendar segment, the facts its rules read and each
// rule's result, and the alert keys it holds. It is computed on demand and
// changes nothing.
type Explanation struct {
	SKU          string              `json:"sku"`
	Channel      string              `json:"channel"`
	Watermark    time.Time           `json:"watermark"`
	RulesVersion string              `json:"rules_version"`
	Segments     []ExplainSegment    `json:"segments"`
	Alerts       []ExplainAlert      `json:"alerts"`
	Corrections  []ExplainCorrection `json:"corrections,omitempty"`
}

// ExplainSegment is one calendar segment of an Explanation.
type ExplainSegment struct {
	Segment *event.Range   `json:"segment"`
	Promos  []string       `json:"promos"`
	Facts   map[string]any `json:"facts"`
	Rules   []ExplainRule  `json:"rules"`
}

// ExplainRule is one rule's result on a segment.
type ExplainRule struct {
	Rule    string        `json:"rule"`
	Scope   string        `json:"scope"`
	Result  bool          `json:"result"`
	Error   string        `json:"error,omitempty"`
	Floor   *event.Number `json:"floor,omitempty"`
	Ceiling *event.Number `json:"ceiling,omitempty"`
}

// ExplainAlert is an alert key the engine holds.
type ExplainAlert struct {
	Rule        string       `json:"rule"`
	Fingerprint string       `json:"fingerprint"`
	State       string       `json:"state"` // pending or firing
	Segment     *event.Range `json:"segment,omitempty"`
	ActiveSince time.Time    `json:"active_since"`
}

// ExplainCorrection is a correction key the engine holds.
type ExplainCorrection struct {
	Fingerprint string       `json:"fingerprint"`
	Active      bool         `json:"active"`
	Price       event.Number `json:"corrected_price"`
	Segment     *event.Range `json:"segment,omitempty"`
}

// maxExplainSegments bounds an explanation of a sku with a busy calendar.
const maxExplainSegments = 50

// Explain explains one (sku, channel); false when the engine has no price
// of it.
func (e *Engine) Explain(sku, channel string) (Explanation, bool) {
	s := e.skus[sku]
	if s == nil || s.channels[channel] == nil {
		return Explanation{}, false
	}
	w := e.wm
	x := Explanation{SKU: sku, Channel: channel, Watermark: w, RulesVersion: e.rs.Version, Segments: []ExplainSegment{}, Alerts: []ExplainAlert{}}
	var paths []string
	for _, r := range e.rs.Rules {
		if r.Scope != rules.ScopePromo && r.If != nil {
			paths = append(paths, r.If.Paths...)
		}
	}
	slices.Sort(paths)
	paths = slices.Compact(paths)

	promos := e.covering(s)
	segs, _, _ := e.segments(s, promos)
	if len(segs) > maxExplainSegments {
		segs = segs[:maxExplainSegments]
	}
	trig := trigger{typ: "explain", ts: w}
	for i, seg := range segs {
		var ctxs []chanCtx
		for _, name := range s.names {
			ch := s.channels[name]
			rec := ch.priceAt(seg.start)
			if rec == nil {
				continue
			}
			var active []*promoState
			for _, p := range promos {
				if !p.ev.Start.After(seg.start) && p.ev.End.After(seg.start) && p.appliesTo(name, rec.region) {
					active = append(active, p)
				}
			}
			ctxs = append(ctxs, chanCtx{name: name, ch: ch, rec: rec, res: stack(rec.price, rec.currency, active, true)})
		}
		chmap := make(map[string]rules.ChannelFacts, len(ctxs))
		for _, c := range ctxs {
			chmap[c.name] = rules.ChannelFacts{
				Price: c.rec.price, EffectivePrice: c.res.effective,
				Discount: fraction(c.res.effective, c.rec.list), PromoDiscount: fraction(c.res.effective, c.rec.price),
				Currency: c.rec.currency,
			}
		}
		for ci := range ctxs {
			c := &ctxs[ci]
			if c.name != channel {
				continue
			}
			f := e.facts(s, c, seg, chmap, trig)
			f.Stock = s.stockFacts(&c.res, maxTime(seg.start, w))
			f.History = c.ch.history(w)
			xs := ExplainSegment{Segment: segSpan(seg).toRange(), Promos: promoIDs(nil, c.res.active), Facts: values(&f, paths), Rules: []ExplainRule{}}
			explainRules := func(rs []*rules.Rule, env rules.Facts) {
				for _, r := range rs {
					xr := ExplainRule{Rule: r.ID(), Scope: r.Scope.String()}
					ok, err := r.If.Bool(e.vm, env)
					xr.Result = ok
					if err != nil {
						xr.Error = err.Error()
					}
					if ok && r.Floor != nil {
						if v, err := r.Floor.Float(e.vm, env); err == nil {
							n := event.Number(v)
							xr.Floor = &n
						}
					}
					if ok && r.Ceiling != nil {
						if v, err := r.Ceiling.Float(e.vm, env); err == nil {
							n := event.Number(v)
							xr.Ceiling = &n
						}
					}
					xs.Rules = append(xs.Rules, xr)
				}
			}
			explainRules(e.calendar, f)
			if i == 0 {
				nf := f
				nf.Segment = rules.Segment{Start: w, End: seg.end}
				explainRules(e.now, nf)
			}
			x.Segments = append(x.Segments, xs)
		}
	}
	for _, st := range s.alerts {
		if st.channel != channel {
			continue
		}
		state := "pending"
		if st.firing {
			state = string(event.StateFiring)
		}
		x.Alerts = append(x.Alerts, ExplainAlert{Rule: st.rule.ID(), Fingerprint: st.fp, State: state, Segment: st.rng.toRange(), ActiveSince: st.activeSince})
	}
	slices.SortFunc(x.Alerts, func(a, b ExplainAlert) int { return strings.Compare(a.Fingerprint, b.Fingerprint) })
	for _, cs := range s.corrections {
		if cs.channel == channel {
			x.Corrections = append(x.Corrections, ExplainCorrection{Fingerprint: cs.fp, Active: cs.active, Price: event.Number(cs.price), Segment: cs.rng.toRange()})
		}
	}
	slices.SortFunc(x.Corrections, func(a, b ExplainCorrection) int { return strings.Compare(a.Fingerprint, b.Fingerprint) })
	return x, true
}
