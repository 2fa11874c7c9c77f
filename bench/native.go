package bench

import (
	"math"
	"strings"

	"github.com/expr-lang/expr/vm"

	"github.com/promoguard/promoguard/engine"
	"github.com/promoguard/promoguard/rules"
)

// Native is the reference rule pack (examples/rules) hand-written in Go:
// the fastest these rules can be evaluated on the engine's facts, the
// "hand-written" line of the side-by-side table. A rule is translated only
// when its condition and bounds are, character for character (whitespace
// aside), the source the translation was written from; any other rule —
// the pack grows and changes — runs its expr program, and Untranslated
// says which. Vars and tables are read from the rule's group, as expr
// has them.
type Native struct {
	byIndex []*nativeRule
	vm      *vm.VM
	// expr fallback: the facts boxed once per context
	env   any
	envID uint64
}

type nativeRule struct {
	cond           func(f *rules.Facts) bool
	floor, ceiling func(f *rules.Facts) float64
}

// NativeCoverage says which rules of a set the hand-written evaluator
// translates.
type NativeCoverage struct {
	Translated, Untranslated []string
}

// NewNative returns the hand-written evaluator of rs, one per engine.
func NewNative(rs *rules.RuleSet) (*Native, NativeCoverage) {
	n := &Native{byIndex: make([]*nativeRule, len(rs.Rules)), vm: rules.NewVM()}
	var cov NativeCoverage
	for i, r := range rs.Rules {
		nr := translate(r)
		if nr == nil {
			cov.Untranslated = append(cov.Untranslated, r.ID())
			continue
		}
		n.byIndex[i] = nr
		cov.Translated = append(cov.Translated, r.ID())
	}
	return n, cov
}

var _ engine.Evaluator = (*Native)(nil)

// Eval implements engine.Evaluator.
func (n *Native) Eval(r *rules.Rule, x *rules.Expr, f *rules.Facts, ctx uint64) (any, error) {
	var nr *nativeRule
	if r.Index >= 0 && r.Index < len(n.byIndex) {
		nr = n.byIndex[r.Index]
	}
	switch {
	case nr == nil:
	case x == r.If:
		return nr.cond(f), nil
	case x == r.Floor:
		return nr.floor(f), nil
	case x == r.Ceiling:
		return nr.ceiling(f), nil
	}
	if n.envID != ctx || n.env == nil {
		n.env, n.envID = *f, ctx
	}
	if x == r.If {
		return x.Bool(n.vm, n.env)
	}
	return x.Float(n.vm, n.env)
}

// translation is a rule hand-written in Go: its sources, and a builder
// that reads the group's vars and tables.
type translation struct {
	cond, floor, ceiling string
	build                func(g *rules.Group) *nativeRule
}

func normalize(s string) string { return strings.Join(strings.Fields(s), " ") }

func src(x *rules.Expr) string {
	if x == nil {
		return ""
	}
	return normalize(x.Source)
}

// translate returns r hand-written, or nil when its sources are not ones a
// translation was written from.
func translate(r *rules.Rule) *nativeRule {
	if r.If == nil {
		return nil
	}
	for _, t := range translations {
		if normalize(t.cond) == src(r.If) && normalize(t.floor) == src(r.Floor) && normalize(t.ceiling) == src(r.Ceiling) {
			return t.build(r.Group)
		}
	}
	return nil
}

func near(a, b float64) bool { return a == b || math.Abs(a-b) <= rules.Tolerance }

func onLadder(x float64, ladder []float64) bool { return rules.OnLadder(x, ladder) }

func num(v any) float64 {
	switch v := v.(type) {
	case float64:
		return v
	case int:
		return float64(v)
	}
	return math.NaN()
}

func varNum(g *rules.Group, name string) float64 { return num(g.Vars[name]) }

