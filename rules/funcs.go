package rules

import (
	"fmt"
	"math"
	"reflect"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/expr-lang/expr"
	"github.com/expr-lang/expr/vm/runtime"
)

// Tolerance is the absolute tolerance of the ladder and price helpers. Money
// and fractions are float64, so 1 - 0.8 is 0.19999999999999996: a comparison
// that must treat that as the 0.2 step cannot be exact.
const Tolerance = 1e-9

// function is one built-in function of the rule language.
type function struct {
	name  string
	doc   string
	fn    func(args ...any) (any, error)
	types []any
}

// builtins are the rule language's own functions, on top of expr's
// builtins (abs, min, max, round, len, map, filter, any, all, ...).
var builtins = []function{
	{
		name: "lookup",
		doc:  "lookup(table, key, default) returns table[key], or default when the key is absent; lookup(table, key) is a runtime error for an absent key",
		fn:   fnLookup,
		types: []any{
			new(func(map[string]float64, string, float64) float64),
			new(func(map[string]float64, string) float64),
			new(func(map[string]string, string, string) string),
			new(func(map[string]string, string) string),
		},
	},
	{
		name:  "snap_down",
		doc:   "snap_down(x, ladder) is the largest step of ladder that is <= x (within tolerance), NaN if there is none",
		fn:    fnSnapDown,
		types: []any{new(func(float64, []float64) float64), new(func(float64, []any) float64)},
	},
	{
		name:  "snap_up",
		doc:   "snap_up(x, ladder) is the smallest step of ladder that is >= x (within tolerance), NaN if there is none",
		fn:    fnSnapUp,
		types: []any{new(func(float64, []float64) float64), new(func(float64, []any) float64)},
	},
	{
		name:  "on_ladder",
		doc:   "on_ladder(x, ladder) reports whether x equals a step of ladder (within tolerance)",
		fn:    fnOnLadder,
		types: []any{new(func(float64, []float64) bool), new(func(float64, []any) bool)},
	},
	{
		name:  "price_ending",
		doc:   "price_ending(x, ending) is the largest price <= x that ends in ending: price_ending(20.5, .99) = 19.99, price_ending(35, 9.99) = 29.99",
		fn:    fnPriceEnding,
		types: []any{new(func(float64, float64) float64)},
	},
	{
		name:  "has_ending",
		doc:   "has_ending(x, ending) reports whether x ends in ending (within tolerance)",
		fn:    fnHasEnding,
		types: []any{new(func(float64, float64) bool)},
	},
	{
		name:  "clamp",
		doc:   "clamp(x, lo, hi) is x limited to [lo, hi]; lo wins when lo > hi",
		fn:    fnClamp,
		types: []any{new(func(float64, float64, float64) float64)},
	},
	{
		name:  "pct",
		doc:   `pct(x) formats a fraction as a percentage: pct(0.125) = "12.5%"; NaN is "n/a"`,
		fn:    fnPct,
		types: []any{new(func(float64) string)},
	},
	{
		name:  "money",
		doc:   `money(x) formats an amount with two decimals: money(19.5) = "19.50"; NaN is "n/a"`,
		fn:    fnMoney,
		types: []any{new(func(float64) string)},
	},
	{
		name:  "near",
		doc:   "near(a, b) reports whether a and b are equal within tolerance",
		fn:    fnNear,
		types: []any{new(func(float64, float64) bool)},
	},
	{
		name:  "is_nan",
		doc:   "is_nan(x) reports whether x is NaN (a fact that could not be computed)",
		fn:    fnIsNaN,
		types: []any{new(func(float64) bool)},
	},
	durationCtor("minutes", time.Minute),
	durationCtor("hours", time.Hour),
	durationCtor("days", 24*time.Hour),
	durationCtor("weeks", 7*24*time.Hour),
	durationConv("in_minutes", time.Minute),
	durationConv("in_hours", time.Hour),
	durationConv("in_days", 24*time.Hour),
}

var builtinIndex = func() map[string]*function {
	m := make(map[string]*function, len(builtins))
	for i := range builtins {
		m[builtins[i].name] = &builtins[i]
	}
	return m
}()

// exprBuiltinsDisabled are expr builtins a rule must not use. `now` reads the
// wall clock (rules see the watermark as the `now` fact instead). The others
// build strings or lists larger than their input without counting against
// the VM's memory budget, so a chain of them (with let) could take the
// process's memory: `repeat`, `replace`, `split`, `splitAfter`, `toJSON`,
// `fromJSON`, `toBase64`, `fromBase64`, `concat` and `flatten`. `join` and
// string `+` stay, bounded by MaxString.
var exprBuiltinsDisabled = []string{"now", "repeat", "replace", "split", "splitAfter", "toJSON", "fromJSON", "toBase64", "fromBase64", "concat", "flatten"}

// MaxString bounds a string that an expression builds with + or join().
const MaxString = 64 << 10

