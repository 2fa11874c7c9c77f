package main

import (
	"fmt"
	"math"
	"sort"
	"strings"

	"github.com/google/cel-go/cel"
	"github.com/google/cel-go/common/types"
	"github.com/google/cel-go/common/types/ref"
	"github.com/google/cel-go/interpreter"

	"github.com/promoguard/promoguard/rules"
)

// celRule is one rule of the reference pack written in CEL, keyed by the
// expr source it translates (whitespace aside).
type celRule struct {
	expr, cel string
}

// celRules translates examples/rules as it stood when written. A rule whose
// source differs is not translated and runs its expr program instead.
var celRules = []celRule{
	{`has_cost && margin < lookup(category_margin, category, default_min_margin)`,
		`has_cost && margin < (category in category_margin ? category_margin[category] : default_min_margin)`},
	{`cost / (1 - lookup(category_margin, category, default_min_margin))`,
		`cost / (1.0 - (category in category_margin ? category_margin[category] : default_min_margin))`},
	{`has_cost && effective_price < cost`, `has_cost && effective_price < cost`},
	{`cost`, `cost`},
	{`has_map_price && effective_price < map_price && !near(effective_price, map_price)`,
		`has_map_price && effective_price < map_price && !near(effective_price, map_price)`},
	{`map_price`, `map_price`},
	{`len(promos) > 0 && !on_ladder(promo_discount, ladder)`, `size(promos) > 0 && !on_ladder(promo_discount, ladder)`},
	{`price * (1 - snap_down(promo_discount, ladder))`, `price * (1.0 - snap_down(promo_discount, ladder))`},
	{`promo.kind == "percent" && !on_ladder(promo.fraction, ladder)`, `promo.kind == "percent" && !on_ladder(promo.fraction, ladder)`},
	{`any(overlaps, .a.stacking == "exclusive" && .b.stacking == "exclusive" && .a.partner != .b.partner)`,
		`overlaps.exists(o, o.a.stacking == "exclusive" && o.b.stacking == "exclusive" && o.a.partner != o.b.partner)`},
	{`len(blocked) > 0 && any(promos, .stacking == "exclusive") && any(blocked, .partner != promos[0].partner)`,
		`size(blocked) > 0 && promos.exists(p, p.stacking == "exclusive") && blocked.exists(b, b.partner != promos[0].partner)`},
	{`any(overlaps, .reason == "same_priority")`, `overlaps.exists(o, o.reason == "same_priority")`},
	{`len(promos) > 0 && promo_discount > lookup(category_max_depth, category, default_max_depth) &&
		!near(promo_discount, lookup(category_max_depth, category, default_max_depth))`,
		`size(promos) > 0 && promo_discount > (category in category_max_depth ? category_max_depth[category] : default_max_depth) &&
		!near(promo_discount, category in category_max_depth ? category_max_depth[category] : default_max_depth)`},
	{`price * (1 - lookup(category_max_depth, category, default_max_depth))`,
		`price * (1.0 - (category in category_max_depth ? category_max_depth[category] : default_max_depth))`},
	{`len(promos) > 0 && brand in brand_max_depth && promo_discount > lookup(brand_max_depth, brand, 1) &&
		!near(promo_discount, lookup(brand_max_depth, brand, 1))`,
		`size(promos) > 0 && brand in brand_max_depth && promo_discount > brand_max_depth[brand] &&
		!near(promo_discount, brand_max_depth[brand])`},
	{`price * (1 - lookup(brand_max_depth, brand, 1))`,
		`price * (1.0 - (brand in brand_max_depth ? brand_max_depth[brand] : 1.0))`},
	{`len(promos) > 0 && has_cost && channel in channel_fee &&
		margin - lookup(channel_fee, channel, 0) < lookup(category_margin, category, default_min_margin)`,
		`size(promos) > 0 && has_cost && channel in channel_fee &&
		margin - channel_fee[channel] < (category in category_margin ? category_margin[category] : default_min_margin)`},
	{`cost / (1 - lookup(category_margin, category, default_min_margin) - lookup(channel_fee, channel, 0))`,
		`cost / (1.0 - (category in category_margin ? category_margin[category] : default_min_margin) - (channel in channel_fee ? channel_fee[channel] : 0.0))`},
	{`has_list_price && region in region_max_discount && discount > lookup(region_max_discount, region, 1) &&
		!near(discount, lookup(region_max_discount, region, 1))`,
		`has_list_price && region in region_max_discount && discount > region_max_discount[region] &&
		!near(discount, region_max_discount[region])`},
	{`list_price * (1 - lookup(region_max_discount, region, 1))`,
		`list_price * (1.0 - (region in region_max_discount ? region_max_discount[region] : 1.0))`},
	{`len(promo.funded_by) > 0 && !near(sum(values(promo.funded_by)), 1)`,
		`size(promo.funded_by) > 0 && !near(sum_values(promo.funded_by), 1.0)`},
	{`any(keys(promo.funded_by), let sells = " " + lookup(partner_channels, #, "") + " ";
		any(len(promo.channels) > 0 ? promo.channels : all_channels, !(sells contains " " + # + " ")))`,
		`promo.funded_by.exists(p, (size(promo.channels) > 0 ? promo.channels : all_channels).exists(c,
		!((" " + (p in partner_channels ? partner_channels[p] : "") + " ").contains(" " + c + " "))))`},
	{`any(keys(channels), channels[#].currency == currency &&
		promo_discount - channels[#].promo_discount > parity_tolerance + 1e-9)`,
		`channels.exists(k, channels[k].currency == currency && promo_discount - channels[k].promo_discount > parity_tolerance + 1e-9)`},
	{`history.changes_1h > max_changes_1h`, `history.changes_1h > max_changes_1h`},
	{`history.max_drop_24h > max_drop_24h`, `history.max_drop_24h > max_drop_24h`},
	{`len(promos) > 0 && stock.expected_promo_demand > stock.available + stock.inbound`,
		`size(promos) > 0 && stock.expected_promo_demand > stock.available + stock.inbound`},
	{`len(promos) > 0 && stock.expected_promo_demand > stock.available &&
		stock.expected_promo_demand <= stock.available + stock.inbound`,
		`size(promos) > 0 && stock.expected_promo_demand > stock.available && stock.expected_promo_demand <= stock.available + stock.inbound`},
}

