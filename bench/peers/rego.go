package main

import (
	"context"
	"encoding/json"
	"fmt"
	"math"
	"sort"
	"strings"

	"github.com/open-policy-agent/opa/v1/ast"
	"github.com/open-policy-agent/opa/v1/rego"

	"github.com/promoguard/promoguard/rules"
)

// regoRule is one rule of the reference pack in Rego: the expr sources it
// translates (whitespace aside), the body of the condition, and the value
// of the floor or ceiling.
type regoRule struct {
	cond, floor string // expr sources
	body, bound string // Rego
}

// regoRules translates examples/rules as it stood when written; the
// group's vars and tables are constants of the rule's package, lib holds
// the built-in functions. A missing fact (NaN in the engine: JSON has no
// NaN) is left out of the input, so a comparison with it is undefined and
// the rule body fails, as a comparison with NaN is false in expr.
var regoRules = []regoRule{
	{`has_cost && margin < lookup(category_margin, category, default_min_margin)`,
		`cost / (1 - lookup(category_margin, category, default_min_margin))`,
		`input.has_cost; input.margin < object.get(category_margin, input.category, default_min_margin)`,
		`input.cost / (1 - object.get(category_margin, input.category, default_min_margin))`},
	{`has_cost && effective_price < cost`, `cost`,
		`input.has_cost; input.effective_price < input.cost`, `input.cost`},
	{`has_map_price && effective_price < map_price && !near(effective_price, map_price)`, `map_price`,
		`input.has_map_price; input.effective_price < input.map_price; not lib.near(input.effective_price, input.map_price)`, `input.map_price`},
	{`len(promos) > 0 && !on_ladder(promo_discount, ladder)`, `price * (1 - snap_down(promo_discount, ladder))`,
		`count(input.promos) > 0; not lib.on_ladder(input.promo_discount, ladder)`,
		`input.price * (1 - lib.snap_down(input.promo_discount, ladder))`},
	{`promo.kind == "percent" && !on_ladder(promo.fraction, ladder)`, ``,
		`input.promo.kind == "percent"; not lib.on_ladder(input.promo.fraction, ladder)`, ``},
	{`any(overlaps, .a.stacking == "exclusive" && .b.stacking == "exclusive" && .a.partner != .b.partner)`, ``,
		`some o in input.overlaps; o.a.stacking == "exclusive"; o.b.stacking == "exclusive"; o.a.partner != o.b.partner`, ``},
	{`len(blocked) > 0 && any(promos, .stacking == "exclusive") && any(blocked, .partner != promos[0].partner)`, ``,
		`count(input.blocked) > 0; lib.any_exclusive(input.promos); some b in input.blocked; b.partner != input.promos[0].partner`, ``},
	{`any(overlaps, .reason == "same_priority")`, ``,
		`some o in input.overlaps; o.reason == "same_priority"`, ``},
	{`len(promos) > 0 && promo_discount > lookup(category_max_depth, category, default_max_depth) &&
		!near(promo_discount, lookup(category_max_depth, category, default_max_depth))`,
		`price * (1 - lookup(category_max_depth, category, default_max_depth))`,
		`count(input.promos) > 0; d := object.get(category_max_depth, input.category, default_max_depth); input.promo_discount > d; not lib.near(input.promo_discount, d)`,
		`input.price * (1 - object.get(category_max_depth, input.category, default_max_depth))`},
	{`len(promos) > 0 && brand in brand_max_depth && promo_discount > lookup(brand_max_depth, brand, 1) &&
		!near(promo_discount, lookup(brand_max_depth, brand, 1))`,
		`price * (1 - lookup(brand_max_depth, brand, 1))`,
		`count(input.promos) > 0; d := brand_max_depth[input.brand]; input.promo_discount > d; not lib.near(input.promo_discount, d)`,
		`input.price * (1 - object.get(brand_max_depth, input.brand, 1))`},
	{`len(promos) > 0 && has_cost && channel in channel_fee &&
		margin - lookup(channel_fee, channel, 0) < lookup(category_margin, category, default_min_margin)`,
		`cost / (1 - lookup(category_margin, category, default_min_margin) - lookup(channel_fee, channel, 0))`,
		`count(input.promos) > 0; input.has_cost; fee := channel_fee[input.channel]; input.margin - fee < object.get(category_margin, input.category, default_min_margin)`,
		`input.cost / ((1 - object.get(category_margin, input.category, default_min_margin)) - object.get(channel_fee, input.channel, 0))`},
	{`has_list_price && region in region_max_discount && discount > lookup(region_max_discount, region, 1) &&
		!near(discount, lookup(region_max_discount, region, 1))`,
		`list_price * (1 - lookup(region_max_discount, region, 1))`,
		`input.has_list_price; d := region_max_discount[input.region]; input.discount > d; not lib.near(input.discount, d)`,
		`input.list_price * (1 - object.get(region_max_discount, input.region, 1))`},
	{`len(promo.funded_by) > 0 && !near(sum(values(promo.funded_by)), 1)`, ``,
		`count(input.promo.funded_by) > 0; not lib.near(sum([v | some v in input.promo.funded_by]), 1)`, ``},
	{`any(keys(promo.funded_by), let sells = " " + lookup(partner_channels, #, "") + " ";
		any(len(promo.channels) > 0 ? promo.channels : all_channels, !(sells contains " " + # + " ")))`, ``,
		`some p, _ in input.promo.funded_by; some c in lib.channels_of(input.promo, all_channels); not contains(concat("", [" ", object.get(partner_channels, p, ""), " "]), concat("", [" ", c, " "]))`, ``},
	{`any(keys(channels), channels[#].currency == currency &&
		promo_discount - channels[#].promo_discount > parity_tolerance + 1e-9)`, ``,
		`some c in input.channels; c.currency == input.currency; input.promo_discount - c.promo_discount > parity_tolerance + 1e-9`, ``},
	{`history.changes_1h > max_changes_1h`, ``, `input.history.changes_1h > max_changes_1h`, ``},
	{`history.max_drop_24h > max_drop_24h`, ``, `input.history.max_drop_24h > max_drop_24h`, ``},
	{`len(promos) > 0 && stock.expected_promo_demand > stock.available + stock.inbound`, ``,
		`count(input.promos) > 0; input.stock.expected_promo_demand > input.stock.available + input.stock.inbound`, ``},
	{`len(promos) > 0 && stock.expected_promo_demand > stock.available &&
		stock.expected_promo_demand <= stock.available + stock.inbound`, ``,
		`count(input.promos) > 0; s := input.stock; s.expected_promo_demand > s.available; s.expected_promo_demand <= s.available + s.inbound`, ``},
}

