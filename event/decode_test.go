package event

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"os"
	"reflect"
	"slices"
	"strings"
	"testing"
	"time"
	"unicode/utf8"
)

func mustTime(s string) time.Time {
	t, err := time.Parse(time.RFC3339Nano, s)
	if err != nil {
		panic(err)
	}
	return t.UTC()
}

var nan = math.NaN()

// kv is one member of a test payload; v is raw JSON.
type kv struct{ k, v string }

// del, as the value of an edit, removes the member.
const del = "<delete>"

// dup returns an edit that appends a second member named k.
func dup(k, v string) kv { return kv{"\x00" + k, v} }

// build writes base with edits applied: an edit replaces the member of its
// name (or removes it, or appends it when there is none).
func build(base []kv, edits ...kv) string {
	out := append([]kv(nil), base...)
	for _, e := range edits {
		if strings.HasPrefix(e.k, "\x00") {
			out = append(out, kv{e.k[1:], e.v})
			continue
		}
		found := false
		for i := range out {
			if out[i].k == e.k {
				out[i].v, found = e.v, true
			}
		}
		if !found {
			out = append(out, e)
		}
	}
	var b strings.Builder
	b.WriteByte('{')
	first := true
	for _, m := range out {
		if m.v == del {
			continue
		}
		if !first {
			b.WriteByte(',')
		}
		first = false
		fmt.Fprintf(&b, "\"%s\":%s", m.k, m.v) // k is raw JSON string content
	}
	b.WriteByte('}')
	return b.String()
}

var (
	basePrice = []kv{{"type", `"price"`}, {"sku", `"SKU-1"`}, {"channel", `"web"`}, {"price", `19.99`},
		{"ts", `"2025-11-28T08:00:00Z"`}}
	baseStock = []kv{{"type", `"stock"`}, {"sku", `"SKU-1"`}, {"warehouse", `"berlin"`}, {"on_hand", `120`},
		{"ts", `"2025-11-28T08:00:00Z"`}}
	basePromo = []kv{{"type", `"promo"`}, {"id", `"BF-1"`}, {"partner", `"acme"`},
		{"discount", `{"kind":"percent","value":20}`}, {"start", `"2025-11-28T00:00:00Z"`},
		{"end", `"2025-12-01T00:00:00Z"`}, {"ts", `"2025-11-20T10:00:00Z"`}, {"skus", `["SKU-1"]`}}
	baseCancel = []kv{{"type", `"promo"`}, {"id", `"BF-1"`}, {"ts", `"2025-11-20T10:00:00Z"`}, {"status", `"cancelled"`}}
)

// sameEvent compares two events, NaN equal to NaN.
func sameEvent(a, b *Event) bool {
	return reflect.DeepEqual(nanless(a), nanless(b))
}

// nanless returns a copy of e with NaN replaced by a value Decode never
// returns.
func nanless(e *Event) *Event {
	const sentinel = -123456.789
	f := func(x *float64) {
		if math.IsNaN(*x) {
			*x = sentinel
		}
	}
	c := *e
	if e.Price != nil {
		p := *e.Price
		f(&p.Price)
		f(&p.ListPrice)
		f(&p.Cost)
		f(&p.MapPrice)
		c.Price = &p
	}
	if e.Stock != nil {
		s := *e.Stock
		f(&s.DailyVelocity)
		c.Stock = &s
	}
	if e.Promo != nil {
		p := *e.Promo
		f(&p.ExpectedUplift)
		c.Promo = &p
	}
	return &c
}

func describe(e *Event) string {
	if e == nil {
		return "<nil>"
	}
	return fmt.Sprintf("type=%v ts=%s price=%+v stock=%+v promo=%+v", e.Type, e.TS, e.Price, e.Stock, e.Promo)
}

