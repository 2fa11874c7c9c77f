//go:build promoguard_safe

package engine

import "github.com/promoguard/promoguard/rules"

// boxFacts is boxFactsSafe in a build without package unsafe (-tags
// promoguard_safe); the default build aliases the buffer instead
// (facts_unsafe.go).
func boxFacts(f *rules.Facts) any { return boxFactsSafe(f) }
