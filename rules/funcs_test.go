package rules

import (
	"errors"
	"io/fs"
	"math"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/expr-lang/expr"
	"github.com/expr-lang/expr/vm"
)

// funcNaN stands for "want NaN" in the tables below.
var funcNaN = math.NaN()

// funcSameFloat reports whether got is want, NaN matching NaN, within tol.
func funcSameFloat(got, want, tol float64) bool {
	if math.IsNaN(want) || math.IsNaN(got) {
		return math.IsNaN(want) && math.IsNaN(got)
	}
	if math.IsInf(want, 0) {
		return got == want
	}
	return math.Abs(got-want) <= tol
}

// funcNoisy02 is 1 - 0.8 = 0.19999999999999996: it must count as the 0.2 step.
var funcNoisy02 = 1 - 0.8

// snapCase is one case of SnapDown or SnapUp.
type snapCase struct {
	name   string
	x      float64
	ladder []float64
	want   float64
}

func testSnap(t *testing.T, name string, fn func(float64, []float64) float64, cases []snapCase) {
	t.Helper()
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			if got := fn(c.x, c.ladder); !funcSameFloat(got, c.want, 0) {
				t.Errorf("%s(%v, %v) = %v, want %v", name, c.x, c.ladder, got, c.want)
			}
		})
	}
}

func TestSnapDown(t *testing.T) {
	ladder := []float64{0, 0.1, 0.2, 0.3}
	testSnap(t, "SnapDown", SnapDown, []snapCase{
		{"exact step", 0.2, ladder, 0.2},
		{"between steps", 0.25, ladder, 0.2},
		{"float noise 1-0.8 is the 0.2 step", funcNoisy02, ladder, 0.2},
		{"just above a step", 0.15000000001, []float64{0.1, 0.15, 0.2}, 0.15},
		{"below a step within tolerance", 0.2 - Tolerance/2, ladder, 0.2},
		{"below a step beyond tolerance", 0.2 - 1e-6, ladder, 0.1},
		{"above every step", 0.9, ladder, 0.3},
		{"+Inf is above every step", math.Inf(1), ladder, 0.3},
		{"below every step", 0.05, []float64{0.1, 0.2}, funcNaN},
		{"-Inf is below every step", math.Inf(-1), ladder, funcNaN},
		{"empty ladder", 0.2, []float64{}, funcNaN},
		{"nil ladder", 0.2, nil, funcNaN},
		{"NaN x", funcNaN, ladder, funcNaN},
		{"unsorted ladder", 0.25, []float64{0.3, 0.1, 0.2, 0}, 0.2},
		{"unsorted ladder, noise", funcNoisy02, []float64{0.3, 0.2, 0.1}, 0.2},
		{"duplicate steps", 0.25, []float64{0.2, 0.1, 0.2}, 0.2},
		{"ladder with 0, small x", 0.05, ladder, 0},
		{"ladder with 0, x is 0", 0, ladder, 0},
		{"ladder with 0, x slightly negative within tolerance", -Tolerance / 2, ladder, 0},
		{"ladder with 0, negative x", -0.01, ladder, funcNaN},
		{"single step", 0.5, []float64{0.5}, 0.5},
	})
}

func TestSnapUp(t *testing.T) {
	ladder := []float64{0, 0.1, 0.2, 0.3}
	testSnap(t, "SnapUp", SnapUp, []snapCase{
		{"exact step", 0.2, ladder, 0.2},
		{"between steps", 0.25, ladder, 0.3},
		{"float noise 1-0.8 is the 0.2 step", funcNoisy02, ladder, 0.2},
		{"above a step within tolerance", 0.15000000001, []float64{0.1, 0.15, 0.2}, 0.15},
		{"above a step beyond tolerance", 0.2 + 1e-6, ladder, 0.3},
		{"below every step", -0.5, ladder, 0},
		{"-Inf is below every step", math.Inf(-1), ladder, 0},
		{"above every step", 0.31, ladder, funcNaN},
		{"+Inf is above every step", math.Inf(1), ladder, funcNaN},
		{"empty ladder", 0.2, []float64{}, funcNaN},
		{"nil ladder", 0.2, nil, funcNaN},
		{"NaN x", funcNaN, ladder, funcNaN},
		{"unsorted ladder", 0.15, []float64{0.3, 0.1, 0.2, 0}, 0.2},
		{"unsorted ladder, noise", funcNoisy02, []float64{0.3, 0.2, 0.1}, 0.2},
		{"ladder with 0, x is 0", 0, ladder, 0},
		{"ladder with 0, x slightly positive within tolerance", Tolerance / 2, ladder, 0},
		{"ladder with 0, small x", 0.05, ladder, 0.1},
	})
}

