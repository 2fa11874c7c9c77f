package kafka

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"strconv"
	"sync/atomic"
	"time"

	"github.com/promoguard/promoguard/event"

	"github.com/rs/zerolog"
	"github.com/segmentio/kafka-go"

	"github.com/promoguard/promoguard/engine"
	"github.com/promoguard/promoguard/rules"
)

// worker runs one partition number: its engine, its inputs (that number of
// prices and stock, every partition of promotions) and its changelog. It
// owns its engine: nothing else touches it (explain goes through calls).
type worker struct {
	d     *Daemon
	gen   *kafka.Generation
	part  int
	log   zerolog.Logger
	start map[string]int64 // group offsets of prices and stock at assignment

	eng  *engine.Engine
	seq  *engine.Sequencer
	srcs []*source

	reloads  chan *rules.RuleSet
	calls    chan func(*engine.Engine)
	caughtUp atomic.Bool
	// failing is when producing began to fail (unix nanoseconds), 0 while
	// records are acknowledged: the partition is then not ready
	failing atomic.Int64
	failErr atomic.Pointer[string]

	// durable is the group offsets of prices and stock in the last
	// checkpoint written to the changelog; nil before the first
	durable map[string]map[int]int64

	// the batch in progress
	outs         []event.Output
	dead         []kafka.Message
	applied      int
	batchStart   time.Time
	oldestWall   time.Time // when the oldest event of the batch was fetched
	blockedSince time.Time
	// resumed is when the last batch that took longer than Grace to
	// produce and commit ended: the inputs' fetchers could not hand over
	// events meanwhile, so the grace and the wait for a lagging input
	// count from then, not from the fetch
	resumed        time.Time
	stats          engine.Stats
	lastEvent      time.Time // wall time of the last event applied
	lastAdvance    time.Time
	lastCheckpoint time.Time
	groupOK        time.Time // the last group commit the coordinator accepted
	advanced       bool      // the watermark moved without an event: commit
}

// source is one input partition of a worker.
type source struct {
	topic     string
	partition int
	rank      int // promotions, stock, prices: the canonical order at equal ts
	r         *kafka.Reader
	next      int64 // offset of the next message to apply
	queue     []item
	caughtUp  bool // its last fetch reached the high watermark
}

// item is a fetched message, decoded.
type item struct {
	msg  kafka.Message
	ev   *event.Event // nil: bad input
	err  error
	wall time.Time // when it was fetched
}

type fetched struct {
	src *source
	msg kafka.Message
}

func newWorker(d *Daemon, gen *kafka.Generation, part int, pricesOff, stockOff int64) *worker {
	return &worker{
		d: d, gen: gen, part: part,
		log:     d.cfg.Log.With().Int("partition", part).Logger(),
		start:   map[string]int64{d.cfg.Topics.Prices: pricesOff, d.cfg.Topics.Stock: stockOff},
		reloads: make(chan *rules.RuleSet, 1),
		calls:   make(chan func(*engine.Engine)),
	}
}

func (w *worker) reload(rs *rules.RuleSet) {
	for {
		select {
		case w.reloads <- rs:
			return
		default:
			// replace a reload not yet taken: only the latest counts
			select {
			case <-w.reloads:
			default:
			}
		}
	}
}

func (w *worker) explain(ctx context.Context, sku, channel string) (any, bool) {
	type res struct {
		v  any
		ok bool
	}
	ch := make(chan res, 1)
	f := func(e *engine.Engine) {
		v, ok := e.Explain(sku, channel)
		ch <- res{v, ok}
	}
	select {
	case w.calls <- f:
	case <-ctx.Done():
		return nil, false
	}
	select {
	case r := <-ch:
		return r.v, r.ok
	case <-ctx.Done():
		return nil, false
	}
}

