package event

import (
	"bytes"
	"fmt"
	"math"
	"strconv"
	"strings"
	"time"
	"unicode/utf16"
	"unicode/utf8"
)

// DefaultMaxSize is the default bound on the size of one event payload.
const DefaultMaxSize = 1 << 20

// maxDepth bounds the nesting of arrays and objects in a payload, so that a
// payload of a million '[' costs neither a deep recursion nor much time. No
// event nests deeper than 3.
const maxDepth = 1000

// DecodeOptions configure Decode. The zero value decodes with the defaults
// and no future check, as replay needs.
type DecodeOptions struct {
	// MaxSize bounds a payload in bytes: a larger one is refused as
	// BadSize. 0 (or a negative value) means DefaultMaxSize, 1 MiB.
	MaxSize int
	// Now and MaxSkew refuse an event whose ts is later than Now+MaxSkew
	// (BadFuture). A zero Now or a MaxSkew <= 0 disables the check: replay
	// and test have no wall clock.
	Now     time.Time
	MaxSkew time.Duration
}

// Decode decodes one input event (DESIGN §2) strictly. Every error it
// returns is an *InputError whose Reason is one of the Bad* codes and whose
// Field names the JSON field at fault ("price", "discount.value",
// "skus[2]", "funded_by.acme"), or is empty when the payload as a whole is
// at fault.
//
// The checks run in this order, and the first failure is returned:
//
//  1. size (BadSize), then UTF-8 validity (BadUTF8), then JSON syntax
//     (BadJSON: a payload that is not exactly one JSON object, trailing
//     data included, a lone surrogate in a \u escape (BadUTF8), or an
//     object nested deeper than 1000 levels);
//  2. type (BadType: missing, null, not a string, or not price, stock or
//     promo);
//  3. duplicate fields (BadJSON, Field = the field): a field the event's
//     type reads may appear once. Unknown fields are ignored, duplicates
//     included; so are the fields of the other types.
//  4. the fields of the type, one by one in a fixed order (the key and ts
//     first, then status, which decides what else is required), with the
//     cross-field checks (currency of amount and fixed_price, start < end,
//     the selector) once their fields are read;
//  5. ts against DecodeOptions.Now+MaxSkew (BadFuture).
//
// Conventions where DESIGN §2 is silent:
//   - null is the same as absent: BadMissing for a required field, the
//     default for an optional one. An empty string is BadMissing for a
//     required string field (sku, channel, warehouse, id, partner,
//     discount.kind) and absent for an optional one (currency "" too, so an
//     amount promotion with currency "" is BadCurrency); an empty time
//     string is BadWrongType.
//   - times are RFC 3339 strings (a '.' before the fraction, as RFC 3339
//     says), converted to UTC; a time at or before 0001-01-01T00:00:00Z is
//     BadValue, because the zero time means "absent" in the engine.
//   - numbers are JSON numbers; one out of float64 range (1e400) is
//     BadNotFinite; one too small to represent (1e-400) is 0; -0 is 0.
//   - priority is a JSON integer literal (no fraction or exponent: 1.0 and
//     1e2 are BadWrongType); outside the range of int it is BadValue.
//   - a selector list (skus, categories, brands) that is empty counts as
//     absent; skus together with categories or brands is BadValue (the
//     selector is one or the other); an empty string in any list is
//     BadValue; "*" is only allowed alone in skus.
//   - funded_by is an object of non-empty partner names to shares in
//     [0, 1]: a negative share is BadNegative, a share above 1 BadValue. The
//     sum is not checked (a rule can).
//   - a delisted price event needs no price: Price is then NaN. Its other
//     fields are validated as usual.
//   - a cancelled promotion (status: cancelled) needs only id and ts; its
//     other fields are checked for their JSON type (and time format) only
//     (duplicate fields are refused at the top level, not inside discount
//     or funded_by), and the event carries the same Promo as a Tombstone: ID and
//     Cancelled.
//
// A Kafka tombstone (a record with a null value) is no payload: the caller
// makes it a cancellation with Tombstone. The JSON text null is BadJSON.
//
// Decode copies data into Event.Raw, so the caller may reuse its buffer (as
// bufio.Scanner does). Source is left empty for the caller to set. The
// strings of one event share one allocation.
func Decode(data []byte, opts DecodeOptions) (*Event, error) {
	limit := opts.MaxSize
	if limit <= 0 {
		limit = DefaultMaxSize
	}
	if len(data) > limit {
		return nil, &InputError{Reason: BadSize, Msg: fmt.Sprintf("payload is %d bytes, more than the limit of %d", len(data), limit)}
	}
	if !utf8.Valid(data) {
		return nil, &InputError{Reason: BadUTF8, Msg: fmt.Sprintf("invalid UTF-8 at offset %d", invalidUTF8At(data))}
	}
	var d decoder
	d.data = data
	if err := d.scan(); err != nil {
		return nil, err
	}
	e, err := d.event()
	if err != nil {
		return nil, err
	}
	if !opts.Now.IsZero() && opts.MaxSkew > 0 {
		if limit := opts.Now.Add(opts.MaxSkew); e.TS.After(limit) {
			return nil, &InputError{Reason: BadFuture, Field: "ts", Msg: fmt.Sprintf("%s is more than %s ahead of now (%s)",
				e.TS.Format(time.RFC3339Nano), opts.MaxSkew, opts.Now.UTC().Format(time.RFC3339Nano))}
		}
	}
	e.Raw = append([]byte(nil), data...)
	return e, nil
}

func invalidUTF8At(b []byte) int {
	for i := 0; i < len(b); {
		r, n := utf8.DecodeRune(b[i:])
		if r == utf8.RuneError && n == 1 {
			return i
		}
		i += n
	}
	return len(b)
}

