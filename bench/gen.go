package bench

import (
	"errors"
	"fmt"
	"math"
	"math/rand/v2"
	"slices"
	"strconv"
	"time"
)

// Shape is how the event rate moves over the live stream.
type Shape string

// Shapes of the live stream.
const (
	// Steady: a constant rate.
	Steady Shape = "steady"
	// Ramp: the rate climbs linearly from a tenth of Rate to three times it,
	// as traffic does in the hours before a Black Friday midnight.
	Ramp Shape = "ramp"
	// Burst: a constant rate, with a flash sale in the middle of the stream
	// that re-prices FlashShare of the catalog on every channel within one
	// minute of event time.
	Burst Shape = "burst"
)

// ParseShape returns the shape with the given name.
func ParseShape(s string) (Shape, error) {
	switch Shape(s) {
	case Steady, Ramp, Burst:
		return Shape(s), nil
	}
	return "", fmt.Errorf("unknown shape %q: want steady, ramp or burst", s)
}

// Config describes a catalog and the stream of events over it. The zero
// value of every field but SKUs and Events takes the default named with it.
type Config struct {
	SKUs     int   // skus in the catalog
	Events   int   // events written in all, the catalog load included
	Channels int   // sales channels, default 3: web and marketplaces
	Shape    Shape // default Steady
	Seed     uint64

	// Start is the event time of the first event, default
	// 2026-11-23T00:00:00Z: the Monday of Black Friday week.
	Start time.Time
	// Rate is the live stream's events per second of event time (the
	// ramp's average), default one per 1000 skus (at least 10): 100 a
	// second for 100k skus, about 20 re-pricings per sku-channel a day, the
	// popular ones several an hour. It decides how much event time the stream spans, so
	// how often price history windows and calendar boundaries come into
	// play.
	Rate float64

	Categories int // default 12
	Brands     int // default 40
	Warehouses int // default 3; each sku is stocked in one to all of them

	// PromosPerSKU is how many promotions a sku is covered by on average
	// over the calendar (default 1.0); CalendarDays is how far ahead
	// their windows are spread (default 14). 30 % of them run over Black
	// Friday or Cyber Monday. Sitewide is the number of marketplaces that
	// run a sitewide promotion on their own channel (default 0).
	PromosPerSKU float64
	CalendarDays int
	Sitewide     int

	// Shares of the promotions with a problem, default 0.15, 0.10, 0.10 and
	// 0.05: Overlap ones collide with another partner's (exclusive, or the
	// same priority); BreakMargin ones discount deep enough to break the
	// margin floor; OffLadder ones use a percentage off the discount
	// ladder; OutrunStock ones expect more demand than the stock holds.
	Overlap, BreakMargin, OffLadder, OutrunStock float64

	// Mix of the live stream: the share of stock and of promotion events
	// (new, edited or cancelled promotions), default 0.25 and 0.001; the
	// rest are prices. PriceError is the share of price events that a
	// broken repricer sends below cost or MAP, default 0.005. Scheduled is
	// the share of price events that schedule a price for later
	// (valid_from), default 0.01.
	StockShare, PromoShare, PriceError, Scheduled float64

	// FlashShare is the share of the catalog the Burst shape's flash sale
	// re-prices, default 0.2.
	FlashShare float64
}

// DefaultStart is the default Config.Start.
var DefaultStart = time.Date(2026, 11, 23, 0, 0, 0, 0, time.UTC)

func (c Config) withDefaults() Config {
	def := func(p *float64, v float64) {
		if *p == 0 {
			*p = v
		}
	}
	defInt := func(p *int, v int) {
		if *p <= 0 {
			*p = v
		}
	}
	defInt(&c.Channels, 3)
	defInt(&c.Categories, 12)
	defInt(&c.Brands, 40)
	defInt(&c.Warehouses, 3)
	defInt(&c.CalendarDays, 14)
	if c.Shape == "" {
		c.Shape = Steady
	}
	if c.Start.IsZero() {
		c.Start = DefaultStart
	}
	c.Start = c.Start.UTC()
	def(&c.Rate, math.Max(float64(c.SKUs)/1000, 10))
	def(&c.PromosPerSKU, 1.0)
	def(&c.Overlap, 0.15)
	def(&c.BreakMargin, 0.10)
	def(&c.OffLadder, 0.10)
	def(&c.OutrunStock, 0.05)
	def(&c.StockShare, 0.25)
	def(&c.PromoShare, 0.001)
	def(&c.PriceError, 0.005)
	def(&c.Scheduled, 0.01)
	def(&c.FlashShare, 0.2)
	return c
}