func TestOnLadder(t *testing.T) {
	ladder := []float64{0, 0.05, 0.1, 0.15, 0.2, 0.25}
	cases := []struct {
		name   string
		x      float64
		ladder []float64
		want   bool
	}{
		{"exact step", 0.2, ladder, true},
		{"float noise 1-0.8 is the 0.2 step", funcNoisy02, ladder, true},
		{"0.15000000001 is the 0.15 step", 0.15000000001, ladder, true},
		{"within tolerance below", 0.1 - Tolerance/2, ladder, true},
		{"beyond tolerance", 0.2 + 1e-6, ladder, false},
		{"between steps", 0.12, ladder, false},
		{"below every step", -0.1, ladder, false},
		{"above every step", 0.5, ladder, false},
		{"empty ladder", 0.2, []float64{}, false},
		{"nil ladder", 0, nil, false},
		{"NaN x", funcNaN, ladder, false},
		{"NaN step matches nothing", funcNaN, []float64{funcNaN}, false},
		{"unsorted ladder", 0.1, []float64{0.3, 0.1, 0.2}, true},
		{"0 on a ladder with 0", 0, ladder, true},
		{"negative zero on a ladder with 0", math.Copysign(0, -1), ladder, true},
		{"0 on a ladder without 0", 0, []float64{0.1, 0.2}, false},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			if got := OnLadder(c.x, c.ladder); got != c.want {
				t.Errorf("OnLadder(%v, %v) = %v, want %v", c.x, c.ladder, got, c.want)
			}
		})
	}
}

func TestPriceEnding(t *testing.T) {
	cases := []struct {
		name      string
		x, ending float64
		want      float64
	}{
		{"20.5 with .99", 20.5, .99, 19.99},
		{"19.99 already ends in .99", 19.99, .99, 19.99},
		{"35 with 9.99", 35, 9.99, 29.99},
		{"29.99 already ends in 9.99", 29.99, 9.99, 29.99},
		{"19.99 also ends in 9.99", 19.99, 9.99, 19.99},
		{"9.99 with 9.99", 9.99, 9.99, 9.99},
		{"below 9.99", 9.98, 9.99, funcNaN},
		{"0.5 with .99", 0.5, .99, funcNaN},
		{"0.99 with .99", 0.99, .99, 0.99},
		{"1 with .99", 1, .99, 0.99},
		{"100 with .95", 100, .95, 99.95},
		{"1.49 with .5", 1.49, .5, 0.5},
		{"1.5 with .5", 1.5, .5, 1.5},
		{"2.99 with .99", 2.99, .99, 2.99},
		{"250 with 99", 250, 99, 199},
		{"within tolerance below an ending", 19.99 - Tolerance/2, .99, 19.99},
		{"beyond tolerance below an ending", 19.99 - 1e-7, .99, 18.99},
		{"ending 0: whole number below", 20.5, 0, 20},
		{"ending 0: whole number", 20, 0, 20},
		{"ending 0: below 1", 0.4, 0, 0},
		{"ending 0: whole within tolerance", 20 - Tolerance/2, 0, 20},
		{"ending 0: x is 0", 0, 0, 0},
		{"NaN x", funcNaN, .99, funcNaN},
		{"+Inf x", math.Inf(1), .99, funcNaN},
		{"-Inf x", math.Inf(-1), .99, funcNaN},
		{"NaN ending", 20, funcNaN, funcNaN},
		{"+Inf ending", 20, math.Inf(1), funcNaN},
		{"-Inf ending", 20, math.Inf(-1), funcNaN},
		{"negative ending", 20, -0.01, funcNaN},
		{"negative x", -1, .99, funcNaN},
		{"negative x, ending 0", -3, 0, funcNaN},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			if got := PriceEnding(c.x, c.ending); !funcSameFloat(got, c.want, Tolerance) {
				t.Errorf("PriceEnding(%v, %v) = %v, want %v", c.x, c.ending, got, c.want)
			}
		})
	}
}