// The fields Decode knows, over all types.
const (
	fType = iota
	fSKU
	fChannel
	fPrice
	fTS
	fListPrice
	fCost
	fMapPrice
	fCurrency
	fRegion
	fCategory
	fBrand
	fSeller
	fValidFrom
	fStatus
	fWarehouse
	fOnHand
	fReserved
	fInbound
	fDailyVelocity
	fID
	fPartner
	fDiscount
	fStart
	fEnd
	fSKUs
	fCategories
	fBrands
	fPartnerRole
	fChannels
	fRegions
	fPriority
	fStacking
	fFundedBy
	fExpectedUplift
	fCombinesWith
	numFields
)

var fieldNames = [numFields]string{
	fType: "type", fSKU: "sku", fChannel: "channel", fPrice: "price", fTS: "ts",
	fListPrice: "list_price", fCost: "cost", fMapPrice: "map_price", fCurrency: "currency",
	fRegion: "region", fCategory: "category", fBrand: "brand", fSeller: "seller",
	fValidFrom: "valid_from", fStatus: "status", fWarehouse: "warehouse", fOnHand: "on_hand",
	fReserved: "reserved", fInbound: "inbound", fDailyVelocity: "daily_velocity", fID: "id",
	fPartner: "partner", fDiscount: "discount", fStart: "start", fEnd: "end", fSKUs: "skus",
	fCategories: "categories", fBrands: "brands", fPartnerRole: "partner_role",
	fChannels: "channels", fRegions: "regions", fPriority: "priority", fStacking: "stacking",
	fFundedBy: "funded_by", fExpectedUplift: "expected_uplift", fCombinesWith: "combines_with",
}

func fieldIndex(k []byte) int {
	switch string(k) {
	case "type":
		return fType
	case "sku":
		return fSKU
	case "channel":
		return fChannel
	case "price":
		return fPrice
	case "ts":
		return fTS
	case "list_price":
		return fListPrice
	case "cost":
		return fCost
	case "map_price":
		return fMapPrice
	case "currency":
		return fCurrency
	case "region":
		return fRegion
	case "category":
		return fCategory
	case "brand":
		return fBrand
	case "seller":
		return fSeller
	case "valid_from":
		return fValidFrom
	case "status":
		return fStatus
	case "warehouse":
		return fWarehouse
	case "on_hand":
		return fOnHand
	case "reserved":
		return fReserved
	case "inbound":
		return fInbound
	case "daily_velocity":
		return fDailyVelocity
	case "id":
		return fID
	case "partner":
		return fPartner
	case "discount":
		return fDiscount
	case "start":
		return fStart
	case "end":
		return fEnd
	case "skus":
		return fSKUs
	case "categories":
		return fCategories
	case "brands":
		return fBrands
	case "partner_role":
		return fPartnerRole
	case "channels":
		return fChannels
	case "regions":
		return fRegions
	case "priority":
		return fPriority
	case "stacking":
		return fStacking
	case "funded_by":
		return fFundedBy
	case "expected_uplift":
		return fExpectedUplift
	case "combines_with":
		return fCombinesWith
	}
	return -1
}

func mask(fs ...int) uint64 {
	var m uint64
	for _, f := range fs {
		m |= 1 << f
	}
	return m
}

// The fields each type reads; the others are unknown to it.
var typeFields = [...]uint64{
	TypePrice: mask(fType, fSKU, fChannel, fPrice, fTS, fListPrice, fCost, fMapPrice, fCurrency,
		fRegion, fCategory, fBrand, fSeller, fValidFrom, fStatus),
	TypeStock: mask(fType, fSKU, fWarehouse, fOnHand, fTS, fReserved, fInbound, fDailyVelocity),
	TypePromo: mask(fType, fID, fPartner, fDiscount, fStart, fEnd, fTS, fSKUs, fCategories, fBrands,
		fPartnerRole, fChannels, fRegions, fPriority, fStacking, fCurrency, fFundedBy, fExpectedUplift, fStatus, fCombinesWith),
}

// JSON value kinds.
const (
	kAbsent = iota
	kString
	kNumber
	kObject
	kArray
	kBool
	kNull
)

var kindNames = [...]string{kAbsent: "nothing", kString: "a string", kNumber: "a number", kObject: "an object",
	kArray: "an array", kBool: "a boolean", kNull: "null"}

// val is one scanned JSON value: data[start:end] is its text.
type val struct {
	start, end int
	n          int   // members of an object, elements of an array
	kind       uint8 // kAbsent when the field is absent
	esc        bool  // a string with escapes
	frac       bool  // a number with a fraction or an exponent
	dup        bool  // the field appeared more than once
}

type decoder struct {
	data    []byte
	vals    [numFields]val
	sb      strings.Builder // the strings of the event, one allocation
	scratch []byte          // unescaped strings
}

// ---- syntax: one pass over the payload ----