// Validate reports a configuration the generator cannot honour.
func (c Config) Validate() error {
	switch {
	case c.SKUs <= 0:
		return errors.New("skus must be positive")
	case c.SKUs > 9_999_999:
		return errors.New("skus must be at most 9999999")
	case c.Events < 0:
		return errors.New("events must not be negative")
	case c.Channels < 0 || c.Channels > 64:
		return errors.New("channels must be between 1 and 64")
	case c.Rate < 0:
		return errors.New("rate must be positive")
	}
	if c.Shape != "" {
		if _, err := ParseShape(string(c.Shape)); err != nil {
			return err
		}
	}
	for _, s := range []float64{c.Overlap, c.BreakMargin, c.OffLadder, c.OutrunStock, c.StockShare, c.PromoShare, c.PriceError, c.Scheduled, c.FlashShare} {
		if s < 0 || s > 1 || math.IsNaN(s) {
			return errors.New("shares must lie in [0, 1]")
		}
	}
	return nil
}

// Kind is the type of a generated event.
type Kind uint8

// Kinds of events.
const (
	KindPrice Kind = iota
	KindStock
	KindPromo
)

func (k Kind) String() string { return [...]string{"price", "stock", "promo"}[k] }

// Event is one generated event: its JSON line (without the newline), its
// type, and its key (the sku, or a promotion's id) so that a harness can
// shard events as Kafka partitions would without decoding them.
type Event struct {
	Kind Kind
	Key  string
	Line []byte
}

// Stats counts what a generator wrote.
type Stats struct {
	Events, Prices, Stock, Promos int64
	// Catalog is how many events the catalog load took (calendar, prices
	// and stock of every sku); the rest is the live stream.
	Catalog int64
	Flash   int64 // price events of the flash sale
	Bytes   int64
}

// names of catalog attributes; more are numbered
var (
	categoryNames = []string{"tv", "audio", "cables", "gaming", "phones", "laptops", "cameras", "appliances",
		"wearables", "smart-home", "monitors", "storage", "networking", "printers", "toys", "kitchen"}
	brandNames = []string{"acme", "globex", "initech", "umbrella", "hooli", "stark", "wayne", "wonka",
		"cyberdyne", "tyrell", "soylent", "massive", "vandelay", "oscorp", "aperture", "nakatomi"}
	channelNames   = []string{"web", "amazon", "ebay", "zalando", "otto", "bol", "cdiscount", "allegro"}
	warehouseNames = []string{"dc-hamburg", "dc-rotterdam", "dc-lyon", "dc-milan", "dc-poznan", "dc-madrid"}
	distributors   = []string{"nordic-dist", "eu-dist", "techdata", "ingram"}
	// the margin floors of examples/rules/category_margin.csv, and the
	// default, so that generated costs sit around them
	categoryFloor = map[string]float64{"audio": 0.15, "cables": 0.30, "tv": 0.08, "gaming": 0.10}
	// the discount ladder of examples/rules/ladder.yaml, in percent
	ladder    = []float64{5, 10, 15, 20, 25, 30, 40, 50}
	offLadder = []float64{7, 12, 17, 22, 27, 33, 35, 45}
)

func name(list []string, prefix string, i int) string {
	if i < len(list) {
		return list[i]
	}
	return fmt.Sprintf("%s-%02d", prefix, i)
}

type skuInfo struct {
	id        string
	cat       int
	brand     int
	base      float64 // the regular price
	ending99  bool
	list      float64
	cost      float64
	mapPrice  float64   // NaN: no MAP
	price     []float64 // current price per channel
	stock     []float64 // on hand per warehouse; NaN: not stocked there
	reserved  []float64
	vel       []float64 // daily velocity per warehouse
	lowStock  bool
	hasSeller bool
}

type promoInfo struct {
	id    string
	live  bool
	line  []byte // the last version, to edit
	start time.Time
	end   time.Time
}