func TestDecodeGood(t *testing.T) {
	for _, tc := range []struct {
		name    string
		payload string
		want    Event
	}{
		{
			name: "price, every field",
			payload: `{"type":"price","sku":"SKU-1","channel":"amazon-de","price":19.99,"ts":"2025-11-28T09:00:00+01:00",` +
				`"list_price":29.99,"cost":12.5,"map_price":17.99,"currency":"eur","region":"DE","category":"audio",` +
				`"brand":"Acme","seller":"acme-store","valid_from":"2025-11-28T12:00:00.5+01:00","status":"active","extra":[1,{"a":null}]}`,
			want: Event{Type: TypePrice, TS: mustTime("2025-11-28T08:00:00Z"), Price: &Price{
				SKU: "SKU-1", Channel: "amazon-de", Price: 19.99, ListPrice: 29.99, Cost: 12.5, MapPrice: 17.99,
				Currency: "EUR", Region: "DE", Category: "audio", Brand: "Acme", Seller: "acme-store",
				ValidFrom: mustTime("2025-11-28T11:00:00.5Z")}},
		},
		{
			name:    "price, required fields only",
			payload: build(basePrice),
			want: Event{Type: TypePrice, TS: mustTime("2025-11-28T08:00:00Z"), Price: &Price{
				SKU: "SKU-1", Channel: "web", Price: 19.99, ListPrice: nan, Cost: nan, MapPrice: nan}},
		},
		{
			name:    "price, null and empty optionals are absent",
			payload: build(basePrice, kv{"cost", "null"}, kv{"currency", `""`}, kv{"region", `""`}, kv{"status", "null"}, kv{"valid_from", "null"}),
			want: Event{Type: TypePrice, TS: mustTime("2025-11-28T08:00:00Z"), Price: &Price{
				SKU: "SKU-1", Channel: "web", Price: 19.99, ListPrice: nan, Cost: nan, MapPrice: nan}},
		},
		{
			name:    "price, delisted needs no price",
			payload: build(basePrice, kv{"price", del}, kv{"status", `"delisted"`}),
			want: Event{Type: TypePrice, TS: mustTime("2025-11-28T08:00:00Z"), Price: &Price{
				SKU: "SKU-1", Channel: "web", Price: nan, ListPrice: nan, Cost: nan, MapPrice: nan, Delisted: true}},
		},
		{
			name:    "price, escapes, -0, tiny and exponent numbers",
			payload: build(basePrice, kv{"sku", `"SKU-\"1\"\\\/\u00e9\ud83d\ude00\n"`}, kv{"price", `-0`}, kv{"cost", `1e-400`}, kv{"list_price", `1.5E+2`}),
			want: Event{Type: TypePrice, TS: mustTime("2025-11-28T08:00:00Z"), Price: &Price{
				SKU: "SKU-\"1\"\\/é😀\n", Channel: "web", Price: 0, ListPrice: 150, Cost: 0, MapPrice: nan}},
		},
		{
			name: "price, escaped field names, whitespace, fields of other types and unknown duplicates ignored",
			payload: " \t\r\n{ \"typ\\u0065\" : \"price\" , \"sku\":\"A\",\"channel\":\"web\",\"price\":1,\"ts\":\"2025-11-28T08:00:00Z\"," +
				"\"warehouse\":1,\"warehouse\":2,\"x\":1,\"x\":true,\"id\":null } \n",
			want: Event{Type: TypePrice, TS: mustTime("2025-11-28T08:00:00Z"), Price: &Price{
				SKU: "A", Channel: "web", Price: 1, ListPrice: nan, Cost: nan, MapPrice: nan}},
		},
		{
			name: "stock, every field",
			payload: `{"type":"stock","sku":"SKU-1","warehouse":"berlin","on_hand":120,"ts":"2025-11-28T08:00:00Z",` +
				`"reserved":20,"inbound":50.5,"daily_velocity":14.25}`,
			want: Event{Type: TypeStock, TS: mustTime("2025-11-28T08:00:00Z"), Stock: &Stock{
				SKU: "SKU-1", Warehouse: "berlin", OnHand: 120, Reserved: 20, Inbound: 50.5, DailyVelocity: 14.25}},
		},
		{
			name:    "stock, required fields only",
			payload: build(baseStock, kv{"on_hand", "0"}),
			want: Event{Type: TypeStock, TS: mustTime("2025-11-28T08:00:00Z"), Stock: &Stock{
				SKU: "SKU-1", Warehouse: "berlin", DailyVelocity: nan}},
		},
		{
			name: "promo, every field",
			payload: `{"type":"promo","id":"BF-1","partner":"acme","partner_role":"manufacturer",` +
				`"discount":{"kind":"percent","value":20,"note":"x"},"start":"2025-11-28T00:00:00Z","end":"2025-12-01T00:00:00+01:00",` +
				`"ts":"2025-11-20T10:00:00Z","skus":["SKU-1","SKU-2"],"channels":["amazon-de","web"],"regions":["DE","AT"],` +
				`"priority":10,"stacking":"exclusive","currency":"chf","funded_by":{"acme":0.7,"amazon":0.3},` +
				`"expected_uplift":2.5,"status":"scheduled","combines_with":["marketplace","shop-10"]}`,
			want: Event{Type: TypePromo, TS: mustTime("2025-11-20T10:00:00Z"), Promo: &Promo{
				ID: "BF-1", Partner: "acme", PartnerRole: "manufacturer", Kind: KindPercent, Value: 20,
				Start: mustTime("2025-11-28T00:00:00Z"), End: mustTime("2025-11-30T23:00:00Z"),
				SKUs: []string{"SKU-1", "SKU-2"}, Channels: []string{"amazon-de", "web"}, Regions: []string{"DE", "AT"},
				Priority: 10, Stacking: StackExclusive, Currency: "CHF",
				FundedBy: map[string]float64{"acme": 0.7, "amazon": 0.3}, ExpectedUplift: 2.5,
				CombinesWith: []string{"marketplace", "shop-10"}}},
		},
		{
			name:    "promo, required fields only",
			payload: build(basePromo),
			want: Event{Type: TypePromo, TS: mustTime("2025-11-20T10:00:00Z"), Promo: &Promo{
				ID: "BF-1", Partner: "acme", Kind: KindPercent, Value: 20,
				Start: mustTime("2025-11-28T00:00:00Z"), End: mustTime("2025-12-01T00:00:00Z"),
				SKUs: []string{"SKU-1"}, Stacking: StackStackable, ExpectedUplift: nan}},
		},
		{
			name: "promo, amount 0 by categories and brands",
			payload: build(basePromo, kv{"discount", `{"value":0,"kind":"amount"}`}, kv{"currency", `"usd"`}, kv{"skus", `[]`},
				kv{"categories", `["audio","video"]`}, kv{"brands", `["Acme"]`}, kv{"partner_role", `"marketplace"`},
				kv{"stacking", `"stop"`}, kv{"priority", `-3`}, kv{"status", `"active"`}, kv{"channels", `[]`}, kv{"funded_by", `{}`}),
			want: Event{Type: TypePromo, TS: mustTime("2025-11-20T10:00:00Z"), Promo: &Promo{
				ID: "BF-1", Partner: "acme", PartnerRole: "marketplace", Kind: KindAmount, Value: 0,
				Start: mustTime("2025-11-28T00:00:00Z"), End: mustTime("2025-12-01T00:00:00Z"),
				Categories: []string{"audio", "video"}, Brands: []string{"Acme"}, Priority: -3,
				Stacking: StackStop, Currency: "USD", ExpectedUplift: nan}},
		},
		{
			name: "promo, fixed price for every sku, percent 100 boundary elsewhere",
			payload: build(basePromo, kv{"discount", `{"kind":"fixed_price","value":9.99}`}, kv{"currency", `"GBP"`},
				kv{"skus", `["*"]`}, kv{"partner_role", `"distributor"`}, kv{"funded_by", `{"acme":1,"b":0}`}, kv{"expected_uplift", `0`}),
			want: Event{Type: TypePromo, TS: mustTime("2025-11-20T10:00:00Z"), Promo: &Promo{
				ID: "BF-1", Partner: "acme", PartnerRole: "distributor", Kind: KindFixedPrice, Value: 9.99,
				Start: mustTime("2025-11-28T00:00:00Z"), End: mustTime("2025-12-01T00:00:00Z"),
				AllSKUs: true, Stacking: StackStackable, Currency: "GBP", FundedBy: map[string]float64{"acme": 1, "b": 0}}},
		},
		{
			name:    "promo, percent 100",
			payload: build(basePromo, kv{"discount", `{"kind":"percent","value":100}`}),
			want: Event{Type: TypePromo, TS: mustTime("2025-11-20T10:00:00Z"), Promo: &Promo{
				ID: "BF-1", Partner: "acme", Kind: KindPercent, Value: 100,
				Start: mustTime("2025-11-28T00:00:00Z"), End: mustTime("2025-12-01T00:00:00Z"),
				SKUs: []string{"SKU-1"}, Stacking: StackStackable, ExpectedUplift: nan}},
		},
		{
			name:    "promo, cancelled with id and ts only",
			payload: build(baseCancel),
			want:    Event{Type: TypePromo, TS: mustTime("2025-11-20T10:00:00Z"), Promo: &Promo{ID: "BF-1", Cancelled: true}},
		},
		{
			name: "promo, cancelled does not validate values",
			payload: build(baseCancel, kv{"discount", `{"kind":"bogus","value":-5}`}, kv{"start", `"2025-12-01T00:00:00Z"`},
				kv{"end", `"2025-11-01T00:00:00Z"`}, kv{"skus", `["*","x",""]`}, kv{"stacking", `"never"`},
				kv{"funded_by", `{"a":7}`}, kv{"expected_uplift", `-1`}, kv{"priority", `99999999999999999999999`}),
			want: Event{Type: TypePromo, TS: mustTime("2025-11-20T10:00:00Z"), Promo: &Promo{ID: "BF-1", Cancelled: true}},
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			data := []byte(tc.payload)
			e, err := Decode(data, DecodeOptions{})
			if err != nil {
				t.Fatalf("Decode(%s): %v", tc.payload, err)
			}
			want := tc.want
			want.Raw = []byte(tc.payload)
			if !sameEvent(e, &want) {
				t.Errorf("Decode(%s)\n got %s\nwant %s", tc.payload, describe(e), describe(&want))
			}
			if e.TS.Location() != time.UTC {
				t.Errorf("TS not in UTC: %v", e.TS.Location())
			}
			if e.Source != "" {
				t.Errorf("Source = %q, want empty", e.Source)
			}
			// Raw is a copy: the caller may reuse its buffer.
			for i := range data {
				data[i] = 'x'
			}
			if string(e.Raw) != tc.payload {
				t.Errorf("Raw changed with the caller's buffer: %q", e.Raw)
			}
		})
	}
}