// TestPriceEndingExact checks that a price already on its ending comes back
// as the very same float64, so that `price == price_ending(price, .99)` holds.
func TestPriceEndingExact(t *testing.T) {
	cases := []struct {
		x, ending float64
	}{
		{19.99, .99},
		{29.99, 9.99},
		{2.99, .99},
		{34.95, .95},
		{0.9, .9},
	}
	for _, c := range cases {
		t.Run(strconv.FormatFloat(c.x, 'f', -1, 64), func(t *testing.T) {
			if got := PriceEnding(c.x, c.ending); got != c.x {
				t.Errorf("PriceEnding(%v, %v) = %v, want exactly %v", c.x, c.ending, got, c.x)
			}
		})
	}
}

func TestHasEnding(t *testing.T) {
	cases := []struct {
		name      string
		x, ending float64
		want      bool
	}{
		{"19.99 ends in .99", 19.99, .99, true},
		{"20 does not end in .99", 20, .99, false},
		{"0.99 ends in .99", 0.99, .99, true},
		{"0.5 is below .99", 0.5, .99, false},
		{"2.99 ends in .99", 2.99, .99, true},
		{"29.99 ends in 9.99", 29.99, 9.99, true},
		{"19.99 ends in 9.99", 19.99, 9.99, true},
		{"18.99 does not end in 9.99", 18.99, 9.99, false},
		{"computed 20 - 0.01 ends in .99", 20 - 0.01, .99, true},
		{"float noise above", 19.99 + 1e-10, .99, true},
		{"a cent off", 19.98, .99, false},
		{"a tenth of a cent off", 19.99 + 1e-3, .99, false},
		{"whole number with ending 0", 20, 0, true},
		{"fraction with ending 0", 20.5, 0, false},
		{"NaN x", funcNaN, .99, false},
		{"+Inf x", math.Inf(1), .99, false},
		{"NaN ending", 19.99, funcNaN, false},
		{"negative ending", 19.99, -0.99, false},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			if got := HasEnding(c.x, c.ending); got != c.want {
				t.Errorf("HasEnding(%v, %v) = %v, want %v", c.x, c.ending, got, c.want)
			}
		})
	}
}

func TestClamp(t *testing.T) {
	cases := []struct {
		name         string
		x, lo, hi    float64
		want         float64
		wantNegative bool
	}{
		{name: "inside", x: 5, lo: 0, hi: 10, want: 5},
		{name: "below", x: -1, lo: 0, hi: 10, want: 0},
		{name: "above", x: 11, lo: 0, hi: 10, want: 10},
		{name: "at lo", x: 0, lo: 0, hi: 10, want: 0},
		{name: "at hi", x: 10, lo: 0, hi: 10, want: 10},
		{name: "lo == hi", x: 3, lo: 7, hi: 7, want: 7},
		{name: "lo > hi, x between: lo wins", x: 5, lo: 10, hi: 1, want: 10},
		{name: "lo > hi, x below both: lo wins", x: 0, lo: 10, hi: 1, want: 10},
		{name: "lo > hi, x above both: lo wins", x: 20, lo: 10, hi: 1, want: 10},
		{name: "+Inf x", x: math.Inf(1), lo: 0, hi: 10, want: 10},
		{name: "-Inf x", x: math.Inf(-1), lo: 0, hi: 10, want: 0},
		{name: "unbounded above", x: 1e9, lo: 0, hi: math.Inf(1), want: 1e9},
		{name: "NaN x stays NaN", x: funcNaN, lo: 0, hi: 10, want: funcNaN},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			if got := Clamp(c.x, c.lo, c.hi); !funcSameFloat(got, c.want, 0) {
				t.Errorf("Clamp(%v, %v, %v) = %v, want %v", c.x, c.lo, c.hi, got, c.want)
			}
		})
	}
}

func TestPct(t *testing.T) {
	cases := []struct {
		name string
		x    float64
		want string
	}{
		{name: "one decimal", x: 0.125, want: "12.5%"},
		{name: "whole", x: 0.2, want: "20%"},
		{name: "float noise 1-0.8", x: funcNoisy02, want: "20%"},
		{name: "zero", x: 0, want: "0%"},
		{name: "one", x: 1, want: "100%"},
		{name: "above one", x: 1.5, want: "150%"},
		{name: "rounds to one decimal down", x: 0.1234, want: "12.3%"},
		{name: "rounds to one decimal up", x: 0.12351, want: "12.4%"},
		{name: "smallest shown", x: 0.0005, want: "0.1%"},
		{name: "tiny rounds to zero", x: 0.0004, want: "0%"},
		{name: "negative", x: -0.05, want: "-5%"},
		{name: "negative with decimal", x: -0.125, want: "-12.5%"},
		{name: "NaN", x: funcNaN, want: "n/a"},
		{name: "+Inf", x: math.Inf(1), want: "n/a"},
		{name: "-Inf", x: math.Inf(-1), want: "n/a"},
		{
			name: "tiny negative rounds to zero", x: -0.0004, want: "0%",
		},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			if got := Pct(c.x); got != c.want {
				t.Errorf("Pct(%v) = %q, want %q", c.x, got, c.want)
			}
		})
	}
}

