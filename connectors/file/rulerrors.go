package file

import (
	"fmt"
	"io"
	"strings"

	"github.com/promoguard/promoguard/engine"
)

// RuleErrors keeps the first distinct runtime errors of rules, by rule, sku
// (or promotion) and message, and how often each occurred. Its memory is
// bounded however many errors there are. Add is an
// engine.Options.OnRuleError.
type RuleErrors struct {
	first []*RuleErrorSummary
	total int64
}

const maxRuleErrors = 10

// RuleErrorSummary is one distinct rule error and how often it occurred.
type RuleErrorSummary struct {
	Rule    string `json:"rule"`
	SKU     string `json:"sku,omitempty"`
	Channel string `json:"channel,omitempty"` // of the first occurrence
	Promo   string `json:"promo,omitempty"`
	Error   string `json:"error"`
	Count   int64  `json:"count"`
}

// Add counts one error.
func (re *RuleErrors) Add(e engine.RuleError) {
	re.total++
	id, msg := e.Rule.ID(), e.Err.Error()
	for _, s := range re.first {
		if s.Rule == id && s.SKU == e.SKU && s.Promo == e.Promo && s.Error == msg {
			s.Count++
			return
		}
	}
	if len(re.first) < maxRuleErrors {
		re.first = append(re.first, &RuleErrorSummary{Rule: id, SKU: e.SKU, Channel: e.Channel, Promo: e.Promo, Error: msg, Count: 1})
	}
}

// more is the number of errors not among the first distinct ones.
func (re *RuleErrors) more() int64 {
	n := re.total
	for _, s := range re.first {
		n -= s.Count
	}
	return n
}

// Print lists the first errors, and how many more there were; nothing when
// there were none.
func (re *RuleErrors) Print(w io.Writer) {
	if re.total == 0 {
		return
	}
	fmt.Fprintf(w, "rule errors: %d\n", re.total)
	for _, s := range re.first {
		where := "sku " + s.SKU
		if s.Channel != "" {
			where += " on " + s.Channel
		}
		if s.SKU == "" {
			where = "promo " + s.Promo
		}
		times := ""
		if s.Count > 1 {
			times = fmt.Sprintf(" (%d times)", s.Count)
		}
		msg := strings.ReplaceAll(strings.TrimRight(s.Error, "\n"), "\n", "\n    ")
		fmt.Fprintf(w, "  %s: %s%s: %s\n", s.Rule, where, times, msg)
	}
	if n := re.more(); n > 0 {
		fmt.Fprintf(w, "  and %d more\n", n)
	}
}