func norm(s string) string { return strings.Join(strings.Fields(s), " ") }

func celSource(exprSrc string) (string, bool) {
	n := norm(exprSrc)
	for _, r := range celRules {
		if norm(r.expr) == n {
			return r.cel, true
		}
	}
	return "", false
}

// The facts as CEL variables: scalars typed, structured ones as maps of
// dyn, converted once per context.
var celFactDecls = []cel.EnvOption{
	cel.Variable("sku", cel.StringType), cel.Variable("channel", cel.StringType),
	cel.Variable("category", cel.StringType), cel.Variable("brand", cel.StringType),
	cel.Variable("seller", cel.StringType), cel.Variable("currency", cel.StringType),
	cel.Variable("region", cel.StringType),
	cel.Variable("list_price", cel.DoubleType), cel.Variable("price", cel.DoubleType),
	cel.Variable("cost", cel.DoubleType), cel.Variable("map_price", cel.DoubleType),
	cel.Variable("has_cost", cel.BoolType), cel.Variable("has_list_price", cel.BoolType),
	cel.Variable("has_map_price", cel.BoolType),
	cel.Variable("effective_price", cel.DoubleType), cel.Variable("discount", cel.DoubleType),
	cel.Variable("promo_discount", cel.DoubleType), cel.Variable("margin", cel.DoubleType),
	cel.Variable("promos", cel.ListType(cel.MapType(cel.StringType, cel.DynType))),
	cel.Variable("blocked", cel.ListType(cel.MapType(cel.StringType, cel.DynType))),
	cel.Variable("overlaps", cel.ListType(cel.MapType(cel.StringType, cel.DynType))),
	cel.Variable("stock", cel.MapType(cel.StringType, cel.DoubleType)),
	cel.Variable("channels", cel.MapType(cel.StringType, cel.MapType(cel.StringType, cel.DynType))),
	cel.Variable("history", cel.MapType(cel.StringType, cel.DynType)),
	cel.Variable("promo", cel.MapType(cel.StringType, cel.DynType)),
}