// Generator writes the events of one Config, one at a time. It is not safe
// for concurrent use.
type Generator struct {
	cfg      Config
	rng      *rand.Rand
	skus     []skuInfo
	hot      []int32 // skus by popularity: hot[0] is re-priced most
	cats     []string
	brands   []string
	channels []string
	whs      []string
	promos   []promoInfo
	catalog  []Event   // the calendar and the catalog, written first
	next     int       // index of the next event
	ts       time.Time // the ts of the event being written
	clock    time.Time // the live stream's clock: ts is it in milliseconds
	stream   int       // live events written so far
	live     int       // live events to write
	flashAt  int       // live index where the flash sale starts; -1 none
	flash    []flashItem
	flashIdx int
	buf      []byte
	stats    Stats
	promoSeq int
}

type flashItem struct {
	sku, ch int
}

// NewGenerator returns a generator of cfg's events.
func NewGenerator(cfg Config) (*Generator, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	cfg = cfg.withDefaults()
	g := &Generator{cfg: cfg, rng: rand.New(rand.NewPCG(cfg.Seed, 0x70726f6d6f677561)), flashAt: -1}
	for i := range cfg.Categories {
		g.cats = append(g.cats, name(categoryNames, "cat", i))
	}
	for i := range cfg.Brands {
		g.brands = append(g.brands, name(brandNames, "brand", i))
	}
	for i := range cfg.Channels {
		g.channels = append(g.channels, name(channelNames, "channel", i))
	}
	for i := range cfg.Warehouses {
		g.whs = append(g.whs, name(warehouseNames, "dc", i))
	}
	g.makeCatalog()
	g.ts = cfg.Start
	g.buildLoad()
	g.live = max(cfg.Events-len(g.catalog), 0)
	if cfg.Shape == Burst && g.live > 0 {
		n := int(math.Round(cfg.FlashShare * float64(cfg.SKUs)))
		perm := g.rng.Perm(cfg.SKUs)[:n]
		slices.Sort(perm)
		for _, s := range perm {
			for c := range cfg.Channels {
				g.flash = append(g.flash, flashItem{s, c})
			}
		}
		g.rng.Shuffle(len(g.flash), func(i, j int) { g.flash[i], g.flash[j] = g.flash[j], g.flash[i] })
		g.flashAt = g.live / 2
	}
	return g, nil
}

// Config returns the configuration with its defaults filled in.
func (g *Generator) Config() Config { return g.cfg }

// Stats returns what was written so far.
func (g *Generator) Stats() Stats { return g.stats }

// Len is the number of events the generator writes.
func (g *Generator) Len() int { return min(g.cfg.Events, len(g.catalog)) + g.live }

// Next returns the next event, and false at the end. The event's line is
// the caller's to keep.
func (g *Generator) Next() (Event, bool) {
	var ev Event
	switch {
	case g.next < len(g.catalog) && g.next < g.cfg.Events:
		ev = g.catalog[g.next]
		g.catalog[g.next] = Event{} // let it go once written
		g.stats.Catalog++
	case g.stream < g.live:
		ev = g.liveEvent()
		if len(g.buf) > 0 && len(ev.Line) > 0 && &ev.Line[0] == &g.buf[0] {
			ev.Line = slices.Clone(ev.Line)
		}
		g.stream++
	default:
		return Event{}, false
	}
	g.next++
	g.stats.Events++
	g.stats.Bytes += int64(len(ev.Line)) + 1
	switch ev.Kind {
	case KindPrice:
		g.stats.Prices++
	case KindStock:
		g.stats.Stock++
	case KindPromo:
		g.stats.Promos++
	}
	return ev, true
}

