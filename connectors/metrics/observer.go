package metrics

import (
	"time"

	"github.com/promoguard/promoguard/engine"
)

// Observer feeds the metrics from what the Kafka daemon reports; it
// implements the connectors/kafka Observer interface.
type Observer struct{ M *Metrics }

func (o Observer) Event(topic, typ string)     { o.M.Events.WithLabelValues(topic, typ).Inc() }
func (o Observer) DeadLetter(reason string)    { o.M.DeadLetters.WithLabelValues(reason).Inc() }
func (o Observer) WrongPartition(topic string) { o.M.WrongPartition.WithLabelValues(topic).Inc() }
func (o Observer) Produced(topic string, n int) {
	o.M.OutputsProduced.WithLabelValues(topic).Add(float64(n))
}
func (o Observer) Changelog(n int)       { o.M.ChangelogRecords.Add(float64(n)) }
func (o Observer) Commit()               { o.M.Commits.Inc() }
func (o Observer) Batch(d time.Duration) { o.M.BatchDuration.Observe(d.Seconds()) }
func (o Observer) EventToOutput(d time.Duration) {
	o.M.EventToOutput.Observe(d.Seconds())
}
func (o Observer) Lag(topic string, partition int, lag int64) { o.M.SetLag(topic, partition, lag) }
func (o Observer) Assigned(n int)                             { o.M.PartitionsAssigned.Set(float64(n)) }
func (o Observer) EngineStats(prev, cur engine.Stats)         { o.M.AddStats(prev, cur) }
func (o Observer) ProduceFailed()                             { o.M.ProduceFailures.Inc() }
func (o Observer) BrokerReachable(ok bool) {
	v := 0.0
	if ok {
		v = 1
	}
	o.M.BrokerUp.Set(v)
}