// compileFunc compiles src the way the loader configures expr: the Facts
// env, UTC, and the rule language's functions.
func compileFunc(src string) (*vm.Program, error) {
	opts := []expr.Option{expr.Env(Facts{}), expr.Timezone("UTC")}
	opts = append(opts, functionOptions()...)
	return expr.Compile(src, opts...)
}

var funcAt = time.Date(2025, 3, 1, 12, 0, 0, 0, time.UTC)

// funcFacts is the env of the expression tests.
func funcFacts() Facts {
	return Facts{
		SKU:      "sku-1",
		Channel:  "web",
		Category: "audio",
		Price:    20,
		Cost:     12,
		Margin:   funcNaN,
		History:  History{Changes1h: 2},
		At:       funcAt,
		Now:      funcAt,
		Promo:    Promo{ID: "p1", Fraction: funcNoisy02, Start: funcAt.Add(-24 * time.Hour), End: funcAt.Add(36 * time.Hour)},
	}
}

// TestFuncExpr runs every built-in through expressions compiled with
// functionOptions, including int literals where floats are declared and
// inline array ladders.
func TestFuncExpr(t *testing.T) {
	cases := []struct {
		name    string
		src     string
		facts   func(*Facts)
		want    any
		wantErr string
	}{
		// ladders
		{name: "on_ladder inline floats", src: `on_ladder(0.2, [0.1, 0.2])`, want: true},
		{name: "on_ladder inline ints", src: `on_ladder(1, [0, 1, 2])`, want: true},
		{name: "on_ladder inline mixed", src: `on_ladder(2, [0.5, 2])`, want: true},
		{name: "on_ladder int fact", src: `on_ladder(history.changes_1h, [1, 2, 3])`, want: true},
		{name: "on_ladder noise", src: `on_ladder(1 - 0.8, [0.1, 0.2])`, want: true},
		{name: "on_ladder noisy fact", src: `on_ladder(promo.fraction, [0.1, 0.2])`, want: true},
		{name: "on_ladder off", src: `on_ladder(0.25, [0.1, 0.2])`, want: false},
		{name: "on_ladder empty inline", src: `on_ladder(0.2, [])`, want: false},
		{name: "on_ladder mapped ladder", src: `on_ladder(0.2, map([1, 2], # / 10))`, want: true},
		{name: "snap_down inline", src: `snap_down(0.25, [0.3, 0.1, 0.2])`, want: 0.2},
		{name: "snap_down noise", src: `snap_down(1 - 0.8, [0, 0.2])`, want: 0.2},
		{name: "snap_down int x", src: `snap_down(1, [0, 0.5, 1.5])`, want: 0.5},
		{name: "snap_down none", src: `is_nan(snap_down(0.05, [0.1, 0.2]))`, want: true},
		{name: "snap_down empty", src: `is_nan(snap_down(0.3, []))`, want: true},
		{name: "snap_up inline", src: `snap_up(0.15, [1, 0, 0.2])`, want: 0.2},
		{name: "snap_up none", src: `is_nan(snap_up(2, [0, 1]))`, want: true},
		// prices
		{name: "price_ending", src: `price_ending(20.5, .99)`, want: 19.99},
		{name: "price_ending int x", src: `price_ending(35, 9.99)`, want: 29.99},
		{name: "price_ending int ending", src: `price_ending(20.5, 0)`, want: 20.0},
		{name: "price_ending none", src: `is_nan(price_ending(0.5, .99))`, want: true},
		{name: "has_ending", src: `has_ending(19.99, .99)`, want: true},
		{name: "has_ending int x", src: `has_ending(20, .99)`, want: false},
		{name: "has_ending fact", src: `has_ending(price, 0)`, want: true},
		{name: "clamp", src: `clamp(price * 0.5, cost, price)`, want: 12.0},
		{name: "clamp ints", src: `clamp(5, 0, 1)`, want: 1.0},
		{name: "clamp lo wins", src: `clamp(5, 10, 1)`, want: 10.0},
		{name: "clamp NaN", src: `is_nan(clamp(margin, 0, 1))`, want: true},
		// formatting
		{name: "pct", src: `pct(0.125)`, want: "12.5%"},
		{name: "pct int", src: `pct(1)`, want: "100%"},
		{name: "pct NaN fact", src: `pct(margin)`, want: "n/a"},
		{name: "pct negative", src: `pct(-0.05)`, want: "-5%"},
		{name: "money", src: `money(19.5)`, want: "19.50"},
		{name: "money == string", src: `money(19.5) == "19.50"`, want: true},
		{name: "money int", src: `money(3)`, want: "3.00"},
		{name: "money rounds", src: `money(19.999)`, want: "20.00"},
		{name: "money negative", src: `money(-3.5)`, want: "-3.50"},
		{name: "money NaN fact", src: `money(margin)`, want: "n/a"},
		{name: "money +Inf", src: `money(price / 0)`, want: "n/a"},
		// near, is_nan
		{name: "near noise", src: `near(1 - 0.8, 0.2)`, want: true},
		{name: "near ints", src: `near(price, 20)`, want: true},
		{name: "near too far", src: `near(0.2, 0.2000001)`, want: false},
		{name: "near NaN", src: `near(margin, margin)`, want: false},
		{name: "is_nan NaN fact", src: `is_nan(margin)`, want: true},
		{name: "is_nan number fact", src: `is_nan(margin)`, facts: func(f *Facts) { f.Margin = 0.25 }, want: false},
		{name: "is_nan int", src: `is_nan(1)`, want: false},
		// lookup: only tables from YAML are maps of the declared types; see
		// TestLookup. An untyped inline map does not match any overload.
		{name: "lookup inline map", src: `lookup({"a": 1.5}, "a")`, wantErr: "cannot use map"},
		// durations
		{name: "days int", src: `days(2)`, want: 48 * time.Hour},
		{name: "days float", src: `days(1.5)`, want: 36 * time.Hour},
		{name: "minutes", src: `minutes(90)`, want: 90 * time.Minute},
		{name: "hours", src: `hours(0.25)`, want: 15 * time.Minute},
		{name: "weeks", src: `weeks(1)`, want: 7 * 24 * time.Hour},
		{name: "negative duration", src: `days(-1)`, want: -24 * time.Hour},
		{name: "in_days", src: `in_days(days(2))`, want: 2.0},
		{name: "in_hours", src: `in_hours(minutes(30))`, want: 0.5},
		{name: "in_minutes", src: `in_minutes(hours(2))`, want: 120.0},
		{name: "in_days promo end", src: `in_days(promo.end - at)`, want: 1.5},
		{name: "in_days promo length", src: `in_days(promo.end - promo.start)`, want: 2.5},
		{name: "in_hours negative", src: `in_hours(promo.start - at)`, want: -24.0},
		{name: "time arithmetic", src: `at + days(2) == promo.end + hours(12)`, want: true},
		{name: "duration compare", src: `promo.end - at > days(1)`, want: true},
		{name: "days out of range", src: `days(1e6)`, wantErr: "days(1e+06): duration out of range"},
		{name: "weeks out of range negative", src: `weeks(-1e6)`, wantErr: "duration out of range"},
		{name: "minutes NaN", src: `minutes(margin)`, wantErr: "minutes(NaN): duration out of range"},
		// expr builtins stay available
		{name: "expr builtin abs", src: `abs(-1.5)`, want: 1.5},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			prog, err := compileFunc(c.src)
			if err != nil {
				if c.wantErr != "" && strings.Contains(err.Error(), c.wantErr) {
					return
				}
				t.Fatalf("compile %s: %v", c.src, err)
			}
			f := funcFacts()
			if c.facts != nil {
				c.facts(&f)
			}
			var env any = f
			got, err := NewVM().Run(prog, env)
			if c.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), c.wantErr) {
					t.Fatalf("%s = %v, %v; want error containing %q", c.src, got, err, c.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatalf("%s: %v", c.src, err)
			}
			if w, ok := c.want.(float64); ok {
				g, ok := got.(float64)
				if !ok || !funcSameFloat(g, w, Tolerance) {
					t.Errorf("%s = %#v, want %v", c.src, got, w)
				}
				return
			}
			if got != c.want {
				t.Errorf("%s = %#v (%T), want %#v (%T)", c.src, got, got, c.want, c.want)
			}
		})
	}
}

