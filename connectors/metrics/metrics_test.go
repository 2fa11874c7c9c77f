package metrics

import (
	"strings"
	"testing"
	"time"

	"github.com/promoguard/promoguard/event"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"

	"github.com/promoguard/promoguard/engine"
)

func newMetrics(t *testing.T) (*Metrics, *prometheus.Registry) {
	t.Helper()
	reg := prometheus.NewRegistry()
	m, err := New(reg)
	if err != nil {
		t.Fatal(err)
	}
	return m, reg
}

// TestNamesAndLint: every metric the brief names is there, prefixed
// promoguard_, and passes Prometheus' metric lint (counters end in _total,
// units are base units, help is set).
func TestNamesAndLint(t *testing.T) {
	m, reg := newMetrics(t)
	// touch the vectors so that they are gathered
	m.Events.WithLabelValues("pricing.prices", "price").Inc()
	m.DeadLetters.WithLabelValues(string(event.BadJSON)).Inc()
	m.InitRules([]string{"margin/margin-floor"})
	m.OutputsProduced.WithLabelValues("pricing.alerts").Inc()
	m.WrongPartition.WithLabelValues("pricing.stock").Inc()
	m.SetLag("pricing.prices", 0, 5)
	m.BatchDuration.Observe(0.01)
	m.EventToOutput.Observe(0.02)

	want := []string{
		"events_total", "late_events_total", "dead_letters_total", "rule_evaluations_total", "rule_errors_total",
		"rule_evaluation_seconds_total", "alerts_total", "corrections_total", "outputs_produced_total",
		"wrong_partition_total", "consumer_lag", "partitions_assigned", "rules_reload_success",
		"rules_reload_timestamp_seconds", "rules_loaded", "batch_duration_seconds", "event_to_output_seconds",
		"changelog_records_total", "commits_total", "broker_up", "produce_failures_total",
	}
	mfs, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	got := map[string]bool{}
	for _, mf := range mfs {
		got[mf.GetName()] = true
		if !strings.HasPrefix(mf.GetName(), "promoguard_") {
			t.Errorf("%s is not prefixed promoguard_", mf.GetName())
		}
	}
	for _, n := range want {
		if !got["promoguard_"+n] {
			t.Errorf("promoguard_%s is not registered", n)
		}
	}
	if len(got) != len(want) {
		t.Errorf("gathered %d metric families, want %d", len(got), len(want))
	}
	problems, err := testutil.GatherAndLint(reg)
	if err != nil {
		t.Fatal(err)
	}
	for _, p := range problems {
		t.Errorf("lint: %s: %s", p.Metric, p.Text)
	}
	if _, err := New(reg); err == nil || !strings.Contains(err.Error(), "register metrics") {
		t.Errorf("registering twice on one registry: %v", err)
	}
}

func stats(late int64, byRule map[string]engine.RuleStats, corr map[event.State]int64) engine.Stats {
	s := engine.Stats{Late: late, ByRule: map[string]*engine.RuleStats{}, Corrections: corr}
	for id, r := range byRule {
		s.ByRule[id] = &r
	}
	return s
}

// TestAddStats: successive snapshots add their differences; a snapshot
// lower than the previous one (a new engine) counts whole; a rule new in
// cur counts from 0.
func TestAddStats(t *testing.T) {
	m, reg := newMetrics(t)
	s1 := stats(2, map[string]engine.RuleStats{
		"margin/margin-floor": {Evaluations: 10, Errors: 1, Firing: 2, Resolved: 1},
	}, map[event.State]int64{event.StateActive: 3})
	s2 := stats(5, map[string]engine.RuleStats{
		"margin/margin-floor": {Evaluations: 25, Errors: 1, Firing: 4, Resolved: 3},
		"map/below-map":       {Evaluations: 7, Firing: 1},
	}, map[event.State]int64{event.StateActive: 4, event.StateWithdrawn: 2})
	m.AddStats(engine.Stats{}, s1)
	m.AddStats(s1, s2)
	// a new engine (reassigned partition) starts from zero: its first
	// snapshot, compared with the old engine's last, counts whole
	s3 := stats(1, map[string]engine.RuleStats{"margin/margin-floor": {Evaluations: 3}}, nil)
	m.AddStats(s2, s3)

	const want = `
# HELP promoguard_alerts_total Alert records, by rule (group/rule) and state (firing, resolved).
# TYPE promoguard_alerts_total counter
promoguard_alerts_total{rule="map/below-map",state="firing"} 1
promoguard_alerts_total{rule="margin/margin-floor",state="firing"} 4
promoguard_alerts_total{rule="margin/margin-floor",state="resolved"} 3
# HELP promoguard_corrections_total Correction records, by state (active, withdrawn).
# TYPE promoguard_corrections_total counter
promoguard_corrections_total{state="active"} 4
promoguard_corrections_total{state="withdrawn"} 2
# HELP promoguard_late_events_total Events ignored as older than the state they would replace.
# TYPE promoguard_late_events_total counter
promoguard_late_events_total 6
# HELP promoguard_rule_errors_total Runtime errors of rules, by rule (group/rule).
# TYPE promoguard_rule_errors_total counter
promoguard_rule_errors_total{rule="margin/margin-floor"} 1
# HELP promoguard_rule_evaluations_total Rule evaluations, by rule (group/rule).
# TYPE promoguard_rule_evaluations_total counter
promoguard_rule_evaluations_total{rule="map/below-map"} 7
promoguard_rule_evaluations_total{rule="margin/margin-floor"} 28
`
	if err := testutil.GatherAndCompare(reg, strings.NewReader(want),
		"promoguard_alerts_total", "promoguard_corrections_total", "promoguard_late_events_total",
		"promoguard_rule_errors_total", "promoguard_rule_evaluations_total"); err != nil {
		t.Fatal(err)
	}
}

