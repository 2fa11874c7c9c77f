//go:build !promoguard_safe

package engine

import (
	"unsafe"

	"github.com/promoguard/promoguard/rules"
)

// factsType is the type word of an interface holding a rules.Facts.
var factsType = func() unsafe.Pointer {
	var x any = rules.Facts{}
	return (*[2]unsafe.Pointer)(unsafe.Pointer(&x))[0]
}()

// boxFacts returns *f as an any without copying it: the interface's data
// word points at f, as it would at the copy that boxing makes. Boxing
// copies the whole struct (about 850 bytes), once per context: the largest
// allocation of an evaluation. The engine rebuilds its facts buffers in
// place for each context, so an env must not be kept past its context;
// nothing does: expr reads it during a run, and alert records copy the
// values they show. Build with -tags promoguard_safe to box by copying
// instead (facts_safe.go): the outputs are the same (TestBoxSafeSameOutputs),
// only an allocation per context dearer.
func boxFacts(f *rules.Facts) any {
	var x any
	w := (*[2]unsafe.Pointer)(unsafe.Pointer(&x))
	w[0], w[1] = factsType, unsafe.Pointer(f)
	return x
}
