package ruletest

import (
	"os/exec"
	"strings"
	"testing"
)

// TestPurity keeps the test packages on the engine's side of DESIGN §1: no
// Kafka client, logging backend, net/http, connectors or cmd; and the
// format package, like rules, never imports the engine.
func TestPurity(t *testing.T) {
	if testing.Short() {
		t.Skip("runs go list")
	}
	forbidden := map[string][]string{
		"github.com/promoguard/promoguard/ruletest":       nil,
		"github.com/promoguard/promoguard/rules/testspec": {"github.com/promoguard/promoguard/engine"},
	}
	common := []string{"github.com/segmentio/kafka-go", "github.com/twmb/franz-go", "github.com/rs/zerolog", "net/http",
		"github.com/promoguard/promoguard/cmd", "github.com/promoguard/promoguard/connectors"}
	for pkg, extra := range forbidden {
		out, err := exec.Command("go", "list", "-deps", pkg).CombinedOutput()
		if err != nil {
			t.Fatalf("go list %s: %v\n%s", pkg, err, out)
		}
		for _, dep := range strings.Fields(string(out)) {
			for _, f := range append(common, extra...) {
				if dep == f || strings.HasPrefix(dep, f+"/") {
					t.Errorf("%s depends on %s", pkg, dep)
				}
			}
		}
	}
}
