package testspec

import (
	"strings"
	"testing"

	"github.com/promoguard/promoguard/rules"
)

// TestChannelsSection: a test file's channels section, inline or as the
// path of a channels file, gives every case its channels' policies; a bad
// one is a positioned error in the test file.
func TestChannelsSection(t *testing.T) {
	const cases = "tests:\n  - name: a\n    events: [{type: price, sku: s, channel: web, price: 1, ts: 2026-01-01T00:00:00Z}]\n    expect_none: true\n"
	f, err := Parse("t.yaml", []byte("rule_files: [r.yaml]\nchannels:\n  amazon: {policy: best_deal}\n"+cases))
	if err != nil {
		t.Fatal(err)
	}
	if got := f.Cases[0].Channels; got.Policy("amazon") != rules.PolicyBestDeal || got.Policy("web") != rules.PolicyCompound {
		t.Fatalf("channels %v", got)
	}
	files, err := LoadPaths([]string{"../../examples/tests/policies_test.yaml"}, nil)
	if err != nil {
		t.Fatal(err)
	}
	if got := files[0].Cases[0].Channels; got.Policy("ebay") != rules.PolicyAdditive || got.Policy("amazon") != rules.PolicyBestDeal {
		t.Fatalf("examples/channels.yaml via the test file: %v", got)
	}
	_, err = Parse("t.yaml", []byte("rule_files: [r.yaml]\nchannels:\n  amazon: {policy: bestdeal}\n"+cases))
	if err == nil || !strings.Contains(err.Error(), "t.yaml:3:20: channel amazon: unknown policy \"bestdeal\"") || !strings.Contains(err.Error(), "did you mean best_deal?") {
		t.Fatalf("bad policy: %v", err)
	}
}