// scan checks that the payload is one JSON object and records the values of
// the fields Decode knows.
func (d *decoder) scan() *InputError {
	s := scanner{b: d.data}
	s.ws()
	if s.i >= len(s.b) {
		return &InputError{Reason: BadJSON, Msg: "empty payload"}
	}
	if c := s.b[s.i]; c != '{' {
		what := quoteChar(s.b, s.i)
		switch {
		case c == '[':
			what = "an array"
		case c == '"':
			what = "a string"
		case c == '-' || c >= '0' && c <= '9':
			what = "a number"
		case bytes.HasPrefix(s.b[s.i:], []byte("true")) || bytes.HasPrefix(s.b[s.i:], []byte("false")):
			what = "a boolean"
		case bytes.HasPrefix(s.b[s.i:], []byte("null")):
			what = "null"
		}
		return &InputError{Reason: BadJSON, Msg: "want a JSON object, got " + what}
	}
	s.i++
	s.ws()
	if s.peek() == '}' {
		s.i++
	} else {
		var k, skip val
		for {
			if err := s.key(&k); err != nil {
				return err
			}
			kb := d.data[k.start+1 : k.end-1]
			if k.esc {
				kb = d.unescape(k)
			}
			// Scan the value of a known field into its slot.
			v := &skip
			if f := fieldIndex(kb); f >= 0 {
				if d.vals[f].kind != kAbsent {
					d.vals[f].dup = true
				} else {
					v = &d.vals[f]
				}
			}
			if err := s.value(1, v); err != nil {
				return err
			}
			if done, err := s.next('}'); err != nil {
				return err
			} else if done {
				break
			}
		}
	}
	s.ws()
	if s.i < len(s.b) {
		return &InputError{Reason: BadJSON, Msg: fmt.Sprintf("trailing data after the object at offset %d", s.i)}
	}
	return nil
}

type scanner struct {
	b []byte
	i int
}

func (s *scanner) ws() {
	for s.i < len(s.b) {
		switch s.b[s.i] {
		case ' ', '\t', '\n', '\r':
			s.i++
		default:
			return
		}
	}
}

// peek returns the byte at the cursor, or 0 at the end.
func (s *scanner) peek() byte {
	if s.i < len(s.b) {
		return s.b[s.i]
	}
	return 0
}

func (s *scanner) unexpected(want string) *InputError {
	if s.i >= len(s.b) {
		return &InputError{Reason: BadJSON, Msg: "unexpected end of input, want " + want}
	}
	return &InputError{Reason: BadJSON, Msg: fmt.Sprintf("unexpected %s at offset %d, want %s", quoteChar(s.b, s.i), s.i, want)}
}

func quoteChar(b []byte, i int) string {
	r, _ := utf8.DecodeRune(b[i:])
	return strconv.QuoteRune(r)
}

// key scans `"name" :` and the whitespace after it.
func (s *scanner) key(k *val) *InputError {
	if s.peek() != '"' {
		return s.unexpected("a field name")
	}
	if err := s.str(k); err != nil {
		return err
	}
	s.ws()
	if s.peek() != ':' {
		return s.unexpected("':'")
	}
	s.i++
	s.ws()
	return nil
}

// next consumes the ',' or the closing byte after a member or element, and
// the whitespace after a ','. done says the container is closed.
func (s *scanner) next(closing byte) (done bool, err *InputError) {
	s.ws()
	switch s.peek() {
	case ',':
		s.i++
		s.ws()
		return false, nil
	case closing:
		s.i++
		return true, nil
	}
	return false, s.unexpected("',' or '" + string(closing) + "'")
}

// value scans one JSON value at the cursor into v.
func (s *scanner) value(depth int, v *val) *InputError {
	switch c := s.peek(); {
	case c == '"':
		return s.str(v)
	case c == '-' || c >= '0' && c <= '9':
		return s.number(v)
	case c == '{':
		return s.container(depth, kObject, '}', v)
	case c == '[':
		return s.container(depth, kArray, ']', v)
	case c == 't':
		return s.literal("true", kBool, v)
	case c == 'f':
		return s.literal("false", kBool, v)
	case c == 'n':
		return s.literal("null", kNull, v)
	}
	return s.unexpected("a value")
}

// container scans an object or an array.
func (s *scanner) container(depth int, kind uint8, closing byte, v *val) *InputError {
	if depth >= maxDepth {
		return &InputError{Reason: BadJSON, Msg: fmt.Sprintf("nested deeper than %d at offset %d", maxDepth, s.i)}
	}
	*v = val{start: s.i, kind: kind}
	s.i++
	s.ws()
	if s.peek() == closing {
		s.i++
		v.end = s.i
		return nil
	}
	var tmp val
	for {
		if kind == kObject {
			if err := s.key(&tmp); err != nil {
				return err
			}
		}
		if err := s.value(depth+1, &tmp); err != nil {
			return err
		}
		v.n++
		done, err := s.next(closing)
		if err != nil {
			return err
		}
		if done {
			v.end = s.i
			return nil
		}
	}
}

func (s *scanner) literal(lit string, kind uint8, v *val) *InputError {
	if len(s.b)-s.i < len(lit) || string(s.b[s.i:s.i+len(lit)]) != lit {
		return &InputError{Reason: BadJSON, Msg: fmt.Sprintf("invalid literal at offset %d, want %s", s.i, lit)}
	}
	*v = val{start: s.i, end: s.i + len(lit), kind: kind}
	s.i += len(lit)
	return nil
}

// str scans a string. The payload is valid UTF-8 already.
func (s *scanner) str(v *val) *InputError {
	// the common case: no escape
	b, start := s.b, s.i
	for i := start + 1; i < len(b); i++ {
		c := b[i]
		if c == '"' {
			s.i = i + 1
			*v = val{start: start, end: i + 1, kind: kString}
			return nil
		}
		if c == '\\' || c < 0x20 {
			break
		}
	}
	*v = val{start: start, kind: kString}
	return s.strSlow(v)
}

