package event

// Type is a kind of input event.
type Type uint8

// The input event types, in the order their bits take in a rules.EventSet.
const (
	TypePrice Type = iota
	TypeStock
	TypePromo
	// NumTypes is the number of event types.
	NumTypes
)

var typeNames = [...]string{"price", "stock", "promo"}

func (t Type) String() string { return typeNames[t] }

// ParseType returns the event type with the given name.
func ParseType(s string) (Type, bool) {
	for i, n := range typeNames {
		if n == s {
			return Type(i), true
		}
	}
	return 0, false
}

// TypeNames returns the names of the event types, in order.
func TypeNames() []string { return typeNames[:] }
