package metrics

import (
	"errors"
	"fmt"
	"strconv"
	"time"

	"github.com/promoguard/promoguard/event"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"

	"github.com/promoguard/promoguard/engine"
)

// Namespace prefixes every metric name.
const Namespace = "promoguard"

// Alert states, the values of the state label of alerts_total.
const (
	StateFiring   = "firing"
	StateResolved = "resolved"
)

// Metrics are the daemon's metrics. The fields are safe for concurrent
// use, as Prometheus collectors are.
type Metrics struct {
	// Events counts input records consumed, by topic and event type
	// (price, stock, promo; "invalid" for a record that is not a valid
	// event, "tombstone" for a null value).
	Events *prometheus.CounterVec
	// LateEvents counts events ignored as older than the state they would
	// replace (engine.Stats.Late).
	LateEvents prometheus.Counter
	// DeadLetters counts dead-letter records by reason.
	DeadLetters *prometheus.CounterVec
	// RuleEvaluations, RuleErrors and RuleEvaluationSeconds are per rule
	// id ("group/rule"): evaluations, runtime errors, and the time spent
	// evaluating it.
	RuleEvaluations       *prometheus.CounterVec
	RuleErrors            *prometheus.CounterVec
	RuleEvaluationSeconds *prometheus.CounterVec
	// Alerts counts alert records by rule and state (firing, resolved).
	Alerts *prometheus.CounterVec
	// Corrections counts correction records by state (active, withdrawn).
	Corrections *prometheus.CounterVec
	// OutputsProduced counts records acknowledged by the brokers, by topic.
	OutputsProduced *prometheus.CounterVec
	// WrongPartition counts input records whose key murmur2-hashes to
	// another partition than the one they arrived on, by topic.
	WrongPartition *prometheus.CounterVec
	// ConsumerLag is the records between the committed position and the
	// end of each assigned partition.
	ConsumerLag *prometheus.GaugeVec
	// PartitionsAssigned is the number of input partitions this instance
	// owns.
	PartitionsAssigned prometheus.Gauge
	// BrokerUp is 1 while the brokers answer the daemon's probe, 0 when
	// the last one failed.
	BrokerUp prometheus.Gauge
	// ProduceFailures counts failed attempts to produce outputs or
	// changelog records (each is retried until acknowledged).
	ProduceFailures prometheus.Counter
	// RulesReloadSuccess is 1 when the last rule (re)load succeeded, 0
	// when it failed and the previous rules are still running.
	RulesReloadSuccess prometheus.Gauge
	// RulesReloadTimestamp is the Unix time of the last successful load.
	RulesReloadTimestamp prometheus.Gauge
	// RulesLoaded is the number of rules running.
	RulesLoaded prometheus.Gauge
	// BatchDuration is the wall time of one fetched batch: evaluate,
	// produce, changelog, commit.
	BatchDuration prometheus.Histogram
	// EventToOutput is the wall time from fetching an event to the
	// brokers acknowledging the outputs it caused.
	EventToOutput prometheus.Histogram
	// ChangelogRecords counts records written to the state changelog.
	ChangelogRecords prometheus.Counter
	// Commits counts successful input offset commits.
	Commits prometheus.Counter
}