// TestFuncExprEdges holds expression cases that once failed: a duration of
// exactly 2^63 ns overflowing, and money() printing negative zero.
func TestFuncExprEdges(t *testing.T) {
	cases := []struct {
		name, src string
		want      any
		wantErr   string
	}{
		{
			// days(n) checks d > math.MaxInt64, but float64(math.MaxInt64)
			// is 2^63, so d == 2^63 passes the check and time.Duration(d)
			// overflows: on amd64 it is math.MinInt64 (-292 years), so
			// `days(106751.99116730064) > days(1)` is false.
			name: "days at exactly 2^63 ns", src: `days(106751.99116730064)`, wantErr: "duration out of range",
		},
		{
			// strconv.FormatFloat(-0.001, 'f', 2, 64) is "-0.00".
			name: "money tiny negative", src: `money(-0.001)`, want: "0.00",
		},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			prog, err := compileFunc(c.src)
			if err != nil {
				t.Fatal(err)
			}
			got, err := NewVM().Run(prog, any(funcFacts()))
			if c.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), c.wantErr) {
					t.Errorf("%s = %#v, %v; want error containing %q", c.src, got, err, c.wantErr)
				}
				return
			}
			if err != nil || got != c.want {
				t.Errorf("%s = %#v, %v; want %#v", c.src, got, err, c.want)
			}
		})
	}
}