func (s *scanner) strSlow(v *val) *InputError {
	s.i++ // the opening quote
	for {
		// the common case: a run of plain bytes
		for s.i < len(s.b) {
			c := s.b[s.i]
			if c == '"' || c == '\\' || c < 0x20 {
				break
			}
			s.i++
		}
		if s.i >= len(s.b) {
			return &InputError{Reason: BadJSON, Msg: fmt.Sprintf("unterminated string at offset %d", v.start)}
		}
		switch c := s.b[s.i]; {
		case c == '"':
			s.i++
			v.end = s.i
			return nil
		case c < 0x20:
			return &InputError{Reason: BadJSON, Msg: fmt.Sprintf("control character %q in string at offset %d", c, s.i)}
		}
		// an escape
		v.esc = true
		if s.i+1 >= len(s.b) {
			return &InputError{Reason: BadJSON, Msg: fmt.Sprintf("unterminated string at offset %d", v.start)}
		}
		switch s.b[s.i+1] {
		case '"', '\\', '/', 'b', 'f', 'n', 'r', 't':
			s.i += 2
		case 'u':
			r, ok := hex4(s.b, s.i+2)
			if !ok {
				return &InputError{Reason: BadJSON, Msg: fmt.Sprintf("invalid \\u escape at offset %d", s.i)}
			}
			at := s.i
			s.i += 6
			if utf16.IsSurrogate(r) {
				r2, ok := rune(0), false
				if r < 0xdc00 && s.i+1 < len(s.b) && s.b[s.i] == '\\' && s.b[s.i+1] == 'u' {
					r2, ok = hex4(s.b, s.i+2)
				}
				if !ok || utf16.DecodeRune(r, r2) == utf8.RuneError {
					return &InputError{Reason: BadUTF8, Msg: fmt.Sprintf("\\u escape of a lone surrogate at offset %d", at)}
				}
				s.i += 6
			}
		default:
			return &InputError{Reason: BadJSON, Msg: fmt.Sprintf("invalid escape %s at offset %d", quoteChar(s.b, s.i+1), s.i)}
		}
	}
}

func hex4(b []byte, i int) (rune, bool) {
	if len(b)-i < 4 {
		return 0, false
	}
	var r rune
	for _, c := range b[i : i+4] {
		switch {
		case c >= '0' && c <= '9':
			c -= '0'
		case c >= 'a' && c <= 'f':
			c -= 'a' - 10
		case c >= 'A' && c <= 'F':
			c -= 'A' - 10
		default:
			return 0, false
		}
		r = r<<4 | rune(c)
	}
	return r, true
}

// number scans -?(0|[1-9][0-9]*)(\.[0-9]+)?([eE][+-]?[0-9]+)?
func (s *scanner) number(v *val) *InputError {
	*v = val{start: s.i, kind: kNumber}
	if s.peek() == '-' {
		s.i++
	}
	switch c := s.peek(); {
	case c == '0':
		s.i++
	case c >= '1' && c <= '9':
		s.digits()
	default:
		return s.unexpected("a digit")
	}
	if s.peek() == '.' {
		s.i++
		v.frac = true
		if !s.digits() {
			return s.unexpected("a digit")
		}
	}
	if c := s.peek(); c == 'e' || c == 'E' {
		s.i++
		v.frac = true
		if c := s.peek(); c == '+' || c == '-' {
			s.i++
		}
		if !s.digits() {
			return s.unexpected("a digit")
		}
	}
	v.end = s.i
	return nil
}

func (s *scanner) digits() bool {
	start := s.i
	for s.i < len(s.b) && s.b[s.i] >= '0' && s.b[s.i] <= '9' {
		s.i++
	}
	return s.i > start
}

// unescape returns the content of an escaped string value, in d.scratch
// (valid until the next call). The value was validated by scan.
func (d *decoder) unescape(v val) []byte {
	b := d.data[v.start+1 : v.end-1]
	out := d.scratch[:0]
	for i := 0; i < len(b); {
		c := b[i]
		if c != '\\' {
			out = append(out, c)
			i++
			continue
		}
		switch b[i+1] {
		case 'b':
			out = append(out, '\b')
		case 'f':
			out = append(out, '\f')
		case 'n':
			out = append(out, '\n')
		case 'r':
			out = append(out, '\r')
		case 't':
			out = append(out, '\t')
		case 'u':
			r, _ := hex4(b, i+2)
			if utf16.IsSurrogate(r) {
				r2, _ := hex4(b, i+8)
				r = utf16.DecodeRune(r, r2)
				i += 6
			}
			out = utf8.AppendRune(out, r)
			i += 6
			continue
		default: // '"', '\\', '/'
			out = append(out, b[i+1])
		}
		i += 2
	}
	d.scratch = out
	return out
}

// ---- meaning: the fields of each type ----

func (d *decoder) event() (*Event, *InputError) {
	t := d.vals[fType]
	if t.dup {
		return nil, dupErr("type")
	}
	var typ Type
	switch {
	case t.kind == kAbsent:
		return nil, &InputError{Reason: BadType, Field: "type", Msg: "is required: price, stock or promo"}
	case t.kind != kString:
		return nil, &InputError{Reason: BadType, Field: "type", Msg: "must be price, stock or promo, got " + d.show(t)}
	default:
		switch string(d.str(t)) {
		case "price":
			typ = TypePrice
		case "stock":
			typ = TypeStock
		case "promo":
			typ = TypePromo
		default:
			return nil, &InputError{Reason: BadType, Field: "type", Msg: "must be price, stock or promo, got " + d.show(t)}
		}
	}
	fields := typeFields[typ]
	size := 0
	for f := range numFields {
		if fields&(1<<f) == 0 {
			continue
		}
		v := &d.vals[f]
		if v.dup {
			return nil, dupErr(fieldNames[f])
		}
		if v.kind == kString || v.kind == kArray || v.kind == kObject {
			size += v.end - v.start
		}
	}
	if st := d.vals[fStatus]; typ == TypePromo && st.kind == kString && string(d.str(st)) == "cancelled" {
		size = d.vals[fID].end - d.vals[fID].start // a cancellation keeps only its id
	}
	d.sb.Grow(size)
	switch typ {
	case TypePrice:
		return d.price()
	case TypeStock:
		return d.stock()
	default:
		return d.promo()
	}
}

func dupErr(field string) *InputError {
	return &InputError{Reason: BadJSON, Field: field, Msg: "duplicate field"}
}