// New creates the metrics and registers them on reg.
func New(reg prometheus.Registerer) (*Metrics, error) {
	counterVec := func(name, help string, labels ...string) *prometheus.CounterVec {
		return prometheus.NewCounterVec(prometheus.CounterOpts{Namespace: Namespace, Name: name, Help: help}, labels)
	}
	counter := func(name, help string) prometheus.Counter {
		return prometheus.NewCounter(prometheus.CounterOpts{Namespace: Namespace, Name: name, Help: help})
	}
	gauge := func(name, help string) prometheus.Gauge {
		return prometheus.NewGauge(prometheus.GaugeOpts{Namespace: Namespace, Name: name, Help: help})
	}
	histogram := func(name, help string, buckets []float64) prometheus.Histogram {
		return prometheus.NewHistogram(prometheus.HistogramOpts{
			Namespace: Namespace, Name: name, Help: help, Buckets: buckets,
			// also a native histogram, for servers that scrape them
			NativeHistogramBucketFactor:     1.1,
			NativeHistogramMaxBucketNumber:  100,
			NativeHistogramMinResetDuration: time.Hour,
		})
	}
	m := &Metrics{
		Events:                counterVec("events_total", "Input records consumed, by topic and event type (invalid: not a valid event; tombstone: a null value).", "topic", "type"),
		LateEvents:            counter("late_events_total", "Events ignored as older than the state they would replace."),
		DeadLetters:           counterVec("dead_letters_total", "Dead-letter records, by reason.", "reason"),
		RuleEvaluations:       counterVec("rule_evaluations_total", "Rule evaluations, by rule (group/rule).", "rule"),
		RuleErrors:            counterVec("rule_errors_total", "Runtime errors of rules, by rule (group/rule).", "rule"),
		RuleEvaluationSeconds: counterVec("rule_evaluation_seconds_total", "Time spent evaluating each rule (group/rule), in seconds.", "rule"),
		Alerts:                counterVec("alerts_total", "Alert records, by rule (group/rule) and state (firing, resolved).", "rule", "state"),
		Corrections:           counterVec("corrections_total", "Correction records, by state (active, withdrawn).", "state"),
		OutputsProduced:       counterVec("outputs_produced_total", "Output records acknowledged by the brokers, by topic.", "topic"),
		WrongPartition:        counterVec("wrong_partition_total", "Input records whose key does not murmur2-hash to the partition they arrived on, by topic.", "topic"),
		ConsumerLag: prometheus.NewGaugeVec(prometheus.GaugeOpts{Namespace: Namespace, Name: "consumer_lag",
			Help: "Records between the consumed position and the end of each assigned input partition."}, []string{"topic", "partition"}),
		PartitionsAssigned:   gauge("partitions_assigned", "Input partitions this instance owns."),
		BrokerUp:             gauge("broker_up", "1 while the brokers answer the daemon's metadata probe, 0 after a failed probe."),
		ProduceFailures:      counter("produce_failures_total", "Failed attempts to produce outputs or changelog records; each is retried until acknowledged."),
		RulesReloadSuccess:   gauge("rules_reload_success", "1 when the last rule load or reload succeeded, 0 when it failed and the previous rules keep running."),
		RulesReloadTimestamp: gauge("rules_reload_timestamp_seconds", "Unix time of the last successful rule load or reload."),
		RulesLoaded:          gauge("rules_loaded", "Rules running."),
		BatchDuration: histogram("batch_duration_seconds", "Wall time of one fetched batch: evaluate, produce, changelog, commit.",
			prometheus.ExponentialBuckets(0.0005, 2, 16)), // 0.5 ms to 16 s
		EventToOutput: histogram("event_to_output_seconds", "Wall time from fetching an event to the brokers acknowledging the outputs it caused.",
			[]float64{.001, .0025, .005, .01, .025, .05, .1, .25, .5, 1, 2.5, 5, 10, 30, 60, 120}),
		ChangelogRecords: counter("changelog_records_total", "Records written to the state changelog."),
		Commits:          counter("commits_total", "Successful input offset commits."),
	}
	var errs []error
	for _, c := range []prometheus.Collector{
		m.Events, m.LateEvents, m.DeadLetters, m.RuleEvaluations, m.RuleErrors, m.RuleEvaluationSeconds,
		m.Alerts, m.Corrections, m.OutputsProduced, m.WrongPartition, m.ConsumerLag, m.PartitionsAssigned,
		m.BrokerUp, m.ProduceFailures,
		m.RulesReloadSuccess, m.RulesReloadTimestamp, m.RulesLoaded, m.BatchDuration, m.EventToOutput,
		m.ChangelogRecords, m.Commits,
	} {
		if err := reg.Register(c); err != nil {
			errs = append(errs, err)
		}
	}
	if err := errors.Join(errs...); err != nil {
		return nil, fmt.Errorf("register metrics: %w", err)
	}
	return m, nil
}