const regoLib = `package promoguard.lib

near(a, b) if a == b

near(a, b) if abs(a - b) <= 1e-9

on_ladder(x, ladder) if {
	some s in ladder
	abs(s - x) <= 1e-9
}

snap_down(x, ladder) := max({s | some s in ladder; s <= x + 1e-9})

any_exclusive(ps) if {
	some p in ps
	p.stacking == "exclusive"
}

channels_of(p, all) := p.channels if count(p.channels) > 0

else := all
`

// Rego runs the rules translated to Rego with OPA's Go library: one
// prepared query per condition and bound, the facts converted to an input
// document once per context.
type Rego struct {
	queries map[*rules.Expr]*rego.PreparedEvalQuery
	reads   rules.FactSet
	fb      *fallback
	ctx     context.Context
	input   ast.Value
	inputID uint64
	opts    []rego.EvalOption
}

// NewRego compiles the translated rules of rs.
func NewRego(rs *rules.RuleSet) (*Rego, coverage, error) {
	g := &Rego{queries: map[*rules.Expr]*rego.PreparedEvalQuery{}, fb: newFallback(), ctx: context.Background()}
	var cov coverage
	modules := map[string]string{"lib.rego": regoLib}
	type pending struct {
		x   *rules.Expr
		ref string
	}
	var todo []pending
	groups := map[*rules.Group]int{}
	bodies := map[int]*strings.Builder{}
	for i, r := range rs.Rules {
		var tr *regoRule
		for k := range regoRules {
			t := &regoRules[k]
			if norm(t.cond) == norm(src(r.If)) && norm(t.floor) == norm(src(r.Floor)) && r.Ceiling == nil {
				tr = t
				break
			}
		}
		if tr == nil {
			cov.Untranslated = append(cov.Untranslated, r.ID())
			continue
		}
		cov.Translated = append(cov.Translated, r.ID())
		gi, ok := groups[r.Group]
		if !ok {
			gi = len(groups)
			groups[r.Group] = gi
			b := &strings.Builder{}
			fmt.Fprintf(b, "package promoguard.g%d\n\nimport data.promoguard.lib\n\n", gi)
			if err := regoConsts(b, r.Group); err != nil {
				return nil, cov, err
			}
			bodies[gi] = b
		}
		b := bodies[gi]
		fmt.Fprintf(b, "r%d if {\n\t%s\n}\n\n", i, strings.ReplaceAll(tr.body, "; ", "\n\t"))
		todo = append(todo, pending{r.If, fmt.Sprintf("data.promoguard.g%d.r%d", gi, i)})
		if tr.bound != "" {
			fmt.Fprintf(b, "f%d := %s\n\n", i, tr.bound)
			todo = append(todo, pending{r.Floor, fmt.Sprintf("data.promoguard.g%d.f%d", gi, i)})
		}
		g.reads |= r.Reads
	}
	for gi, b := range bodies {
		modules[fmt.Sprintf("g%d.rego", gi)] = b.String()
	}
	comp, err := ast.CompileModules(modules)
	if err != nil {
		return nil, cov, fmt.Errorf("rego: %w", err)
	}
	for _, p := range todo {
		pq, err := rego.New(rego.Compiler(comp), rego.Query(p.ref)).PrepareForEval(g.ctx)
		if err != nil {
			return nil, cov, fmt.Errorf("rego: %s: %w", p.ref, err)
		}
		g.queries[p.x] = &pq
	}
	return g, cov, nil
}

