package event

import (
	"errors"
	"math"
	"slices"
	"strconv"
	"time"
	"unicode/utf8"
)

// AppendJSON appends the output's JSON record to dst: the bytes
// MarshalJSON returns, without the reflection and allocations of
// encoding/json. Alerts and corrections are written field by field;
// a dead letter, or a value this writer does not know, goes through
// encoding/json.
func (o Output) AppendJSON(dst []byte) ([]byte, error) {
	var err error
	n := len(dst)
	switch {
	case o.Alert != nil:
		dst, err = o.Alert.appendJSON(dst)
	case o.Correction != nil:
		dst, err = o.Correction.appendJSON(dst)
	default:
		err = errSlowPath
	}
	if err == nil {
		return dst, nil
	}
	b, merr := o.marshalSlow()
	if merr != nil {
		return dst[:n], merr
	}
	return append(dst[:n], b...), nil
}

// errSlowPath sends a record to encoding/json.
var errSlowPath = errors.New("engine: encode with encoding/json")

func (a *Alert) appendJSON(b []byte) ([]byte, error) {
	b = append(b, `{"kind":"alert","id":`...)
	b = appendJSONString(b, a.ID)
	b = append(b, `,"fingerprint":`...)
	b = appendJSONString(b, a.Fingerprint)
	b = append(b, `,"rule":`...)
	b = appendJSONString(b, a.Rule)
	b = append(b, `,"group":`...)
	b = appendJSONString(b, a.Group)
	b = append(b, `,"severity":`...)
	b = appendJSONString(b, a.Severity)
	b = append(b, `,"state":`...)
	b = appendJSONString(b, string(a.State))
	b = appendOmitString(b, `,"reason":`, string(a.Reason))
	b = appendOmitString(b, `,"sku":`, a.SKU)
	b = appendOmitString(b, `,"channel":`, a.Channel)
	b = appendOmitString(b, `,"promo":`, a.Promo)
	var ok bool
	b = append(b, `,"watermark":`...)
	if b, ok = appendJSONTime(b, a.Watermark); !ok {
		return b, errSlowPath
	}
	b = append(b, `,"at":`...)
	if b, ok = appendJSONTime(b, a.At); !ok {
		return b, errSlowPath
	}
	if a.Segment != nil {
		b = append(b, `,"segment":`...)
		if b, ok = appendJSONRange(b, a.Segment); !ok {
			return b, errSlowPath
		}
	}
	b = append(b, `,"promos":`...)
	b = appendJSONStrings(b, a.Promos)
	b = append(b, `,"partners":`...)
	b = appendJSONStrings(b, a.Partners)
	b = append(b, `,"message":`...)
	b = appendJSONString(b, a.Message)
	if len(a.Labels) > 0 {
		b = append(b, `,"labels":{`...)
		keys := make([]string, 0, len(a.Labels))
		for k := range a.Labels {
			keys = append(keys, k)
		}
		slices.Sort(keys)
		for i, k := range keys {
			if i > 0 {
				b = append(b, ',')
			}
			b = appendJSONString(b, k)
			b = append(b, ':')
			b = appendJSONString(b, a.Labels[k])
		}
		b = append(b, '}')
	}
	if len(a.Values) > 0 {
		b = append(b, `,"values":`...)
		if b, ok = appendJSONAny(b, a.Values); !ok {
			return b, errSlowPath
		}
	}
	b = append(b, `,"rules_version":`...)
	b = appendJSONString(b, a.RulesVersion)
	return append(b, '}'), nil
}

func (c *Correction) appendJSON(b []byte) ([]byte, error) {
	b = append(b, `{"kind":"correction","id":`...)
	b = appendJSONString(b, c.ID)
	b = append(b, `,"fingerprint":`...)
	b = appendJSONString(b, c.Fingerprint)
	b = append(b, `,"state":`...)
	b = appendJSONString(b, string(c.State))
	b = appendOmitString(b, `,"reason":`, string(c.Reason))
	b = append(b, `,"sku":`...)
	b = appendJSONString(b, c.SKU)
	b = append(b, `,"channel":`...)
	b = appendJSONString(b, c.Channel)
	var ok bool
	b = append(b, `,"watermark":`...)
	if b, ok = appendJSONTime(b, c.Watermark); !ok {
		return b, errSlowPath
	}
	b = append(b, `,"at":`...)
	if b, ok = appendJSONTime(b, c.At); !ok {
		return b, errSlowPath
	}
	if c.Segment != nil {
		b = append(b, `,"segment":`...)
		if b, ok = appendJSONRange(b, c.Segment); !ok {
			return b, errSlowPath
		}
	}
	b = appendOmitString(b, `,"currency":`, c.Currency)
	b = append(b, `,"effective_price":`...)
	b = appendJSONNumber(b, float64(c.EffectivePrice))
	b = append(b, `,"corrected_price":`...)
	b = appendJSONNumber(b, float64(c.CorrectedPrice))
	b = append(b, `,"floor":`...)
	b = appendJSONNumber(b, float64(c.Floor))
	b = append(b, `,"ceiling":`...)
	b = appendJSONNumber(b, float64(c.Ceiling))
	b = appendOmitString(b, `,"bound_by":`, c.BoundBy)
	b = append(b, `,"rules":`...)
	b = appendJSONStrings(b, c.Rules)
	b = append(b, `,"rules_version":`...)
	b = appendJSONString(b, c.RulesVersion)
	return append(b, '}'), nil
}

func appendOmitString(b []byte, key, s string) []byte {
	if s == "" {
		return b
	}
	return appendJSONString(append(b, key...), s)
}

