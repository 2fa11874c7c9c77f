package main

import (
	"github.com/expr-lang/expr/vm"

	"github.com/promoguard/promoguard/rules"
)

// coverage says which rules a peer runs in its own language; the others
// run their expr program.
type coverage struct {
	Translated   []string `json:"translated"`
	Untranslated []string `json:"untranslated"`
}

// fallback runs a rule's expr program, for the rules a peer does not
// translate: the facts are boxed once per context.
type fallback struct {
	vm    *vm.VM
	env   any
	envID uint64
}

func newFallback() *fallback { return &fallback{vm: rules.NewVM()} }

func (b *fallback) eval(r *rules.Rule, x *rules.Expr, f *rules.Facts, ctx uint64) (any, error) {
	if b.env == nil || b.envID != ctx {
		b.env, b.envID = *f, ctx
	}
	if x == r.If {
		return x.Bool(b.vm, b.env)
	}
	return x.Float(b.vm, b.env)
}