func TestDecodeBad(t *testing.T) {
	now := mustTime("2026-01-01T00:00:00Z")
	future := DecodeOptions{Now: now, MaxSkew: 5 * time.Minute}
	deep := `{"type":"price","x":` + strings.Repeat("[", 1001) + strings.Repeat("]", 1001) + `}`
	for _, tc := range []struct {
		name    string
		payload string
		opts    DecodeOptions
		reason  Code
		field   string
	}{
		// size, UTF-8, syntax
		{"oversize, custom limit", build(basePrice), DecodeOptions{MaxSize: 20}, BadSize, ""},
		{"oversize, default limit", build(basePrice, kv{"pad", `"` + strings.Repeat("x", 1<<20) + `"`}), DecodeOptions{}, BadSize, ""},
		{"invalid UTF-8 in a value", build(basePrice, kv{"sku", "\"A\xffB\""}), DecodeOptions{}, BadUTF8, ""},
		{"invalid UTF-8 in an unknown field", build(basePrice, kv{"x", "\"\xc3\""}), DecodeOptions{}, BadUTF8, ""},
		{"invalid UTF-8 outside strings", build(basePrice) + "\xff", DecodeOptions{}, BadUTF8, ""},
		{"lone high surrogate", build(basePrice, kv{"sku", `"\ud800"`}), DecodeOptions{}, BadUTF8, ""},
		{"lone low surrogate", build(basePrice, kv{"x", `"\udc00\u0041"`}), DecodeOptions{}, BadUTF8, ""},
		{"high surrogate then not low", build(basePrice, kv{"sku", `"\ud800\u0041"`}), DecodeOptions{}, BadUTF8, ""},
		{"empty payload", "", DecodeOptions{}, BadJSON, ""},
		{"blank payload", " \n\t", DecodeOptions{}, BadJSON, ""},
		{"top-level array", "[" + build(basePrice) + "]", DecodeOptions{}, BadJSON, ""},
		{"top-level string", `"price"`, DecodeOptions{}, BadJSON, ""},
		{"top-level number", `12`, DecodeOptions{}, BadJSON, ""},
		{"top-level null", `null`, DecodeOptions{}, BadJSON, ""},
		{"trailing garbage", build(basePrice) + " x", DecodeOptions{}, BadJSON, ""},
		{"two objects", build(basePrice) + build(basePrice), DecodeOptions{}, BadJSON, ""},
		{"truncated", strings.TrimSuffix(build(basePrice), "}"), DecodeOptions{}, BadJSON, ""},
		{"truncated in a string", `{"type":"pri`, DecodeOptions{}, BadJSON, ""},
		{"trailing comma", strings.TrimSuffix(build(basePrice), "}") + ",}", DecodeOptions{}, BadJSON, ""},
		{"missing colon", `{"type" "price"}`, DecodeOptions{}, BadJSON, ""},
		{"single quotes", `{'type':'price'}`, DecodeOptions{}, BadJSON, ""},
		{"unquoted key", `{type:"price"}`, DecodeOptions{}, BadJSON, ""},
		{"leading zero", build(basePrice, kv{"price", "01"}), DecodeOptions{}, BadJSON, ""},
		{"bare dot", build(basePrice, kv{"price", "1."}), DecodeOptions{}, BadJSON, ""},
		{"leading dot", build(basePrice, kv{"price", ".5"}), DecodeOptions{}, BadJSON, ""},
		{"plus sign", build(basePrice, kv{"price", "+1"}), DecodeOptions{}, BadJSON, ""},
		{"empty exponent", build(basePrice, kv{"price", "1e"}), DecodeOptions{}, BadJSON, ""},
		{"NaN literal", build(basePrice, kv{"price", "NaN"}), DecodeOptions{}, BadJSON, ""},
		{"Infinity literal", build(basePrice, kv{"price", "-Infinity"}), DecodeOptions{}, BadJSON, ""},
		{"hex number", build(basePrice, kv{"price", "0x10"}), DecodeOptions{}, BadJSON, ""},
		{"bad literal", build(basePrice, kv{"x", "nul"}), DecodeOptions{}, BadJSON, ""},
		{"bad escape", build(basePrice, kv{"sku", `"\x41"`}), DecodeOptions{}, BadJSON, ""},
		{"short unicode escape", build(basePrice, kv{"sku", `"\u41"`}), DecodeOptions{}, BadJSON, ""},
		{"control character in string", build(basePrice, kv{"sku", "\"A\tB\""}), DecodeOptions{}, BadJSON, ""},
		{"nested too deep", deep, DecodeOptions{}, BadJSON, ""},
		{"bad syntax in an unknown field", build(basePrice, kv{"x", `{"a" 1}`}), DecodeOptions{}, BadJSON, ""},
		{"syntax is checked before type", `{"type":"nope",}`, DecodeOptions{}, BadJSON, ""},

		// duplicates
		{"duplicate type", build(basePrice, dup("type", `"price"`)), DecodeOptions{}, BadJSON, "type"},
		{"duplicate sku", build(basePrice, dup("sku", `"SKU-2"`)), DecodeOptions{}, BadJSON, "sku"},
		{"duplicate price, same value", build(basePrice, dup("price", `19.99`)), DecodeOptions{}, BadJSON, "price"},
		{"duplicate null", build(basePrice, kv{"cost", "null"}, dup("cost", "null")), DecodeOptions{}, BadJSON, "cost"},
		{"duplicate on_hand", build(baseStock, dup("on_hand", `1`)), DecodeOptions{}, BadJSON, "on_hand"},
		{"duplicate skus", build(basePromo, dup("skus", `["A"]`)), DecodeOptions{}, BadJSON, "skus"},
		{"duplicate discount.kind", build(basePromo, kv{"discount", `{"kind":"percent","value":20,"kind":"percent"}`}), DecodeOptions{}, BadJSON, "discount.kind"},
		{"duplicate discount.value", build(basePromo, kv{"discount", `{"kind":"percent","value":20,"value":20}`}), DecodeOptions{}, BadJSON, "discount.value"},
		{"duplicate funded_by partner", build(basePromo, kv{"funded_by", `{"a":0.5,"b":0,"a":0.5}`}), DecodeOptions{}, BadJSON, "funded_by.a"},
		{"duplicate escaped key", build(basePrice, kv{"s\\u006bu", `"B"`}), DecodeOptions{}, BadJSON, "sku"},
		{"duplicate before other errors", build(basePrice, kv{"price", "-1"}, dup("channel", `"x"`)), DecodeOptions{}, BadJSON, "channel"},

		// type
		{"type missing", build(basePrice, kv{"type", del}), DecodeOptions{}, BadType, "type"},
		{"type null", build(basePrice, kv{"type", "null"}), DecodeOptions{}, BadType, "type"},
		{"type unknown", build(basePrice, kv{"type", `"refund"`}), DecodeOptions{}, BadType, "type"},
		{"type wrong case", build(basePrice, kv{"type", `"PRICE"`}), DecodeOptions{}, BadType, "type"},
		{"type empty", build(basePrice, kv{"type", `""`}), DecodeOptions{}, BadType, "type"},
		{"type a number", build(basePrice, kv{"type", `1`}), DecodeOptions{}, BadType, "type"},
		{"type a list", build(basePrice, kv{"type", `["price"]`}), DecodeOptions{}, BadType, "type"},

		// missing required fields
		{"price: sku missing", build(basePrice, kv{"sku", del}), DecodeOptions{}, BadMissing, "sku"},
		{"price: sku null", build(basePrice, kv{"sku", "null"}), DecodeOptions{}, BadMissing, "sku"},
		{"price: sku empty", build(basePrice, kv{"sku", `""`}), DecodeOptions{}, BadMissing, "sku"},
		{"price: channel missing", build(basePrice, kv{"channel", del}), DecodeOptions{}, BadMissing, "channel"},
		{"price: channel null", build(basePrice, kv{"channel", "null"}), DecodeOptions{}, BadMissing, "channel"},
		{"price: price missing", build(basePrice, kv{"price", del}), DecodeOptions{}, BadMissing, "price"},
		{"price: price null", build(basePrice, kv{"price", "null"}), DecodeOptions{}, BadMissing, "price"},
		{"price: price missing, status active", build(basePrice, kv{"price", del}, kv{"status", `"active"`}), DecodeOptions{}, BadMissing, "price"},
		{"price: ts missing", build(basePrice, kv{"ts", del}), DecodeOptions{}, BadMissing, "ts"},
		{"price: ts null", build(basePrice, kv{"ts", "null"}), DecodeOptions{}, BadMissing, "ts"},
		{"price: ts empty", build(basePrice, kv{"ts", `""`}), DecodeOptions{}, BadWrongType, "ts"},
		{"price: delisted still needs a channel", build(basePrice, kv{"channel", del}, kv{"status", `"delisted"`}), DecodeOptions{}, BadMissing, "channel"},
		{"stock: sku missing", build(baseStock, kv{"sku", del}), DecodeOptions{}, BadMissing, "sku"},
		{"stock: warehouse missing", build(baseStock, kv{"warehouse", del}), DecodeOptions{}, BadMissing, "warehouse"},
		{"stock: warehouse empty", build(baseStock, kv{"warehouse", `""`}), DecodeOptions{}, BadMissing, "warehouse"},
		{"stock: on_hand missing", build(baseStock, kv{"on_hand", del}), DecodeOptions{}, BadMissing, "on_hand"},
		{"stock: on_hand null", build(baseStock, kv{"on_hand", "null"}), DecodeOptions{}, BadMissing, "on_hand"},
		{"stock: ts missing", build(baseStock, kv{"ts", del}), DecodeOptions{}, BadMissing, "ts"},
		{"promo: id missing", build(basePromo, kv{"id", del}), DecodeOptions{}, BadMissing, "id"},
		{"promo: id empty", build(basePromo, kv{"id", `""`}), DecodeOptions{}, BadMissing, "id"},
		{"promo: partner missing", build(basePromo, kv{"partner", del}), DecodeOptions{}, BadMissing, "partner"},
		{"promo: partner null", build(basePromo, kv{"partner", "null"}), DecodeOptions{}, BadMissing, "partner"},
		{"promo: discount missing", build(basePromo, kv{"discount", del}), DecodeOptions{}, BadMissing, "discount"},
		{"promo: discount null", build(basePromo, kv{"discount", "null"}), DecodeOptions{}, BadMissing, "discount"},
		{"promo: discount.kind missing", build(basePromo, kv{"discount", `{"value":20}`}), DecodeOptions{}, BadMissing, "discount.kind"},
		{"promo: discount.kind empty", build(basePromo, kv{"discount", `{"kind":"","value":20}`}), DecodeOptions{}, BadMissing, "discount.kind"},
		{"promo: discount.value missing", build(basePromo, kv{"discount", `{"kind":"percent"}`}), DecodeOptions{}, BadMissing, "discount.value"},
		{"promo: discount.value null", build(basePromo, kv{"discount", `{"kind":"percent","value":null}`}), DecodeOptions{}, BadMissing, "discount.value"},
		{"promo: start missing", build(basePromo, kv{"start", del}), DecodeOptions{}, BadMissing, "start"},
		{"promo: end missing", build(basePromo, kv{"end", del}), DecodeOptions{}, BadMissing, "end"},
		{"promo: ts missing", build(basePromo, kv{"ts", del}), DecodeOptions{}, BadMissing, "ts"},
		{"promo: no selector", build(basePromo, kv{"skus", del}), DecodeOptions{}, BadMissing, "skus"},
		{"promo: empty selectors", build(basePromo, kv{"skus", `[]`}, kv{"categories", `[]`}, kv{"brands", "null"}), DecodeOptions{}, BadMissing, "skus"},
		{"promo: cancelled without id", build(baseCancel, kv{"id", del}), DecodeOptions{}, BadMissing, "id"},
		{"promo: cancelled without ts", build(baseCancel, kv{"ts", del}), DecodeOptions{}, BadMissing, "ts"},

		// wrong types
		{"price: sku a number", build(basePrice, kv{"sku", `42`}), DecodeOptions{}, BadWrongType, "sku"},
		{"price: channel a bool", build(basePrice, kv{"channel", `true`}), DecodeOptions{}, BadWrongType, "channel"},
		{"price: price a string", build(basePrice, kv{"price", `"12"`}), DecodeOptions{}, BadWrongType, "price"},
		{"price: price \"NaN\"", build(basePrice, kv{"price", `"NaN"`}), DecodeOptions{}, BadWrongType, "price"},
		{"price: price \"Infinity\"", build(basePrice, kv{"price", `"Infinity"`}), DecodeOptions{}, BadWrongType, "price"},
		{"price: price an object", build(basePrice, kv{"price", `{"amount":1}`}), DecodeOptions{}, BadWrongType, "price"},
		{"price: list_price a string", build(basePrice, kv{"list_price", `"30"`}), DecodeOptions{}, BadWrongType, "list_price"},
		{"price: cost a bool", build(basePrice, kv{"cost", `false`}), DecodeOptions{}, BadWrongType, "cost"},
		{"price: map_price a list", build(basePrice, kv{"map_price", `[1]`}), DecodeOptions{}, BadWrongType, "map_price"},
		{"price: currency a number", build(basePrice, kv{"currency", `978`}), DecodeOptions{}, BadWrongType, "currency"},
		{"price: region a number", build(basePrice, kv{"region", `1`}), DecodeOptions{}, BadWrongType, "region"},
		{"price: category a list", build(basePrice, kv{"category", `["audio"]`}), DecodeOptions{}, BadWrongType, "category"},
		{"price: brand an object", build(basePrice, kv{"brand", `{}`}), DecodeOptions{}, BadWrongType, "brand"},
		{"price: seller a bool", build(basePrice, kv{"seller", `false`}), DecodeOptions{}, BadWrongType, "seller"},
		{"price: status a bool", build(basePrice, kv{"status", `true`}), DecodeOptions{}, BadWrongType, "status"},
		{"price: ts a number", build(basePrice, kv{"ts", `1764316800`}), DecodeOptions{}, BadWrongType, "ts"},
		{"price: ts with a space", build(basePrice, kv{"ts", `"2025-11-28 08:00:00Z"`}), DecodeOptions{}, BadWrongType, "ts"},
		{"price: ts without zone", build(basePrice, kv{"ts", `"2025-11-28T08:00:00"`}), DecodeOptions{}, BadWrongType, "ts"},
		{"price: ts a date", build(basePrice, kv{"ts", `"2025-11-28"`}), DecodeOptions{}, BadWrongType, "ts"},
		{"price: ts with a comma", build(basePrice, kv{"ts", `"2025-11-28T08:00:00,5Z"`}), DecodeOptions{}, BadWrongType, "ts"},
		{"price: ts hour 24", build(basePrice, kv{"ts", `"2025-11-28T24:00:00Z"`}), DecodeOptions{}, BadWrongType, "ts"},
		{"price: valid_from not a time", build(basePrice, kv{"valid_from", `"tomorrow"`}), DecodeOptions{}, BadWrongType, "valid_from"},
		{"stock: on_hand a string", build(baseStock, kv{"on_hand", `"5"`}), DecodeOptions{}, BadWrongType, "on_hand"},
		{"stock: reserved a string", build(baseStock, kv{"reserved", `"5"`}), DecodeOptions{}, BadWrongType, "reserved"},
		{"stock: inbound a bool", build(baseStock, kv{"inbound", `true`}), DecodeOptions{}, BadWrongType, "inbound"},
		{"stock: daily_velocity a list", build(baseStock, kv{"daily_velocity", `[]`}), DecodeOptions{}, BadWrongType, "daily_velocity"},
		{"stock: warehouse a number", build(baseStock, kv{"warehouse", `7`}), DecodeOptions{}, BadWrongType, "warehouse"},
		{"promo: id a number", build(basePromo, kv{"id", `1`}), DecodeOptions{}, BadWrongType, "id"},
		{"promo: partner a list", build(basePromo, kv{"partner", `["a"]`}), DecodeOptions{}, BadWrongType, "partner"},
		{"promo: discount a string", build(basePromo, kv{"discount", `"20%"`}), DecodeOptions{}, BadWrongType, "discount"},
		{"promo: discount.kind a number", build(basePromo, kv{"discount", `{"kind":1,"value":20}`}), DecodeOptions{}, BadWrongType, "discount.kind"},
		{"promo: discount.value a string", build(basePromo, kv{"discount", `{"kind":"percent","value":"20"}`}), DecodeOptions{}, BadWrongType, "discount.value"},
		{"promo: start a number", build(basePromo, kv{"start", `0`}), DecodeOptions{}, BadWrongType, "start"},
		{"promo: end not a time", build(basePromo, kv{"end", `"next week"`}), DecodeOptions{}, BadWrongType, "end"},
		{"promo: skus a string", build(basePromo, kv{"skus", `"SKU-1"`}), DecodeOptions{}, BadWrongType, "skus"},
		{"promo: skus holds a number", build(basePromo, kv{"skus", `["A",2]`}), DecodeOptions{}, BadWrongType, "skus[1]"},
		{"promo: skus holds null", build(basePromo, kv{"skus", `[null]`}), DecodeOptions{}, BadWrongType, "skus[0]"},
		{"promo: categories an object", build(basePromo, kv{"skus", del}, kv{"categories", `{"a":1}`}), DecodeOptions{}, BadWrongType, "categories"},
		{"promo: brands holds a list", build(basePromo, kv{"skus", del}, kv{"brands", `[["a"]]`}), DecodeOptions{}, BadWrongType, "brands[0]"},
		{"promo: channels a string", build(basePromo, kv{"channels", `"web"`}), DecodeOptions{}, BadWrongType, "channels"},
		{"promo: regions holds a bool", build(basePromo, kv{"regions", `["EU",true]`}), DecodeOptions{}, BadWrongType, "regions[1]"},
		{"promo: partner_role a number", build(basePromo, kv{"partner_role", `1`}), DecodeOptions{}, BadWrongType, "partner_role"},
		{"promo: priority 1.5", build(basePromo, kv{"priority", `1.5`}), DecodeOptions{}, BadWrongType, "priority"},
		{"promo: priority 1.0", build(basePromo, kv{"priority", `1.0`}), DecodeOptions{}, BadWrongType, "priority"},
		{"promo: priority 1e2", build(basePromo, kv{"priority", `1e2`}), DecodeOptions{}, BadWrongType, "priority"},
		{"promo: priority a string", build(basePromo, kv{"priority", `"1"`}), DecodeOptions{}, BadWrongType, "priority"},
		{"promo: stacking a bool", build(basePromo, kv{"stacking", `true`}), DecodeOptions{}, BadWrongType, "stacking"},
		{"promo: currency a number", build(basePromo, kv{"currency", `1`}), DecodeOptions{}, BadWrongType, "currency"},
		{"promo: funded_by a list", build(basePromo, kv{"funded_by", `[0.5]`}), DecodeOptions{}, BadWrongType, "funded_by"},
		{"promo: funded_by share a string", build(basePromo, kv{"funded_by", `{"acme":"0.5"}`}), DecodeOptions{}, BadWrongType, "funded_by.acme"},
		{"promo: funded_by share null", build(basePromo, kv{"funded_by", `{"acme":null}`}), DecodeOptions{}, BadWrongType, "funded_by.acme"},
		{"promo: expected_uplift a string", build(basePromo, kv{"expected_uplift", `"2"`}), DecodeOptions{}, BadWrongType, "expected_uplift"},
		{"promo: status a number", build(basePromo, kv{"status", `0`}), DecodeOptions{}, BadWrongType, "status"},
		{"promo: cancelled, partner a number", build(baseCancel, kv{"partner", `7`}), DecodeOptions{}, BadWrongType, "partner"},
		{"promo: cancelled, start not a time", build(baseCancel, kv{"start", `"soon"`}), DecodeOptions{}, BadWrongType, "start"},
		{"promo: cancelled, discount.value a string", build(baseCancel, kv{"discount", `{"kind":"percent","value":"1"}`}), DecodeOptions{}, BadWrongType, "discount.value"},
		{"promo: cancelled, skus holds a number", build(baseCancel, kv{"skus", `["a",1]`}), DecodeOptions{}, BadWrongType, "skus[1]"},
		{"promo: cancelled, priority 1.5", build(baseCancel, kv{"priority", `1.5`}), DecodeOptions{}, BadWrongType, "priority"},
		{"promo: cancelled, funded_by share a bool", build(baseCancel, kv{"funded_by", `{"a":true}`}), DecodeOptions{}, BadWrongType, "funded_by.a"},
		{"promo: cancelled, duplicate id", build(baseCancel, dup("id", `"x"`)), DecodeOptions{}, BadJSON, "id"},
		{"promo: cancelled, duplicate skus", build(baseCancel, kv{"skus", `["x"]`}, dup("skus", `["x"]`)), DecodeOptions{}, BadJSON, "skus"},

		// negative
		{"price: price negative", build(basePrice, kv{"price", `-3`}), DecodeOptions{}, BadNegative, "price"},
		{"price: list_price negative", build(basePrice, kv{"list_price", `-0.01`}), DecodeOptions{}, BadNegative, "list_price"},
		{"price: cost negative", build(basePrice, kv{"cost", `-1`}), DecodeOptions{}, BadNegative, "cost"},
		{"price: map_price negative", build(basePrice, kv{"map_price", `-1e-9`}), DecodeOptions{}, BadNegative, "map_price"},
		{"price: delisted with a negative price", build(basePrice, kv{"price", `-1`}, kv{"status", `"delisted"`}), DecodeOptions{}, BadNegative, "price"},
		{"stock: on_hand negative", build(baseStock, kv{"on_hand", `-1`}), DecodeOptions{}, BadNegative, "on_hand"},
		{"stock: reserved negative", build(baseStock, kv{"reserved", `-1`}), DecodeOptions{}, BadNegative, "reserved"},
		{"stock: inbound negative", build(baseStock, kv{"inbound", `-2.5`}), DecodeOptions{}, BadNegative, "inbound"},
		{"stock: daily_velocity negative", build(baseStock, kv{"daily_velocity", `-0.1`}), DecodeOptions{}, BadNegative, "daily_velocity"},
		{"promo: amount negative", build(basePromo, kv{"discount", `{"kind":"amount","value":-1}`}, kv{"currency", `"EUR"`}), DecodeOptions{}, BadNegative, "discount.value"},
		{"promo: fixed_price negative", build(basePromo, kv{"discount", `{"kind":"fixed_price","value":-0.5}`}, kv{"currency", `"EUR"`}), DecodeOptions{}, BadNegative, "discount.value"},
		{"promo: funded_by share negative", build(basePromo, kv{"funded_by", `{"acme":-0.1}`}), DecodeOptions{}, BadNegative, "funded_by.acme"},
		{"promo: expected_uplift negative", build(basePromo, kv{"expected_uplift", `-1`}), DecodeOptions{}, BadNegative, "expected_uplift"},

		// not finite
		{"price: price 1e400", build(basePrice, kv{"price", `1e400`}), DecodeOptions{}, BadNotFinite, "price"},
		{"price: cost -1e400", build(basePrice, kv{"cost", `-1e400`}), DecodeOptions{}, BadNotFinite, "cost"},
		{"stock: on_hand 1e309", build(baseStock, kv{"on_hand", `1e309`}), DecodeOptions{}, BadNotFinite, "on_hand"},
		{"promo: discount.value 1e999", build(basePromo, kv{"discount", `{"kind":"amount","value":1e999}`}, kv{"currency", `"EUR"`}), DecodeOptions{}, BadNotFinite, "discount.value"},
		{"promo: expected_uplift 1e400", build(basePromo, kv{"expected_uplift", `1e400`}), DecodeOptions{}, BadNotFinite, "expected_uplift"},
		{"promo: funded_by share 1e400", build(basePromo, kv{"funded_by", `{"a":1e400}`}), DecodeOptions{}, BadNotFinite, "funded_by.a"},

		// percent
		{"promo: percent 0", build(basePromo, kv{"discount", `{"kind":"percent","value":0}`}), DecodeOptions{}, BadPercent, "discount.value"},
		{"promo: percent -0", build(basePromo, kv{"discount", `{"kind":"percent","value":-0}`}), DecodeOptions{}, BadPercent, "discount.value"},
		{"promo: percent 100.5", build(basePromo, kv{"discount", `{"kind":"percent","value":100.5}`}), DecodeOptions{}, BadPercent, "discount.value"},
		{"promo: percent -1", build(basePromo, kv{"discount", `{"kind":"percent","value":-1}`}), DecodeOptions{}, BadPercent, "discount.value"},

		// window
		{"promo: start == end", build(basePromo, kv{"end", `"2025-11-28T00:00:00Z"`}), DecodeOptions{}, BadWindow, "end"},
		{"promo: start == end in other zones", build(basePromo, kv{"end", `"2025-11-28T01:00:00+01:00"`}), DecodeOptions{}, BadWindow, "end"},
		{"promo: start > end", build(basePromo, kv{"end", `"2025-11-27T00:00:00Z"`}), DecodeOptions{}, BadWindow, "end"},

		// currency
		{"promo: amount without currency", build(basePromo, kv{"discount", `{"kind":"amount","value":5}`}), DecodeOptions{}, BadCurrency, "currency"},
		{"promo: fixed_price without currency", build(basePromo, kv{"discount", `{"kind":"fixed_price","value":5}`}), DecodeOptions{}, BadCurrency, "currency"},
		{"promo: amount with null currency", build(basePromo, kv{"discount", `{"kind":"amount","value":5}`}, kv{"currency", "null"}), DecodeOptions{}, BadCurrency, "currency"},
		{"promo: amount with empty currency", build(basePromo, kv{"discount", `{"kind":"amount","value":5}`}, kv{"currency", `""`}), DecodeOptions{}, BadCurrency, "currency"},

		// values outside their lists
		{"price: currency of 4 letters", build(basePrice, kv{"currency", `"EURO"`}), DecodeOptions{}, BadValue, "currency"},
		{"price: currency of 2 letters", build(basePrice, kv{"currency", `"EU"`}), DecodeOptions{}, BadValue, "currency"},
		{"price: currency with a digit", build(basePrice, kv{"currency", `"E1R"`}), DecodeOptions{}, BadValue, "currency"},
		{"price: currency not ASCII", build(basePrice, kv{"currency", `"€"`}), DecodeOptions{}, BadValue, "currency"},
		{"price: status unknown", build(basePrice, kv{"status", `"gone"`}), DecodeOptions{}, BadValue, "status"},
		{"price: status empty is absent, so price is required", build(basePrice, kv{"price", del}, kv{"status", `""`}), DecodeOptions{}, BadMissing, "price"},
		{"price: status cancelled", build(basePrice, kv{"status", `"cancelled"`}), DecodeOptions{}, BadValue, "status"},
		{"price: ts year 0", build(basePrice, kv{"ts", `"0000-06-01T00:00:00Z"`}), DecodeOptions{}, BadValue, "ts"},
		{"price: ts the zero time", build(basePrice, kv{"ts", `"0001-01-01T00:00:00Z"`}), DecodeOptions{}, BadValue, "ts"},
		{"price: valid_from the zero time", build(basePrice, kv{"valid_from", `"0001-01-01T01:00:00+01:00"`}), DecodeOptions{}, BadValue, "valid_from"},
		{"promo: kind unknown", build(basePromo, kv{"discount", `{"kind":"bogo","value":1}`}), DecodeOptions{}, BadValue, "discount.kind"},
		{"promo: kind wrong case", build(basePromo, kv{"discount", `{"kind":"Percent","value":1}`}), DecodeOptions{}, BadValue, "discount.kind"},
		{"promo: * mixed with skus", build(basePromo, kv{"skus", `["*","SKU-1"]`}), DecodeOptions{}, BadValue, "skus[0]"},
		{"promo: skus mixed with *", build(basePromo, kv{"skus", `["SKU-1","*"]`}), DecodeOptions{}, BadValue, "skus[1]"},
		{"promo: * twice", build(basePromo, kv{"skus", `["*","*"]`}), DecodeOptions{}, BadValue, "skus[0]"},
		{"promo: empty sku in skus", build(basePromo, kv{"skus", `["A",""]`}), DecodeOptions{}, BadValue, "skus[1]"},
		{"promo: empty category", build(basePromo, kv{"skus", del}, kv{"categories", `[""]`}), DecodeOptions{}, BadValue, "categories[0]"},
		{"promo: empty channel", build(basePromo, kv{"channels", `["web",""]`}), DecodeOptions{}, BadValue, "channels[1]"},
		{"promo: skus and categories", build(basePromo, kv{"categories", `["audio"]`}), DecodeOptions{}, BadValue, "skus"},
		{"promo: * and brands", build(basePromo, kv{"skus", `["*"]`}, kv{"brands", `["Acme"]`}), DecodeOptions{}, BadValue, "skus"},
		{"promo: partner_role unknown", build(basePromo, kv{"partner_role", `"retailer"`}), DecodeOptions{}, BadValue, "partner_role"},
		{"promo: stacking unknown", build(basePromo, kv{"stacking", `"always"`}), DecodeOptions{}, BadValue, "stacking"},
		{"promo: combines_with a string", build(basePromo, kv{"combines_with", `"*"`}), DecodeOptions{}, BadWrongType, "combines_with"},
		{"promo: combines_with a number in it", build(basePromo, kv{"combines_with", `["a",1]`}), DecodeOptions{}, BadWrongType, "combines_with[1]"},
		{"promo: combines_with empty entry", build(basePromo, kv{"combines_with", `["a",""]`}), DecodeOptions{}, BadValue, "combines_with[1]"},
		{"promo: combines_with * with others", build(basePromo, kv{"combines_with", `["*","a"]`}), DecodeOptions{}, BadValue, "combines_with[0]"},
		{"promo: status unknown", build(basePromo, kv{"status", `"paused"`}), DecodeOptions{}, BadValue, "status"},
		{"promo: status delisted", build(basePromo, kv{"status", `"delisted"`}), DecodeOptions{}, BadValue, "status"},
		{"promo: currency unknown shape", build(basePromo, kv{"currency", `"eur "`}), DecodeOptions{}, BadValue, "currency"},
		{"promo: funded_by share 1.5", build(basePromo, kv{"funded_by", `{"acme":1.5}`}), DecodeOptions{}, BadValue, "funded_by.acme"},
		{"promo: funded_by empty partner", build(basePromo, kv{"funded_by", `{"":0.5}`}), DecodeOptions{}, BadValue, "funded_by"},
		{"promo: priority out of range", build(basePromo, kv{"priority", `99999999999999999999`}), DecodeOptions{}, BadValue, "priority"},

		// future
		{"price: ts in the future", build(basePrice, kv{"ts", `"2026-01-01T00:05:00.000000001Z"`}), future, BadFuture, "ts"},
		{"stock: ts in the future", build(baseStock, kv{"ts", `"2026-01-02T00:00:00Z"`}), future, BadFuture, "ts"},
		{"promo: ts in the future", build(basePromo, kv{"ts", `"2026-01-01T01:06:00+01:00"`}), future, BadFuture, "ts"},
		{"promo: cancellation in the future", build(baseCancel, kv{"ts", `"2027-01-01T00:00:00Z"`}), future, BadFuture, "ts"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			e, err := Decode([]byte(tc.payload), tc.opts)
			if err == nil {
				t.Fatalf("Decode(%.200s) = %s, want %s on %q", tc.payload, describe(e), tc.reason, tc.field)
			}
			if e != nil {
				t.Errorf("Decode returned an event with an error: %s", describe(e))
			}
			var ie *InputError
			if !errors.As(err, &ie) {
				t.Fatalf("error %T %v is not an *InputError", err, err)
			}
			if ie.Reason != tc.reason || ie.Field != tc.field {
				t.Errorf("Decode(%.200s): got %s on %q (%v), want %s on %q", tc.payload, ie.Reason, ie.Field, err, tc.reason, tc.field)
			}
			if ie.Msg == "" {
				t.Errorf("empty message")
			}
			if tc.field != "" && !strings.HasPrefix(err.Error(), tc.field+": ") {
				t.Errorf("message %q does not name the field", err)
			}
		})
	}
}