// makeCatalog draws the skus: category, brand, regular price, cost, list
// price, MAP and stock.
func (g *Generator) makeCatalog() {
	cfg, r := g.cfg, g.rng
	g.skus = make([]skuInfo, cfg.SKUs)
	for i := range g.skus {
		s := &g.skus[i]
		s.id = fmt.Sprintf("sku-%07d", i)
		s.cat = r.IntN(cfg.Categories)
		s.brand = r.IntN(cfg.Brands)
		// prices are log-normal: a median around 60, from cables to TVs
		base := math.Exp(4.1 + 1.1*r.NormFloat64())
		base = math.Min(math.Max(base, 2), 5000)
		s.ending99 = r.Float64() < 0.7
		s.base = shelfPrice(base, s.ending99)
		floor, ok := categoryFloor[g.cats[s.cat]]
		if !ok {
			floor = 0.12
		}
		// margins 25 to 45 points above the floor at the regular price:
		// a planned promotion of up to 20 % keeps the floor, and up to 15 %
		// the floor after a marketplace's fee; stacked and deep ones do not
		margin := math.Min(floor+0.25+0.2*r.Float64(), 0.75)
		s.cost = round2(s.base * (1 - margin))
		s.list = shelfPrice(s.base*(1+0.15*r.Float64()), true)
		s.mapPrice = math.NaN()
		if r.Float64() < 0.6 {
			s.mapPrice = round2(s.base * (0.7 + 0.1*r.Float64()))
		}
		s.price = make([]float64, cfg.Channels)
		for c := range s.price {
			s.price[c] = s.base
			if c > 0 {
				// marketplaces charge fees: sellers list a little higher there
				s.price[c] = shelfPrice(s.base*(1+0.08*r.Float64()), s.ending99)
			}
		}
		s.lowStock = r.Float64() < 0.15
		s.stock = make([]float64, cfg.Warehouses)
		s.reserved = make([]float64, cfg.Warehouses)
		s.vel = make([]float64, cfg.Warehouses)
		n := 1 + r.IntN(cfg.Warehouses)
		for w := range s.stock {
			if w >= n {
				s.stock[w] = math.NaN()
				continue
			}
			vel := math.Round(math.Exp(1.5+r.NormFloat64()) * 10 / float64(n))
			s.vel[w] = vel / 10
			days := 20 + 70*r.Float64()
			if s.lowStock {
				days = 0.5 + 3*r.Float64()
			}
			s.stock[w] = math.Round(s.vel[w] * days)
			s.reserved[w] = math.Round(s.stock[w] * 0.1 * r.Float64())
		}
		s.hasSeller = r.Float64() < 0.3
	}
	g.hot = make([]int32, cfg.SKUs)
	for i, p := range r.Perm(cfg.SKUs) {
		g.hot[i] = int32(p)
	}
}

// buildLoad writes the calendar of promotions, then every sku's prices and
// stock: what a marketplace integration sends when it connects.
func (g *Generator) buildLoad() {
	cfg := g.cfg
	// the calendar: one promotion for every n skus, so that a sku is
	// covered PromosPerSKU times on average; broad selectors cover more
	// skus each, so they are fewer
	g.ts = cfg.Start
	var cal []Event
	add := func(ev Event) {
		cal = append(cal, ev)
		g.tick(time.Millisecond)
	}
	// a marketplace's sitewide promotion on its own channel, a low
	// priority one that stacks
	for c := 1; c <= cfg.Sitewide && c < cfg.Channels; c++ {
		add(g.promo(promoSpec{sitewide: true, channel: c, partner: g.channels[c], role: "marketplace"}))
	}
	cover := cfg.PromosPerSKU * float64(cfg.SKUs)
	// a third by category (distributors), a sixth by brand (manufacturers), a sixth by
	// category and brand, the rest by sku lists
	perCat := float64(cfg.SKUs) / float64(cfg.Categories)
	perBrand := float64(cfg.SKUs) / float64(cfg.Brands)
	perCatBrand := perCat / float64(cfg.Brands)
	nCat := int(cover / 3 / perCat)
	nBrand := int(cover / 6 / perBrand)
	nCatBrand := int(cover / 6 / math.Max(perCatBrand, 1))
	nList := int(math.Max(cover-float64(nCat)*perCat-float64(nBrand)*perBrand-float64(nCatBrand)*perCatBrand, 0) / 5.5)
	for range nCat {
		add(g.promo(promoSpec{cats: []int{g.rng.IntN(cfg.Categories)}, partner: distributors[g.rng.IntN(len(distributors))], role: "distributor"}))
	}
	for range nBrand {
		b := g.rng.IntN(cfg.Brands)
		add(g.promo(promoSpec{brands: []int{b}, partner: g.brands[b], role: "manufacturer"}))
	}
	for range nCatBrand {
		b := g.rng.IntN(cfg.Brands)
		add(g.promo(promoSpec{cats: []int{g.rng.IntN(cfg.Categories)}, brands: []int{b}, partner: g.brands[b], role: "manufacturer"}))
	}
	for range nList {
		add(g.promo(g.listSpec()))
	}
	g.catalog = cal
	// the catalog, at ten thousand events a second of event time
	g.ts = g.ts.Add(time.Second)
	for i := range g.skus {
		s := &g.skus[i]
		for c := range cfg.Channels {
			g.catalog = append(g.catalog, Event{Kind: KindPrice, Key: s.id, Line: g.priceLine(nil, i, c, s.price[c], time.Time{})})
			g.tick(100 * time.Microsecond)
		}
		for w := range s.stock {
			if !math.IsNaN(s.stock[w]) {
				g.catalog = append(g.catalog, Event{Kind: KindStock, Key: s.id, Line: g.stockLine(nil, i, w)})
				g.tick(100 * time.Microsecond)
			}
		}
	}
	g.ts = g.ts.Add(time.Second)
}

