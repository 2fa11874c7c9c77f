package event

import (
	"time"
)

// Event is one decoded input event (DESIGN §2). Exactly one of Price, Stock
// and Promo is set, as Type says.
type Event struct {
	Type Type
	TS   time.Time
	// Raw is the payload as received. Its hash breaks ties in the canonical
	// order of events with equal timestamps; a tombstone has none.
	Raw []byte
	// Source says where the event came from ("events.ndjson:12",
	// "pricing.prices/3@1042"), for dead letters and logs.
	Source string

	Price *Price
	Stock *Stock
	Promo *Promo
}

// Key is the event's key: the sku of a price or stock event, the id of a
// promotion.
func (e *Event) Key() string {
	switch {
	case e.Price != nil:
		return e.Price.SKU
	case e.Stock != nil:
		return e.Stock.SKU
	case e.Promo != nil:
		return e.Promo.ID
	}
	return ""
}

// Price is a price of one sku on one channel. Absent optional numbers
// are NaN.
type Price struct {
	SKU, Channel string
	Price        float64 // NaN only on a delisting without a price
	ListPrice    float64 // NaN when absent
	Cost         float64 // NaN when absent
	MapPrice     float64 // NaN when absent
	Currency     string  // ISO 4217, upper case; "" when absent
	Region       string
	Category     string
	Brand        string
	Seller       string
	// ValidFrom schedules the price: it takes effect then instead of at TS.
	// Zero means at once.
	ValidFrom time.Time
	// Delisted removes the channel from the sku (status: delisted).
	Delisted bool
}

// Stock is the stock of one sku in one warehouse.
type Stock struct {
	SKU, Warehouse string
	OnHand         float64
	Reserved       float64 // 0 when absent
	Inbound        float64 // 0 when absent
	DailyVelocity  float64 // NaN when absent
}

// Discount kinds.
const (
	KindPercent    = "percent"
	KindAmount     = "amount"
	KindFixedPrice = "fixed_price"
)

// Stacking modes.
const (
	StackExclusive = "exclusive"
	StackStackable = "stackable"
	StackStop      = "stop"
)

// Promo is a promotion, or its cancellation.
type Promo struct {
	ID          string
	Partner     string
	PartnerRole string // manufacturer, distributor, marketplace, or ""
	Kind        string // KindPercent, KindAmount, KindFixedPrice
	Value       float64
	Start, End  time.Time // the window [Start, End)
	// Selector: AllSKUs (skus: ["*"]), or SKUs, or Categories and/or Brands
	// (a sku must match both when both are given).
	AllSKUs    bool
	SKUs       []string
	Categories []string
	Brands     []string
	Channels   []string // empty: every channel
	Regions    []string // empty: every region
	Priority   int
	Stacking   string // StackExclusive, StackStackable (default), StackStop
	Currency   string // required for amount and fixed_price
	FundedBy   map[string]float64
	// CombinesWith lists what the promotion may be combined with under the
	// combinable stacking policy: partner roles (manufacturer, distributor,
	// marketplace), partner names, promotion ids, or "*" (anything). Two
	// promotions combine only when each names the other. Absent: none.
	// omitempty keeps the changelog's promotion entries as they were.
	CombinesWith []string `json:",omitempty"`
	// ExpectedUplift multiplies daily velocity while the promotion runs; NaN
	// when absent (taken as 1).
	ExpectedUplift float64
	// Cancelled removes the promotion (status: cancelled, or a tombstone).
	// A cancellation needs only id and ts.
	Cancelled bool
}

// Tombstone is the cancellation of promotion id that a Kafka record with a
// null value carries. It has no timestamp of its own: ts is the record's.
func Tombstone(id string, ts time.Time, source string) *Event {
	return &Event{Type: TypePromo, TS: ts, Source: source, Promo: &Promo{ID: id, Cancelled: true}}
}