func (d *decoder) price() (*Event, *InputError) {
	a := new(struct {
		e Event
		p Price
	})
	e, p := &a.e, &a.p
	e.Type, e.Price = TypePrice, p
	var err *InputError
	if p.SKU, err = d.reqString(fSKU); err != nil {
		return nil, err
	}
	if p.Channel, err = d.reqString(fChannel); err != nil {
		return nil, err
	}
	if e.TS, err = d.reqTime(fTS); err != nil {
		return nil, err
	}
	if v := d.vals[fStatus]; present(v) {
		if v.kind != kString {
			return nil, d.wrongType(fieldNames[fStatus], "a string", v)
		}
		switch string(d.str(v)) {
		case "", "active":
		case "delisted":
			p.Delisted = true
		default:
			return nil, d.badValue(fieldNames[fStatus], v, "active or delisted")
		}
	}
	if p.Delisted {
		if p.Price, err = d.optMoney(fPrice); err != nil {
			return nil, err
		}
	} else if p.Price, err = d.reqMoney(fPrice); err != nil {
		return nil, err
	}
	if p.ListPrice, err = d.optMoney(fListPrice); err != nil {
		return nil, err
	}
	if p.Cost, err = d.optMoney(fCost); err != nil {
		return nil, err
	}
	if p.MapPrice, err = d.optMoney(fMapPrice); err != nil {
		return nil, err
	}
	if p.Currency, err = d.currency(); err != nil {
		return nil, err
	}
	if p.Region, err = d.optString(fRegion); err != nil {
		return nil, err
	}
	if p.Category, err = d.optString(fCategory); err != nil {
		return nil, err
	}
	if p.Brand, err = d.optString(fBrand); err != nil {
		return nil, err
	}
	if p.Seller, err = d.optString(fSeller); err != nil {
		return nil, err
	}
	if v := d.vals[fValidFrom]; present(v) {
		if p.ValidFrom, err = d.time(fieldNames[fValidFrom], v); err != nil {
			return nil, err
		}
	}
	return e, nil
}

func (d *decoder) stock() (*Event, *InputError) {
	a := new(struct {
		e Event
		s Stock
	})
	e, s := &a.e, &a.s
	e.Type, e.Stock = TypeStock, s
	var err *InputError
	if s.SKU, err = d.reqString(fSKU); err != nil {
		return nil, err
	}
	if s.Warehouse, err = d.reqString(fWarehouse); err != nil {
		return nil, err
	}
	if e.TS, err = d.reqTime(fTS); err != nil {
		return nil, err
	}
	if s.OnHand, err = d.reqMoney(fOnHand); err != nil {
		return nil, err
	}
	if s.Reserved, err = d.optMoney(fReserved); err != nil {
		return nil, err
	}
	if s.Inbound, err = d.optMoney(fInbound); err != nil {
		return nil, err
	}
	if s.DailyVelocity, err = d.optMoney(fDailyVelocity); err != nil {
		return nil, err
	}
	if math.IsNaN(s.Reserved) {
		s.Reserved = 0
	}
	if math.IsNaN(s.Inbound) {
		s.Inbound = 0
	}
	return e, nil
}

