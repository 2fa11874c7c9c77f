package kafka

import (
	"encoding/json"
	"fmt"
	"strconv"
	"time"

	"github.com/segmentio/kafka-go"

	"github.com/promoguard/promoguard/engine"
	"github.com/promoguard/promoguard/event"
)

// This file is the worker's whole path of a record: decode, then either a
// dead letter or the sequencer (and so the engine), then the outputs as
// records. Between decode and apply the record waits in the merge.

// item is a fetched record, decoded.
type item struct {
	msg kafka.Message
	ev  *event.Event // nil: bad input
	err error
}

// decode decodes a record of source s, fetched at now, through the
// engine's driver — the one decode path of replay, test and bench — with
// the daemon's check that an event is on its type's topic. A promotion's
// tombstone cancels the promotion keyed so.
func (w *worker) decode(s *source, m kafka.Message) item {
	it := item{msg: m}
	rec := w.record(s, m)
	it.ev, it.err = w.drv.Decode(rec)
	return it
}

// record is m as the driver reads it.
func (w *worker) record(s *source, m kafka.Message) engine.Record {
	rec := engine.Record{Value: m.Value, Input: s.topic, Source: fmt.Sprintf("%s/%d@%d", s.topic, s.partition, m.Offset)}
	if m.Value == nil && s.topic == w.d.cfg.Topics.Promotions {
		rec.Tombstone, rec.Key, rec.Time = true, string(m.Key), m.Time
		rec.Source = tpKey(s.topic, s.partition)
	}
	return rec
}

// checkTopic refuses a valid event on the topic of another type.
func (w *worker) checkTopic(rec engine.Record, ev *event.Event) error {
	if !topicAccepts(w.d.cfg.Topics, rec.Input, ev.Type) {
		return &event.InputError{Reason: event.WrongTopic, Field: "type",
			Msg: fmt.Sprintf("a %s event on topic %s", ev.Type, rec.Input)}
	}
	return nil
}

func topicAccepts(t Topics, topic string, typ event.Type) bool {
	switch topic {
	case t.Prices:
		return typ == event.TypePrice
	case t.Stock:
		return typ == event.TypeStock
	case t.Promotions:
		return typ == event.TypePromo
	}
	return false
}

// apply takes a record of source s, fetched at wall, into the batch: bad
// input as a dead letter, an event through the sequencer into the engine.
func (w *worker) apply(s *source, it item, wall time.Time) {
	b := &w.batch
	b.begin(w.d.cfg.Now(), wall)
	obs := w.d.cfg.Observer
	if it.ev == nil {
		if s.topic == w.d.cfg.Topics.Promotions && w.d.partitionOf(it.msg.Key) != w.part {
			// every partition reads every promotion: a bad one is the
			// dead letter of the partition its key hashes to, as its
			// promo-scope rules are, so that it is reported once
			return
		}
		dl := w.drv.DeadLetter(w.record(s, it.msg), it.err)
		b.dead = append(b.dead, w.deadLetterRecord(s, it.msg, dl))
		return
	}
	if s.topic != w.d.cfg.Topics.Promotions && w.d.partitionOf(it.msg.Key) != w.part {
		obs.WrongPartition(s.topic)
	}
	obs.Event(s.topic, it.ev.Type.String())
	w.lastEvent = wall
	b.outs = w.drv.Push(it.ev, b.outs)
	b.applied++
}

// deadLetterRecord is the dead-letter record of m, keyed as m, with
// headers naming where it came from and why.
func (w *worker) deadLetterRecord(s *source, m kafka.Message, dl event.Output) kafka.Message {
	v, _ := json.Marshal(dl)
	return kafka.Message{
		Topic: w.d.cfg.Topics.DeadLetter, Key: m.Key, Value: v,
		Headers: []kafka.Header{
			{Key: "source_topic", Value: []byte(s.topic)},
			{Key: "source_partition", Value: []byte(strconv.Itoa(s.partition))},
			{Key: "source_offset", Value: []byte(strconv.FormatInt(m.Offset, 10))},
			{Key: "reason", Value: []byte(dl.DeadLetter.Reason)},
		},
	}
}

// encode turns outputs into records keyed by sku: alerts and corrections
// to their topics, and each alert also to its channel's topic when
// configured.
func (w *worker) encode(outs []event.Output) ([]kafka.Message, error) {
	t := w.d.cfg.Topics
	msgs := make([]kafka.Message, 0, len(outs))
	for _, o := range outs {
		v, err := json.Marshal(o)
		if err != nil {
			return nil, err
		}
		topic := t.Alerts
		if o.Correction != nil {
			topic = t.Corrections
		}
		hdr := []kafka.Header{{Key: "kind", Value: []byte(o.Kind())}}
		msgs = append(msgs, kafka.Message{Topic: topic, Key: []byte(o.Key()), Value: v, Headers: hdr})
		if o.Alert != nil && t.ChannelAlerts && o.Alert.Channel != "" {
			ct := ChannelTopic(t.ChannelAlertPrefix, o.Alert.Channel)
			if err := w.d.ensureChannelTopic(ct); err != nil {
				w.log.Warn().Err(err).Str("topic", ct).Msg("per-channel alert topic unavailable")
				continue
			}
			msgs = append(msgs, kafka.Message{Topic: ct, Key: []byte(o.Key()), Value: v, Headers: hdr})
		}
	}
	return msgs, nil
}
