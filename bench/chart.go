package bench

import (
	"bufio"
	"fmt"
	"html"
	"io"
	"math"
	"strings"
)

// WriteSVG draws the runs' throughput and latency over time: events per
// second above, p50 and p99 latency (log scale) below, one colour per run.
func (r *Report) WriteSVG(w io.Writer) error {
	runs := []*Result{r.OneCore}
	if r.AllCores != nil {
		runs = append(runs, r.AllCores)
	}
	colors := []string{"#1f77b4", "#d62728", "#2ca02c"}
	const (
		width, left, right = 900, 80, 20
		top1, h1           = 50, 220 // throughput panel
		top2, h2           = 330, 220
		height             = 600
	)
	pw := float64(width - left - right)
	var tmax, rmax, lmin, lmax float64
	lmin = math.Inf(1)
	for _, res := range runs {
		for _, p := range res.Series {
			tmax = math.Max(tmax, p.T)
			rmax = math.Max(rmax, p.EventsPerSec)
			for _, v := range []float64{p.P50, p.P99} {
				if v > 0 {
					lmin, lmax = math.Min(lmin, v), math.Max(lmax, v)
				}
			}
		}
	}
	if tmax == 0 || rmax == 0 || math.IsInf(lmin, 1) {
		return fmt.Errorf("bench: nothing to draw")
	}
	rmax = niceCeil(rmax)
	lo, hi := math.Floor(math.Log10(lmin)), math.Ceil(math.Log10(lmax))
	if hi <= lo {
		hi = lo + 1
	}
	x := func(t float64) float64 { return left + pw*t/tmax }
	yRate := func(v float64) float64 { return top1 + h1 - h1*v/rmax }
	yLat := func(v float64) float64 {
		if v <= 0 {
			v = lmin
		}
		return top2 + h2 - h2*(math.Log10(v)-lo)/(hi-lo)
	}

	var b strings.Builder
	fmt.Fprintf(&b, `<svg xmlns="http://www.w3.org/2000/svg" width="%d" height="%d" viewBox="0 0 %d %d" font-family="sans-serif" font-size="12">`+"\n", width, height, width, height)
	b.WriteString(`<rect width="100%" height="100%" fill="white"/>` + "\n")
	c := r.Config
	title := fmt.Sprintf("promoguard bench: %d skus × %d channels, %d events (%s), %d rules", c.SKUs, c.Channels, r.Input.Events, c.Shape, r.RuleCount)
	fmt.Fprintf(&b, `<text x="%d" y="22" font-size="15" font-weight="bold">%s</text>`+"\n", left, html.EscapeString(title))
	// axes and grids
	panel := func(top, h int, label string) {
		fmt.Fprintf(&b, `<rect x="%d" y="%d" width="%.0f" height="%d" fill="none" stroke="#999"/>`+"\n", left, top, pw, h)
		fmt.Fprintf(&b, `<text x="14" y="%d" transform="rotate(-90 14 %d)" text-anchor="middle">%s</text>`+"\n", top+h/2, top+h/2, label)
	}
	panel(top1, h1, "events/s")
	panel(top2, h2, "latency per event")
	for i := 0; i <= 4; i++ {
		v := rmax * float64(i) / 4
		y := yRate(v)
		fmt.Fprintf(&b, `<line x1="%d" x2="%.0f" y1="%.1f" y2="%.1f" stroke="#eee"/><text x="%d" y="%.1f" text-anchor="end">%s</text>`+"\n",
			left, left+pw, y, y, left-6, y+4, si(v))
	}
	for e := lo; e <= hi; e++ {
		y := yLat(math.Pow(10, e))
		fmt.Fprintf(&b, `<line x1="%d" x2="%.0f" y1="%.1f" y2="%.1f" stroke="#eee"/><text x="%d" y="%.1f" text-anchor="end">%s</text>`+"\n",
			left, left+pw, y, y, left-6, y+4, dur(math.Pow(10, e)))
	}
	for i := 0; i <= 5; i++ {
		t := tmax * float64(i) / 5
		fmt.Fprintf(&b, `<text x="%.1f" y="%d" text-anchor="middle">%.1fs</text>`+"\n", x(t), top2+h2+16, t)
		fmt.Fprintf(&b, `<text x="%.1f" y="%d" text-anchor="middle">%.1fs</text>`+"\n", x(t), top1+h1+16, t)
	}
	fmt.Fprintf(&b, `<text x="%.0f" y="%d" text-anchor="middle">wall time since the start of the run</text>`+"\n", left+pw/2, top2+h2+34)
	// series
	line := func(pts []Point, f func(Point) float64, y func(float64) float64, color, dash string) {
		var sb strings.Builder
		for i, p := range pts {
			if i > 0 {
				sb.WriteByte(' ')
			}
			fmt.Fprintf(&sb, "%.1f,%.1f", x(p.T), y(f(p)))
		}
		fmt.Fprintf(&b, `<polyline fill="none" stroke="%s" stroke-width="1.5"%s points="%s"/>`+"\n", color, dash, sb.String())
	}
	for i, res := range runs {
		col := colors[i%len(colors)]
		line(res.Series, func(p Point) float64 { return p.EventsPerSec }, yRate, col, "")
		line(res.Series, func(p Point) float64 { return p.P50 }, yLat, col, "")
		line(res.Series, func(p Point) float64 { return p.P99 }, yLat, col, ` stroke-dasharray="5,3"`)
		ly := 40 + 16*i
		fmt.Fprintf(&b, `<line x1="%d" x2="%d" y1="%d" y2="%d" stroke="%s" stroke-width="2"/><text x="%d" y="%d">%s: %s events/s, p50 %s, p99 %s (dashed)</text>`+"\n",
			width-380, width-360, ly, ly, col, width-354, ly+4, html.EscapeString(res.Name), si(res.EventsPerSec), dur(res.Latency.P50), dur(res.Latency.P99))
	}
	b.WriteString("</svg>\n")
	bw := bufio.NewWriter(w)
	bw.WriteString(b.String())
	return bw.Flush()
}

func niceCeil(v float64) float64 {
	e := math.Pow(10, math.Floor(math.Log10(v)))
	for _, m := range []float64{1, 2, 2.5, 5, 10} {
		if m*e >= v {
			return m * e
		}
	}
	return 10 * e
}

func si(v float64) string {
	switch {
	case v >= 1e6:
		return fmt.Sprintf("%.2fM", v/1e6)
	case v >= 1e3:
		return fmt.Sprintf("%.0fk", v/1e3)
	}
	return fmt.Sprintf("%.0f", v)
}
