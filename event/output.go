package event

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"math"
	"time"
	"unicode/utf8"
)

// Output kinds.
const (
	KindAlert      = "alert"
	KindCorrection = "correction"
	KindDeadLetter = "dead_letter"
)

// State is the state an alert or a correction enters with a record.
type State string

// Alert states and correction states.
const (
	StateFiring    State = "firing"
	StateResolved  State = "resolved"
	StateActive    State = "active"
	StateWithdrawn State = "withdrawn"
)

// AlertStates returns the states of an alert, CorrectionStates those of a
// correction, in lifecycle order.
func AlertStates() []State      { return []State{StateFiring, StateResolved} }
func CorrectionStates() []State { return []State{StateActive, StateWithdrawn} }

// Reason is why an alert resolved or a correction was withdrawn: a stable
// code consumers may switch on.
type Reason string

// Reasons an alert resolves or a correction is withdrawn.
const (
	ReasonCleared     Reason = "cleared"      // the condition no longer holds
	ReasonCancelled   Reason = "cancelled"    // a promotion it depended on was cancelled
	ReasonSuperseded  Reason = "superseded"   // an edit changed the calendar, so its segment is gone
	ReasonEnded       Reason = "ended"        // the watermark passed the end of its segment or promotion
	ReasonRuleRemoved Reason = "rule_removed" // a reload removed its rule
	ReasonDelisted    Reason = "delisted"     // its channel was delisted
)

// Reasons returns every Reason, in the order above.
func Reasons() []Reason {
	return []Reason{ReasonCleared, ReasonCancelled, ReasonSuperseded, ReasonEnded, ReasonRuleRemoved, ReasonDelisted}
}

// Output is one output record (DESIGN §6): exactly one of Alert, Correction
// and DeadLetter is set. It encodes as the JSON record of its kind.
type Output struct {
	Alert      *Alert
	Correction *Correction
	DeadLetter *DeadLetter
}

// Kind is KindAlert, KindCorrection or KindDeadLetter.
func (o Output) Kind() string {
	switch {
	case o.Alert != nil:
		return KindAlert
	case o.Correction != nil:
		return KindCorrection
	default:
		return KindDeadLetter
	}
}

// Key is the Kafka key of the record: the sku (or, for a promo-scope alert,
// the promotion id); a dead letter has none.
func (o Output) Key() string {
	switch {
	case o.Alert != nil:
		if o.Alert.SKU == "" {
			return o.Alert.Promo
		}
		return o.Alert.SKU
	case o.Correction != nil:
		return o.Correction.SKU
	}
	return ""
}

// marshalSlow encodes the record of the output's kind with encoding/json:
// what MarshalJSON and AppendJSON (encode.go) write, and fall back to.
func (o Output) marshalSlow() ([]byte, error) {
	var v any
	switch {
	case o.Alert != nil:
		v = alertJSON{Kind: KindAlert, Alert: o.Alert}
	case o.Correction != nil:
		v = correctionJSON{Kind: KindCorrection, Correction: o.Correction}
	case o.DeadLetter != nil:
		v = deadLetterJSON{Kind: KindDeadLetter, DeadLetter: o.DeadLetter}
	default:
		return nil, errors.New("engine: empty output")
	}
	var b bytes.Buffer
	enc := json.NewEncoder(&b)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(v); err != nil {
		return nil, err
	}
	return bytes.TrimSuffix(b.Bytes(), []byte("\n")), nil
}

// UnmarshalJSON decodes any output record, for tools and tests that read
// outputs back.
func (o *Output) UnmarshalJSON(b []byte) error {
	var k struct {
		Kind string `json:"kind"`
	}
	if err := json.Unmarshal(b, &k); err != nil {
		return err
	}
	*o = Output{}
	switch k.Kind {
	case KindAlert:
		o.Alert = new(Alert)
		return json.Unmarshal(b, o.Alert)
	case KindCorrection:
		o.Correction = new(Correction)
		return json.Unmarshal(b, o.Correction)
	case KindDeadLetter:
		o.DeadLetter = new(DeadLetter)
		return json.Unmarshal(b, o.DeadLetter)
	}
	return errors.New("engine: unknown output kind " + k.Kind)
}