func appendJSONRange(b []byte, r *Range) ([]byte, bool) {
	b = append(b, `{"start":`...)
	ok := true
	if r.Start == nil {
		b = append(b, "null"...)
	} else if b, ok = appendJSONTime(b, *r.Start); !ok {
		return b, false
	}
	b = append(b, `,"end":`...)
	if r.End == nil {
		b = append(b, "null"...)
	} else if b, ok = appendJSONTime(b, *r.End); !ok {
		return b, false
	}
	return append(b, '}'), true
}

// appendJSONTime writes t as time.Time.MarshalJSON does; false for a year
// it would refuse.
func appendJSONTime(b []byte, t time.Time) ([]byte, bool) {
	if y := t.Year(); y < 0 || y > 9999 {
		return b, false
	}
	b = append(b, '"')
	b = t.AppendFormat(b, time.RFC3339Nano)
	return append(b, '"'), true
}

// appendJSONNumber writes a Number: null for NaN and ±Inf.
func appendJSONNumber(b []byte, f float64) []byte {
	if math.IsNaN(f) || math.IsInf(f, 0) {
		return append(b, "null"...)
	}
	return appendJSONFloat(b, f)
}

// appendJSONFloat writes a finite float64 as encoding/json does.
func appendJSONFloat(b []byte, f float64) []byte {
	abs := math.Abs(f)
	format := byte('f')
	if abs != 0 && (abs < 1e-6 || abs >= 1e21) {
		format = 'e'
	}
	b = strconv.AppendFloat(b, f, format, -1, 64)
	if format == 'e' {
		// clean up e-09 to e-9
		n := len(b)
		if n >= 4 && b[n-4] == 'e' && b[n-3] == '-' && b[n-2] == '0' {
			b[n-2] = b[n-1]
			b = b[:n-1]
		}
	}
	return b
}

func appendJSONStrings(b []byte, ss []string) []byte {
	if ss == nil {
		return append(b, "null"...)
	}
	b = append(b, '[')
	for i, s := range ss {
		if i > 0 {
			b = append(b, ',')
		}
		b = appendJSONString(b, s)
	}
	return append(b, ']')
}

// appendJSONAny writes the values an alert's `values` holds (see
// jsonValue); false for any other type.
func appendJSONAny(b []byte, v any) ([]byte, bool) {
	switch v := v.(type) {
	case nil:
		return append(b, "null"...), true
	case string:
		return appendJSONString(b, v), true
	case bool:
		return strconv.AppendBool(b, v), true
	case float64:
		if math.IsNaN(v) || math.IsInf(v, 0) {
			return b, false // encoding/json refuses it
		}
		return appendJSONFloat(b, v), true
	case int64:
		return strconv.AppendInt(b, v, 10), true
	case int:
		return strconv.AppendInt(b, int64(v), 10), true
	case []string:
		return appendJSONStrings(b, v), true
	case []any:
		if v == nil {
			return append(b, "null"...), true
		}
		b = append(b, '[')
		for i, x := range v {
			if i > 0 {
				b = append(b, ',')
			}
			var ok bool
			if b, ok = appendJSONAny(b, x); !ok {
				return b, false
			}
		}
		return append(b, ']'), true
	case map[string]any:
		if v == nil {
			return append(b, "null"...), true
		}
		keys := make([]string, 0, len(v))
		for k := range v {
			keys = append(keys, k)
		}
		slices.Sort(keys)
		b = append(b, '{')
		for i, k := range keys {
			if i > 0 {
				b = append(b, ',')
			}
			b = appendJSONString(b, k)
			b = append(b, ':')
			var ok bool
			if b, ok = appendJSONAny(b, v[k]); !ok {
				return b, false
			}
		}
		return append(b, '}'), true
	}
	return b, false
}

const hexDigits = "0123456789abcdef"

// appendJSONString writes s quoted as encoding/json does without HTML
// escaping: control characters escaped, invalid UTF-8 as \ufffd, U+2028
// and U+2029 escaped.
func appendJSONString(b []byte, s string) []byte {
	b = append(b, '"')
	start := 0
	for i := 0; i < len(s); {
		if c := s[i]; c < utf8.RuneSelf {
			if c >= 0x20 && c != '"' && c != '\\' {
				i++
				continue
			}
			b = append(b, s[start:i]...)
			switch c {
			case '\\', '"':
				b = append(b, '\\', c)
			case '\b':
				b = append(b, '\\', 'b')
			case '\f':
				b = append(b, '\\', 'f')
			case '\n':
				b = append(b, '\\', 'n')
			case '\r':
				b = append(b, '\\', 'r')
			case '\t':
				b = append(b, '\\', 't')
			default:
				b = append(b, '\\', 'u', '0', '0', hexDigits[c>>4], hexDigits[c&0xF])
			}
			i++
			start = i
			continue
		}
		r, size := utf8.DecodeRuneInString(s[i:])
		if r == utf8.RuneError && size == 1 {
			b = append(b, s[start:i]...)
			b = append(b, `\ufffd`...)
			i += size
			start = i
			continue
		}
		if r == '\u2028' || r == '\u2029' {
			b = append(b, s[start:i]...)
			b = append(b, '\\', 'u', '2', '0', '2', hexDigits[r&0xF])
			i += size
			start = i
			continue
		}
		i += size
	}
	b = append(b, s[start:]...)
	return append(b, '"')
}

// MarshalJSON encodes the record of the output's kind. Messages are
// written as they are: <, > and & are not escaped for HTML (an encoder
// writing records should call SetEscapeHTML(false) too).
func (o Output) MarshalJSON() ([]byte, error) { return o.AppendJSON(make([]byte, 0, 1024)) }