// the built-in functions of the rule language the pack uses
var celFuncs = []cel.EnvOption{
	cel.Function("near", cel.Overload("near_double_double", []*cel.Type{cel.DoubleType, cel.DoubleType}, cel.BoolType,
		cel.BinaryBinding(func(a, b ref.Val) ref.Val {
			x, y := float64(a.(types.Double)), float64(b.(types.Double))
			return types.Bool(x == y || math.Abs(x-y) <= rules.Tolerance)
		}))),
	cel.Function("on_ladder", cel.Overload("on_ladder_double_list", []*cel.Type{cel.DoubleType, cel.ListType(cel.DoubleType)}, cel.BoolType,
		cel.BinaryBinding(func(a, b ref.Val) ref.Val {
			return types.Bool(rules.OnLadder(float64(a.(types.Double)), celFloats(b)))
		}))),
	cel.Function("snap_down", cel.Overload("snap_down_double_list", []*cel.Type{cel.DoubleType, cel.ListType(cel.DoubleType)}, cel.DoubleType,
		cel.BinaryBinding(func(a, b ref.Val) ref.Val {
			return types.Double(rules.SnapDown(float64(a.(types.Double)), celFloats(b)))
		}))),
	cel.Function("sum_values", cel.Overload("sum_values_map", []*cel.Type{cel.MapType(cel.StringType, cel.DoubleType)}, cel.DoubleType,
		cel.UnaryBinding(func(a ref.Val) ref.Val {
			m := a.(interface{ Value() any }).Value()
			sum := 0.0
			switch m := m.(type) {
			case map[string]float64:
				for _, v := range m {
					sum += v
				}
			default:
				return types.NewErr("sum_values: %T", m)
			}
			return types.Double(sum)
		}))),
}

func celFloats(v ref.Val) []float64 {
	if l, ok := v.Value().([]float64); ok {
		return l
	}
	return nil
}

// celType is the CEL type of a var or table value.
func celValue(v any) (*cel.Type, any, error) {
	switch v := v.(type) {
	case int:
		return cel.IntType, int64(v), nil
	case float64:
		return cel.DoubleType, v, nil
	case string:
		return cel.StringType, v, nil
	case bool:
		return cel.BoolType, v, nil
	case []float64:
		return cel.ListType(cel.DoubleType), v, nil
	case []string:
		return cel.ListType(cel.StringType), v, nil
	case map[string]float64:
		return cel.MapType(cel.StringType, cel.DoubleType), v, nil
	case map[string]string:
		return cel.MapType(cel.StringType, cel.StringType), v, nil
	}
	return nil, nil, fmt.Errorf("cel: no type for %T", v)
}

// CEL runs the rules translated to CEL (cel-go), compiled once per rule
// with the group's vars and tables as variables, on an activation that
// converts the engine's facts once per context.
type CEL struct {
	progs  map[*rules.Expr]cel.Program
	consts map[*rules.Group]map[string]any
	fb     *fallback
	act    celActivation
}

// NewCEL compiles rs; Untranslated lists the rules left to expr.
func NewCEL(rs *rules.RuleSet) (*CEL, coverage, error) {
	c := &CEL{progs: map[*rules.Expr]cel.Program{}, consts: map[*rules.Group]map[string]any{}, fb: newFallback()}
	var cov coverage
	for _, r := range rs.Rules {
		opts := append(append([]cel.EnvOption{}, celFactDecls...), celFuncs...)
		consts := map[string]any{}
		for _, m := range []map[string]any{r.Group.Vars, r.Group.Tables} {
			names := make([]string, 0, len(m))
			for k := range m {
				names = append(names, k)
			}
			sort.Strings(names)
			for _, k := range names {
				t, v, err := celValue(m[k])
				if err != nil {
					return nil, cov, err
				}
				opts = append(opts, cel.Variable(k, t))
				consts[k] = v
			}
		}
		env, err := cel.NewEnv(opts...)
		if err != nil {
			return nil, cov, err
		}
		ok := true
		progs := map[*rules.Expr]cel.Program{}
		for _, x := range []*rules.Expr{r.If, r.Floor, r.Ceiling} {
			if x == nil {
				continue
			}
			s, found := celSource(x.Source)
			if !found {
				ok = false
				break
			}
			ast, iss := env.Compile(s)
			if iss.Err() != nil {
				return nil, cov, fmt.Errorf("cel: %s: %w", r.ID(), iss.Err())
			}
			prg, err := env.Program(ast, cel.EvalOptions(cel.OptOptimize))
			if err != nil {
				return nil, cov, fmt.Errorf("cel: %s: %w", r.ID(), err)
			}
			progs[x] = prg
		}
		if !ok {
			cov.Untranslated = append(cov.Untranslated, r.ID())
			continue
		}
		cov.Translated = append(cov.Translated, r.ID())
		for x, p := range progs {
			c.progs[x] = p
		}
		c.consts[r.Group] = consts
	}
	return c, cov, nil
}