func (g *Generator) tick(d time.Duration) { g.ts = g.ts.Add(d) }

// listSpec is a promotion on a short list of skus of one brand, from its
// manufacturer, a distributor or a marketplace.
func (g *Generator) listSpec() promoSpec {
	n := 1 + g.rng.IntN(10)
	first := g.rng.IntN(len(g.skus))
	sp := promoSpec{}
	for k := 0; k < n; k++ {
		sp.skus = append(sp.skus, (first+k*7919)%len(g.skus))
	}
	slices.Sort(sp.skus)
	sp.skus = slices.Compact(sp.skus)
	switch g.rng.IntN(3) {
	case 0:
		b := g.skus[sp.skus[0]].brand
		sp.partner, sp.role = g.brands[b], "manufacturer"
	case 1:
		sp.partner, sp.role = distributors[g.rng.IntN(len(distributors))], "distributor"
	default:
		c := 1 + g.rng.IntN(max(g.cfg.Channels-1, 1))
		if c < g.cfg.Channels {
			sp.partner, sp.role, sp.channel = g.channels[c], "marketplace", c
		} else {
			sp.partner, sp.role = distributors[0], "distributor"
		}
	}
	return sp
}

type promoSpec struct {
	sitewide bool
	skus     []int
	cats     []int
	brands   []int
	channel  int // > 0: only this channel
	partner  string
	role     string
}