// fetchMaxWait is the readers' long poll. A kafka-go Reader sets its read
// deadline to MaxWait and asks the broker to wait MaxWait less a quarter
// of it (less 1 s from 1 s up): the network gets what is left. At 100 ms
// (25 ms for a round trip) a reader behind 100 ms of latency never
// completed a fetch; at 2 s it has 1 s. A record still comes back as soon
// as it is there: the wait only paces the polls of an idle partition.
const fetchMaxWait = 2 * time.Second

// checkpointMeta is the worker's part of a changelog checkpoint: the next
// offset of every input, by "topic/partition".
type checkpointMeta struct {
	Offsets map[string]int64 `json:"offsets"`
}

func tpKey(topic string, p int) string { return topic + "/" + strconv.Itoa(p) }

// run is the partition's life in one generation. ctx is the daemon's,
// gctx the generation's: either ending stops the worker after its last
// batch.
func (w *worker) run(ctx, gctx context.Context) {
	err := w.loop(ctx, gctx)
	for _, s := range w.srcs {
		s.r.Close()
	}
	switch {
	case err == nil || errors.Is(err, context.Canceled) || errors.Is(err, kafka.ErrGenerationEnded):
		w.log.Debug().Msg("partition released")
	case errors.Is(err, errFenced):
		// ending the function ends the generation: the member rejoins
		w.log.Warn().Err(err).Msg("partition released without a checkpoint")
	default:
		// the generation ends with this function: the group rebalances
		// and the partition restarts from its changelog
		w.log.Error().Err(err).Msg("partition failed; it restarts from its changelog")
		select {
		case <-time.After(2 * time.Second):
		case <-ctx.Done():
		}
	}
}

func (w *worker) loop(ctx, gctx context.Context) error {
	stop, cancel := context.WithCancel(gctx)
	defer cancel()
	go func() {
		select {
		case <-ctx.Done():
			cancel()
		case <-stop.Done():
		}
	}()

	t0 := w.d.cfg.Now()
	meta, restored, err := w.restore(stop)
	if err != nil {
		return fmt.Errorf("restore: %w", err)
	}
	w.stats = w.eng.Stats()
	w.log.Info().Int("entries", restored).Dur("took", w.d.cfg.Now().Sub(t0)).Time("watermark", w.eng.Watermark()).Msg("state restored")

	in := make(chan fetched, 256)
	if err := w.openSources(stop, meta, in); err != nil {
		return err
	}
	tick := time.NewTicker(min(w.d.cfg.BatchTimeout, w.d.cfg.Grace))
	defer tick.Stop()
	lagTick := time.NewTicker(5 * time.Second)
	defer lagTick.Stop()
	w.batchStart = w.d.cfg.Now()
	pendingReload := false
	for {
		select {
		case f := <-in:
			w.enqueue(f)
			// take what else is there without blocking, up to a batch
			for n := 0; n < w.d.cfg.BatchSize; n++ {
				select {
				case f := <-in:
					w.enqueue(f)
					continue
				default:
				}
				break
			}
		case rs := <-w.reloads:
			w.outs = w.seq.Flush(w.outs)
			w.outs = w.eng.Reload(rs, w.outs)
			pendingReload = true
			w.log.Info().Str("rules_version", rs.Version).Msg("rules reloaded")
		case f := <-w.calls:
			f(w.eng)
		case <-tick.C:
			w.idleAdvance()
		case <-lagTick.C:
			w.reportLag()
		case <-stop.Done():
			// the last batch: what can be applied in order is, and is
			// produced and committed with what was applied before. Events
			// queued behind an input that may still hold earlier ones stay
			// unapplied: the checkpoint's offsets leave them to the next
			// owner, which reads them again in order.
			w.release()
			sctx, scancel := context.WithTimeout(context.WithoutCancel(ctx), w.d.cfg.ShutdownTimeout)
			err := w.commit(sctx, true)
			scancel()
			if err != nil {
				w.log.Warn().Err(err).Msg("last batch not committed: it is read again after restart")
			}
			return nil
		}
		w.release()
		w.updateCaughtUp()
		now := w.d.cfg.Now()
		if w.applied >= w.d.cfg.BatchSize || pendingReload || w.advanced ||
			((w.applied > 0 || len(w.dead) > 0 || len(w.outs) > 0) && ((len(in) == 0 && w.inputsCaughtUp()) || now.Sub(w.batchStart) >= w.d.cfg.BatchTimeout)) {
			t0 := w.d.cfg.Now()
			if err := w.commit(stop, false); err != nil {
				if stop.Err() != nil {
					continue // handled at stop.Done
				}
				return err
			}
			if end := w.d.cfg.Now(); end.Sub(t0) >= w.d.cfg.Grace {
				w.resumed = end
				if !w.blockedSince.IsZero() {
					w.blockedSince = end
				}
			}
			pendingReload, w.advanced = false, false
		}
	}
}