// funcRuleFile is a rule file with vars and tables, inline and CSV, for the
// expression tests that need them. %s is the rule list.
const funcRuleFile = `group: funcs
vars:
  ladder: [0, 0.1, 0.2, 0.3]
  empty_ladder: []
  default_margin: 0.12
  default_owner: nobody
tables:
  margins: {audio: 0.15, cables: 0.3}
  owners: {audio: hifi-team, cables: accessories}
  csv_margins: {file: margins.csv, key: category, value: min_margin}
  csv_owners: {file: margins.csv, key: category, value: owner}
rules:
`

const funcMarginsCSV = "category,min_margin,owner\naudio,0.25,hifi\nvideo,0.4,screens\n"

// loadFuncRule loads one rule with the given YAML fields (indented under
// "- name: r") and returns it.
func loadFuncRule(t *testing.T, fields string) (*Rule, error) {
	t.Helper()
	src := funcRuleFile + "  - name: r\n" + fields
	opts := &Options{ReadFile: func(name string) ([]byte, error) {
		if name == "margins.csv" {
			return []byte(funcMarginsCSV), nil
		}
		return nil, &fs.PathError{Op: "open", Path: name, Err: fs.ErrNotExist}
	}}
	rs, err := LoadSource("funcs.yaml", []byte(src), opts)
	if err != nil {
		return nil, err
	}
	if len(rs.Rules) != 1 {
		t.Fatalf("want 1 rule, got %d", len(rs.Rules))
	}
	return rs.Rules[0], nil
}

func funcIfField(scope, cond string) string {
	return "    scope: " + scope + "\n    if: " + strconv.Quote(cond) + "\n"
}