// promo writes a new promotion: its discount, window, priority and stacking
// drawn with the configured shares of problems.
func (g *Generator) promo(sp promoSpec) Event {
	cfg, r := g.cfg, g.rng
	g.promoSeq++
	id := fmt.Sprintf("%s-%05d", sp.partner, g.promoSeq)
	// windows start at a midnight from the day before the stream to
	// CalendarDays after and last one to five days; 30 % run over Black
	// Friday (day 4) or Cyber Monday (day 7) and end with the week
	day := -1 + r.IntN(cfg.CalendarDays+1)
	days := 1 + r.IntN(5)
	if r.Float64() < 0.3 {
		day = []int{4, 4, 7}[r.IntN(3)]
		days = 8 - day + r.IntN(2)
	}
	start := cfg.Start.Add(time.Duration(day*24) * time.Hour)
	end := start.Add(time.Duration(days) * 24 * time.Hour)
	// planned discounts are ladder steps of 5 to 20 %, mostly 10 and 15
	kind, value, currency := "percent", []float64{5, 10, 10, 15, 15, 20}[r.IntN(6)], ""
	switch {
	case r.Float64() < cfg.BreakMargin:
		value = []float64{35, 40, 50, 60}[r.IntN(4)]
	case r.Float64() < cfg.OffLadder:
		value = offLadder[r.IntN(len(offLadder))]
	case !sp.sitewide && len(sp.skus) > 0 && r.Float64() < 0.2:
		// money off one sku: an amount, or a fixed price
		sp.skus = sp.skus[:1]
		s := &g.skus[sp.skus[0]]
		currency = "EUR"
		if r.Float64() < 0.5 {
			kind, value = "amount", math.Max(1, math.Round(s.base*0.1))
		} else {
			kind, value = "fixed_price", shelfPrice(s.base*0.6, s.ending99)
		}
	}
	prio := map[string]int{"manufacturer": 30, "distributor": 20, "marketplace": 10}[sp.role] + r.IntN(5)
	stacking := "stackable"
	if sp.sitewide {
		prio, value, kind, currency = 5, 5, "percent", ""
	} else if r.Float64() < cfg.Overlap {
		// collide: exclusive, or the priority every colliding promotion
		// shares
		if r.Float64() < 0.4 {
			stacking = "exclusive"
		} else {
			prio = 25
		}
	} else if r.Float64() < 0.05 {
		stacking = "stop"
	}
	uplift := math.Round((1.2+1.8*r.Float64())*10) / 10
	if r.Float64() < cfg.OutrunStock {
		uplift = float64(6 + r.IntN(8))
	}
	b := g.buf[:0]
	b = append(b, `{"type":"promo","id":`...)
	b = strconv.AppendQuote(b, id)
	b = append(b, `,"partner":`...)
	b = strconv.AppendQuote(b, sp.partner)
	b = append(b, `,"partner_role":"`...)
	b = append(b, sp.role...)
	b = append(b, `","discount":{"kind":"`...)
	b = append(b, kind...)
	b = append(b, `","value":`...)
	b = appendNum(b, value)
	b = append(b, '}')
	if currency != "" {
		b = append(b, `,"currency":"`...)
		b = append(b, currency...)
		b = append(b, '"')
	}
	switch {
	case sp.sitewide:
		b = append(b, `,"skus":["*"]`...)
	case len(sp.skus) > 0:
		b = append(b, `,"skus":[`...)
		for i, s := range sp.skus {
			if i > 0 {
				b = append(b, ',')
			}
			b = strconv.AppendQuote(b, g.skus[s].id)
		}
		b = append(b, ']')
	default:
		if len(sp.cats) > 0 {
			b = appendList(b, "categories", sp.cats, g.cats)
		}
		if len(sp.brands) > 0 {
			b = appendList(b, "brands", sp.brands, g.brands)
		}
	}
	if sp.channel > 0 {
		b = append(b, `,"channels":[`...)
		b = strconv.AppendQuote(b, g.channels[sp.channel])
		b = append(b, ']')
	}
	b = append(b, `,"start":"`...)
	b = start.AppendFormat(b, time.RFC3339)
	b = append(b, `","end":"`...)
	b = end.AppendFormat(b, time.RFC3339)
	b = append(b, `","priority":`...)
	b = strconv.AppendInt(b, int64(prio), 10)
	if stacking != "stackable" {
		b = append(b, `,"stacking":"`...)
		b = append(b, stacking...)
		b = append(b, '"')
	}
	// who pays: the partner alone, or shared with the brand's maker
	switch {
	case sp.role == "manufacturer" || r.Float64() < 0.5:
		b = append(b, `,"funded_by":{`...)
		b = strconv.AppendQuote(b, sp.partner)
		b = append(b, `:1}`...)
	default:
		share := []float64{0.5, 0.6, 0.7}[r.IntN(3)]
		b = append(b, `,"funded_by":{`...)
		b = strconv.AppendQuote(b, sp.partner)
		b = append(b, ':')
		b = appendNum(b, share)
		b = append(b, `,"`...)
		b = append(b, g.brands[r.IntN(len(g.brands))]...)
		b = append(b, `":`...)
		// now and then the shares do not add up
		rest := 1 - share
		if r.Float64() < 0.1 {
			rest = 0.2
		}
		b = appendNum(b, round2(rest))
		b = append(b, '}')
	}
	b = append(b, `,"expected_uplift":`...)
	b = appendNum(b, uplift)
	b = g.appendTS(b)
	b = append(b, '}')
	g.buf = b
	line := slices.Clone(b)
	g.promos = append(g.promos, promoInfo{id: id, live: true, line: line, start: start, end: end})
	return Event{Kind: KindPromo, Key: id, Line: line}
}

func appendList(b []byte, field string, idx []int, names []string) []byte {
	b = append(b, `,"`...)
	b = append(b, field...)
	b = append(b, `":[`...)
	for i, k := range idx {
		if i > 0 {
			b = append(b, ',')
		}
		b = strconv.AppendQuote(b, names[k])
	}
	return append(b, ']')
}

func (g *Generator) appendTS(b []byte) []byte {
	b = append(b, `,"ts":"`...)
	b = g.ts.AppendFormat(b, time.RFC3339Nano)
	return append(b, '"')
}

