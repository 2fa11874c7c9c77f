package main

import (
	"bytes"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/promoguard/promoguard/event"
)

func TestGenNDJSON(t *testing.T) {
	code, out, errOut := runCLI(t, "gen", "--skus", "50", "--events", "400", "--shape", "burst", "--seed", "3")
	if code != 0 {
		t.Fatalf("exit %d: %s", code, errOut)
	}
	lines := strings.Split(strings.TrimSuffix(out, "\n"), "\n")
	if len(lines) != 400 {
		t.Fatalf("%d lines, want 400", len(lines))
	}
	for i, l := range lines {
		if _, err := event.Decode([]byte(l), event.DecodeOptions{}); err != nil {
			t.Fatalf("line %d: %v", i+1, err)
		}
	}
	if !strings.HasPrefix(errOut, "gen: 400 events") {
		t.Errorf("summary %q", errOut)
	}
	// the same flags write the same bytes, to a file too
	path := filepath.Join(t.TempDir(), "events.ndjson")
	if code, _, errOut := runCLI(t, "gen", "-q", "--skus", "50", "--events", "400", "--shape", "burst", "--seed", "3", "-o", path); code != 0 {
		t.Fatalf("exit %d: %s", code, errOut)
	}
	if b, err := os.ReadFile(path); err != nil || string(b) != out {
		t.Errorf("the file differs from stdout (err %v)", err)
	}
}

func TestGenFlags(t *testing.T) {
	for _, args := range [][]string{
		{"gen", "--skus", "0"},
		{"gen", "--shape", "spiky"},
		{"gen", "--channels", "100"},
	} {
		if code, _, _ := runCLI(t, args...); code != 2 {
			t.Errorf("%v: exit %d, want 2", args, code)
		}
	}
}

func TestBenchJSONAndChart(t *testing.T) {
	dir := t.TempDir()
	out := filepath.Join(dir, "report.json")
	code, _, errOut := runCLI(t, "bench", "--rules", "../../examples/rules", "--skus", "100", "--events", "1500",
		"--cores", "2", "--format", "json", "-o", out)
	if code != 0 {
		t.Fatalf("exit %d: %s", code, errOut)
	}
	data, err := os.ReadFile(out)
	if err != nil {
		t.Fatal(err)
	}
	var rep struct {
		OneCore struct {
			Events       int64   `json:"events"`
			EventsPerSec float64 `json:"events_per_sec"`
			Latency      struct {
				P99 float64 `json:"p99"`
			} `json:"latency_ns"`
			StatePerSKUChannel float64 `json:"state_bytes_per_sku_channel"`
			Outputs            int64   `json:"outputs"`
		} `json:"one_core"`
		AllCores *struct {
			Events int64 `json:"events"`
		} `json:"all_cores"`
		Timed *struct {
			Rules []struct {
				Rule  string `json:"rule"`
				Nanos int64  `json:"nanos"`
			}
		} `json:"rule_timing"`
	}
	if err := json.Unmarshal(data, &rep); err != nil {
		t.Fatal(err)
	}
	o := rep.OneCore
	if o.Events != 1500 || o.EventsPerSec <= 0 || o.Latency.P99 <= 0 || o.StatePerSKUChannel <= 0 || o.Outputs == 0 {
		t.Errorf("one-core figures missing: %+v", o)
	}
	if rep.AllCores == nil || rep.AllCores.Events != 1500 {
		t.Errorf("no two-core run: %+v", rep.AllCores)
	}
	timed := false
	if rep.Timed != nil {
		for _, r := range rep.Timed.Rules {
			timed = timed || r.Nanos > 0
		}
	}
	if !timed {
		t.Error("no rule was timed")
	}
	svg, err := os.ReadFile(filepath.Join(dir, "report.svg"))
	if err != nil || !bytes.HasPrefix(svg, []byte("<svg")) || !bytes.Contains(svg, []byte("</svg>")) {
		t.Errorf("no chart next to the report (err %v)", err)
	}
}

func TestBenchText(t *testing.T) {
	code, out, errOut := runCLI(t, "bench", "--rules", "../../examples/rules", "--skus", "60", "--events", "800",
		"--cores", "1", "--no-rule-timing")
	if code != 0 {
		t.Fatalf("exit %d: %s", code, errOut)
	}
	for _, want := range []string{"events/s", "1 core", "state:", "per rule", "margin/margin-floor"} {
		if !strings.Contains(out, want) {
			t.Errorf("report lacks %q:\n%s", want, out)
		}
	}
}
