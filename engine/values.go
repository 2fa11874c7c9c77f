package engine

import (
	"fmt"
	"math"
	"reflect"
	"strconv"
	"strings"
	"time"

	"github.com/promoguard/promoguard/rules"
)

// values returns the facts a condition read, as an alert's `values` shows
// them: paths such as "margin" or "stock.available" mapped to JSON-ready
// values. NaN and ±Inf become null; a promotion shows as its id.
func values(f *rules.Facts, paths []string) map[string]any {
	if f == nil || len(paths) == 0 {
		return nil
	}
	fv := reflect.ValueOf(f).Elem()
	out := make(map[string]any, len(paths))
	for _, p := range paths {
		top, member, _ := strings.Cut(p, ".")
		info := rules.Fact(top)
		if info == nil {
			continue // a var or table: a constant, not a fact
		}
		v := fv.Field(info.Field)
		if member != "" {
			v = memberOf(v, member)
			if !v.IsValid() {
				continue
			}
		}
		out[p] = jsonValue(v)
	}
	return out
}

// memberOf is the field of a struct (by expr tag) or the entry of a map.
func memberOf(v reflect.Value, name string) reflect.Value {
	for v.Kind() == reflect.Pointer {
		if v.IsNil() {
			return reflect.Value{}
		}
		v = v.Elem()
	}
	switch v.Kind() {
	case reflect.Struct:
		t := v.Type()
		for i := range t.NumField() {
			if t.Field(i).Tag.Get("expr") == name {
				return v.Field(i)
			}
		}
	case reflect.Map:
		if v.Type().Key().Kind() == reflect.String {
			return v.MapIndex(reflect.ValueOf(name).Convert(v.Type().Key()))
		}
	}
	return reflect.Value{}
}

// maxValueList is how many elements of a list fact `values` shows.
const maxValueList = 50

var (
	timeType  = reflect.TypeFor[time.Time]()
	promoType = reflect.TypeFor[rules.Promo]()
)

// jsonValue converts a fact to what encoding/json writes faithfully.
func jsonValue(v reflect.Value) any {
	switch v.Kind() {
	case reflect.Invalid:
		return nil
	case reflect.Pointer, reflect.Interface:
		if v.IsNil() {
			return nil
		}
		return jsonValue(v.Elem())
	case reflect.Float32, reflect.Float64:
		f := v.Float()
		if math.IsNaN(f) || math.IsInf(f, 0) {
			return nil
		}
		return tidy(f)
	case reflect.Int, reflect.Int64, reflect.Int32:
		return v.Int()
	case reflect.Bool:
		return v.Bool()
	case reflect.String:
		return v.String()
	case reflect.Slice, reflect.Array:
		// a record must stay well under Kafka's message size: a long list
		// (overlaps of hundreds of promotions) shows its first elements
		n := min(v.Len(), maxValueList)
		out := make([]any, n, n+1)
		for i := range out {
			out[i] = jsonValue(v.Index(i))
		}
		if v.Len() > n {
			out = append(out, fmt.Sprintf("... %d more", v.Len()-n))
		}
		return out
	case reflect.Map:
		out := make(map[string]any, v.Len())
		it := v.MapRange()
		for it.Next() {
			out[it.Key().String()] = jsonValue(it.Value())
		}
		return out
	case reflect.Struct:
		switch v.Type() {
		case timeType:
			t := v.Interface().(time.Time)
			if t.IsZero() {
				return nil
			}
			return t.UTC().Format(time.RFC3339Nano)
		case promoType:
			return v.FieldByName("ID").String()
		}
		t := v.Type()
		out := make(map[string]any, t.NumField())
		for i := range t.NumField() {
			if name := t.Field(i).Tag.Get("expr"); name != "" {
				// a field equal to its omit value is left out: a newer
				// fact that must not change older outputs
				if omit, ok := strings.CutPrefix(t.Field(i).Tag.Get("values"), "omit="); ok && v.Field(i).Kind() == reflect.String && v.Field(i).String() == omit {
					continue
				}
				out[name] = jsonValue(v.Field(i))
			}
		}
		return out
	}
	return nil
}

// tidy drops float noise from a value shown to people (0.21999999999999997
// becomes 0.22): twelve significant digits are more than any price or
// fraction carries.
func tidy(f float64) float64 {
	t, err := strconv.ParseFloat(strconv.FormatFloat(f, 'g', 12, 64), 64)
	if err != nil {
		return f
	}
	return t
}