// restore rebuilds the partition's engine from its changelog partition.
func (w *worker) restore(ctx context.Context) (checkpointMeta, int, error) {
	var meta checkpointMeta
	topic := w.d.cfg.Topics.Changelog
	first, last, err := w.offsets(ctx, topic, w.part)
	if err != nil {
		return meta, 0, err
	}
	cr := &checkpointed{r: engine.NewRestorer()}
	if last > first {
		rd := kafka.NewReader(kafka.ReaderConfig{
			Brokers: w.d.cfg.Brokers, Dialer: w.d.dialer, Topic: topic, Partition: w.part,
			MinBytes: 1, MaxBytes: 16 << 20, MaxWait: fetchMaxWait,
		})
		defer rd.Close()
		if err := rd.SetOffset(first); err != nil {
			return meta, 0, err
		}
		for {
			m, err := rd.FetchMessage(ctx)
			if err != nil {
				return meta, cr.n, err
			}
			if err := cr.add(string(m.Key), m.Value); err != nil {
				return meta, cr.n, fmt.Errorf("%s/%d@%d: %w", topic, w.part, m.Offset, err)
			}
			if m.Offset+1 >= last {
				break
			}
		}
	}
	n, r := cr.n, cr.r
	if len(cr.pending) > 0 {
		w.log.Warn().Int("entries", len(cr.pending)).Msg("changelog ends with entries of an unfinished checkpoint: left out, and every key is written again")
	}
	opts := w.d.cfg.Engine
	part := w.part
	opts.PromoRules = func(id string) bool { return w.d.partitionOf([]byte(id)) == part }
	eng, raw, outs, err := r.Engine(w.d.Rules(), opts, nil)
	if err != nil {
		return meta, n, err
	}
	if len(raw) > 0 {
		if err := json.Unmarshal(raw, &meta); err != nil {
			return meta, n, fmt.Errorf("checkpoint meta: %w", err)
		}
		w.durable = w.groupOffsets(func(topic string) (int64, bool) {
			off, ok := meta.Offsets[tpKey(topic, w.part)]
			return off, ok
		})
	}
	if len(cr.pending) > 0 {
		// the changelog's latest value of those keys is the unfinished
		// one: the next checkpoint must replace it before compaction
		// keeps it alone
		eng.TrackChanges()
	}
	w.eng, w.seq, w.outs = eng, engine.NewSequencer(eng), outs
	return meta, n, nil
}

// checkpointed feeds a Restorer the entries of a changelog partition in
// log order, each only once the checkpoint entry after it is read. A
// checkpoint is its entries followed by the checkpoint entry, written in
// one or more produce requests; a failure between them leaves entries newer
// than the last checkpoint, whose input offsets do not cover them:
// re-reading that input would apply its events a second time to them.
type checkpointed struct {
	r       *engine.Restorer
	pending []pendingEntry // entries since the last checkpoint entry
	n       int            // entries added
}

type pendingEntry struct {
	key   string
	value []byte
}