func TestDecodeMessages(t *testing.T) {
	for _, tc := range []struct{ payload, want string }{
		{build(basePrice, kv{"price", "-3"}), "price: must not be negative, got -3"},
		{build(basePrice, kv{"price", `"12"`}), `price: must be a number, got "12"`},
		{build(basePrice, kv{"cost", `true`}), `cost: must be a number, got a boolean true`},
		{build(basePrice, kv{"sku", del}), `sku: is required`},
		{build(basePrice, kv{"sku", "null"}), `sku: is required, got null`},
		{build(basePrice, kv{"type", `"refund"`}), `type: must be price, stock or promo, got "refund"`},
		{build(basePrice, dup("sku", `"B"`)), `sku: duplicate field`},
		{build(basePromo, kv{"discount", `{"kind":"percent","value":100.5}`}), `discount.value: a percent must be in (0, 100], got 100.5`},
		{build(basePromo, kv{"skus", `["*","A"]`}), `skus[0]: "*" (every sku) must be alone in skus`},
		{build(basePrice) + "x", `trailing data after the object at offset 88`},
		{`[1]`, `want a JSON object, got an array`},
		{build(basePrice, kv{"sku", `"` + strings.Repeat("é", 100) + `"`}, kv{"price", "-1"}), "price: must not be negative, got -1"},
		{build(basePromo, kv{"funded_by", `{"` + strings.Repeat("p", 100) + `":2}`}),
			"funded_by." + strings.Repeat("p", 64) + "…: a share must be in [0, 1], got 2"},
		{build(basePrice, kv{"sku", strings.Repeat("1", 100)}), `sku: must be a string, got a number ` + strings.Repeat("1", 64) + "…"},
	} {
		_, err := Decode([]byte(tc.payload), DecodeOptions{})
		if err == nil || err.Error() != tc.want {
			t.Errorf("Decode(%.100s): %v, want %s", tc.payload, err, tc.want)
		}
	}
}