func varFloats(g *rules.Group, name string) []float64 {
	switch v := g.Vars[name].(type) {
	case []float64:
		return v
	case []any:
		out := make([]float64, len(v))
		for i, x := range v {
			out[i] = num(x)
		}
		return out
	}
	return nil
}

func varStrings(g *rules.Group, name string) []string {
	v, _ := g.Vars[name].([]string)
	return v
}

func table(g *rules.Group, name string) map[string]float64 {
	t, _ := g.Tables[name].(map[string]float64)
	return t
}

func strTable(g *rules.Group, name string) map[string]string {
	t, _ := g.Tables[name].(map[string]string)
	return t
}

func lookup(t map[string]float64, k string, def float64) float64 {
	if v, ok := t[k]; ok {
		return v
	}
	return def
}

// translations of examples/rules, as the pack stood when they were
// written.
var translations = []translation{
	{ // margin/margin-floor
		cond:  `has_cost && margin < lookup(category_margin, category, default_min_margin)`,
		floor: `cost / (1 - lookup(category_margin, category, default_min_margin))`,
		build: func(g *rules.Group) *nativeRule {
			t, def := table(g, "category_margin"), varNum(g, "default_min_margin")
			return &nativeRule{
				cond:  func(f *rules.Facts) bool { return f.HasCost && f.Margin < lookup(t, f.Category, def) },
				floor: func(f *rules.Facts) float64 { return f.Cost / (1 - lookup(t, f.Category, def)) },
			}
		},
	},
	{ // margin/below-cost
		cond:  `has_cost && effective_price < cost`,
		floor: `cost`,
		build: func(*rules.Group) *nativeRule {
			return &nativeRule{
				cond:  func(f *rules.Facts) bool { return f.HasCost && f.EffectivePrice < f.Cost },
				floor: func(f *rules.Facts) float64 { return f.Cost },
			}
		},
	},
	{ // map/below-map
		cond:  `has_map_price && effective_price < map_price && !near(effective_price, map_price)`,
		floor: `map_price`,
		build: func(*rules.Group) *nativeRule {
			return &nativeRule{
				cond: func(f *rules.Facts) bool {
					return f.HasMapPrice && f.EffectivePrice < f.MapPrice && !near(f.EffectivePrice, f.MapPrice)
				},
				floor: func(f *rules.Facts) float64 { return f.MapPrice },
			}
		},
	},
	{ // ladder/stacked-off-ladder
		cond:  `len(promos) > 0 && !on_ladder(promo_discount, ladder)`,
		floor: `price * (1 - snap_down(promo_discount, ladder))`,
		build: func(g *rules.Group) *nativeRule {
			l := varFloats(g, "ladder")
			return &nativeRule{
				cond:  func(f *rules.Facts) bool { return len(f.Promos) > 0 && !onLadder(f.PromoDiscount, l) },
				floor: func(f *rules.Facts) float64 { return f.Price * (1 - rules.SnapDown(f.PromoDiscount, l)) },
			}
		},
	},
	{ // ladder/promo-off-ladder
		cond: `promo.kind == "percent" && !on_ladder(promo.fraction, ladder)`,
		build: func(g *rules.Group) *nativeRule {
			l := varFloats(g, "ladder")
			return &nativeRule{cond: func(f *rules.Facts) bool { return f.Promo.Kind == "percent" && !onLadder(f.Promo.Fraction, l) }}
		},
	},
	{ // overlap/exclusive-clash
		cond: `any(overlaps, .a.stacking == "exclusive" && .b.stacking == "exclusive" && .a.partner != .b.partner)`,
		build: func(*rules.Group) *nativeRule {
			return &nativeRule{cond: func(f *rules.Facts) bool {
				for _, o := range f.Overlaps {
					if o.A.Stacking == "exclusive" && o.B.Stacking == "exclusive" && o.A.Partner != o.B.Partner {
						return true
					}
				}
				return false
			}}
		},
	},
	{ // overlap/blocked-by-exclusive
		cond: `len(blocked) > 0 && any(promos, .stacking == "exclusive") && any(blocked, .partner != promos[0].partner)`,
		build: func(*rules.Group) *nativeRule {
			return &nativeRule{cond: func(f *rules.Facts) bool {
				if len(f.Blocked) == 0 {
					return false
				}
				excl := false
				for _, p := range f.Promos {
					if p.Stacking == "exclusive" {
						excl = true
						break
					}
				}
				if !excl {
					return false
				}
				for _, b := range f.Blocked {
					if b.Partner != f.Promos[0].Partner {
						return true
					}
				}
				return false
			}}
		},
	},
	{ // overlap/same-priority
		cond: `any(overlaps, .reason == "same_priority")`,
		build: func(*rules.Group) *nativeRule {
			return &nativeRule{cond: func(f *rules.Facts) bool {
				for _, o := range f.Overlaps {
					if o.Reason == "same_priority" {
						return true
					}
				}
				return false
			}}
		},
	},
	{ // depth/category-depth
		cond: `len(promos) > 0 && promo_discount > lookup(category_max_depth, category, default_max_depth) &&
			!near(promo_discount, lookup(category_max_depth, category, default_max_depth))`,
		floor: `price * (1 - lookup(category_max_depth, category, default_max_depth))`,
		build: func(g *rules.Group) *nativeRule {
			t, def := table(g, "category_max_depth"), varNum(g, "default_max_depth")
			return &nativeRule{
				cond: func(f *rules.Facts) bool {
					if len(f.Promos) == 0 {
						return false
					}
					d := lookup(t, f.Category, def)
					return f.PromoDiscount > d && !near(f.PromoDiscount, d)
				},
				floor: func(f *rules.Facts) float64 { return f.Price * (1 - lookup(t, f.Category, def)) },
			}
		},
	},
	{ // depth/brand-depth
		cond: `len(promos) > 0 && brand in brand_max_depth && promo_discount > lookup(brand_max_depth, brand, 1) &&
			!near(promo_discount, lookup(brand_max_depth, brand, 1))`,
		floor: `price * (1 - lookup(brand_max_depth, brand, 1))`,
		build: func(g *rules.Group) *nativeRule {
			t := table(g, "brand_max_depth")
			return &nativeRule{
				cond: func(f *rules.Facts) bool {
					if len(f.Promos) == 0 {
						return false
					}
					d, ok := t[f.Brand]
					return ok && f.PromoDiscount > d && !near(f.PromoDiscount, d)
				},
				floor: func(f *rules.Facts) float64 { return f.Price * (1 - lookup(t, f.Brand, 1)) },
			}
		},
	},
	{ // exceptions/marketplace-fee
		cond: `len(promos) > 0 && has_cost && channel in channel_fee &&
			margin - lookup(channel_fee, channel, 0) < lookup(category_margin, category, default_min_margin)`,
		floor: `cost / (1 - lookup(category_margin, category, default_min_margin) - lookup(channel_fee, channel, 0))`,
		build: func(g *rules.Group) *nativeRule {
			fee, cm, def := table(g, "channel_fee"), table(g, "category_margin"), varNum(g, "default_min_margin")
			return &nativeRule{
				cond: func(f *rules.Facts) bool {
					if len(f.Promos) == 0 || !f.HasCost {
						return false
					}
					c, ok := fee[f.Channel]
					return ok && f.Margin-c < lookup(cm, f.Category, def)
				},
				floor: func(f *rules.Facts) float64 {
					return f.Cost / (1 - lookup(cm, f.Category, def) - lookup(fee, f.Channel, 0))
				},
			}
		},
	},
	{ // exceptions/regional-cap
		cond: `has_list_price && region in region_max_discount && discount > lookup(region_max_discount, region, 1) &&
			!near(discount, lookup(region_max_discount, region, 1))`,
		floor: `list_price * (1 - lookup(region_max_discount, region, 1))`,
		build: func(g *rules.Group) *nativeRule {
			t := table(g, "region_max_discount")
			return &nativeRule{
				cond: func(f *rules.Facts) bool {
					if !f.HasListPrice {
						return false
					}
					d, ok := t[f.Region]
					return ok && f.Discount > d && !near(f.Discount, d)
				},
				floor: func(f *rules.Facts) float64 { return f.ListPrice * (1 - lookup(t, f.Region, 1)) },
			}
		},
	},
	{ // funding/shares-not-one
		cond: `len(promo.funded_by) > 0 && !near(sum(values(promo.funded_by)), 1)`,
		build: func(*rules.Group) *nativeRule {
			return &nativeRule{cond: func(f *rules.Facts) bool {
				if len(f.Promo.FundedBy) == 0 {
					return false
				}
				sum := 0.0
				for _, v := range f.Promo.FundedBy {
					sum += v
				}
				return !near(sum, 1)
			}}
		},
	},
	{ // funding/funder-off-channel
		cond: `any(keys(promo.funded_by), let sells = " " + lookup(partner_channels, #, "") + " ";
			any(len(promo.channels) > 0 ? promo.channels : all_channels, !(sells contains " " + # + " ")))`,
		build: func(g *rules.Group) *nativeRule {
			pc, all := strTable(g, "partner_channels"), varStrings(g, "all_channels")
			return &nativeRule{cond: func(f *rules.Facts) bool {
				chans := all
				if len(f.Promo.Channels) > 0 {
					chans = f.Promo.Channels
				}
				for partner := range f.Promo.FundedBy {
					sells := " " + pc[partner] + " "
					for _, c := range chans {
						if !strings.Contains(sells, " "+c+" ") {
							return true
						}
					}
				}
				return false
			}}
		},
	},
	{ // parity/discount-parity
		cond: `any(keys(channels), channels[#].currency == currency &&
			promo_discount - channels[#].promo_discount > parity_tolerance + 1e-9)`,
		build: func(g *rules.Group) *nativeRule {
			tol := varNum(g, "parity_tolerance")
			return &nativeRule{cond: func(f *rules.Facts) bool {
				for _, c := range f.Channels {
					if c.Currency == f.Currency && f.PromoDiscount-c.PromoDiscount > tol+1e-9 {
						return true
					}
				}
				return false
			}}
		},
	},
	{ // pricewar/too-many-changes
		cond: `history.changes_1h > max_changes_1h`,
		build: func(g *rules.Group) *nativeRule {
			limit := varNum(g, "max_changes_1h")
			return &nativeRule{cond: func(f *rules.Facts) bool { return float64(f.History.Changes1h) > limit }}
		},
	},
	{ // pricewar/deep-drop
		cond: `history.max_drop_24h > max_drop_24h`,
		build: func(g *rules.Group) *nativeRule {
			limit := varNum(g, "max_drop_24h")
			return &nativeRule{cond: func(f *rules.Facts) bool { return f.History.MaxDrop24h > limit }}
		},
	},
	{ // stock/promo-sells-out
		cond: `len(promos) > 0 && stock.expected_promo_demand > stock.available + stock.inbound`,
		build: func(*rules.Group) *nativeRule {
			return &nativeRule{cond: func(f *rules.Facts) bool {
				return len(f.Promos) > 0 && f.Stock.ExpectedPromoDemand > f.Stock.Available+f.Stock.Inbound
			}}
		},
	},
	{ // stock/promo-needs-inbound
		cond: `len(promos) > 0 && stock.expected_promo_demand > stock.available &&
			stock.expected_promo_demand <= stock.available + stock.inbound`,
		build: func(*rules.Group) *nativeRule {
			return &nativeRule{cond: func(f *rules.Facts) bool {
				s := &f.Stock
				return len(f.Promos) > 0 && s.ExpectedPromoDemand > s.Available && s.ExpectedPromoDemand <= s.Available+s.Inbound
			}}
		},
	},
}
