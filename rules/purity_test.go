package rules

import (
	"os/exec"
	"strings"
	"testing"
)

// TestPurity enforces the dependency direction of DESIGN §1: event, rules
// and engine never import a Kafka client, a logging backend or net/http,
// nothing imports cmd, and event — the wire format — is a leaf that imports
// no package of ours.
func TestPurity(t *testing.T) {
	if testing.Short() {
		t.Skip("runs go list")
	}
	forbidden := []string{"github.com/segmentio/kafka-go", "github.com/twmb/franz-go", "github.com/rs/zerolog", "net/http", "github.com/promoguard/promoguard/cmd", "github.com/promoguard/promoguard/connectors"}
	const event = "github.com/promoguard/promoguard/event"
	for _, pkg := range []string{event, "github.com/promoguard/promoguard/rules", "github.com/promoguard/promoguard/engine"} {
		out, err := exec.Command("go", "list", "-deps", pkg).CombinedOutput()
		if err != nil {
			t.Fatalf("go list %s: %v\n%s", pkg, err, out)
		}
		for _, dep := range strings.Fields(string(out)) {
			if pkg == event && dep != event && strings.HasPrefix(dep, "github.com/promoguard/promoguard/") {
				t.Errorf("%s is a leaf, but it depends on %s", pkg, dep)
			}
			for _, f := range forbidden {
				if dep == f || strings.HasPrefix(dep, f+"/") {
					t.Errorf("%s depends on %s", pkg, dep)
				}
			}
		}
	}
}