func TestDecodeLimits(t *testing.T) {
	now := mustTime("2026-01-01T00:00:00Z")
	at := func(ts string) string { return build(basePrice, kv{"ts", `"` + ts + `"`}) }
	ok := func(payload string, opts DecodeOptions) {
		t.Helper()
		if _, err := Decode([]byte(payload), opts); err != nil {
			t.Errorf("Decode(%.100s, %+v): %v", payload, opts, err)
		}
	}
	// The skew boundary is inclusive; a zero Now or MaxSkew disables the check.
	ok(at("2026-01-01T00:05:00Z"), DecodeOptions{Now: now, MaxSkew: 5 * time.Minute})
	ok(at("2030-01-01T00:00:00Z"), DecodeOptions{MaxSkew: 5 * time.Minute})
	ok(at("2030-01-01T00:00:00Z"), DecodeOptions{Now: now})
	ok(at("2030-01-01T00:00:00Z"), DecodeOptions{Now: now, MaxSkew: -time.Minute})
	// Size: exactly the limit is fine.
	p := build(basePrice)
	ok(p, DecodeOptions{MaxSize: len(p)})
	pad := build(basePrice, kv{"pad", `""`})
	big := build(basePrice, kv{"pad", `"` + strings.Repeat("x", DefaultMaxSize-len(pad)) + `"`})
	if len(big) != DefaultMaxSize {
		t.Fatalf("big payload is %d bytes", len(big))
	}
	ok(big, DecodeOptions{})
	ok(big, DecodeOptions{MaxSize: -1})
	if _, err := Decode([]byte(big+" "), DecodeOptions{}); err == nil {
		t.Errorf("a payload one byte over the default limit decoded")
	}
	// Nesting: 1000 levels in all are allowed.
	ok(build(basePrice, kv{"x", strings.Repeat("[", 999) + strings.Repeat("]", 999)}), DecodeOptions{})
}

