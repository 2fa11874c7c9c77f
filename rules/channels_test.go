package rules

import (
	"errors"
	"strings"
	"testing"
)

func TestParseChannels(t *testing.T) {
	ch, err := ParseChannels("c.yaml", []byte("channels:\n  web: {policy: compound}\n  amazon: {policy: best_deal}\n  ebay:\n    policy: additive\n"))
	if err != nil {
		t.Fatal(err)
	}
	if ch.Policy("web") != PolicyCompound || ch.Policy("amazon") != PolicyBestDeal || ch.Policy("ebay") != PolicyAdditive || ch.Policy("other") != PolicyCompound {
		t.Fatalf("%v", ch)
	}
	for _, name := range PolicyNames() {
		if p, ok := ParsePolicy(name); !ok || p.String() != name {
			t.Errorf("%s: %v %v", name, p, ok)
		}
	}
}

func TestParseChannelsErrors(t *testing.T) {
	for _, c := range []struct{ src, want string }{
		{"channels:\n  amazon: {policy: best-deal}\n", `c.yaml:2:20: channel amazon: unknown policy "best-deal" (compound, best_deal, sequential_stop, additive or combinable); did you mean best_deal? [unknown_policy]`},
		{"channels:\n  web: {polcy: compound}\n", `c.yaml:2:9: channel web: unknown field "polcy" (policy); did you mean policy? [unknown_field]`},
		{"channels:\n  web: compound\n", `c.yaml:2:8: channel web: expected a mapping {policy: ...}, not a string [schema]`},
		{"channels: [web]\n", `c.yaml:1:11: channels is a mapping of channel to {policy: ...}, not a sequence [schema]`},
		{"channels:\n  web: {}\n", `c.yaml:2:8: channel web: policy is required [missing_field]`},
		{"channels: {web: {policy: 3}}\n", `channel web: policy is a string, not a int [schema]`},
		{"- x\n", `a channels file is a mapping with a channels key, not a sequence [schema]`},
		{"channels:\n  web: {policy: compound\n", `[yaml_syntax]`},
	} {
		_, err := ParseChannels("c.yaml", []byte(c.src))
		var es Errors
		if !errors.As(err, &es) || len(es) == 0 {
			t.Errorf("%q: no errors", c.src)
			continue
		}
		if !strings.Contains(es.Pretty(), c.want) {
			t.Errorf("%q:\n got %s\nwant %s", c.src, es.Pretty(), c.want)
		}
		if es[0].Line > 0 && es[0].Snippet == "" {
			t.Errorf("%q: no snippet", c.src)
		}
	}
}

// TestLoadChannelsRefusesDevices: a device is refused before it is read
// (reading /dev/zero would never end).
func TestLoadChannelsRefusesDevices(t *testing.T) {
	if _, err := LoadChannels("/dev/zero"); err == nil || !strings.Contains(err.Error(), "not a regular file") {
		t.Fatalf("/dev/zero: %v", err)
	}
	if _, err := LoadChannels("../examples/channels.yaml"); err != nil {
		t.Fatal(err)
	}
}