// TestLookup evaluates lookup and the other built-ins over a loaded rule
// file's vars and tables, through (*Expr).Bool.
func TestLookup(t *testing.T) {
	cases := []struct {
		name    string
		scope   string
		cond    string
		facts   func(*Facts)
		want    bool
		wantErr string
	}{
		{name: "numeric table hit", cond: `lookup(margins, category) == 0.15`, want: true},
		{name: "numeric table literal key", cond: `lookup(margins, "cables") == 0.3`, want: true},
		{name: "numeric table default unused", cond: `lookup(margins, category, 0.5) == 0.15`, want: true},
		{name: "numeric table default var", cond: `lookup(margins, "tv", default_margin) == 0.12`, want: true},
		{name: "numeric table int default", cond: `lookup(margins, "tv", 0) == 0`, want: true},
		{name: "numeric table in a comparison", cond: `0.1 < lookup(margins, category, default_margin)`, want: true},
		{name: "numeric table missing key", cond: `lookup(margins, "tv") > 0`, wantErr: `lookup: table has no key "tv"`},
		{name: "numeric table missing fact key", cond: `lookup(margins, category) > 0`, facts: func(f *Facts) { f.Category = "tv" }, wantErr: `table has no key "tv"`},
		{name: "string table hit", cond: `lookup(owners, category) == "hifi-team"`, want: true},
		{name: "string table default unused", cond: `lookup(owners, "cables", "x") == "accessories"`, want: true},
		{name: "string table default", cond: `lookup(owners, "tv", "none") == "none"`, want: true},
		{name: "string table default var", cond: `lookup(owners, "tv", default_owner) == "nobody"`, want: true},
		{name: "string table missing key", cond: `lookup(owners, "tv") != ""`, wantErr: `lookup: table has no key "tv"`},
		{name: "csv numeric table", cond: `lookup(csv_margins, category) == 0.25`, want: true},
		{name: "csv numeric table default", cond: `lookup(csv_margins, "cables", -1) == -1`, want: true},
		{name: "csv string table", cond: `lookup(csv_owners, "video") == "screens"`, want: true},
		{name: "csv missing key", cond: `lookup(csv_owners, "cables") == ""`, wantErr: `table has no key "cables"`},
		// the other built-ins over vars and facts
		{name: "on_ladder var", cond: `on_ladder(0.2, ladder)`, want: true},
		{name: "on_ladder var noise", cond: `on_ladder(1 - 0.8, ladder)`, want: true},
		{name: "on_ladder empty var", cond: `on_ladder(0, empty_ladder)`, want: false},
		{name: "snap_down var", cond: `snap_down(0.25, ladder) == 0.2`, want: true},
		{name: "snap_down empty var", cond: `is_nan(snap_down(0.25, empty_ladder))`, want: true},
		{name: "snap_up var", cond: `snap_up(0.25, ladder) == 0.3`, want: true},
		{name: "inline ladder", cond: `on_ladder(0.2, [0.1, 0.2])`, want: true},
		{name: "is_nan margin", cond: `is_nan(margin)`, want: true},
		{name: "is_nan margin set", cond: `is_nan(margin)`, facts: func(f *Facts) { f.Margin = 0.4 }, want: false},
		{name: "money", cond: `money(19.5) == "19.50"`, want: true},
		{name: "pct", cond: `pct(lookup(margins, category)) == "15%"`, want: true},
		{name: "days int literal", cond: `days(2) == hours(48)`, want: true},
		{name: "in_days promo end", scope: "promo", cond: `in_days(promo.end - at) == 1.5`, want: true},
		{name: "in_days promo end bound", scope: "promo", cond: `in_days(promo.end - at) > 2`, want: false},
		{name: "duration arithmetic", scope: "promo", cond: `promo.end - promo.start == days(2) + hours(12)`, want: true},
		{name: "duration out of range", cond: `at + days(1e6) > at`, wantErr: "duration out of range"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			scope := c.scope
			if scope == "" {
				scope = "calendar"
			}
			r, err := loadFuncRule(t, funcIfField(scope, c.cond))
			if err != nil {
				t.Fatalf("load %s: %v", c.cond, err)
			}
			f := funcFacts()
			if c.facts != nil {
				c.facts(&f)
			}
			var env any = f
			got, err := r.If.Bool(NewVM(), env)
			if c.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), c.wantErr) {
					t.Fatalf("%s = %v, %v; want error containing %q", c.cond, got, err, c.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatalf("%s: %v", c.cond, err)
			}
			if got != c.want {
				t.Errorf("%s = %v, want %v", c.cond, got, c.want)
			}
		})
	}
}

// TestLookupFloat evaluates built-ins in price bounds, through (*Expr).Float.
func TestLookupFloat(t *testing.T) {
	cases := []struct {
		name    string
		floor   string
		want    float64
		wantErr string
	}{
		{name: "margin floor", floor: `cost / (1 - lookup(margins, category, default_margin))`, want: 12 / 0.85},
		{name: "csv margin floor", floor: `cost / (1 - lookup(csv_margins, category))`, want: 16},
		{name: "snapped discount", floor: `price * (1 - snap_down(0.25, ladder))`, want: 16},
		{name: "price ending", floor: `price_ending(price * 0.9, .99)`, want: 17.99},
		{name: "clamp", floor: `clamp(cost * 2, cost, price)`, want: 20},
		{name: "missing key", floor: `lookup(margins, "tv")`, wantErr: `table has no key "tv"`},
		{name: "NaN bound is an error", floor: `snap_down(0.05, [0.1])`, wantErr: "bound is NaN"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			r, err := loadFuncRule(t, funcIfField("calendar", "true")+"    floor: "+strconv.Quote(c.floor)+"\n")
			if err != nil {
				t.Fatalf("load %s: %v", c.floor, err)
			}
			got, err := r.Floor.Float(NewVM(), any(funcFacts()))
			if c.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), c.wantErr) {
					t.Fatalf("%s = %v, %v; want error containing %q", c.floor, got, err, c.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatalf("%s: %v", c.floor, err)
			}
			if !funcSameFloat(got, c.want, Tolerance) {
				t.Errorf("%s = %v, want %v", c.floor, got, c.want)
			}
		})
	}
}