func (c *checkpointed) add(key string, value []byte) error {
	c.pending = append(c.pending, pendingEntry{key, value})
	if key != engine.CheckpointKey {
		return nil
	}
	for _, p := range c.pending {
		if err := c.r.Add(p.key, p.value); err != nil {
			return err
		}
		c.n++
	}
	c.pending = c.pending[:0]
	return nil
}

// offsets returns the first and the next offset of a partition. A new
// topic's leaders take a moment to settle: it retries for a while.
func (w *worker) offsets(ctx context.Context, topic string, p int) (int64, int64, error) {
	var lastErr error
	backoff := 100 * time.Millisecond
	for try := 0; try < 10; try++ {
		for _, b := range w.d.cfg.Brokers {
			conn, err := w.d.dialer.DialLeader(ctx, "tcp", b, topic, p)
			if err != nil {
				lastErr = err
				continue
			}
			first, last, err := conn.ReadOffsets()
			conn.Close()
			if err == nil {
				return first, last, nil
			}
			lastErr = err
		}
		select {
		case <-ctx.Done():
			return 0, 0, ctx.Err()
		case <-time.After(backoff):
		}
		backoff = min(2*backoff, 2*time.Second)
	}
	return 0, 0, fmt.Errorf("offsets of %s/%d: %w", topic, p, lastErr)
}

func (w *worker) openSources(ctx context.Context, meta checkpointMeta, in chan<- fetched) error {
	t := w.d.cfg.Topics
	add := func(topic string, p, rank int, def int64) error {
		off, ok := meta.Offsets[tpKey(topic, p)]
		if !ok {
			off = def
		}
		r := kafka.NewReader(kafka.ReaderConfig{
			Brokers: w.d.cfg.Brokers, Dialer: w.d.dialer, Topic: topic, Partition: p,
			MinBytes: 1, MaxBytes: 8 << 20, MaxWait: fetchMaxWait, QueueCapacity: 1000,
			ReadBackoffMin: 50 * time.Millisecond, ReadBackoffMax: time.Second,
			ErrorLogger: kafka.LoggerFunc(func(f string, a ...any) {
				w.log.Debug().Str("topic", topic).Msgf(f, a...)
			}),
		})
		if err := r.SetOffset(off); err != nil {
			r.Close()
			return err
		}
		s := &source{topic: topic, partition: p, rank: rank, r: r, next: off}
		first, last, err := w.offsets(ctx, topic, p)
		if err != nil {
			r.Close()
			return err
		}
		if s.next < first {
			if s.next >= 0 && ok {
				w.log.Warn().Str("topic", topic).Int64("from", s.next).Int64("first", first).Msg("input deleted by retention before it was read")
			}
			s.next = first
		}
		s.caughtUp = s.next >= last
		w.srcs = append(w.srcs, s)
		go fetch(ctx, s, in)
		return nil
	}
	for p := range w.d.promoParts {
		if err := add(t.Promotions, p, 0, kafka.FirstOffset); err != nil {
			return err
		}
	}
	if err := add(t.Stock, w.part, 1, w.start[t.Stock]); err != nil {
		return err
	}
	return add(t.Prices, w.part, 2, w.start[t.Prices])
}

func fetch(ctx context.Context, s *source, in chan<- fetched) {
	for {
		m, err := s.r.FetchMessage(ctx)
		if err != nil {
			if ctx.Err() != nil || errors.Is(err, io.EOF) {
				return
			}
			time.Sleep(100 * time.Millisecond)
			continue
		}
		select {
		case in <- fetched{s, m}:
		case <-ctx.Done():
			return
		}
	}
}

