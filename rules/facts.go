package rules

import (
	"math/bits"
	"reflect"
	"strings"
	"time"
)

// Facts is the environment every rule expression is compiled against and
// evaluated on. The engine fills one per evaluation context — a (sku, channel,
// segment) in calendar scope, a (sku, channel) at the watermark in now scope,
// a promotion in promo scope — and every rule of that scope reads the same
// value.
//
// Money is in the currency's major unit. A derived fact that cannot be
// computed (no cost, a zero price) is NaN, so every comparison with it is
// false; outputs write it as null.
//
// Pass Facts to a program by value, boxed once per context and reused across
// rules: a pointer env makes every field load allocate. The lists hold
// pointers for the opposite reason: expr copies a slice element to the heap
// when a predicate visits it, so an element of []Promo costs a copy of the
// whole struct and one of []*Promo none (BenchmarkEvalRuleEach measures it).
// The engine shares these values between contexts; rules cannot mutate them.
type Facts struct {
	SKU      string `expr:"sku"`
	Channel  string `expr:"channel"`
	Category string `expr:"category"`
	Brand    string `expr:"brand"`
	Seller   string `expr:"seller"`
	Currency string `expr:"currency"`
	Region   string `expr:"region"`

	ListPrice    float64 `expr:"list_price"`
	Price        float64 `expr:"price"`
	Cost         float64 `expr:"cost"`
	MapPrice     float64 `expr:"map_price"`
	HasCost      bool    `expr:"has_cost"`
	HasListPrice bool    `expr:"has_list_price"`
	HasMapPrice  bool    `expr:"has_map_price"`

	EffectivePrice float64 `expr:"effective_price"`
	Discount       float64 `expr:"discount"`       // fraction off list_price
	PromoDiscount  float64 `expr:"promo_discount"` // fraction off price
	Margin         float64 `expr:"margin"`         // (effective_price - cost) / effective_price

	Promos   []*Promo                `expr:"promos"`   // active, in canonical order
	Blocked  []*Promo                `expr:"blocked"`  // active but blocked by an exclusive or a stop
	Overlaps []*Overlap              `expr:"overlaps"` // conflicting pairs among the active promotions
	Stock    Stock                   `expr:"stock"`
	Channels map[string]ChannelFacts `expr:"channels"` // every channel of the sku, this one included
	History  History                 `expr:"history"`
	Segment  Segment                 `expr:"segment"`
	Event    Event                   `expr:"event"`
	At       time.Time               `expr:"at"`  // max(segment start, watermark)
	Now      time.Time               `expr:"now"` // the watermark
	Promo    Promo                   `expr:"promo"`
	// Policy is the stacking policy that priced this channel (compound,
	// best_deal, sequential_stop, additive, combinable). Last, so the bits
	// of the facts before it keep their places.
	Policy string `expr:"policy"`
}

// Promo is a promotion as rules see it: in `promos` and `blocked`, and as the
// `promo` fact in promo scope.
type Promo struct {
	ID             string             `expr:"id"`
	Partner        string             `expr:"partner"`
	PartnerRole    string             `expr:"partner_role"`
	Kind           string             `expr:"kind"`     // percent, amount, fixed_price
	Value          float64            `expr:"value"`    // as given: 20 for 20 %, money for amount and fixed_price
	Fraction       float64            `expr:"fraction"` // fraction off the price it applies to; NaN when unknown
	Priority       int                `expr:"priority"`
	Stacking       string             `expr:"stacking"` // exclusive, stackable, stop
	Start          time.Time          `expr:"start"`
	End            time.Time          `expr:"end"`
	Currency       string             `expr:"currency"`
	FundedBy       map[string]float64 `expr:"funded_by"`
	ExpectedUplift float64            `expr:"expected_uplift"`
	Channels       []string           `expr:"channels"` // empty = all
	Regions        []string           `expr:"regions"`  // empty = all
	SKUs           []string           `expr:"skus"`
	Categories     []string           `expr:"categories"`
	Brands         []string           `expr:"brands"`
	CombinesWith   []string           `expr:"combines_with"` // partner roles, partners, ids or "*" (combinable policy); empty = none
}

// Overlap is a pair of active promotions that conflict on one (sku, channel)
// in one segment: at least one is exclusive, or both have the same priority
// and different partners. A precedes B in the canonical order.
type Overlap struct {
	A      *Promo `expr:"a"`
	B      *Promo `expr:"b"`
	Reason string `expr:"reason"` // exclusive, same_priority
}

// Stock sums a sku's stock over its warehouses.
type Stock struct {
	OnHand              float64 `expr:"on_hand"`
	Reserved            float64 `expr:"reserved"`
	Available           float64 `expr:"available"` // on_hand - reserved
	Inbound             float64 `expr:"inbound"`
	DailyVelocity       float64 `expr:"daily_velocity"`
	DaysOfCover         float64 `expr:"days_of_cover"`         // available / daily_velocity
	ExpectedPromoDemand float64 `expr:"expected_promo_demand"` // velocity × uplift × remaining promotion days
}

