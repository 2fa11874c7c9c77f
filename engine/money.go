package engine

import (
	"math"

	"golang.org/x/text/currency"
)

// minorUnit returns the ISO 4217 rounding of a currency: its number of
// decimals and the increment in units of the last decimal (1 for almost
// every currency). Unknown or absent currencies round to cents.
func (e *Engine) minorUnit(code string) (scale, increment int) {
	if code == "" {
		return 2, 1
	}
	if code == e.lastCurrency {
		return e.lastRounding[0], e.lastRounding[1]
	}
	if r, ok := e.rounding[code]; ok {
		e.lastCurrency, e.lastRounding = code, r
		return r[0], r[1]
	}
	scale, increment = 2, 1
	if u, err := currency.ParseISO(code); err == nil {
		scale, increment = currency.Standard.Rounding(u)
		if increment < 1 {
			increment = 1
		}
	}
	e.rounding[code] = [2]int{scale, increment}
	return scale, increment
}

// roundMoney rounds x to the currency's minor unit: up when dir > 0 (a floor
// binds: the price must not fall below it), down when dir < 0 (a ceiling
// binds), to the nearest otherwise. A tolerance keeps a price already on
// the grid, such as 19.99 computed as 19.990000000000002, where it is. An
// amount too large for float64 to hold a minor unit (2^53 of them and more)
// is on the grid already, and is returned as it is: x / step would
// overflow to +Inf for the largest ones.
func roundMoney(x float64, scale, increment, dir int) float64 {
	step := math.Pow10(-scale) * float64(increment)
	n := x / step
	if !(math.Abs(n) < 1<<53) {
		return x
	}
	switch {
	case dir > 0:
		n = math.Ceil(n - 1e-6)
	case dir < 0:
		n = math.Floor(n + 1e-6)
	default:
		n = math.Round(n)
	}
	// dividing by the exact power of ten keeps 19.99 bit-identical
	return n * float64(increment) / math.Pow10(scale)
}