// fileOpts decode the fixture files: see testdata/events/README.md.
var fileOpts = DecodeOptions{MaxSize: 2048, Now: mustTime("2026-01-01T00:00:00Z"), MaxSkew: time.Hour}

func readLines(tb testing.TB, name string) [][]byte {
	tb.Helper()
	data, err := os.ReadFile(name)
	if err != nil {
		tb.Fatal(err)
	}
	return bytes.Split(bytes.TrimSuffix(data, []byte("\n")), []byte("\n"))
}

func TestDecodeFiles(t *testing.T) {
	for i, line := range readLines(t, "testdata/events/good.ndjson") {
		if _, err := Decode(line, fileOpts); err != nil {
			t.Errorf("good.ndjson:%d: %v", i+1, err)
		}
	}
	bad := readLines(t, "testdata/events/bad.ndjson")
	reasons := readLines(t, "testdata/events/bad.reasons")
	if len(bad) != len(reasons) {
		t.Fatalf("bad.ndjson has %d lines, bad.reasons %d", len(bad), len(reasons))
	}
	seen := map[string]bool{}
	for i, line := range bad {
		want := strings.Fields(string(reasons[i]))
		if len(want) != 2 {
			t.Fatalf("bad.reasons:%d: want `<reason> <field>`, got %q", i+1, reasons[i])
		}
		if want[1] == "-" {
			want[1] = ""
		}
		_, err := Decode(line, fileOpts)
		var ie *InputError
		if !errors.As(err, &ie) {
			t.Errorf("bad.ndjson:%d: got %v, want %s on %q", i+1, err, want[0], want[1])
			continue
		}
		if string(ie.Reason) != want[0] || ie.Field != want[1] {
			t.Errorf("bad.ndjson:%d: got %s on %q (%v), want %s on %q", i+1, ie.Reason, ie.Field, err, want[0], want[1])
		}
		seen[string(ie.Reason)] = true
	}
	for _, r := range decodeReasons {
		if !seen[string(r)] {
			t.Errorf("bad.ndjson has no line refused as %s", r)
		}
	}
}