func (d *decoder) promo() (*Event, *InputError) {
	a := new(struct {
		e Event
		p Promo
	})
	e, p := &a.e, &a.p
	e.Type, e.Promo = TypePromo, p
	var err *InputError
	if p.ID, err = d.reqString(fID); err != nil {
		return nil, err
	}
	if e.TS, err = d.reqTime(fTS); err != nil {
		return nil, err
	}
	if v := d.vals[fStatus]; present(v) {
		if v.kind != kString {
			return nil, d.wrongType(fieldNames[fStatus], "a string", v)
		}
		switch string(d.str(v)) {
		case "", "scheduled", "active":
		case "cancelled":
			p.Cancelled = true
		default:
			return nil, d.badValue(fieldNames[fStatus], v, "scheduled, active or cancelled")
		}
	}
	if p.Cancelled {
		if err := d.cancelledTypes(); err != nil {
			return nil, err
		}
		return e, nil
	}

	if p.Partner, err = d.reqString(fPartner); err != nil {
		return nil, err
	}
	if v := d.vals[fPartnerRole]; present(v) {
		if v.kind != kString {
			return nil, d.wrongType(fieldNames[fPartnerRole], "a string", v)
		}
		switch string(d.str(v)) {
		case "manufacturer":
			p.PartnerRole = "manufacturer"
		case "distributor":
			p.PartnerRole = "distributor"
		case "marketplace":
			p.PartnerRole = "marketplace"
		case "":
		default:
			return nil, d.badValue(fieldNames[fPartnerRole], v, "manufacturer, distributor or marketplace")
		}
	}
	if err := d.discount(p); err != nil {
		return nil, err
	}
	if p.Currency, err = d.currency(); err != nil {
		return nil, err
	}
	if p.Currency == "" && (p.Kind == KindAmount || p.Kind == KindFixedPrice) {
		return nil, &InputError{Reason: BadCurrency, Field: "currency", Msg: "is required for a discount of kind " + p.Kind}
	}
	if p.Start, err = d.reqTime(fStart); err != nil {
		return nil, err
	}
	if p.End, err = d.reqTime(fEnd); err != nil {
		return nil, err
	}
	if !p.Start.Before(p.End) {
		return nil, &InputError{Reason: BadWindow, Field: "end", Msg: fmt.Sprintf("must be after start, got start %s and end %s",
			p.Start.Format(time.RFC3339Nano), p.End.Format(time.RFC3339Nano))}
	}

	// The lists share one backing array.
	var all []string
	if n := d.vals[fSKUs].n + d.vals[fCategories].n + d.vals[fBrands].n + d.vals[fChannels].n + d.vals[fRegions].n + d.vals[fCombinesWith].n; n > 0 {
		all = make([]string, 0, n)
	}
	if p.SKUs, all, err = d.list(fSKUs, all); err != nil {
		return nil, err
	}
	for i, s := range p.SKUs {
		if s == "*" {
			if len(p.SKUs) > 1 {
				return nil, &InputError{Reason: BadValue, Field: fmt.Sprintf("skus[%d]", i), Msg: `"*" (every sku) must be alone in skus`}
			}
			p.SKUs, p.AllSKUs = nil, true
		}
	}
	if p.Categories, all, err = d.list(fCategories, all); err != nil {
		return nil, err
	}
	if p.Brands, all, err = d.list(fBrands, all); err != nil {
		return nil, err
	}
	switch bySKU, byAttr := p.AllSKUs || len(p.SKUs) > 0, len(p.Categories) > 0 || len(p.Brands) > 0; {
	case !bySKU && !byAttr:
		return nil, &InputError{Reason: BadMissing, Field: "skus", Msg: "a selector is required: skus, categories or brands"}
	case bySKU && byAttr:
		return nil, &InputError{Reason: BadValue, Field: "skus", Msg: "select by skus or by categories and brands, not both"}
	}
	if p.Channels, all, err = d.list(fChannels, all); err != nil {
		return nil, err
	}
	if p.Regions, all, err = d.list(fRegions, all); err != nil {
		return nil, err
	}
	if p.CombinesWith, _, err = d.list(fCombinesWith, all); err != nil {
		return nil, err
	}
	for i, s := range p.CombinesWith {
		if s == "*" && len(p.CombinesWith) > 1 {
			return nil, &InputError{Reason: BadValue, Field: fmt.Sprintf("combines_with[%d]", i), Msg: `"*" (anything) must be alone in combines_with`}
		}
	}
	if p.Priority, err = d.priority(); err != nil {
		return nil, err
	}
	p.Stacking = StackStackable
	if v := d.vals[fStacking]; present(v) {
		if v.kind != kString {
			return nil, d.wrongType(fieldNames[fStacking], "a string", v)
		}
		switch string(d.str(v)) {
		case "exclusive":
			p.Stacking = StackExclusive
		case "stackable", "":
		case "stop":
			p.Stacking = StackStop
		default:
			return nil, d.badValue(fieldNames[fStacking], v, "exclusive, stackable or stop")
		}
	}
	if p.FundedBy, err = d.fundedBy(); err != nil {
		return nil, err
	}
	if p.ExpectedUplift, err = d.optMoney(fExpectedUplift); err != nil {
		return nil, err
	}
	return e, nil
}

// discount decodes discount{kind, value}.
func (d *decoder) discount(p *Promo) *InputError {
	v := d.vals[fDiscount]
	if !present(v) {
		return d.missing("discount", v)
	}
	if v.kind != kObject {
		return d.wrongType("discount", "an object", v)
	}
	var kind, value val
	it := d.members(v)
	for {
		k, m, ok := it.next()
		if !ok {
			break
		}
		var slot *val
		switch string(k) {
		case "kind":
			slot = &kind
		case "value":
			slot = &value
		default:
			continue
		}
		if slot.kind != kAbsent {
			return dupErr(member("discount", k))
		}
		*slot = m
	}
	if !present(kind) {
		return d.missing("discount.kind", kind)
	}
	if kind.kind != kString {
		return d.wrongType("discount.kind", "a string", kind)
	}
	switch string(d.str(kind)) {
	case KindPercent:
		p.Kind = KindPercent
	case KindAmount:
		p.Kind = KindAmount
	case KindFixedPrice:
		p.Kind = KindFixedPrice
	case "":
		return d.missing("discount.kind", kind)
	default:
		return d.badValue("discount.kind", kind, "percent, amount or fixed_price")
	}
	if !present(value) {
		return d.missing("discount.value", value)
	}
	x, err := d.number("discount.value", value)
	if err != nil {
		return err
	}
	if p.Kind == KindPercent {
		if !(x > 0 && x <= 100) {
			return &InputError{Reason: BadPercent, Field: "discount.value", Msg: "a percent must be in (0, 100], got " + d.show(value)}
		}
	} else if x < 0 {
		return d.negative("discount.value", value)
	}
	p.Value = x
	return nil
}

func (d *decoder) priority() (int, *InputError) {
	v := d.vals[fPriority]
	if !present(v) {
		return 0, nil
	}
	if v.kind != kNumber || v.frac {
		return 0, d.wrongType("priority", "an integer", v)
	}
	n, err := strconv.ParseInt(string(d.data[v.start:v.end]), 10, 0)
	if err != nil {
		return 0, &InputError{Reason: BadValue, Field: "priority", Msg: "out of range, got " + d.show(v)}
	}
	return int(n), nil
}

func (d *decoder) fundedBy() (map[string]float64, *InputError) {
	v := d.vals[fFundedBy]
	if !present(v) {
		return nil, nil
	}
	if v.kind != kObject {
		return nil, d.wrongType("funded_by", "an object", v)
	}
	if v.n == 0 {
		return nil, nil
	}
	m := make(map[string]float64, v.n)
	it := d.members(v)
	for {
		k, s, ok := it.next()
		if !ok {
			break
		}
		if len(k) == 0 {
			return nil, &InputError{Reason: BadValue, Field: "funded_by", Msg: "a partner name must not be empty"}
		}
		if _, ok := m[string(k)]; ok {
			return nil, dupErr(member("funded_by", k))
		}
		if !present(s) {
			return nil, d.wrongType(member("funded_by", k), "a number", s)
		}
		x, err := d.number("", s)
		if err != nil {
			err.Field = member("funded_by", k)
			return nil, err
		}
		if x < 0 {
			return nil, d.negative(member("funded_by", k), s)
		}
		if x > 1 {
			return nil, &InputError{Reason: BadValue, Field: member("funded_by", k), Msg: "a share must be in [0, 1], got " + d.show(s)}
		}
		m[d.keep(k)] = x
	}
	return m, nil
}

