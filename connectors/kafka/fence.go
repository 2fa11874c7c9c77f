package kafka

import (
	"errors"
	"fmt"
	"net"
	"time"

	"github.com/rs/zerolog"
	"github.com/segmentio/kafka-go"
)

// errFenced ends a partition whose generation the group coordinator no
// longer accepts: another member may own the partition now, and a zombie
// must not write its changelog.
var errFenced = errors.New("fenced: the consumer group has moved on without this member")

// fence is a worker's group commit, which doubles as a fence: the
// coordinator refuses a commit of a generation that has ended, which is
// how a process that was paused past its session timeout (or cut off from
// the group) learns that its partition may be someone else's before it
// overwrites its outputs and state. The offsets it commits are those of
// the last checkpoint (durable): the checkpoint holds the offsets that
// count; the group's are for lag monitoring, tools and the fence.
type fence struct {
	gen     *kafka.Generation
	session time.Duration // the group's session timeout
	now     func() time.Time
	log     zerolog.Logger

	// durable is the group offsets of prices and stock in the last
	// checkpoint written to the changelog; nil before the first
	durable map[string]map[int]int64
	groupOK time.Time // the last group commit the coordinator accepted
}

// afterSilence is called before outputs are produced: after a silence
// longer than a session (the process paused, the network cut) the
// generation is likely over, and unless the coordinator still accepts a
// commit the worker stops before producing what the partition's next owner
// will produce again.
func (f *fence) afterSilence() error {
	if f.durable == nil || f.groupOK.IsZero() || f.now().Sub(f.groupOK) <= f.session {
		return nil
	}
	switch err := f.gen.CommitOffsets(f.durable); {
	case err == nil:
		f.groupOK = f.now()
	case fenced(err) || errors.Is(err, net.ErrClosed):
		// refused, or the generation's connection closed: over
		return fmt.Errorf("%w: silent for longer than a session, and then: %v", errFenced, err)
	default:
		// a partition merely idle that long meets a coordinator
		// blip: produce, and let the checkpoint's fence decide
		f.log.Warn().Err(err).Msg("group commit after a long silence failed")
	}
	return nil
}

// beforeCheckpoint commits the previous checkpoint's offsets again before
// the changelog is written. ok is false when the commit failed for another
// reason than fencing (the coordinator unreachable): the checkpoint then
// waits for the next batch; outputs were produced, and a crash meanwhile
// only re-reads more input.
func (f *fence) beforeCheckpoint() (ok bool, err error) {
	if f.durable == nil {
		return true, nil
	}
	if err := f.gen.CommitOffsets(f.durable); err != nil {
		if fenced(err) {
			return false, fmt.Errorf("%w: %v", errFenced, err)
		}
		f.log.Warn().Err(err).Msg("group commit failed: checkpoint deferred")
		return false, nil
	}
	f.groupOK = f.now()
	return true, nil
}

// checkpointed records the offsets of a checkpoint now in the changelog
// and commits them to the group; it reports whether the coordinator
// accepted them (a failure is only logged: the next checkpoint's fence
// commits them again).
func (f *fence) checkpointed(offsets map[string]map[int]int64) bool {
	f.durable = offsets
	if err := f.gen.CommitOffsets(offsets); err != nil {
		f.log.Debug().Err(err).Msg("commit offsets")
		return false
	}
	f.groupOK = f.now()
	return true
}

// fenced reports whether a commit was refused because this member's
// generation is over.
func fenced(err error) bool {
	return errors.Is(err, kafka.IllegalGeneration) || errors.Is(err, kafka.UnknownMemberId) ||
		errors.Is(err, kafka.RebalanceInProgress) || errors.Is(err, kafka.FencedInstanceID)
}