type alertJSON struct {
	Kind string `json:"kind"`
	*Alert
}

type correctionJSON struct {
	Kind string `json:"kind"`
	*Correction
}

type deadLetterJSON struct {
	Kind string `json:"kind"`
	*DeadLetter
}

// Range is a calendar segment as outputs show it. A zero Start is the
// present segment that no boundary within the horizon started; a zero End
// means nothing changes within the horizon.
type Range struct {
	Start *time.Time `json:"start"`
	End   *time.Time `json:"end"`
}

// Alert is an alert transition.
type Alert struct {
	ID          string `json:"id"`
	Fingerprint string `json:"fingerprint"`
	Rule        string `json:"rule"`
	Group       string `json:"group"`
	Severity    string `json:"severity"`
	State       State  `json:"state"`
	Reason      Reason `json:"reason,omitempty"`
	SKU         string `json:"sku,omitempty"`
	Channel     string `json:"channel,omitempty"`
	// Promo is the promotion of a promo-scope alert.
	Promo string `json:"promo,omitempty"`
	// Watermark is when the transition happened, in event time; At is when
	// the problem applies (a future segment's start, or the watermark).
	Watermark    time.Time         `json:"watermark"`
	At           time.Time         `json:"at"`
	Segment      *Range            `json:"segment,omitempty"`
	Promos       []string          `json:"promos"`
	Partners     []string          `json:"partners"`
	Message      string            `json:"message"`
	Labels       map[string]string `json:"labels,omitempty"`
	Values       map[string]any    `json:"values,omitempty"`
	RulesVersion string            `json:"rules_version"`
}

// Correction is a corrected price, or its withdrawal.
type Correction struct {
	ID             string    `json:"id"`
	Fingerprint    string    `json:"fingerprint"`
	State          State     `json:"state"`
	Reason         Reason    `json:"reason,omitempty"`
	SKU            string    `json:"sku"`
	Channel        string    `json:"channel"`
	Watermark      time.Time `json:"watermark"` // when it was emitted, in event time
	At             time.Time `json:"at"`
	Segment        *Range    `json:"segment,omitempty"`
	Currency       string    `json:"currency,omitempty"`
	EffectivePrice Number    `json:"effective_price"`
	CorrectedPrice Number    `json:"corrected_price"`
	// Floor and Ceiling are the bounds the rules set (null when none).
	Floor        Number   `json:"floor"`
	Ceiling      Number   `json:"ceiling"`
	BoundBy      string   `json:"bound_by,omitempty"`
	Rules        []string `json:"rules"`
	RulesVersion string   `json:"rules_version"`
}

// Number is a float that encodes NaN and ±Inf as null.
type Number float64

// MarshalJSON writes NaN and ±Inf as null.
func (n Number) MarshalJSON() ([]byte, error) {
	f := float64(n)
	if math.IsNaN(f) || math.IsInf(f, 0) {
		return []byte("null"), nil
	}
	return json.Marshal(f)
}

// UnmarshalJSON reads null as NaN.
func (n *Number) UnmarshalJSON(b []byte) error {
	if string(b) == "null" {
		*n = Number(math.NaN())
		return nil
	}
	var f float64
	err := json.Unmarshal(b, &f)
	*n = Number(f)
	return err
}

// DeadLetter is a bad input event and why it was refused.
type DeadLetter struct {
	Reason Code   `json:"reason"` // a stable code, such as missing_field
	Error  string `json:"error"`  // what was wrong, for people
	Source string `json:"source"` // where the event came from
	// Payload is the event as received, cut to MaxDeadLetterPayload bytes
	// (Truncated then says so and SHA256 identifies the whole).
	Payload   string `json:"payload"`
	Truncated bool   `json:"truncated,omitempty"`
	SHA256    string `json:"sha256,omitempty"`
}