// list decodes an optional list of non-empty strings into the free end of
// all. Empty or absent: nil.
func (d *decoder) list(f int, all []string) ([]string, []string, *InputError) {
	v := d.vals[f]
	if !present(v) {
		return nil, all, nil
	}
	if v.kind != kArray {
		return nil, all, d.wrongType(fieldNames[f], "a list of strings", v)
	}
	if v.n == 0 {
		return nil, all, nil
	}
	start := len(all)
	it := d.elements(v)
	for i := 0; ; i++ {
		el, ok := it.nextElem()
		if !ok {
			break
		}
		if el.kind != kString {
			return nil, all, d.wrongType(fmt.Sprintf("%s[%d]", fieldNames[f], i), "a string", el)
		}
		if el.end-el.start == 2 {
			return nil, all, &InputError{Reason: BadValue, Field: fmt.Sprintf("%s[%d]", fieldNames[f], i), Msg: "must not be empty"}
		}
		all = append(all, d.keepVal(el))
	}
	return all[start:len(all):len(all)], all, nil
}

// cancelledTypes checks the JSON types of the fields of a cancelled
// promotion (and the format of its times), and nothing else: not even
// duplicate members of discount and funded_by.
func (d *decoder) cancelledTypes() *InputError {
	for _, f := range [...]int{fPartner, fPartnerRole, fStacking, fCurrency} {
		if v := d.vals[f]; present(v) && v.kind != kString {
			return d.wrongType(fieldNames[f], "a string", v)
		}
	}
	if v := d.vals[fDiscount]; present(v) {
		if v.kind != kObject {
			return d.wrongType("discount", "an object", v)
		}
		it := d.members(v)
		for {
			k, m, ok := it.next()
			if !ok {
				break
			}
			want, kind := "a string", uint8(kString)
			switch string(k) {
			case "kind":
			case "value":
				want, kind = "a number", kNumber
			default:
				continue
			}
			if present(m) && m.kind != kind {
				return d.wrongType(member("discount", k), want, m)
			}
		}
	}
	for _, f := range [...]int{fStart, fEnd} {
		if v := d.vals[f]; present(v) {
			if _, err := d.time(fieldNames[f], v); err != nil && err.Reason == BadWrongType {
				return err
			}
		}
	}
	for _, f := range [...]int{fSKUs, fCategories, fBrands, fChannels, fRegions} {
		v := d.vals[f]
		if !present(v) {
			continue
		}
		if v.kind != kArray {
			return d.wrongType(fieldNames[f], "a list of strings", v)
		}
		it := d.elements(v)
		for i := 0; ; i++ {
			el, ok := it.nextElem()
			if !ok {
				break
			}
			if el.kind != kString {
				return d.wrongType(fmt.Sprintf("%s[%d]", fieldNames[f], i), "a string", el)
			}
		}
	}
	if v := d.vals[fPriority]; present(v) && (v.kind != kNumber || v.frac) {
		return d.wrongType("priority", "an integer", v)
	}
	if v := d.vals[fExpectedUplift]; present(v) && v.kind != kNumber {
		return d.wrongType("expected_uplift", "a number", v)
	}
	if v := d.vals[fFundedBy]; present(v) {
		if v.kind != kObject {
			return d.wrongType("funded_by", "an object", v)
		}
		it := d.members(v)
		for {
			k, s, ok := it.next()
			if !ok {
				break
			}
			if present(s) && s.kind != kNumber {
				return d.wrongType(member("funded_by", k), "a number", s)
			}
		}
	}
	return nil
}

// ---- values ----

// present says whether a value is there: neither absent nor null.
func present(v val) bool { return v.kind != kAbsent && v.kind != kNull }

// str returns the content of a string value; it may be d.scratch.
func (d *decoder) str(v val) []byte {
	if v.esc {
		return d.unescape(v)
	}
	return d.data[v.start+1 : v.end-1]
}

// keep returns b as a string of the event's shared allocation.
func (d *decoder) keep(b []byte) string {
	if len(b) == 0 {
		return ""
	}
	off := d.sb.Len()
	d.sb.Write(b)
	return d.sb.String()[off:]
}

func (d *decoder) keepVal(v val) string { return d.keep(d.str(v)) }

func (d *decoder) reqString(f int) (string, *InputError) {
	v := d.vals[f]
	if !present(v) {
		return "", d.missing(fieldNames[f], v)
	}
	if v.kind != kString {
		return "", d.wrongType(fieldNames[f], "a string", v)
	}
	if v.end-v.start == 2 {
		return "", &InputError{Reason: BadMissing, Field: fieldNames[f], Msg: "must not be empty"}
	}
	return d.keepVal(v), nil
}

func (d *decoder) optString(f int) (string, *InputError) {
	v := d.vals[f]
	if !present(v) {
		return "", nil
	}
	if v.kind != kString {
		return "", d.wrongType(fieldNames[f], "a string", v)
	}
	return d.keepVal(v), nil
}

// currency decodes an optional ISO 4217 code, upper-cased.
func (d *decoder) currency() (string, *InputError) {
	v := d.vals[fCurrency]
	if !present(v) {
		return "", nil
	}
	if v.kind != kString {
		return "", d.wrongType("currency", "a string", v)
	}
	b := d.str(v)
	if len(b) == 0 {
		return "", nil
	}
	var up [3]byte
	if len(b) != len(up) {
		return "", d.badValue("currency", v, "a three-letter ISO 4217 code")
	}
	for i, c := range b {
		if c >= 'a' && c <= 'z' {
			c -= 'a' - 'A'
		}
		if c < 'A' || c > 'Z' {
			return "", d.badValue("currency", v, "a three-letter ISO 4217 code")
		}
		up[i] = c
	}
	return d.keep(up[:]), nil
}