// priceLine writes a price of sku i on channel c; a zero validFrom takes
// effect at once.
func (g *Generator) priceLine(dst []byte, i, c int, price float64, validFrom time.Time) []byte {
	s := &g.skus[i]
	b := append(dst, `{"type":"price","sku":"`...)
	b = append(b, s.id...)
	b = append(b, `","channel":"`...)
	b = append(b, g.channels[c]...)
	b = append(b, `","price":`...)
	b = appendNum(b, price)
	b = append(b, `,"list_price":`...)
	b = appendNum(b, s.list)
	b = append(b, `,"cost":`...)
	b = appendNum(b, s.cost)
	if !math.IsNaN(s.mapPrice) {
		b = append(b, `,"map_price":`...)
		b = appendNum(b, s.mapPrice)
	}
	b = append(b, `,"currency":"EUR","region":"`...)
	b = append(b, region(i, c)...)
	b = append(b, `","category":"`...)
	b = append(b, g.cats[s.cat]...)
	b = append(b, `","brand":"`...)
	b = append(b, g.brands[s.brand]...)
	b = append(b, '"')
	if c > 0 && s.hasSeller {
		b = append(b, `,"seller":"`...)
		b = append(b, g.channels[c]...)
		b = append(b, `-retail"`...)
	}
	if !validFrom.IsZero() {
		b = append(b, `,"valid_from":"`...)
		b = validFrom.AppendFormat(b, time.RFC3339)
		b = append(b, '"')
	}
	return append(g.appendTS(b), '}')
}

func (g *Generator) stockLine(dst []byte, i, w int) []byte {
	s := &g.skus[i]
	b := append(dst, `{"type":"stock","sku":"`...)
	b = append(b, s.id...)
	b = append(b, `","warehouse":"`...)
	b = append(b, g.whs[w]...)
	b = append(b, `","on_hand":`...)
	b = appendNum(b, s.stock[w])
	b = append(b, `,"reserved":`...)
	b = appendNum(b, s.reserved[w])
	b = append(b, `,"daily_velocity":`...)
	b = appendNum(b, s.vel[w])
	return append(g.appendTS(b), '}')
}

// liveEvent writes the next event of the live stream.
func (g *Generator) liveEvent() Event {
	cfg, r := g.cfg, g.rng
	g.advanceClock()
	if g.flashAt >= 0 && g.stream >= g.flashAt && g.flashIdx < len(g.flash) {
		// the flash sale: its re-pricings take a minute, interleaved with
		// the steady stream two to one
		if (g.stream-g.flashAt)%3 != 2 {
			it := g.flash[g.flashIdx]
			g.flashIdx++
			g.stats.Flash++
			s := &g.skus[it.sku]
			p := shelfPrice(s.base*(0.6+0.3*r.Float64()), s.ending99)
			s.price[it.ch] = p
			g.buf = g.priceLine(g.buf[:0], it.sku, it.ch, p, time.Time{})
			return Event{Kind: KindPrice, Key: s.id, Line: g.buf}
		}
	}
	u := r.Float64()
	switch {
	case u < cfg.PromoShare:
		return g.promoChange()
	case u < cfg.PromoShare+cfg.StockShare:
		i := g.pick()
		s := &g.skus[i]
		w := r.IntN(len(s.stock))
		if math.IsNaN(s.stock[w]) {
			w = 0
		}
		// sales take stock down; now and then a delivery refills it
		if r.Float64() < 0.05 {
			s.stock[w] += math.Round(s.vel[w]*(10+20*r.Float64())) + 1
		} else {
			s.stock[w] = math.Max(0, s.stock[w]-float64(r.IntN(3)))
		}
		s.reserved[w] = math.Min(s.reserved[w], s.stock[w])
		g.buf = g.stockLine(g.buf[:0], i, w)
		return Event{Kind: KindStock, Key: s.id, Line: g.buf}
	}
	i := g.pick()
	s := &g.skus[i]
	c := r.IntN(cfg.Channels)
	var p float64
	var validFrom time.Time
	switch {
	case r.Float64() < cfg.PriceError:
		// a repricer gone wrong: under cost, or under MAP
		p = shelfPrice(s.cost*(0.8+0.15*r.Float64()), s.ending99)
	case r.Float64() < cfg.Scheduled:
		// a price change planned for a coming midnight
		p = shelfPrice(s.base*(0.85+0.2*r.Float64()), s.ending99)
		validFrom = g.ts.Add(time.Duration(1+r.IntN(4)) * 24 * time.Hour).Truncate(24 * time.Hour)
	default:
		// repricers walk around the regular price, pulled back to it
		cur := s.price[c]
		x := 0.85*math.Log(cur/s.base) + 0.02*r.NormFloat64()
		p = shelfPrice(s.base*math.Exp(x), s.ending99)
		if p == cur {
			p = shelfPrice(cur*(1+0.01*float64(1+r.IntN(3))*float64(1-2*r.IntN(2))), s.ending99)
		}
	}
	if validFrom.IsZero() {
		s.price[c] = p
	}
	g.buf = g.priceLine(g.buf[:0], i, c, p, validFrom)
	return Event{Kind: KindPrice, Key: s.id, Line: g.buf}
}