// hidden functions that the compiler substitutes for string + and join(),
// so that their results are bounded. Users never write them.
const (
	fnConcatName = "__concat"
	fnJoinName   = "__join"
	fnKeysName   = "__keys"
)

// fnKeys is expr's keys() in sorted order, so that whatever a rule builds
// from a map's keys is the same on every run.
func fnKeys(args ...any) (any, error) {
	v := reflect.ValueOf(args[0])
	if v.Kind() != reflect.Map {
		return nil, fmt.Errorf("keys: %T is not a map", args[0])
	}
	ks := v.MapKeys()
	out := make([]any, len(ks))
	for i, k := range ks {
		out[i] = k.Interface()
	}
	slices.SortFunc(out, func(a, b any) int {
		as, aok := a.(string)
		bs, bok := b.(string)
		if aok && bok {
			return strings.Compare(as, bs)
		}
		return strings.Compare(fmt.Sprint(a), fmt.Sprint(b))
	})
	return out, nil
}

// fnConcat is + with both operands strings, or operands whose type is only
// known at run time (then any other pair is added as expr would).
func fnConcat(args ...any) (any, error) {
	a, aok := args[0].(string)
	b, bok := args[1].(string)
	if !aok || !bok {
		return runtime.Add(args[0], args[1]), nil
	}
	if len(a)+len(b) > MaxString {
		return nil, fmt.Errorf("string longer than %d bytes", MaxString)
	}
	return a + b, nil
}

// fnJoin is expr's join() with its result bounded by MaxString.
func fnJoin(args ...any) (any, error) {
	glue := ""
	if len(args) == 2 {
		glue, _ = args[1].(string)
	}
	var parts []string
	switch l := args[0].(type) {
	case []string:
		parts = l
	case []any:
		parts = make([]string, len(l))
		for i, x := range l {
			s, ok := x.(string)
			if !ok {
				return nil, fmt.Errorf("join: element %d is %T, not a string", i, x)
			}
			parts[i] = s
		}
	default:
		return nil, fmt.Errorf("join: %T is not a list of strings", args[0])
	}
	n := len(glue) * max(0, len(parts)-1)
	for _, p := range parts {
		n += len(p)
	}
	if n > MaxString {
		return nil, fmt.Errorf("join: string longer than %d bytes", MaxString)
	}
	return strings.Join(parts, glue), nil
}

// functionOptions returns the expr options that declare the built-ins.
func functionOptions() []expr.Option {
	opts := make([]expr.Option, 0, len(builtins)+len(exprBuiltinsDisabled))
	for _, b := range builtins {
		opts = append(opts, expr.Function(b.name, b.fn, b.types...))
	}
	for _, name := range exprBuiltinsDisabled {
		opts = append(opts, expr.DisableBuiltin(name))
	}
	opts = append(opts, expr.Function(fnConcatName, fnConcat), expr.Function(fnJoinName, fnJoin), expr.Function(fnKeysName, fnKeys))
	return opts
}

// toFloat converts a numeric argument. The checker guarantees the kind, but
// expr may pass an int where a float64 is declared.
func toFloat(v any) float64 {
	switch v := v.(type) {
	case float64:
		return v
	case int:
		return float64(v)
	case int64:
		return float64(v)
	case float32:
		return float64(v)
	case int32:
		return float64(v)
	case uint:
		return float64(v)
	}
	return math.NaN()
}

func ladderOf(v any) []float64 {
	switch l := v.(type) {
	case []float64:
		return l
	case []any:
		out := make([]float64, len(l))
		for i, x := range l {
			out[i] = toFloat(x)
		}
		return out
	}
	return nil
}

func fnLookup(args ...any) (any, error) {
	key, _ := args[1].(string)
	switch t := args[0].(type) {
	case map[string]float64:
		if v, ok := t[key]; ok {
			return v, nil
		}
		if len(args) == 3 {
			return toFloat(args[2]), nil
		}
	case map[string]string:
		if v, ok := t[key]; ok {
			return v, nil
		}
		if len(args) == 3 {
			return args[2], nil
		}
	default:
		return nil, fmt.Errorf("lookup: %T is not a table", args[0])
	}
	return nil, fmt.Errorf("lookup: table has no key %q", key)
}

// SnapDown is the largest step of ladder <= x (within Tolerance), or NaN.
func SnapDown(x float64, ladder []float64) float64 {
	best := math.NaN()
	for _, s := range ladder {
		if s <= x+Tolerance && (math.IsNaN(best) || s > best) {
			best = s
		}
	}
	return best
}

// SnapUp is the smallest step of ladder >= x (within Tolerance), or NaN.
func SnapUp(x float64, ladder []float64) float64 {
	best := math.NaN()
	for _, s := range ladder {
		if s >= x-Tolerance && (math.IsNaN(best) || s < best) {
			best = s
		}
	}
	return best
}