// number decodes a finite JSON number; -0 is 0.
func (d *decoder) number(field string, v val) (float64, *InputError) {
	if v.kind != kNumber {
		return 0, d.wrongType(field, "a number", v)
	}
	x, err := strconv.ParseFloat(string(d.data[v.start:v.end]), 64)
	if err != nil || math.IsInf(x, 0) || math.IsNaN(x) {
		return 0, &InputError{Reason: BadNotFinite, Field: field, Msg: "out of range, got " + d.show(v)}
	}
	if x == 0 {
		x = 0 // not -0
	}
	return x, nil
}

// reqMoney decodes a required amount or quantity: finite and >= 0.
func (d *decoder) reqMoney(f int) (float64, *InputError) {
	v := d.vals[f]
	if !present(v) {
		return 0, d.missing(fieldNames[f], v)
	}
	return d.money(f, v)
}

// optMoney is reqMoney for an optional field: NaN when absent.
func (d *decoder) optMoney(f int) (float64, *InputError) {
	v := d.vals[f]
	if !present(v) {
		return math.NaN(), nil
	}
	return d.money(f, v)
}

func (d *decoder) money(f int, v val) (float64, *InputError) {
	x, err := d.number(fieldNames[f], v)
	if err != nil {
		return 0, err
	}
	if x < 0 {
		return 0, d.negative(fieldNames[f], v)
	}
	return x, nil
}

func (d *decoder) reqTime(f int) (time.Time, *InputError) {
	v := d.vals[f]
	if !present(v) {
		return time.Time{}, d.missing(fieldNames[f], v)
	}
	return d.time(fieldNames[f], v)
}

// time decodes an RFC 3339 time, in UTC.
func (d *decoder) time(field string, v val) (time.Time, *InputError) {
	if v.kind != kString {
		return time.Time{}, d.wrongType(field, "an RFC 3339 time string", v)
	}
	b := d.str(v)
	for _, c := range b {
		if c == ',' { // time.Parse takes a ',' before the fraction; RFC 3339 does not
			return time.Time{}, d.wrongType(field, "an RFC 3339 time string", v)
		}
	}
	t, err := time.Parse(time.RFC3339Nano, string(b))
	if err != nil {
		return time.Time{}, d.wrongType(field, "an RFC 3339 time string", v)
	}
	t = t.UTC()
	if !t.After(time.Time{}) {
		return time.Time{}, &InputError{Reason: BadValue, Field: field, Msg: "must be after 0001-01-01T00:00:00Z, got " + d.show(v)}
	}
	return t, nil
}

// ---- errors ----

// member names the member k of an object field in an error, cut short.
func member(field string, k []byte) string {
	const max = 64
	if len(k) > max {
		cut := max
		for cut > 0 && !utf8.RuneStart(k[cut]) {
			cut--
		}
		return field + "." + string(k[:cut]) + "…"
	}
	return field + "." + string(k)
}

// show returns the text of a value for an error message, cut short.
func (d *decoder) show(v val) string {
	const max = 64
	b := d.data[v.start:v.end]
	if len(b) <= max {
		return string(b)
	}
	cut := max
	for cut > 0 && !utf8.RuneStart(b[cut]) {
		cut--
	}
	return string(b[:cut]) + "…"
}

func (d *decoder) missing(field string, v val) *InputError {
	if v.kind == kNull {
		return &InputError{Reason: BadMissing, Field: field, Msg: "is required, got null"}
	}
	return &InputError{Reason: BadMissing, Field: field, Msg: "is required"}
}

func (d *decoder) wrongType(field, want string, v val) *InputError {
	if v.kind == kString {
		return &InputError{Reason: BadWrongType, Field: field, Msg: "must be " + want + ", got " + d.show(v)}
	}
	return &InputError{Reason: BadWrongType, Field: field, Msg: "must be " + want + ", got " + kindNames[v.kind] + " " + d.show(v)}
}

func (d *decoder) negative(field string, v val) *InputError {
	return &InputError{Reason: BadNegative, Field: field, Msg: "must not be negative, got " + d.show(v)}
}

func (d *decoder) badValue(field string, v val, want string) *InputError {
	return &InputError{Reason: BadValue, Field: field, Msg: "must be " + want + ", got " + d.show(v)}
}

// ---- iterating over a scanned object or array ----

type iter struct {
	d    *decoder
	s    scanner
	done bool
}

// members and elements iterate over a value that scan validated.
func (d *decoder) members(v val) iter  { return d.iter(v) }
func (d *decoder) elements(v val) iter { return d.iter(v) }

func (d *decoder) iter(v val) iter {
	it := iter{d: d, s: scanner{b: d.data[:v.end], i: v.start + 1}}
	it.s.ws()
	it.done = v.n == 0
	return it
}

// next returns the next member of an object: its name (which may be
// d.scratch) and its value. The object was validated by scan.
func (it *iter) next() ([]byte, val, bool) {
	if it.done {
		return nil, val{}, false
	}
	var k, v val
	it.s.key(&k)
	it.s.value(1, &v)
	it.done, _ = it.s.next('}')
	return it.d.str(k), v, true
}

// nextElem returns the next element of an array.
func (it *iter) nextElem() (val, bool) {
	if it.done {
		return val{}, false
	}
	var v val
	it.s.value(1, &v)
	it.done, _ = it.s.next(']')
	return v, true
}
