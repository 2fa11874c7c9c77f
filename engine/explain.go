package engine

import (
	"slices"
	"strconv"
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
	Segment *event.Range `json:"segment"`
	Promos  []string     `json:"promos"`
	// Policy is the stacking policy that priced the channel, and Stacking
	// what it made of each active promotion, in canonical order.
	Policy   string         `json:"policy"`
	Stacking []ExplainPromo `json:"stacking"`
	Facts    map[string]any `json:"facts"`
	Rules    []ExplainRule  `json:"rules"`
}

// ExplainPromo is what the channel's stacking policy made of one active
// promotion: applied, blocked or currency_mismatch, and why.
type ExplainPromo struct {
	ID      string `json:"id"`
	Outcome string `json:"outcome"`
	Why     string `json:"why"`
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
			ctxs = append(ctxs, chanCtx{name: name, ch: ch, rec: rec, res: stack(e.policy(name), rec.price, rec.currency, active, true)})
		}
		chmap := make(map[string]rules.ChannelFacts, len(ctxs))
		for _, c := range ctxs {
			chmap[c.name] = channelFacts(&c)
		}
		for ci := range ctxs {
			c := &ctxs[ci]
			if c.name != channel {
				continue
			}
			f := e.facts(s, c, seg, chmap, trig)
			f.Stock = s.stockFacts(&c.res, maxTime(seg.start, w))
			f.History = c.ch.history(w)
			xs := ExplainSegment{Segment: segSpan(seg).toRange(), Promos: promoIDs(nil, c.res.active),
				Policy: c.res.policy.String(), Stacking: explainStack(&c.res, c.rec.price), Facts: values(&f, paths), Rules: []ExplainRule{}}
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

// explainStack says, for each active promotion of a stacking result, what
// its policy made of it and why. It reads the result after the fact, so
// stacking itself carries no explanation on its hot path.
func explainStack(r *stackResult, price float64) []ExplainPromo {
	out := make([]ExplainPromo, 0, len(r.active))
	applied := make(map[string]bool, len(r.applied))
	for _, p := range r.applied {
		applied[p.ID] = true
	}
	mismatch := make(map[string]bool, len(r.mismatch))
	for _, p := range r.mismatch {
		mismatch[p.ev.ID] = true
	}
	// the promotion that applied and ended the chain, or the exclusive one
	var ender *promoState
	for _, p := range r.active {
		if applied[p.ev.ID] && p.ev.Stacking == event.StackExclusive && (r.policy == rules.PolicyCompound || r.policy == rules.PolicyAdditive) {
			ender = p
			break
		}
	}
	var chosen []string
	for _, p := range r.active {
		if applied[p.ev.ID] {
			chosen = append(chosen, p.ev.ID)
		}
	}
	money := func(v float64) string { return strconv.FormatFloat(tidy(v), 'f', -1, 64) }
	var lastStop *promoState
	for _, p := range r.active {
		x := ExplainPromo{ID: p.ev.ID}
		switch {
		case mismatch[p.ev.ID]:
			x.Outcome, x.Why = "currency_mismatch", "in "+p.ev.Currency+", not the channel's currency: never applied"
		case applied[p.ev.ID]:
			x.Outcome = "applied"
			switch r.policy {
			case rules.PolicyBestDeal:
				x.Why = "the best deal: the lowest price alone (" + money(applyOne(price, p)) + "), ties by canonical order"
			case rules.PolicyCombinable:
				x.Why = "in the best allowed combination (" + strings.Join(chosen, " + ") + "), giving " + money(r.effective)
			case rules.PolicyAdditive:
				x.Why = "added: percentages sum, then amounts, then fixed prices"
			default:
				x.Why = "in canonical order, on the running price"
			}
			if p.ev.Stacking == event.StackExclusive && ender == p {
				x.Why = "exclusive: the first exclusive in canonical order applies alone"
			}
		default:
			x.Outcome = "blocked"
			switch {
			case r.policy == rules.PolicyBestDeal:
				x.Why = "not the best deal: " + strings.Join(chosen, "") + " gives " + money(r.effective) + ", this alone " + money(applyOne(price, p))
			case r.policy == rules.PolicyCombinable:
				var not []string
				for _, q := range r.active {
					if applied[q.ev.ID] && !combine(p, q) {
						not = append(not, q.ev.ID)
					}
				}
				if len(not) > 0 {
					x.Why = "does not combine both ways with " + strings.Join(not, ", ")
				} else {
					x.Why = "not in the best allowed combination (" + strings.Join(chosen, " + ") + ")"
				}
			case ender != nil:
				x.Why = "blocked by exclusive " + ender.ev.ID
			case lastStop != nil:
				x.Why = "after " + lastStop.ev.ID + ", which stops the chain"
			default:
				x.Why = "blocked"
			}
		}
		if applied[p.ev.ID] && (p.ev.Stacking == event.StackStop || r.policy == rules.PolicySequentialStop && p.ev.Stacking == event.StackExclusive) && lastStop == nil {
			lastStop = p
		}
		out = append(out, x)
	}
	return out
}
