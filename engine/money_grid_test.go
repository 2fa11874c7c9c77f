package engine_test

import (
	"fmt"
	"strings"
	"testing"

	"github.com/promoguard/promoguard/engine"
	"github.com/promoguard/promoguard/event"
	"github.com/promoguard/promoguard/rules"
)

// gridRules: a floor at the cost (rounded UP to the currency's minor unit)
// and a ceiling at the map price (rounded DOWN).
const gridRules = `
group: grid
rules:
  - name: floor
    if: has_cost && effective_price < cost
    floor: cost
  - name: ceiling
    if: has_map_price && effective_price > map_price
    ceiling: map_price
`

// TestCorrectionGrid: corrected prices land on the currency's minor unit
// off the EUR/USD/JPY/KWD grid the scenarios cover: two decimals for CHF
// (its 0.05 is cash rounding, not the unit of a price), three for BHD, JOD,
// OMR, TND, four for CLF, none for CLP, ISK, KRW; a price without a
// currency, or with a code the engine does not know, rounds to cents.
//
// The units are CLDR's (golang.org/x/text/currency, Standard), which equal
// ISO 4217's for every currency here; they differ for a few others (IQD,
// COP, IDR have no decimals in CLDR and 3, 2, 2 in ISO 4217), which this
// table leaves out.
func TestCorrectionGrid(t *testing.T) {
	type row struct {
		currency   string
		price      string
		cost, mapP string // one of them: a floor or a ceiling
		want       string // the corrected price
		why        string
	}
	rows := []row{
		// floors, rounded up
		{"EUR", "5", "10.1234", "", "10.13", "2 decimals: 10.1234 -> 10.13"},
		{"CHF", "5", "10.1234", "", "10.13", "2 decimals: 10.13, not the 0.05 cash step (10.15)"},
		{"CHF", "5", "10.01", "", "10.01", "on the grid already; cash rounding would give 10.05"},
		{"CHF", "5", "19.99", "", "19.99", "on the grid already (19.99 is not a multiple of 0.05)"},
		{"BHD", "5", "10.1234", "", "10.124", "3 decimals: 10.1234 -> 10.124"},
		{"BHD", "1", "1.005", "", "1.005", "on the grid already"},
		{"JOD", "5", "10.1231", "", "10.124", "3 decimals"},
		{"OMR", "5", "10.1001", "", "10.101", "3 decimals"},
		{"TND", "5", "7.0005", "", "7.001", "3 decimals"},
		{"CLF", "5", "10.12341", "", "10.1235", "4 decimals"},
		{"CLP", "500", "1234.5", "", "1235", "no decimals: 1234.5 -> 1235"},
		{"CLP", "500", "1000", "", "1000", "on the grid already"},
		{"ISK", "500", "1234.01", "", "1235", "no decimals: 1234.01 -> 1235"},
		{"KRW", "500", "1234.2", "", "1235", "no decimals"},
		{"", "5", "10.1234", "", "10.13", "no currency: cents"},
		{"QQQ", "5", "10.1234", "", "10.13", "a code the engine does not know: cents"},
		// ceilings, rounded down
		{"EUR", "30", "", "20.2468", "20.24", "2 decimals: 20.2468 -> 20.24"},
		{"CHF", "30", "", "20.2468", "20.24", "2 decimals: 20.24, not the 0.05 cash step (20.20)"},
		{"CHF", "30", "", "20.03", "20.03", "on the grid already; cash rounding would give 20.00"},
		{"BHD", "30", "", "20.2468", "20.246", "3 decimals"},
		{"CLF", "30", "", "20.24689", "20.2468", "4 decimals"},
		{"CLP", "3000", "", "2345.9", "2345", "no decimals: 2345.9 -> 2345"},
		{"ISK", "3000", "", "2345.9", "2345", "no decimals"},
		{"", "30", "", "20.2468", "20.24", "no currency: cents"},
		{"QQQ", "30", "", "20.2468", "20.24", "unknown: cents"},
	}
	eventLine := func(i int, r row) string {
		var b strings.Builder
		fmt.Fprintf(&b, `{"type":"price","sku":"s%d","channel":"web","price":%s`, i, r.price)
		if r.currency != "" {
			fmt.Fprintf(&b, `,"currency":%q`, r.currency)
		}
		if r.cost != "" {
			fmt.Fprintf(&b, `,"cost":%s`, r.cost)
		}
		if r.mapP != "" {
			fmt.Fprintf(&b, `,"map_price":%s`, r.mapP)
		}
		b.WriteString(`,"ts":"2026-11-01T00:00:00Z"}`)
		return b.String()
	}
	rs, err := rules.LoadSource("grid.yaml", []byte(gridRules), nil)
	if err != nil {
		t.Fatal(err)
	}
	// corrected runs the events through one engine and returns the corrected
	// price of each sku
	corrected := func(t *testing.T, lines []string) map[string]string {
		t.Helper()
		seq := engine.NewSequencer(engine.New(rs, engine.Options{}))
		var out []event.Output
		for _, l := range lines {
			ev, err := event.Decode([]byte(l), event.DecodeOptions{})
			if err != nil {
				t.Fatalf("%s: %v", l, err)
			}
			out = seq.Push(ev, out)
		}
		out = seq.Flush(out)
		got := map[string]string{}
		for _, o := range out {
			if c := o.Correction; c != nil && c.State == event.StateActive {
				got[c.SKU] = fmt.Sprint(float64(c.CorrectedPrice))
			}
		}
		return got
	}
	// each row alone, in an engine of its own
	for i, r := range rows {
		t.Run(fmt.Sprintf("%s %s %s%s", cmpOr(r.currency, "none"), r.price, r.cost, r.mapP), func(t *testing.T) {
			if got := corrected(t, []string{eventLine(i, r)})[fmt.Sprintf("s%d", i)]; got != r.want {
				t.Errorf("corrected %s, want %s (%s)", got, r.want, r.why)
			}
		})
	}
	// every row through one engine, in table order and reversed, so that a
	// currency's rounding cannot leak into the next one's
	for _, rev := range []bool{false, true} {
		var lines []string
		for i, r := range rows {
			lines = append(lines, eventLine(i, r))
		}
		if rev {
			for i, j := 0, len(lines)-1; i < j; i, j = i+1, j-1 {
				lines[i], lines[j] = lines[j], lines[i]
			}
		}
		got := corrected(t, lines)
		for i, r := range rows {
			if g := got[fmt.Sprintf("s%d", i)]; g != r.want {
				t.Errorf("one engine (reversed %v): row %d %s: corrected %s, want %s (%s)", rev, i, cmpOr(r.currency, "none"), g, r.want, r.why)
			}
		}
	}
}

func cmpOr(s, def string) string {
	if s == "" {
		return def
	}
	return s
}