func TestInitRules(t *testing.T) {
	m, _ := newMetrics(t)
	m.InitRules([]string{"a/x", "b/y"})
	if n := testutil.CollectAndCount(m.Alerts); n != 4 {
		t.Errorf("alerts_total has %d series after InitRules, want 4 (2 rules x firing, resolved)", n)
	}
	if n := testutil.CollectAndCount(m.Corrections); n != 2 {
		t.Errorf("corrections_total has %d series, want 2", n)
	}
	if v := testutil.ToFloat64(m.RuleEvaluations.WithLabelValues("a/x")); v != 0 {
		t.Errorf("initial evaluations %v", v)
	}
}

func TestGaugesAndHelpers(t *testing.T) {
	m, reg := newMetrics(t)
	m.SetLag("pricing.prices", 0, 12)
	m.SetLag("pricing.prices", 1, 0)
	m.DeleteLag("pricing.prices", 1)
	m.AddRuleSeconds("margin/margin-floor", 1500*time.Millisecond)
	m.AddRuleSeconds("margin/margin-floor", 500*time.Millisecond)
	m.AddRuleSeconds("margin/margin-floor", -time.Second) // ignored
	at := time.Date(2026, 11, 27, 0, 0, 0, 500_000_000, time.UTC)
	m.Reloaded(true, at, 8)
	m.Reloaded(false, at.Add(time.Hour), 99)

	const want = `
# HELP promoguard_consumer_lag Records between the consumed position and the end of each assigned input partition.
# TYPE promoguard_consumer_lag gauge
promoguard_consumer_lag{partition="0",topic="pricing.prices"} 12
# HELP promoguard_rule_evaluation_seconds_total Time spent evaluating each rule (group/rule), in seconds.
# TYPE promoguard_rule_evaluation_seconds_total counter
promoguard_rule_evaluation_seconds_total{rule="margin/margin-floor"} 2
# HELP promoguard_rules_loaded Rules running.
# TYPE promoguard_rules_loaded gauge
promoguard_rules_loaded 8
# HELP promoguard_rules_reload_success 1 when the last rule load or reload succeeded, 0 when it failed and the previous rules keep running.
# TYPE promoguard_rules_reload_success gauge
promoguard_rules_reload_success 0
`
	if err := testutil.GatherAndCompare(reg, strings.NewReader(want), "promoguard_consumer_lag",
		"promoguard_rule_evaluation_seconds_total", "promoguard_rules_loaded", "promoguard_rules_reload_success"); err != nil {
		t.Fatal(err)
	}
	if v := testutil.ToFloat64(m.RulesReloadTimestamp); v != float64(at.Unix())+0.5 {
		t.Errorf("reload timestamp %v, want the last success %v", v, float64(at.Unix())+0.5)
	}
}

func TestRegisterRuntime(t *testing.T) {
	reg := prometheus.NewRegistry()
	if err := RegisterRuntime(reg, "v1.2.3"); err != nil {
		t.Fatal(err)
	}
	if err := testutil.GatherAndCompare(reg, strings.NewReader(`
# HELP promoguard_build_info Always 1; the version label says which promoguard is running.
# TYPE promoguard_build_info gauge
promoguard_build_info{version="v1.2.3"} 1
`), "promoguard_build_info"); err != nil {
		t.Fatal(err)
	}
	if n, err := testutil.GatherAndCount(reg, "go_goroutines"); err != nil || n != 1 {
		t.Fatalf("go_goroutines: %d, %v", n, err)
	}
}