// ChannelFacts is one channel of the same sku, in the same segment.
type ChannelFacts struct {
	Price          float64 `expr:"price"`
	EffectivePrice float64 `expr:"effective_price"`
	Discount       float64 `expr:"discount"`
	PromoDiscount  float64 `expr:"promo_discount"`
	Currency       string  `expr:"currency"`
	// Policy is the channel's stacking policy. An alert's values leave it
	// out when it is the default (compound), so outputs from before the
	// fact existed stay byte-identical.
	Policy string `expr:"policy" values:"omit=compound"`
}

// History summarises a (sku, channel)'s recent price changes at the watermark.
type History struct {
	Changes1h  int     `expr:"changes_1h"`   // price changes in the last hour
	MaxDrop24h float64 `expr:"max_drop_24h"` // largest drop in 24 h, as a fraction of the price before it
	Low24h     float64 `expr:"low_24h"`      // lowest price in 24 h
}

// Segment is the calendar range being evaluated. In now scope it starts at the
// watermark; End is the zero time when nothing changes within the horizon.
type Segment struct {
	Start time.Time `expr:"start"`
	End   time.Time `expr:"end"`
}

// Event is what triggered the evaluation.
type Event struct {
	Type string    `expr:"type"` // price, stock, promo, or timer
	TS   time.Time `expr:"ts"`
}

// Scope says what one evaluation of a rule is about.
type Scope uint8

const (
	ScopeCalendar Scope = iota // once per (sku, channel, segment)
	ScopeNow                   // once per (sku, channel), at the watermark
	ScopePromo                 // once per promotion
	numScopes
)

var scopeNames = [...]string{"calendar", "now", "promo"}

func (s Scope) String() string {
	if int(s) < len(scopeNames) {
		return scopeNames[s]
	}
	return "unknown"
}

// ParseScope returns the scope with the given name.
func ParseScope(s string) (Scope, bool) {
	for i, n := range scopeNames {
		if n == s {
			return Scope(i), true
		}
	}
	return 0, false
}

// FactSet is a set of top-level facts, one bit each. The engine uses a rule's
// FactSet to skip rules whose inputs did not change.
type FactSet uint64

// Has reports whether every fact of o is in s.
func (s FactSet) Has(o FactSet) bool { return s&o == o }

// Intersects reports whether s and o share a fact.
func (s FactSet) Intersects(o FactSet) bool { return s&o != 0 }

// Names lists the facts in s in the order of the Facts struct.
func (s FactSet) Names() []string {
	var out []string
	for s != 0 {
		i := bits.TrailingZeros64(uint64(s))
		out = append(out, factList[i].Name)
		s &^= 1 << i
	}
	return out
}

func (s FactSet) String() string { return strings.Join(s.Names(), ",") }

// FactInfo describes one top-level fact.
type FactInfo struct {
	Name  string
	Bit   FactSet
	Field int // index in Facts
	Type  reflect.Type
	// scopes the fact has a value in
	scopes uint8
}

// InScope reports whether the fact has a value in scope s.
func (f *FactInfo) InScope(s Scope) bool { return f.scopes&(1<<s) != 0 }

var (
	factList  []*FactInfo
	factIndex = map[string]*FactInfo{}
)

const (
	inCalendar = 1 << ScopeCalendar
	inNow      = 1 << ScopeNow
	inPromo    = 1 << ScopePromo
	inSKU      = inCalendar | inNow
	inAll      = inCalendar | inNow | inPromo
)

// scopes of facts that do not live in the sku scopes only.
var factScopes = map[string]uint8{
	"event": inAll, "at": inAll, "now": inAll,
	"promo": inPromo,
}

func init() {
	t := reflect.TypeFor[Facts]()
	for i := range t.NumField() {
		f := t.Field(i)
		name := f.Tag.Get("expr")
		sc, ok := factScopes[name]
		if !ok {
			sc = inSKU
		}
		fi := &FactInfo{Name: name, Bit: 1 << len(factList), Field: i, Type: f.Type, scopes: sc}
		factList = append(factList, fi)
		factIndex[name] = fi
	}
}

// Fact returns the description of a top-level fact, or nil.
func Fact(name string) *FactInfo { return factIndex[name] }

// FactNames lists every top-level fact in the order of the Facts struct.
func FactNames() []string {
	out := make([]string, len(factList))
	for i, f := range factList {
		out[i] = f.Name
	}
	return out
}

// memberNames lists the expr names of a struct type's fields, for "did you
// mean" suggestions on a misspelt member.
func memberNames(t reflect.Type) []string {
	for t.Kind() == reflect.Slice || t.Kind() == reflect.Map || t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	if t.Kind() != reflect.Struct {
		return nil
	}
	var out []string
	for i := range t.NumField() {
		if n := t.Field(i).Tag.Get("expr"); n != "" {
			out = append(out, n)
		}
	}
	return out
}