func src(x *rules.Expr) string {
	if x == nil {
		return ""
	}
	return x.Source
}

// regoConsts writes a group's vars and tables as constants.
func regoConsts(b *strings.Builder, g *rules.Group) error {
	for _, m := range []map[string]any{g.Vars, g.Tables} {
		names := make([]string, 0, len(m))
		for k := range m {
			names = append(names, k)
		}
		sort.Strings(names)
		for _, k := range names {
			v, err := json.Marshal(m[k])
			if err != nil {
				return err
			}
			fmt.Fprintf(b, "%s := %s\n\n", k, v)
		}
	}
	return nil
}

// Eval implements engine.Evaluator.
func (g *Rego) Eval(r *rules.Rule, x *rules.Expr, f *rules.Facts, ctx uint64) (any, error) {
	pq, ok := g.queries[x]
	if !ok {
		return g.fb.eval(r, x, f, ctx)
	}
	if g.input == nil || g.inputID != ctx {
		g.input, g.inputID = regoInput(f, g.reads), ctx
		g.opts = []rego.EvalOption{rego.EvalParsedInput(g.input)}
	}
	rs, err := pq.Eval(g.ctx, g.opts...)
	if err != nil {
		return nil, err
	}
	if x == r.If {
		return len(rs) > 0 && len(rs[0].Expressions) > 0 && rs[0].Expressions[0].Value == true, nil
	}
	if len(rs) == 0 || len(rs[0].Expressions) == 0 {
		return math.NaN(), nil // undefined: a bound of NaN, an error to the engine
	}
	n, ok := rs[0].Expressions[0].Value.(json.Number)
	if !ok {
		return nil, fmt.Errorf("rego: bound is %v", rs[0].Expressions[0].Value)
	}
	return n.Float64()
}