// promoChange is a partner registering a new promotion on a few skus,
// editing the discount of one, or cancelling one.
func (g *Generator) promoChange() Event {
	r := g.rng
	u := r.Float64()
	if u < 0.5 || len(g.promos) == 0 {
		return g.promo(g.listSpec())
	}
	// an existing promotion, found from a random place onwards
	k := r.IntN(len(g.promos))
	for n := 0; n < len(g.promos) && !g.promos[k].live; n++ {
		k = (k + 1) % len(g.promos)
	}
	p := &g.promos[k]
	if !p.live || u < 0.8 {
		// an edit: the same promotion with another percentage, or another
		// priority
		b := p.line
		if indexOf(b, `"kind":"percent"`) >= 0 {
			b = replaceField(b, `"value":`, appendNum(nil, ladder[r.IntN(len(ladder))]))
		} else {
			b = replaceField(b, `"priority":`, strconv.AppendInt(nil, int64(10+r.IntN(25)), 10))
		}
		b = replaceField(b, `"ts":`, g.ts.AppendFormat([]byte{'"'}, time.RFC3339Nano))
		p.line = b
		p.live = true
		return Event{Kind: KindPromo, Key: p.id, Line: p.line}
	}
	p.live = false
	b := append(g.buf[:0], `{"type":"promo","id":`...)
	b = strconv.AppendQuote(b, p.id)
	b = append(b, `,"status":"cancelled"`...)
	b = append(g.appendTS(b), '}')
	g.buf = b
	return Event{Kind: KindPromo, Key: p.id, Line: slices.Clone(b)}
}

// replaceField replaces the value after key (a number, or a string whose
// new value starts with its opening quote) up to the next ',' or '}'.
func replaceField(b []byte, key string, val []byte) []byte {
	i := indexOf(b, key)
	if i < 0 {
		return b
	}
	from := i + len(key)
	to := from
	if to < len(b) && b[to] == '"' {
		to++
		for to < len(b) && b[to] != '"' {
			to++
		}
		to++
		val = append(val, '"')
	} else {
		for to < len(b) && b[to] != ',' && b[to] != '}' {
			to++
		}
	}
	out := make([]byte, 0, len(b)+len(val))
	out = append(out, b[:from]...)
	out = append(out, val...)
	return append(out, b[to:]...)
}

func indexOf(b []byte, s string) int {
	for i := 0; i+len(s) <= len(b); i++ {
		if string(b[i:i+len(s)]) == s {
			return i
		}
	}
	return -1
}

// pick draws a sku, the popular ones far more often: a quarter of the
// catalog gets about half of the events.
func (g *Generator) pick() int {
	u := g.rng.Float64()
	return int(g.hot[int(u*u*float64(len(g.hot)))])
}

// advanceClock moves event time on by one event at the shape's rate.
func (g *Generator) advanceClock() {
	cfg := g.cfg
	rate := cfg.Rate
	if cfg.Shape == Ramp && g.live > 0 {
		rate = cfg.Rate * (0.1 + 2.9*float64(g.stream)/float64(g.live))
	}
	if g.flashAt >= 0 && g.stream >= g.flashAt && g.flashIdx < len(g.flash) {
		// the flash sale's events take one minute of event time
		rate = math.Max(rate, float64(len(g.flash))*1.5/60)
	}
	if g.clock.IsZero() {
		g.clock = g.ts
	}
	g.clock = g.clock.Add(time.Duration(1e9 / rate))
	// milliseconds, as Kafka timestamps are: events share them at high rates
	g.ts = g.clock.Truncate(time.Millisecond)
}

// region is where a sku is sold on a channel: mostly DE, some FR, PL and
// NL.
func region(sku, ch int) string {
	switch k := (sku*31 + ch*7) % 20; {
	case k < 14:
		return "DE"
	case k < 17:
		return "FR"
	case k < 19:
		return "PL"
	}
	return "NL"
}

// shelfPrice rounds to cents, or to the .99 ending below.
func shelfPrice(p float64, ending99 bool) float64 {
	if !ending99 || p < 2 {
		return round2(math.Max(p, 0.01))
	}
	return math.Floor(p) - 0.01
}

func round2(x float64) float64 { return math.Round(x*100) / 100 }

func appendNum(b []byte, x float64) []byte {
	return strconv.AppendFloat(b, x, 'f', -1, 64)
}