// enqueue decodes a fetched message into its source's queue.
func (w *worker) enqueue(f fetched) {
	s, m := f.src, f.msg
	it := item{msg: m, wall: w.d.cfg.Now()}
	t := w.d.cfg.Topics
	if m.Value == nil && s.topic == t.Promotions {
		// a tombstone: the promotion keyed so is cancelled
		it.ev = event.Tombstone(string(m.Key), m.Time.UTC(), tpKey(s.topic, s.partition))
	} else {
		opts := w.d.cfg.Decode
		if opts.MaxSkew > 0 {
			opts.Now = w.d.cfg.Now()
		}
		ev, err := event.Decode(m.Value, opts)
		if err == nil && !topicAccepts(t, s.topic, ev.Type) {
			err = &event.InputError{Reason: event.WrongTopic, Field: "type",
				Msg: fmt.Sprintf("a %s event on topic %s", ev.Type, s.topic)}
		}
		if err != nil {
			it.err = err
		} else {
			ev.Source = fmt.Sprintf("%s/%d@%d", s.topic, s.partition, m.Offset)
			it.ev = ev
		}
	}
	s.queue = append(s.queue, it)
	s.caughtUp = m.HighWaterMark > 0 && m.Offset+1 >= m.HighWaterMark
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

// release applies the queued events in timestamp order across the sources
// as far as that order is known: when every source has an event queued,
// the earliest goes; while a source that has not caught up has nothing
// queued, the others wait for it (up to MaxWait); while a caught-up source
// has nothing queued, an event waits Grace from its fetch for one produced
// alongside it. Bad input is taken at once.
//
// The same holds for the last batch of a generation: applying an event
// ahead of an input that has not delivered its earlier ones would hand the
// next owner of the partition a state that a replay never has.
func (w *worker) release() {
	now := w.d.cfg.Now()
	for {
		var best *source
		lagging, empty := false, false
		for _, s := range w.srcs {
			if len(s.queue) == 0 {
				empty = true
				if !s.caughtUp {
					lagging = true
				}
				continue
			}
			if best == nil || itemLess(s, best) {
				best = s
			}
		}
		if best == nil {
			w.blockedSince = time.Time{}
			return
		}
		if empty && best.queue[0].ev != nil {
			if lagging {
				if w.blockedSince.IsZero() {
					w.blockedSince = now
				}
				if now.Sub(w.blockedSince) < w.d.cfg.MaxWait {
					return
				}
			} else if now.Sub(later(best.queue[0].wall, w.resumed)) < w.d.cfg.Grace {
				return
			}
		}
		it := best.queue[0]
		best.queue[0] = item{}
		best.queue = best.queue[1:]
		best.next = it.msg.Offset + 1
		w.blockedSince = time.Time{}
		w.apply(best, it)
	}
}

func later(a, b time.Time) time.Time {
	if a.After(b) {
		return a
	}
	return b
}

func itemLess(a, b *source) bool {
	x, y := a.queue[0], b.queue[0]
	if (x.ev == nil) != (y.ev == nil) {
		return x.ev == nil // bad input first: it waits for nothing
	}
	if x.ev != nil {
		if c := x.ev.TS.Compare(y.ev.TS); c != 0 {
			return c < 0
		}
	}
	if a.rank != b.rank {
		return a.rank < b.rank
	}
	return a.partition < b.partition
}

func (w *worker) apply(s *source, it item) {
	if w.applied == 0 && len(w.dead) == 0 {
		w.batchStart = w.d.cfg.Now()
		w.oldestWall = it.wall
	}
	obs := w.d.cfg.Observer
	if it.ev == nil {
		if s.topic == w.d.cfg.Topics.Promotions && w.d.partitionOf(it.msg.Key) != w.part {
			// every partition reads every promotion: a bad one is the
			// dead letter of the partition its key hashes to, as its
			// promo-scope rules are, so that it is reported once
			return
		}
		dl := event.NewDeadLetter(it.err, it.msg.Value, fmt.Sprintf("%s/%d@%d", s.topic, s.partition, it.msg.Offset))
		v, _ := json.Marshal(dl)
		w.dead = append(w.dead, kafka.Message{
			Topic: w.d.cfg.Topics.DeadLetter, Key: it.msg.Key, Value: v,
			Headers: []kafka.Header{
				{Key: "source_topic", Value: []byte(s.topic)},
				{Key: "source_partition", Value: []byte(strconv.Itoa(s.partition))},
				{Key: "source_offset", Value: []byte(strconv.FormatInt(it.msg.Offset, 10))},
				{Key: "reason", Value: []byte(dl.DeadLetter.Reason)},
			},
		})
		obs.DeadLetter(string(dl.DeadLetter.Reason))
		return
	}
	if s.topic != w.d.cfg.Topics.Promotions && w.d.partitionOf(it.msg.Key) != w.part {
		obs.WrongPartition(s.topic)
	}
	obs.Event(s.topic, it.ev.Type.String())
	w.lastEvent = it.wall
	w.outs = w.seq.Push(it.ev, w.outs)
	w.applied++
}

// idleAdvance moves an idle, caught-up partition's watermark to the wall
// clock (Config.IdleAdvance), at most once a second.
func (w *worker) idleAdvance() {
	idle := w.d.cfg.IdleAdvance
	now := w.d.cfg.Now()
	if idle <= 0 || !w.caughtUp.Load() || now.Sub(w.lastEvent) < idle || now.Sub(w.lastAdvance) < time.Second {
		return
	}
	for _, s := range w.srcs {
		if len(s.queue) > 0 {
			return
		}
	}
	w.lastAdvance = now
	target := now.Add(-w.d.cfg.Engine.AllowedLateness).UTC().Truncate(time.Second)
	if !target.After(w.eng.Watermark()) {
		return
	}
	w.outs = w.seq.Flush(w.outs)
	w.outs = w.seq.Advance(target, w.outs)
	w.advanced = len(w.outs) > 0 || w.eng.Pending() > 0
	if w.advanced && w.applied == 0 {
		w.batchStart = now
	}
}

// inputsCaughtUp reports whether every input's last fetch reached its end:
// a batch then ends at once, for latency; while inputs lag, it fills up to
// BatchSize or BatchTimeout, for throughput.
func (w *worker) inputsCaughtUp() bool {
	for _, s := range w.srcs {
		if !s.caughtUp {
			return false
		}
	}
	return true
}

func (w *worker) updateCaughtUp() {
	if w.caughtUp.Load() {
		return
	}
	for _, s := range w.srcs {
		if !s.caughtUp || len(s.queue) > 0 {
			return
		}
	}
	w.caughtUp.Store(true)
	w.log.Info().Time("watermark", w.eng.Watermark()).Msg("caught up")
}

func (w *worker) reportLag() {
	for _, s := range w.srcs {
		w.d.cfg.Observer.Lag(s.topic, s.partition, s.r.Stats().Lag+int64(len(s.queue)))
	}
}

// commit ends a batch: outputs produced and acknowledged, then the
// changelog, then the input offsets (DESIGN §8). A failure leaves the
// batch's outputs pending: they are produced again with the next try.
func (w *worker) commit(ctx context.Context, final bool) error {
	w.outs = w.seq.Flush(w.outs)
	msgs, err := w.encode()
	if err != nil {
		return err
	}
	msgs = append(msgs, w.dead...)
	// after a silence longer than a session (the process paused, the
	// network cut) the generation is likely over: unless the coordinator
	// still accepts a commit, stop before producing what the partition's
	// next owner will produce again
	if len(msgs) > 0 && w.durable != nil && !w.groupOK.IsZero() && w.d.cfg.Now().Sub(w.groupOK) > w.d.cfg.SessionTimeout {
		switch err := w.gen.CommitOffsets(w.durable); {
		case err == nil:
			w.groupOK = w.d.cfg.Now()
		case fenced(err) || errors.Is(err, net.ErrClosed):
			// refused, or the generation's connection closed: over
			return fmt.Errorf("%w: silent for longer than a session, and then: %v", errFenced, err)
		default:
			// a partition merely idle that long meets a coordinator
			// blip: produce, and let the checkpoint's fence decide
			w.log.Warn().Err(err).Msg("group commit after a long silence failed")
		}
	}
	if err := w.write(ctx, w.d.out, msgs); err != nil {
		return fmt.Errorf("produce outputs: %w", err)
	}
	for _, m := range msgs {
		w.d.cfg.Observer.Produced(m.Topic, 1)
	}
	if len(w.outs) > 0 && !w.oldestWall.IsZero() {
		w.d.cfg.Observer.EventToOutput(w.d.cfg.Now().Sub(w.oldestWall))
	}
	if tap := w.d.cfg.Tap; tap != nil {
		for _, o := range w.outs {
			tap(o)
		}
	}
	w.outs, w.dead = w.outs[:0], w.dead[:0]

	// the state is checkpointed at most every CheckpointInterval (and at
	// the end): a crash re-reads at most that much input, whose outputs
	// come again with the same ids
	if now := w.d.cfg.Now(); final || now.Sub(w.lastCheckpoint) >= w.d.cfg.CheckpointInterval {
		written, err := w.checkpoint(ctx)
		if err != nil {
			return err
		}
		if written {
			w.lastCheckpoint = now
		}
	}
	st := w.eng.Stats()
	w.d.cfg.Observer.EngineStats(w.stats, st)
	w.stats = st
	w.d.cfg.Observer.Batch(w.d.cfg.Now().Sub(w.batchStart))
	w.applied = 0
	w.oldestWall = time.Time{}
	return nil
}

// errFenced ends a partition whose generation the group coordinator no
// longer accepts: another member may own the partition now, and a zombie
// must not write its changelog.
var errFenced = errors.New("fenced: the consumer group has moved on without this member")

// checkpoint writes the changed state and the input offsets to the
// changelog, then commits the offsets to the group (DESIGN §8: outputs
// acknowledged, then the changelog, then the offsets).
//
// The group commit doubles as a fence. Before the changelog is written, the
// offsets of the previous checkpoint are committed again: the coordinator
// refuses a commit of a generation that has ended, which is how a process
// that was paused past its session timeout (or cut off from the group)
// learns that its partitions may be someone else's before it overwrites
// their state. When the commit fails for another reason (the coordinator
// unreachable), the checkpoint waits for the next batch: outputs were
// produced, and a crash meanwhile only re-reads more input. written is
// false then.
func (w *worker) checkpoint(ctx context.Context) (written bool, err error) {
	if w.durable != nil {
		if err := w.gen.CommitOffsets(w.durable); err != nil {
			if fenced(err) {
				return false, fmt.Errorf("%w: %v", errFenced, err)
			}
			w.log.Warn().Err(err).Msg("group commit failed: checkpoint deferred")
			return false, nil
		}
		w.groupOK = w.d.cfg.Now()
	}
	meta := checkpointMeta{Offsets: map[string]int64{}}
	for _, s := range w.srcs {
		meta.Offsets[tpKey(s.topic, s.partition)] = s.next
	}
	raw, _ := json.Marshal(meta)
	var cl []kafka.Message
	topic := w.d.cfg.Topics.Changelog
	if err := w.eng.Changes(raw, func(k string, v []byte) error {
		cl = append(cl, kafka.Message{Topic: topic, Partition: w.part, Key: []byte(k), Value: v})
		return nil
	}); err != nil {
		return false, err
	}
	if err := w.write(ctx, w.d.changelog, cl); err != nil {
		// Changes forgot what it handed over; some of it may not be in
		// the changelog. The next checkpoint (the last batch's, when the
		// generation is ending) must not pair newer offsets with older
		// state: it writes every key again.
		w.eng.TrackChanges()
		return false, fmt.Errorf("write changelog: %w", err)
	}
	w.d.cfg.Observer.Changelog(len(cl))
	// the checkpoint holds the offsets that count; the group's are for lag
	// monitoring, tools and the fence
	w.durable = w.groupOffsets(func(topic string) (int64, bool) {
		off, ok := meta.Offsets[tpKey(topic, w.part)]
		return off, ok
	})
	if err := w.gen.CommitOffsets(w.durable); err != nil {
		w.log.Debug().Err(err).Msg("commit offsets")
	} else {
		w.groupOK = w.d.cfg.Now()
		w.d.cfg.Observer.Commit()
	}
	return true, nil
}

// groupOffsets are the offsets of the partition's prices and stock that
// off knows, in the form the group commits.
func (w *worker) groupOffsets(off func(topic string) (int64, bool)) map[string]map[int]int64 {
	t := w.d.cfg.Topics
	out := map[string]map[int]int64{}
	for _, topic := range []string{t.Prices, t.Stock} {
		if o, ok := off(topic); ok && o >= 0 {
			out[topic] = map[int]int64{w.part: o}
		}
	}
	if len(out) == 0 {
		return nil
	}
	return out
}

// fenced reports whether a commit was refused because this member's
// generation is over.
func fenced(err error) bool {
	return errors.Is(err, kafka.IllegalGeneration) || errors.Is(err, kafka.UnknownMemberId) ||
		errors.Is(err, kafka.RebalanceInProgress) || errors.Is(err, kafka.FencedInstanceID)
}

// write produces msgs, retrying until they are acknowledged; only the
// daemon stopping (ctx) ends the retries.
func (w *worker) write(ctx context.Context, wr *kafka.Writer, msgs []kafka.Message) error {
	if len(msgs) == 0 {
		return nil
	}
	backoff := 100 * time.Millisecond
	for {
		err := wr.WriteMessages(ctx, msgs...)
		if err == nil {
			w.failing.Store(0)
			return nil
		}
		if ctx.Err() != nil {
			return summarize(err)
		}
		// retry only what was not written: fewer duplicates for the
		// consumers to drop when one topic refuses and the others accept
		var we kafka.WriteErrors
		if errors.As(err, &we) && len(we) == len(msgs) {
			var left []kafka.Message
			for i, e := range we {
				if e != nil {
					left = append(left, msgs[i])
				}
			}
			if len(left) > 0 {
				msgs = left
			}
		}
		if w.failing.Load() == 0 {
			w.failing.Store(w.d.cfg.Now().UnixNano())
		}
		err = summarize(err)
		msg := err.Error()
		w.failErr.Store(&msg)
		w.d.cfg.Observer.ProduceFailed()
		w.log.Warn().Err(err).Int("records", len(msgs)).Msg("produce failed; retrying")
		select {
		case <-ctx.Done():
			return err
		case <-time.After(backoff):
		}
		backoff = min(2*backoff, 5*time.Second)
	}
}

// summarize shortens kafka-go's WriteErrors, which hold one error per
// record (thousands of "connection refused"), to the count and the first.
func summarize(err error) error {
	var we kafka.WriteErrors
	if !errors.As(err, &we) {
		return err
	}
	failed := 0
	var first error
	for _, e := range we {
		if e != nil {
			failed++
			if first == nil {
				first = e
			}
		}
	}
	return fmt.Errorf("%d of %d records not written: %w", failed, len(we), first)
}

// encode turns the batch's outputs into records keyed by sku.
func (w *worker) encode() ([]kafka.Message, error) {
	t := w.d.cfg.Topics
	msgs := make([]kafka.Message, 0, len(w.outs))
	for _, o := range w.outs {
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

func (d *Daemon) ensureChannelTopic(name string) error {
	d.mu.Lock()
	ok := d.created[name]
	d.mu.Unlock()
	if ok {
		return nil
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	err := EnsureTopics(ctx, d.cfg.Brokers, d.cfg.Security, []TopicSpec{{Name: name, Partitions: d.parts}}, d.cfg.CreateTopics)
	if err != nil {
		return err
	}
	d.mu.Lock()
	d.created[name] = true
	d.mu.Unlock()
	return nil
}