// regoInput converts the facts the rules read to an input document.
func regoInput(f *rules.Facts, reads rules.FactSet) ast.Value {
	obj := ast.NewObjectWithCapacity(32)
	put := func(name string, t *ast.Term) {
		if fi := rules.Fact(name); fi != nil && reads.Has(fi.Bit) && t != nil {
			obj.Insert(ast.StringTerm(name), t)
		}
	}
	put("sku", ast.StringTerm(f.SKU))
	put("channel", ast.StringTerm(f.Channel))
	put("category", ast.StringTerm(f.Category))
	put("brand", ast.StringTerm(f.Brand))
	put("seller", ast.StringTerm(f.Seller))
	put("currency", ast.StringTerm(f.Currency))
	put("region", ast.StringTerm(f.Region))
	put("list_price", num(f.ListPrice))
	put("price", num(f.Price))
	put("cost", num(f.Cost))
	put("map_price", num(f.MapPrice))
	put("has_cost", ast.BooleanTerm(f.HasCost))
	put("has_list_price", ast.BooleanTerm(f.HasListPrice))
	put("has_map_price", ast.BooleanTerm(f.HasMapPrice))
	put("effective_price", num(f.EffectivePrice))
	put("discount", num(f.Discount))
	put("promo_discount", num(f.PromoDiscount))
	put("margin", num(f.Margin))
	if fi := rules.Fact("promos"); reads.Has(fi.Bit) {
		put("promos", promoArray(f.Promos))
	}
	if fi := rules.Fact("blocked"); reads.Has(fi.Bit) {
		put("blocked", promoArray(f.Blocked))
	}
	if fi := rules.Fact("overlaps"); reads.Has(fi.Bit) {
		terms := make([]*ast.Term, len(f.Overlaps))
		for i, o := range f.Overlaps {
			terms[i] = ast.ObjectTerm(ast.Item(ast.StringTerm("a"), promoObject(o.A)), ast.Item(ast.StringTerm("b"), promoObject(o.B)),
				ast.Item(ast.StringTerm("reason"), ast.StringTerm(o.Reason)))
		}
		put("overlaps", ast.ArrayTerm(terms...))
	}
	if fi := rules.Fact("stock"); reads.Has(fi.Bit) {
		s := f.Stock
		put("stock", object(
			"on_hand", num(s.OnHand), "reserved", num(s.Reserved), "available", num(s.Available), "inbound", num(s.Inbound),
			"daily_velocity", num(s.DailyVelocity), "days_of_cover", num(s.DaysOfCover), "expected_promo_demand", num(s.ExpectedPromoDemand)))
	}
	if fi := rules.Fact("channels"); reads.Has(fi.Bit) {
		o := ast.NewObjectWithCapacity(len(f.Channels))
		for k, c := range f.Channels {
			o.Insert(ast.StringTerm(k), object("price", num(c.Price), "effective_price", num(c.EffectivePrice),
				"discount", num(c.Discount), "promo_discount", num(c.PromoDiscount), "currency", ast.StringTerm(c.Currency)))
		}
		put("channels", ast.NewTerm(o))
	}
	if fi := rules.Fact("history"); reads.Has(fi.Bit) {
		h := f.History
		put("history", object("changes_1h", ast.IntNumberTerm(h.Changes1h), "max_drop_24h", num(h.MaxDrop24h), "low_24h", num(h.Low24h)))
	}
	if fi := rules.Fact("promo"); reads.Has(fi.Bit) {
		put("promo", promoObject(&f.Promo))
	}
	return obj
}

// num is a number term, or nil for NaN and ±Inf, which JSON cannot hold.
func num(x float64) *ast.Term {
	if math.IsNaN(x) || math.IsInf(x, 0) {
		return nil
	}
	return ast.FloatNumberTerm(x)
}

// object builds an object of name, term pairs, leaving out nil terms.
func object(kv ...any) *ast.Term {
	o := ast.NewObjectWithCapacity(len(kv) / 2)
	for i := 0; i < len(kv); i += 2 {
		if t := kv[i+1].(*ast.Term); t != nil {
			o.Insert(ast.StringTerm(kv[i].(string)), t)
		}
	}
	return ast.NewTerm(o)
}

func promoArray(ps []*rules.Promo) *ast.Term {
	terms := make([]*ast.Term, len(ps))
	for i, p := range ps {
		terms[i] = promoObject(p)
	}
	return ast.ArrayTerm(terms...)
}

func promoObject(p *rules.Promo) *ast.Term {
	funded := ast.NewObjectWithCapacity(len(p.FundedBy))
	for k, v := range p.FundedBy {
		if t := num(v); t != nil {
			funded.Insert(ast.StringTerm(k), t)
		}
	}
	chans := make([]*ast.Term, len(p.Channels))
	for i, c := range p.Channels {
		chans[i] = ast.StringTerm(c)
	}
	return object("id", ast.StringTerm(p.ID), "partner", ast.StringTerm(p.Partner), "partner_role", ast.StringTerm(p.PartnerRole),
		"kind", ast.StringTerm(p.Kind), "value", num(p.Value), "fraction", num(p.Fraction), "priority", ast.IntNumberTerm(p.Priority),
		"stacking", ast.StringTerm(p.Stacking), "currency", ast.StringTerm(p.Currency), "funded_by", ast.NewTerm(funded),
		"expected_uplift", num(p.ExpectedUplift), "channels", ast.ArrayTerm(chans...))
}