// MaxDeadLetterPayload is how much of a bad payload a dead letter keeps.
const MaxDeadLetterPayload = 4096

// NewDeadLetter builds the dead letter of a payload refused with err (an
// *InputError gives its reason code; any other error is bad_input).
func NewDeadLetter(err error, payload []byte, source string) Output {
	d := &DeadLetter{Reason: BadInput, Error: err.Error(), Source: source}
	var ie *InputError
	if errors.As(err, &ie) {
		d.Reason = ie.Reason
	}
	p := payload
	if len(p) > MaxDeadLetterPayload {
		sum := sha256.Sum256(payload)
		d.SHA256 = hex.EncodeToString(sum[:])
		d.Truncated = true
		p = p[:MaxDeadLetterPayload]
		// cut on a rune boundary
		for i := 0; i < utf8.UTFMax && len(p) > 0 && !utf8.RuneStart(payload[len(p)]); i++ {
			p = p[:len(p)-1]
		}
	}
	if !utf8.Valid(p) {
		// JSON strings are UTF-8: keep invalid bytes visible, as \ufffd
		// would hide which bytes they were.
		d.Payload = hexEscape(p)
		if d.SHA256 == "" {
			sum := sha256.Sum256(payload)
			d.SHA256 = hex.EncodeToString(sum[:])
		}
		return Output{DeadLetter: d}
	}
	d.Payload = string(p)
	return Output{DeadLetter: d}
}

// hexEscape writes invalid UTF-8 bytes as \xNN and keeps the rest.
func hexEscape(p []byte) string {
	const hexd = "0123456789abcdef"
	out := make([]byte, 0, len(p))
	for len(p) > 0 {
		r, n := utf8.DecodeRune(p)
		if r == utf8.RuneError && n == 1 {
			out = append(out, '\\', 'x', hexd[p[0]>>4], hexd[p[0]&15])
		} else {
			out = append(out, p[:n]...)
		}
		p = p[n:]
	}
	return string(out)
}

// InputError is why an event was refused: a stable reason code (DESIGN §2's
// kinds of bad input) and a message naming the field.
type InputError struct {
	Reason Code
	Field  string // the JSON field at fault, if any
	Msg    string
}

func (e *InputError) Error() string {
	if e.Field != "" {
		return e.Field + ": " + e.Msg
	}
	return e.Msg
}

// Code is why an input was refused: a stable code, the reason of its dead
// letter.
type Code string

// Codes of InputError and of dead letters.
const (
	BadInput     Code = "bad_input"        // refused for a reason without a code of its own
	BadJSON      Code = "malformed_json"   // not a JSON object
	BadUTF8      Code = "invalid_utf8"     // payload is not valid UTF-8
	BadSize      Code = "oversize"         // payload larger than DecodeOptions.MaxSize
	BadType      Code = "unknown_type"     // type is missing or not price, stock, promo
	BadMissing   Code = "missing_field"    // a required field is absent, null or empty
	BadWrongType Code = "wrong_type"       // a field has the wrong JSON type or format
	BadNegative  Code = "negative_value"   // a negative price, cost or quantity
	BadNotFinite Code = "not_finite"       // NaN, ±Inf or a number out of float64 range
	BadPercent   Code = "percent_range"    // a percent discount outside (0, 100]
	BadWindow    Code = "bad_window"       // start >= end
	BadCurrency  Code = "missing_currency" // amount or fixed_price without currency
	BadValue     Code = "invalid_value"    // a value outside its list (kind, stacking, status, ...)
	BadFuture    Code = "future_ts"        // ts further ahead than the allowed skew
	// WrongTopic is a valid event on the topic of another type (a stock
	// event on the prices topic): the daemon refuses it, since its key and
	// partition were chosen for another topic.
	WrongTopic Code = "wrong_topic"
)