// RegisterRuntime registers the Go runtime and process collectors and
// promoguard_build_info{version} on reg: what every Prometheus target is
// expected to expose.
func RegisterRuntime(reg prometheus.Registerer, version string) error {
	info := prometheus.NewGauge(prometheus.GaugeOpts{Namespace: Namespace, Name: "build_info",
		Help: "Always 1; the version label says which promoguard is running.", ConstLabels: prometheus.Labels{"version": version}})
	info.Set(1)
	return errors.Join(
		reg.Register(collectors.NewGoCollector()),
		reg.Register(collectors.NewProcessCollector(collectors.ProcessCollectorOpts{})),
		reg.Register(info),
	)
}

// InitRules creates the per-rule series at 0, so that they exist (and
// rate() works) before a rule first fires or errs.
func (m *Metrics) InitRules(ids []string) {
	for _, id := range ids {
		m.RuleEvaluations.WithLabelValues(id)
		m.RuleErrors.WithLabelValues(id)
		m.RuleEvaluationSeconds.WithLabelValues(id)
		m.Alerts.WithLabelValues(id, StateFiring)
		m.Alerts.WithLabelValues(id, StateResolved)
	}
	m.Corrections.WithLabelValues(string(event.StateActive))
	m.Corrections.WithLabelValues(string(event.StateWithdrawn))
}

// AddStats adds what an engine did between two of its Stats snapshots:
// late events, evaluations and errors by rule, alert records by rule and
// state, corrections by state. prev is the zero Stats for an engine's
// first snapshot. A count lower in cur than in prev means the engine was
// replaced (a partition reassigned): cur is then counted whole, as
// Prometheus treats a counter reset.
func (m *Metrics) AddStats(prev, cur engine.Stats) {
	if d := delta(prev.Late, cur.Late); d > 0 {
		m.LateEvents.Add(float64(d))
	}
	for id, c := range cur.ByRule {
		var p engine.RuleStats
		if ps := prev.ByRule[id]; ps != nil {
			p = *ps
		}
		if d := delta(p.Evaluations, c.Evaluations); d > 0 {
			m.RuleEvaluations.WithLabelValues(id).Add(float64(d))
		}
		if d := delta(p.Errors, c.Errors); d > 0 {
			m.RuleErrors.WithLabelValues(id).Add(float64(d))
		}
		if d := delta(p.Firing, c.Firing); d > 0 {
			m.Alerts.WithLabelValues(id, StateFiring).Add(float64(d))
		}
		if d := delta(p.Resolved, c.Resolved); d > 0 {
			m.Alerts.WithLabelValues(id, StateResolved).Add(float64(d))
		}
		if d := delta(p.Nanos, c.Nanos); d > 0 {
			m.RuleEvaluationSeconds.WithLabelValues(id).Add(float64(d) / 1e9)
		}
	}
	for state, n := range cur.Corrections {
		if d := delta(prev.Corrections[state], n); d > 0 {
			m.Corrections.WithLabelValues(string(state)).Add(float64(d))
		}
	}
}

func delta(prev, cur int64) int64 {
	if cur < prev {
		return cur
	}
	return cur - prev
}

// AddRuleSeconds adds time spent evaluating a rule.
func (m *Metrics) AddRuleSeconds(rule string, d time.Duration) {
	if d > 0 {
		m.RuleEvaluationSeconds.WithLabelValues(rule).Add(d.Seconds())
	}
}

// SetLag sets the consumer lag of one partition.
func (m *Metrics) SetLag(topic string, partition int, lag int64) {
	m.ConsumerLag.WithLabelValues(topic, strconv.Itoa(partition)).Set(float64(lag))
}

// DeleteLag removes the lag series of a partition this instance no longer
// owns, so that a revoked partition does not report a stale lag.
func (m *Metrics) DeleteLag(topic string, partition int) {
	m.ConsumerLag.DeleteLabelValues(topic, strconv.Itoa(partition))
}

// Reloaded records the outcome of a rule load or reload: on success the
// success gauge goes to 1, the timestamp to at and the rule count to
// rules; on failure only the success gauge changes, to 0, since the
// previous rules keep running.
func (m *Metrics) Reloaded(ok bool, at time.Time, rules int) {
	if !ok {
		m.RulesReloadSuccess.Set(0)
		return
	}
	m.RulesReloadSuccess.Set(1)
	m.RulesReloadTimestamp.Set(float64(at.UnixNano()) / 1e9)
	m.RulesLoaded.Set(float64(rules))
}
