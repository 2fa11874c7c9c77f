package main

import (
	"encoding/json"
	"fmt"
	"regexp"
	"strings"
	"testing"

	"github.com/promoguard/promoguard/connectors/file"
	"github.com/promoguard/promoguard/event"
)

func TestReplayRuleErrorsBounded(t *testing.T) {
	var lines []string
	for i := range 15 {
		lines = append(lines, fmt.Sprintf(`{"type":"price","sku":"SKU-%02d","channel":"web","price":10,"cost":8,"category":"toys","ts":"2025-11-20T08:00:00Z"}`, i))
	}
	path := writeFile(t, t.TempDir(), "e.ndjson", strings.Join(lines, "\n")+"\n")
	code, _, errOut := runReplay(t, nil, "replay", "--rules", replayRules, path)
	if code != 0 {
		t.Fatalf("exit %d, stderr:\n%s", code, errOut)
	}
	shown := regexp.MustCompile(`(?m)^  replay/category-floor: sku SKU-\d+ on web: lookup: table has no key "toys"`).FindAllString(errOut, -1)
	if len(shown) != 10 || !strings.Contains(errOut, "rule errors: 15\n") || !strings.Contains(errOut, "\n  and 5 more\n") {
		t.Errorf("want 10 errors shown of 15, then 'and 5 more':\n%s", errOut)
	}
}

func TestReplayJSONSummary(t *testing.T) {
	code, out, errOut := runReplay(t, nil, "replay", "--rules", replayRules, "--format", "json", replayEvents)
	if code != 0 {
		t.Fatalf("exit %d, stderr:\n%s", code, errOut)
	}
	var s file.Summary
	dec := json.NewDecoder(strings.NewReader(errOut))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&s); err != nil {
		t.Fatalf("stderr is not one JSON summary: %v\n%s", err, errOut)
	}
	if dec.More() {
		t.Errorf("more than the summary on stderr:\n%s", errOut)
	}
	if s.EventsRead != 7 || s.Applied != 5 || s.DeadLetters != 2 || s.DeadByReason[string(event.BadJSON)] != 1 ||
		s.Skipped != 3 || s.Lines != 10 || s.RuleErrors != 1 || len(s.FirstRuleErrors) != 1 ||
		s.Outputs[event.KindAlert]+s.Outputs[event.KindCorrection]+s.Outputs[event.KindDeadLetter] != int64(len(records(t, out))) ||
		len(s.Rules) != 5 || s.Rules[0].Rule != "replay/below-cost" || s.Rules[4].Rule != "promoguard/unsatisfiable" || s.Watermark == nil {
		t.Errorf("summary: %+v", s)
	}
}

func TestReplayQuiet(t *testing.T) {
	code, out, errOut := runReplay(t, nil, "replay", "-q", "--rules", "../../examples/rules", replayEvents)
	if code != 0 || errOut != "" || out == "" {
		t.Errorf("exit %d, stderr:\n%s", code, errOut)
	}
}