// decodeReasons are the reasons Decode returns.
var decodeReasons = []Code{BadJSON, BadUTF8, BadSize, BadType, BadMissing, BadWrongType, BadNegative,
	BadNotFinite, BadPercent, BadWindow, BadCurrency, BadValue, BadFuture}

func TestDecodeAllocs(t *testing.T) {
	if testing.Short() {
		t.Skip("allocation counts")
	}
	for _, tc := range []struct {
		name    string
		payload []byte
		max     float64
	}{
		{"price", []byte(benchPrice), 3},
		{"stock", []byte(benchStock), 3},
		{"promo", []byte(benchPromo), 6},
	} {
		n := testing.AllocsPerRun(100, func() {
			if _, err := Decode(tc.payload, DecodeOptions{}); err != nil {
				t.Fatal(err)
			}
		})
		if n > tc.max {
			t.Errorf("%s: %v allocations per Decode, want at most %v", tc.name, n, tc.max)
		}
	}
}

const (
	benchPrice = `{"type":"price","sku":"SKU-000123","channel":"amazon-de","price":19.99,"ts":"2025-11-28T08:00:00.123Z",` +
		`"list_price":29.99,"cost":12.5,"map_price":17.99,"currency":"EUR","region":"DE","category":"audio",` +
		`"brand":"Acme","seller":"acme-store"}`
	benchStock = `{"type":"stock","sku":"SKU-000123","warehouse":"berlin","on_hand":120,"ts":"2025-11-28T08:00:00Z",` +
		`"reserved":20,"inbound":50,"daily_velocity":14.5}`
	benchPromo = `{"type":"promo","id":"BF-2025-0042","partner":"acme","partner_role":"manufacturer",` +
		`"discount":{"kind":"percent","value":20},"start":"2025-11-28T00:00:00Z","end":"2025-12-01T00:00:00Z",` +
		`"ts":"2025-11-20T10:00:00Z","skus":["SKU-000123","SKU-000124","SKU-000125"],"channels":["amazon-de","web"],` +
		`"priority":10,"stacking":"exclusive","currency":"EUR","funded_by":{"acme":0.7,"amazon":0.3},"expected_uplift":2.5}`
)

