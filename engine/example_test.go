package engine_test

import (
	"fmt"
	"time"

	"github.com/promoguard/promoguard/engine"
	"github.com/promoguard/promoguard/event"
	"github.com/promoguard/promoguard/rules"
)

// A promotion registered on Monday for Friday breaks a margin floor: the
// engine reports it at once, for Friday, with the corrected price, and
// resolves it when the partner cancels the promotion.
func Example() {
	rs, err := rules.LoadSource("margin.yaml", []byte(`
group: margin
rules:
  - name: margin-floor
    if: has_cost && margin < 0.10
    floor: cost / (1 - 0.10)
    severity: critical
    message: '{{sku}} on {{channel}}: margin {{pct(margin)}}'
`), nil)
	if err != nil {
		fmt.Println(err)
		return
	}
	seq := engine.NewSequencer(engine.New(rs, engine.Options{}))
	var out []event.Output
	for _, line := range []string{
		`{"type":"price","sku":"tv-55","channel":"web","price":899,"cost":700,"currency":"EUR","ts":"2026-11-23T08:00:00Z"}`,
		`{"type":"promo","id":"bf-20","partner":"acme","discount":{"kind":"percent","value":20},"skus":["tv-55"],"start":"2026-11-27T00:00:00Z","end":"2026-12-01T00:00:00Z","ts":"2026-11-23T10:00:00Z"}`,
		`{"type":"promo","id":"bf-20","status":"cancelled","ts":"2026-11-24T09:00:00Z"}`,
	} {
		ev, err := event.Decode([]byte(line), event.DecodeOptions{})
		if err != nil {
			fmt.Println(err)
			return
		}
		out = seq.Push(ev, out)
	}
	out = seq.Flush(out)
	for _, o := range out {
		switch {
		case o.Alert != nil:
			a := o.Alert
			fmt.Println(a.Watermark.Format(time.DateOnly), a.Rule, a.State, a.Reason, "at", a.At.Format(time.DateOnly), "-", a.Message)
		case o.Correction != nil:
			c := o.Correction
			fmt.Println(c.Watermark.Format(time.DateOnly), "correction", c.State, c.Reason, "at", c.At.Format(time.DateOnly), "-", float64(c.EffectivePrice), "->", float64(c.CorrectedPrice))
		}
	}
	// Output:
	// 2026-11-23 margin-floor firing  at 2026-11-27 - tv-55 on web: margin 2.7%
	// 2026-11-23 correction active  at 2026-11-27 - 719.2 -> 777.78
	// 2026-11-24 margin-floor resolved cancelled at 2026-11-27 - tv-55 on web: margin 2.7%
	// 2026-11-24 correction withdrawn cancelled at 2026-11-27 - 899 -> NaN
}