// TestLookupLoadErrors checks lookup calls the type checker must reject.
func TestLookupLoadErrors(t *testing.T) {
	cases := []struct {
		name string
		cond string
		code Code
	}{
		{"string default on a numeric table", `lookup(margins, category, "none") == 0`, CodeTypeError},
		{"numeric default on a string table", `lookup(owners, category, 1) == ""`, CodeTypeError},
		{"number key", `lookup(margins, 1) == 0`, CodeTypeError},
		{"var that is not a table", `lookup(ladder, category) == 0`, CodeTypeError},
		{"undefined table", `lookup(nosuch, category) == 0`, CodeMissingTable},
		{"one argument", `lookup(margins) == 0`, CodeTypeError},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			_, err := loadFuncRule(t, funcIfField("calendar", c.cond))
			funcAssertLoadCode(t, err, c.code)
		})
	}
}

func funcAssertLoadCode(t *testing.T, err error, code Code) {
	t.Helper()
	if err == nil {
		t.Fatal("want a load error, got a valid rule set")
	}
	var es Errors
	if !errors.As(err, &es) {
		t.Fatalf("want Errors, got %T: %v", err, err)
	}
	for _, e := range es {
		if e.Code == code {
			return
		}
	}
	t.Errorf("want an error with code %s, got %v", code, err)
}

// TestFuncDisabledBuiltins checks that expr's now() and repeat() cannot be
// used anywhere in a rule, while the `now` fact and other expr builtins can.
func TestFuncDisabledBuiltins(t *testing.T) {
	cases := []struct {
		name   string
		fields string
		ok     bool
	}{
		{name: "now() in if", fields: funcIfField("calendar", `now() > at`)},
		{name: "now() in floor", fields: funcIfField("calendar", "true") + `    floor: "in_days(now() - at)"` + "\n"},
		{name: "now() in message", fields: funcIfField("calendar", "true") + `    message: "at {{now()}}"` + "\n"},
		{name: "repeat() in if", fields: funcIfField("calendar", `repeat("a", 3) == "aaa"`)},
		{name: "repeat() in message", fields: funcIfField("calendar", "true") + `    message: "{{repeat(sku, 1000)}}"` + "\n"},
		{name: "repeat() in let", fields: funcIfField("calendar", `let s = repeat(sku, 2); len(s) > 0`)},
		{name: "the now fact is allowed", fields: funcIfField("calendar", `at >= now`), ok: true},
		{name: "other expr builtins are allowed", fields: funcIfField("calendar", `abs(-1) == 1 && upper(sku) != ""`), ok: true},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			_, err := loadFuncRule(t, c.fields)
			if c.ok {
				if err != nil {
					t.Fatalf("want valid, got %v", err)
				}
				return
			}
			if err == nil {
				t.Fatal("LoadSource accepted a disabled builtin")
			}
		})
	}
	// functionOptions disables them for a plain expr.Compile too.
	for _, src := range []string{`now()`, `repeat("a", 3)`} {
		t.Run("expr.Compile "+src, func(t *testing.T) {
			if _, err := compileFunc(src); err == nil {
				t.Errorf("expr.Compile(%s) with functionOptions succeeded", src)
			}
		})
	}
}

// keys() lists a map's keys sorted: expr's own lists them in Go's random
// map order, and a message naming them would differ between two runs.
func TestKeysSorted(t *testing.T) {
	r, err := loadFuncRule(t, funcIfField("calendar", `join(keys(channels), ",") == "a,b,c,d,e,f,g,h" && keys(channels)[0] == "a"`))
	if err != nil {
		t.Fatal(err)
	}
	f := funcFacts()
	f.Channels = map[string]ChannelFacts{}
	for _, k := range []string{"h", "c", "a", "f", "b", "e", "g", "d"} {
		f.Channels[k] = ChannelFacts{}
	}
	v := NewVM()
	for range 20 {
		ok, err := r.If.Bool(v, any(f))
		if err != nil || !ok {
			t.Fatalf("keys not sorted: %v %v", ok, err)
		}
	}
}