func BenchmarkDecode(b *testing.B) {
	for _, bc := range []struct{ name, payload string }{
		{"price", benchPrice},
		{"stock", benchStock},
		{"promo", benchPromo},
	} {
		b.Run(bc.name, func(b *testing.B) {
			data := []byte(bc.payload)
			b.SetBytes(int64(len(data)))
			b.ReportAllocs()
			for b.Loop() {
				if _, err := Decode(data, DecodeOptions{}); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

// FuzzDecode checks that Decode never panics, refuses with a known reason,
// and otherwise returns an event that keeps every promise of DESIGN §2 and
// decodes the same again.
func FuzzDecode(f *testing.F) {
	for _, name := range []string{"testdata/events/good.ndjson", "testdata/events/bad.ndjson"} {
		for _, line := range readLines(f, name) {
			f.Add(line)
		}
	}
	f.Add([]byte(benchPrice))
	f.Add([]byte(benchStock))
	f.Add([]byte(benchPromo))
	known := map[Code]bool{}
	for _, r := range decodeReasons {
		known[r] = true
	}
	opts := DecodeOptions{MaxSize: 4096, Now: mustTime("2026-01-01T00:00:00Z"), MaxSkew: time.Hour}
	f.Fuzz(func(t *testing.T, data []byte) {
		in := bytes.Clone(data)
		e, err := Decode(data, opts)
		if !bytes.Equal(in, data) {
			t.Fatalf("Decode modified its input")
		}
		checkSyntax(t, data, err)
		if err != nil {
			var ie *InputError
			if !errors.As(err, &ie) || !known[ie.Reason] || ie.Msg == "" {
				t.Fatalf("error %T %#v is not an *InputError with a known reason and a message", err, err)
			}
			if e != nil {
				t.Fatalf("event and error: %s, %v", describe(e), err)
			}
			_, err2 := Decode(data, opts)
			var ie2 *InputError
			if !errors.As(err2, &ie2) || *ie2 != *ie {
				t.Fatalf("not deterministic: %v then %v", err, err2)
			}
			return
		}
		checkEvent(t, e, opts)
		checkAgainstStdlib(t, e, data)
		if !bytes.Equal(e.Raw, data) {
			t.Fatalf("Raw %q differs from the payload", e.Raw)
		}
		e2, err := Decode(e.Raw, opts)
		if err != nil {
			t.Fatalf("re-decoding Raw: %v", err)
		}
		if !sameEvent(e, e2) {
			t.Fatalf("not deterministic:\n%s\n%s", describe(e), describe(e2))
		}
	})
}

func checkEvent(t *testing.T, e *Event, opts DecodeOptions) {
	t.Helper()
	set := 0
	for _, p := range []bool{e.Price != nil, e.Stock != nil, e.Promo != nil} {
		if p {
			set++
		}
	}
	if set != 1 {
		t.Fatalf("%d payloads set: %s", set, describe(e))
	}
	if e.TS.IsZero() || e.TS.Location() != time.UTC {
		t.Fatalf("bad ts %v", e.TS)
	}
	if e.TS.After(opts.Now.Add(opts.MaxSkew)) {
		t.Fatalf("ts %v beyond the skew", e.TS)
	}
	if e.Source != "" {
		t.Fatalf("Source set")
	}
	money := func(name string, x float64, nanOK bool) {
		t.Helper()
		if math.IsNaN(x) && nanOK {
			return
		}
		if math.IsNaN(x) || math.IsInf(x, 0) || x < 0 || math.Signbit(x) {
			t.Fatalf("%s = %v: %s", name, x, describe(e))
		}
	}
	utc := func(name string, tm time.Time, zeroOK bool) {
		t.Helper()
		if tm.IsZero() && zeroOK {
			return
		}
		if tm.IsZero() || tm.Location() != time.UTC {
			t.Fatalf("%s = %v", name, tm)
		}
	}
	nonEmpty := func(name, s string) {
		t.Helper()
		if s == "" {
			t.Fatalf("%s empty: %s", name, describe(e))
		}
	}
	currency := func(c string) {
		t.Helper()
		if c == "" {
			return
		}
		if len(c) != 3 || strings.ToUpper(c) != c || strings.Trim(c, "ABCDEFGHIJKLMNOPQRSTUVWXYZ") != "" {
			t.Fatalf("currency %q", c)
		}
	}
	switch e.Type {
	case TypePrice:
		p := e.Price
		if p == nil {
			t.Fatalf("price event without Price")
		}
		nonEmpty("sku", p.SKU)
		nonEmpty("channel", p.Channel)
		money("price", p.Price, p.Delisted)
		money("list_price", p.ListPrice, true)
		money("cost", p.Cost, true)
		money("map_price", p.MapPrice, true)
		currency(p.Currency)
		utc("valid_from", p.ValidFrom, true)
	case TypeStock:
		s := e.Stock
		if s == nil {
			t.Fatalf("stock event without Stock")
		}
		nonEmpty("sku", s.SKU)
		nonEmpty("warehouse", s.Warehouse)
		money("on_hand", s.OnHand, false)
		money("reserved", s.Reserved, false)
		money("inbound", s.Inbound, false)
		money("daily_velocity", s.DailyVelocity, true)
	case TypePromo:
		p := e.Promo
		if p == nil {
			t.Fatalf("promo event without Promo")
		}
		nonEmpty("id", p.ID)
		if p.Cancelled {
			if !reflect.DeepEqual(*p, Promo{ID: p.ID, Cancelled: true}) {
				t.Fatalf("cancellation carries more than its id: %+v", p)
			}
			return
		}
		nonEmpty("partner", p.Partner)
		switch p.PartnerRole {
		case "", "manufacturer", "distributor", "marketplace":
		default:
			t.Fatalf("partner_role %q", p.PartnerRole)
		}
		switch p.Kind {
		case KindPercent:
			if !(p.Value > 0 && p.Value <= 100) {
				t.Fatalf("percent %v", p.Value)
			}
		case KindAmount, KindFixedPrice:
			money("value", p.Value, false)
			if p.Currency == "" {
				t.Fatalf("%s without currency", p.Kind)
			}
		default:
			t.Fatalf("kind %q", p.Kind)
		}
		currency(p.Currency)
		utc("start", p.Start, false)
		utc("end", p.End, false)
		if !p.Start.Before(p.End) {
			t.Fatalf("start %v not before end %v", p.Start, p.End)
		}
		bySKU := p.AllSKUs || len(p.SKUs) > 0
		byAttr := len(p.Categories) > 0 || len(p.Brands) > 0
		if bySKU == byAttr || p.AllSKUs && len(p.SKUs) > 0 || slices.Contains(p.SKUs, "*") {
			t.Fatalf("bad selector: %+v", p)
		}
		for _, l := range [][]string{p.SKUs, p.Categories, p.Brands, p.Channels, p.Regions} {
			if l != nil && len(l) == 0 {
				t.Fatalf("empty non-nil list: %+v", p)
			}
			for _, s := range l {
				if s == "" {
					t.Fatalf("empty list element: %+v", p)
				}
			}
			if cap(l) != len(l) {
				t.Fatalf("list with spare capacity shares its backing array: %+v", p)
			}
		}
		switch p.Stacking {
		case StackExclusive, StackStackable, StackStop:
		default:
			t.Fatalf("stacking %q", p.Stacking)
		}
		if p.FundedBy != nil && len(p.FundedBy) == 0 {
			t.Fatalf("empty non-nil funded_by")
		}
		for k, v := range p.FundedBy {
			if k == "" || math.IsNaN(v) || v < 0 || v > 1 || math.Signbit(v) {
				t.Fatalf("funded_by %q: %v", k, v)
			}
		}
		money("expected_uplift", p.ExpectedUplift, true)
	default:
		t.Fatalf("type %v", e.Type)
	}
}

// checkSyntax compares Decode's view of JSON syntax with encoding/json's.
func checkSyntax(t *testing.T, data []byte, err error) {
	t.Helper()
	var ie *InputError
	errors.As(err, &ie)
	syntaxOnly := ie != nil && (ie.Reason == BadSize || ie.Reason == BadUTF8 || ie.Reason == BadJSON && ie.Field == "")
	valid := json.Valid(data)
	if !syntaxOnly && !valid {
		t.Fatalf("Decode got past syntax (%v) on invalid JSON %q", err, data)
	}
	if ie != nil && ie.Reason == BadJSON && ie.Field == "" && valid && utf8.Valid(data) &&
		!strings.HasPrefix(ie.Msg, "want a JSON object") && !strings.HasPrefix(ie.Msg, "nested deeper") {
		t.Fatalf("Decode refused valid JSON %q: %v", data, err)
	}
}

// checkAgainstStdlib compares the main fields of a decoded event with what
// encoding/json reads from the same payload.
func checkAgainstStdlib(t *testing.T, e *Event, data []byte) {
	t.Helper()
	var m map[string]any
	if err := json.Unmarshal(data, &m); err != nil {
		t.Fatalf("encoding/json refuses what Decode took: %v", err)
	}
	str := func(k, got string) {
		t.Helper()
		want, _ := m[k].(string)
		if got != want {
			t.Fatalf("%s: Decode %q, encoding/json %q", k, got, want)
		}
	}
	num := func(k string, got float64) {
		t.Helper()
		want, ok := m[k].(float64)
		if !ok {
			want = math.NaN()
		}
		if got != want && !(math.IsNaN(got) && math.IsNaN(want)) {
			t.Fatalf("%s: Decode %v, encoding/json %v", k, got, want)
		}
	}
	switch {
	case e.Price != nil:
		p := e.Price
		str("sku", p.SKU)
		str("channel", p.Channel)
		str("region", p.Region)
		str("category", p.Category)
		str("brand", p.Brand)
		str("seller", p.Seller)
		num("price", p.Price)
		num("list_price", p.ListPrice)
		num("cost", p.Cost)
		num("map_price", p.MapPrice)
		c, _ := m["currency"].(string)
		if p.Currency != strings.ToUpper(c) {
			t.Fatalf("currency %q from %q", p.Currency, c)
		}
	case e.Stock != nil:
		s := e.Stock
		str("sku", s.SKU)
		str("warehouse", s.Warehouse)
		num("on_hand", s.OnHand)
		num("daily_velocity", s.DailyVelocity)
	case e.Promo != nil:
		p := e.Promo
		str("id", p.ID)
		if p.Cancelled {
			return
		}
		str("partner", p.Partner)
		num("expected_uplift", p.ExpectedUplift)
		list := func(k string, got []string) {
			t.Helper()
			raw, _ := m[k].([]any)
			var want []string
			for _, x := range raw {
				want = append(want, x.(string))
			}
			if k == "skus" && len(want) == 1 && want[0] == "*" {
				want = nil
			}
			if !slices.Equal(got, want) {
				t.Fatalf("%s: Decode %q, encoding/json %q", k, got, want)
			}
		}
		list("skus", p.SKUs)
		list("categories", p.Categories)
		list("brands", p.Brands)
		list("channels", p.Channels)
		list("regions", p.Regions)
		fb, _ := m["funded_by"].(map[string]any)
		if len(fb) != len(p.FundedBy) {
			t.Fatalf("funded_by: Decode %v, encoding/json %v", p.FundedBy, fb)
		}
		for k, v := range fb {
			if got, ok := p.FundedBy[k]; !ok || got != v.(float64) {
				t.Fatalf("funded_by: Decode %v, encoding/json %v", p.FundedBy, fb)
			}
		}
		d, _ := m["discount"].(map[string]any)
		if d["kind"] != p.Kind || d["value"] != p.Value {
			t.Fatalf("discount: Decode %s %v, encoding/json %v", p.Kind, p.Value, d)
		}
	}
}
