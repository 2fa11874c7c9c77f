//go:build !promoguard_safe

package engine

import (
	"testing"

	"github.com/promoguard/promoguard/rules"
)

// The unsafe box aliases the buffer: the engine rebuilds the buffer only
// between contexts, never while an env is in use.
func TestBoxFactsAliases(t *testing.T) {
	f := &rules.Facts{SKU: "tv-55"}
	boxed := boxFacts(f)
	f.SKU = "other"
	if boxed.(rules.Facts).SKU != "other" {
		t.Fatal("the box copied the facts; the memo's reuse assumes it aliases them")
	}
}