// Eval implements engine.Evaluator.
func (c *CEL) Eval(r *rules.Rule, x *rules.Expr, f *rules.Facts, ctx uint64) (any, error) {
	prg, ok := c.progs[x]
	if !ok {
		return c.fb.eval(r, x, f, ctx)
	}
	c.act.bind(f, ctx, c.consts[r.Group])
	out, _, err := prg.Eval(&c.act)
	if err != nil {
		return nil, err
	}
	return out.Value(), nil
}

// celActivation resolves the facts of one context, converting each
// structured fact the first time a rule reads it.
type celActivation struct {
	f      *rules.Facts
	ctx    uint64
	consts map[string]any
	cache  map[string]any
}

func (a *celActivation) bind(f *rules.Facts, ctx uint64, consts map[string]any) {
	a.consts = consts
	if a.ctx == ctx && a.f != nil {
		return
	}
	a.f, a.ctx = f, ctx
	if a.cache == nil {
		a.cache = map[string]any{}
	}
	clear(a.cache)
}

func (a *celActivation) Parent() interpreter.Activation { return nil }

func (a *celActivation) ResolveName(name string) (any, bool) {
	f := a.f
	switch name {
	case "sku":
		return f.SKU, true
	case "channel":
		return f.Channel, true
	case "category":
		return f.Category, true
	case "brand":
		return f.Brand, true
	case "seller":
		return f.Seller, true
	case "currency":
		return f.Currency, true
	case "region":
		return f.Region, true
	case "list_price":
		return f.ListPrice, true
	case "price":
		return f.Price, true
	case "cost":
		return f.Cost, true
	case "map_price":
		return f.MapPrice, true
	case "has_cost":
		return f.HasCost, true
	case "has_list_price":
		return f.HasListPrice, true
	case "has_map_price":
		return f.HasMapPrice, true
	case "effective_price":
		return f.EffectivePrice, true
	case "discount":
		return f.Discount, true
	case "promo_discount":
		return f.PromoDiscount, true
	case "margin":
		return f.Margin, true
	}
	if v, ok := a.consts[name]; ok {
		return v, true
	}
	if v, ok := a.cache[name]; ok {
		return v, true
	}
	var v any
	switch name {
	case "promos":
		v = promoList(f.Promos)
	case "blocked":
		v = promoList(f.Blocked)
	case "overlaps":
		l := make([]any, len(f.Overlaps))
		for i, o := range f.Overlaps {
			l[i] = map[string]any{"a": promoMap(o.A), "b": promoMap(o.B), "reason": o.Reason}
		}
		v = l
	case "stock":
		s := f.Stock
		v = map[string]float64{"on_hand": s.OnHand, "reserved": s.Reserved, "available": s.Available, "inbound": s.Inbound,
			"daily_velocity": s.DailyVelocity, "days_of_cover": s.DaysOfCover, "expected_promo_demand": s.ExpectedPromoDemand}
	case "channels":
		m := make(map[string]any, len(f.Channels))
		for k, c := range f.Channels {
			m[k] = map[string]any{"price": c.Price, "effective_price": c.EffectivePrice, "discount": c.Discount,
				"promo_discount": c.PromoDiscount, "currency": c.Currency}
		}
		v = m
	case "history":
		h := f.History
		v = map[string]any{"changes_1h": int64(h.Changes1h), "max_drop_24h": h.MaxDrop24h, "low_24h": h.Low24h}
	case "promo":
		v = promoMap(&f.Promo)
	default:
		return nil, false
	}
	a.cache[name] = v
	return v, true
}

func promoList(ps []*rules.Promo) []any {
	l := make([]any, len(ps))
	for i, p := range ps {
		l[i] = promoMap(p)
	}
	return l
}

func promoMap(p *rules.Promo) map[string]any {
	funded := p.FundedBy
	if funded == nil {
		funded = map[string]float64{}
	}
	chans := p.Channels
	if chans == nil {
		chans = []string{}
	}
	return map[string]any{
		"id": p.ID, "partner": p.Partner, "partner_role": p.PartnerRole, "kind": p.Kind, "value": p.Value,
		"fraction": p.Fraction, "priority": int64(p.Priority), "stacking": p.Stacking, "currency": p.Currency,
		"funded_by": funded, "expected_uplift": p.ExpectedUplift, "channels": chans,
	}
}