// OnLadder reports whether x is a step of ladder, within Tolerance.
func OnLadder(x float64, ladder []float64) bool {
	for _, s := range ladder {
		if math.Abs(s-x) <= Tolerance {
			return true
		}
	}
	return false
}

func fnSnapDown(args ...any) (any, error) {
	return SnapDown(toFloat(args[0]), ladderOf(args[1])), nil
}

func fnSnapUp(args ...any) (any, error) {
	return SnapUp(toFloat(args[0]), ladderOf(args[1])), nil
}

func fnOnLadder(args ...any) (any, error) {
	return OnLadder(toFloat(args[0]), ladderOf(args[1])), nil
}

// endingUnit is the power of ten an ending repeats with: 1 for .99, 10 for 9.99.
func endingUnit(ending float64) float64 {
	unit := 1.0
	for ending >= unit-Tolerance && unit < 1e12 {
		unit *= 10
	}
	return unit
}

// PriceEnding is the largest price <= x that ends in ending, or NaN when
// there is none (x below the ending itself) or an argument is not finite or
// negative.
func PriceEnding(x, ending float64) float64 {
	if math.IsNaN(x) || math.IsInf(x, 0) || math.IsNaN(ending) || math.IsInf(ending, 0) || ending < 0 {
		return math.NaN()
	}
	unit := endingUnit(ending)
	p := math.Floor((x-ending)/unit+Tolerance)*unit + ending
	if p < -Tolerance {
		return math.NaN()
	}
	return roundMicro(p)
}

// HasEnding reports whether x ends in ending, within a millionth of a unit
// (prices arrive rounded to their currency; an exact test would miss 19.99
// computed as 19.990000000000002).
func HasEnding(x, ending float64) bool {
	p := PriceEnding(x, ending)
	return !math.IsNaN(p) && math.Abs(p-x) <= 1e-6
}

// roundMicro rounds to a millionth. Dividing by the exact 1e6 keeps prices
// that already have the ending bit-identical (2.99 stays 2.99), which
// multiplying by the inexact 1e-6 would not.
func roundMicro(x float64) float64 { return math.Round(x*1e6)/1e6 + 0 }

func fnPriceEnding(args ...any) (any, error) {
	return PriceEnding(toFloat(args[0]), toFloat(args[1])), nil
}

func fnHasEnding(args ...any) (any, error) {
	return HasEnding(toFloat(args[0]), toFloat(args[1])), nil
}

// Clamp limits x to [lo, hi]; lo wins when lo > hi, as a floor wins over a
// ceiling in a correction. A NaN argument gives NaN.
func Clamp(x, lo, hi float64) float64 {
	return math.Max(lo, math.Min(x, hi))
}

func fnClamp(args ...any) (any, error) {
	return Clamp(toFloat(args[0]), toFloat(args[1]), toFloat(args[2])), nil
}

// Pct formats a fraction as a percentage with at most one decimal.
func Pct(x float64) string {
	v := math.Round(x*1000) / 10
	if math.IsNaN(v) || math.IsInf(v, 0) {
		return "n/a"
	}
	if v == 0 {
		v = 0 // no "-0%"
	}
	return strconv.FormatFloat(v, 'f', -1, 64) + "%"
}

func fnPct(args ...any) (any, error) { return Pct(toFloat(args[0])), nil }

func fnMoney(args ...any) (any, error) {
	x := math.Round(toFloat(args[0])*100) / 100
	if math.IsNaN(x) || math.IsInf(x, 0) {
		return "n/a", nil
	}
	if x == 0 {
		x = 0 // no "-0.00"
	}
	return strconv.FormatFloat(x, 'f', 2, 64), nil
}

func fnNear(args ...any) (any, error) {
	a, b := toFloat(args[0]), toFloat(args[1])
	return a == b || math.Abs(a-b) <= Tolerance, nil
}

func fnIsNaN(args ...any) (any, error) { return math.IsNaN(toFloat(args[0])), nil }

func durationCtor(name string, unit time.Duration) function {
	return function{
		name: name,
		doc:  fmt.Sprintf("%s(n) is a duration of n %s: at + %s(2)", name, name, name),
		fn: func(args ...any) (any, error) {
			n := toFloat(args[0])
			d := n * float64(unit)
			// float64(math.MaxInt64) is 2^63, one past the largest duration.
			if math.IsNaN(d) || d >= math.MaxInt64 || d < math.MinInt64 {
				return nil, fmt.Errorf("%s(%v): duration out of range", name, n)
			}
			return time.Duration(d), nil
		},
		types: []any{new(func(float64) time.Duration)},
	}
}

func durationConv(name string, unit time.Duration) function {
	return function{
		name: name,
		doc:  fmt.Sprintf("%s(d) is the duration d as a number of %s: %s(promo.end - at)", name, name[3:], name),
		fn: func(args ...any) (any, error) {
			d, _ := args[0].(time.Duration)
			return float64(d) / float64(unit), nil
		},
		types: []any{new(func(time.Duration) float64)},
	}
}
