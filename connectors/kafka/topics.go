package kafka

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"slices"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/segmentio/kafka-go"
)

// TopicSpec is a topic the daemon needs.
type TopicSpec struct {
	Name string
	// Partitions is the partition count to create it with; 0 means the
	// broker's default (num.partitions). An existing topic's count is not
	// checked here: CheckCoPartitioned does that where it matters.
	Partitions int
	// Compacted topics are created with cleanup.policy=compact, and an
	// existing one without it is an error: the state changelog must never
	// lose the last entry of a key to retention. They are also created with
	// min.compaction.lag.ms=MinCompactionLag: a checkpoint cut off before its
	// checkpoint entry shadows older committed values that the restore
	// leaves out, and compaction must not drop those before a restore has
	// rewritten every key (the restore refuses a changelog where it did).
	Compacted bool
}

// MinCompactionLag is how long a changelog record is safe from compaction:
// a week, far longer than a partition stays unrestored in practice.
const MinCompactionLag = 7 * 24 * time.Hour

// MissingTopicsError names the topics that do not exist.
type MissingTopicsError struct {
	Topics []string // sorted
}

func (e *MissingTopicsError) Error() string {
	s := "s"
	if len(e.Topics) == 1 {
		s = ""
	}
	return fmt.Sprintf("topic%s missing on the brokers: %s (create them, or let promoguard create them with create_topics: true)",
		s, strings.Join(e.Topics, ", "))
}

// maxTopicLen is Kafka's limit on a topic name.
const maxTopicLen = 249

// ValidTopicName checks a name against Kafka's rules: 1 to 249 of
// [a-zA-Z0-9._-], and neither "." nor "..".
func ValidTopicName(name string) error {
	switch {
	case name == "":
		return errors.New("topic name is empty")
	case name == "." || name == "..":
		return fmt.Errorf("topic name %q is not allowed", name)
	case len(name) > maxTopicLen:
		return fmt.Errorf("topic name %.40q... is %d characters, more than Kafka's %d", name, len(name), maxTopicLen)
	}
	for i := 0; i < len(name); i++ {
		if !topicChar(name[i]) {
			return fmt.Errorf("topic name %q: character %q is not allowed (only a-z, A-Z, 0-9, '.', '_' and '-')", name, name[i])
		}
	}
	return nil
}

func topicChar(c byte) bool {
	return c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '.' || c == '_' || c == '-'
}

// ChannelTopic is the topic of one channel's alerts: prefix followed by
// the channel name with every character Kafka does not allow in a topic
// name replaced by '_' ("pricing.alerts." and "Amazon DE" give
// "pricing.alerts.Amazon_DE"). A name that would be too long is cut and
// ends with a hash of the channel, so two long channels never share a
// topic.
func ChannelTopic(prefix, channel string) string {
	var b strings.Builder
	b.WriteString(prefix)
	for i := 0; i < len(channel); i++ {
		if c := channel[i]; topicChar(c) {
			b.WriteByte(c)
		} else {
			b.WriteByte('_')
		}
	}
	if channel == "" {
		b.WriteByte('_')
	}
	t := b.String()
	if len(t) > maxTopicLen {
		sum := sha256.Sum256([]byte(channel))
		h := hex.EncodeToString(sum[:4])
		t = t[:maxTopicLen-len(h)-1] + "-" + h
	}
	return t
}

// metadataTimeout bounds one admin request when ctx has no deadline.
const metadataTimeout = 30 * time.Second

// admin is a short-lived client: a fresh Transport, so that the metadata
// it serves is the brokers' and not a cache's.
type admin struct {
	tr *kafka.Transport
	c  *kafka.Client
}

func newAdmin(brokers []string, sec Security) (*admin, error) {
	if len(brokers) == 0 {
		return nil, errors.New("no brokers given")
	}
	tr, err := sec.Transport()
	if err != nil {
		return nil, err
	}
	return &admin{tr: tr, c: &kafka.Client{Addr: kafka.TCP(brokers...), Transport: tr, Timeout: metadataTimeout}}, nil
}

func (a *admin) close() { a.tr.CloseIdleConnections() }

// topicState is what metadata says of one topic.
type topicState struct {
	exists     bool
	partitions int
	ready      bool // every partition has a leader
	err        error
}

func (a *admin) topics(ctx context.Context, brokers []string, names []string) (map[string]topicState, error) {
	md, err := a.c.Metadata(ctx, &kafka.MetadataRequest{Topics: names})
	if err != nil {
		return nil, fmt.Errorf("kafka metadata from %s: %w", strings.Join(brokers, ","), err)
	}
	out := make(map[string]topicState, len(names))
	for _, t := range md.Topics {
		st := topicState{exists: true, partitions: len(t.Partitions), ready: len(t.Partitions) > 0}
		switch {
		case errors.Is(t.Error, kafka.UnknownTopicOrPartition):
			st = topicState{}
		case t.Error != nil:
			st.err = t.Error
		}
		for _, p := range t.Partitions {
			if p.Error != nil || p.Leader.Host == "" {
				st.ready = false
			}
		}
		out[t.Name] = st
	}
	return out, nil
}

// EnsureTopics makes sure the topics of specs exist. Missing ones are
// created when create is true (with their partition count, the broker's
// default replication factor, and cleanup.policy=compact when Compacted),
// and EnsureTopics returns once the brokers serve them; when create is
// false it returns a *MissingTopicsError naming exactly the missing ones.
// An existing Compacted topic whose cleanup.policy is not compact is an
// error.
func EnsureTopics(ctx context.Context, brokers []string, sec Security, specs []TopicSpec, create bool) error {
	byName := map[string]TopicSpec{}
	var names []string
	for _, s := range specs {
		if err := ValidTopicName(s.Name); err != nil {
			return err
		}
		if s.Partitions < 0 {
			return fmt.Errorf("topic %s: partitions must be positive, got %d", s.Name, s.Partitions)
		}
		if prev, ok := byName[s.Name]; ok {
			if prev != s {
				return fmt.Errorf("topic %s is given twice with different settings", s.Name)
			}
			continue
		}
		byName[s.Name] = s
		names = append(names, s.Name)
	}
	if len(names) == 0 {
		return nil
	}
	sort.Strings(names)
	a, err := newAdmin(brokers, sec)
	if err != nil {
		return err
	}
	defer a.close()
	states, err := a.topics(ctx, brokers, names)
	if err != nil {
		return err
	}
	var missing, compacted []string
	for _, n := range names {
		st := states[n]
		switch {
		case st.err != nil:
			return fmt.Errorf("topic %s: %w", n, st.err)
		case !st.exists:
			missing = append(missing, n)
		case byName[n].Compacted:
			compacted = append(compacted, n)
		}
	}
	if err := a.checkCompacted(ctx, compacted); err != nil {
		return err
	}
	if len(missing) == 0 {
		return nil
	}
	if !create {
		return &MissingTopicsError{Topics: missing}
	}

	req := &kafka.CreateTopicsRequest{}
	for _, n := range missing {
		s := byName[n]
		tc := kafka.TopicConfig{Topic: n, NumPartitions: -1, ReplicationFactor: -1}
		if s.Partitions > 0 {
			tc.NumPartitions = s.Partitions
		}
		if s.Compacted {
			tc.ConfigEntries = []kafka.ConfigEntry{
				{ConfigName: "cleanup.policy", ConfigValue: "compact"},
				{ConfigName: "min.compaction.lag.ms", ConfigValue: strconv.FormatInt(MinCompactionLag.Milliseconds(), 10)},
			}
		}
		req.Topics = append(req.Topics, tc)
	}
	resp, err := a.c.CreateTopics(ctx, req)
	if err != nil {
		return fmt.Errorf("create topics %s: %w", strings.Join(missing, ", "), err)
	}
	var errs []error
	for _, n := range missing {
		err := resp.Errors[n]
		switch {
		case err == nil, errors.Is(err, kafka.TopicAlreadyExists): // created meanwhile by another instance
		case errors.Is(err, kafka.TopicAuthorizationFailed), errors.Is(err, kafka.ClusterAuthorizationFailed):
			errs = append(errs, fmt.Errorf("create topic %s: %w (the client may not create topics: create them beforehand and set create_topics: false)", n, err))
		default:
			errs = append(errs, fmt.Errorf("create topic %s: %w", n, err))
		}
	}
	if err := errors.Join(errs...); err != nil {
		return err
	}
	return waitTopics(ctx, brokers, sec, missing)
}

// checkCompacted refuses existing topics whose cleanup.policy lacks
// compact. A principal that may not describe configs is trusted.
func (a *admin) checkCompacted(ctx context.Context, names []string) error {
	if len(names) == 0 {
		return nil
	}
	req := &kafka.DescribeConfigsRequest{}
	for _, n := range names {
		req.Resources = append(req.Resources, kafka.DescribeConfigRequestResource{
			ResourceType: kafka.ResourceTypeTopic, ResourceName: n, ConfigNames: []string{"cleanup.policy"}})
	}
	resp, err := a.c.DescribeConfigs(ctx, req)
	if err != nil {
		return fmt.Errorf("describe configs of %s: %w", strings.Join(names, ", "), err)
	}
	var errs []error
	for _, r := range resp.Resources {
		if r.Error != nil {
			if errors.Is(r.Error, kafka.TopicAuthorizationFailed) || errors.Is(r.Error, kafka.ClusterAuthorizationFailed) {
				continue
			}
			errs = append(errs, fmt.Errorf("describe configs of topic %s: %w", r.ResourceName, r.Error))
			continue
		}
		for _, e := range r.ConfigEntries {
			if e.ConfigName == "cleanup.policy" && !slices.Contains(strings.Split(strings.ReplaceAll(e.ConfigValue, " ", ""), ","), "compact") {
				errs = append(errs, fmt.Errorf("topic %s has cleanup.policy=%s, but it must be compacted: the state it holds would be lost to retention (set cleanup.policy=compact on it)", r.ResourceName, e.ConfigValue))
			}
		}
	}
	return errors.Join(errs...)
}

// waitTopics waits until the brokers serve every partition of the topics.
func waitTopics(ctx context.Context, brokers []string, sec Security, names []string) error {
	if _, ok := ctx.Deadline(); !ok {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, metadataTimeout)
		defer cancel()
	}
	backoff := 20 * time.Millisecond
	for {
		var pending []string
		a, err := newAdmin(brokers, sec)
		if err != nil {
			return err
		}
		states, err := a.topics(ctx, brokers, names)
		a.close()
		if err == nil {
			for _, n := range names {
				if st := states[n]; !st.exists || !st.ready {
					pending = append(pending, n)
				}
			}
			if len(pending) == 0 {
				return nil
			}
		}
		select {
		case <-ctx.Done():
			if err == nil {
				err = fmt.Errorf("topics %s were created but have no leader yet", strings.Join(pending, ", "))
			}
			return fmt.Errorf("wait for new topics: %w (%w)", ctx.Err(), err)
		case <-time.After(backoff):
		}
		backoff = min(2*backoff, 500*time.Millisecond)
	}
}

// PartitionCounts returns the partition count of each topic; a
// *MissingTopicsError when some do not exist.
func PartitionCounts(ctx context.Context, brokers []string, sec Security, topics ...string) (map[string]int, error) {
	a, err := newAdmin(brokers, sec)
	if err != nil {
		return nil, err
	}
	defer a.close()
	states, err := a.topics(ctx, brokers, topics)
	if err != nil {
		return nil, err
	}
	out := make(map[string]int, len(topics))
	var missing []string
	for _, n := range topics {
		st := states[n]
		switch {
		case st.err != nil:
			return nil, fmt.Errorf("topic %s: %w", n, st.err)
		case !st.exists:
			if !slices.Contains(missing, n) {
				missing = append(missing, n)
			}
		default:
			out[n] = st.partitions
		}
	}
	if len(missing) > 0 {
		sort.Strings(missing)
		return nil, &MissingTopicsError{Topics: missing}
	}
	return out, nil
}

// Partitions returns the partition count of a topic.
func Partitions(ctx context.Context, brokers []string, sec Security, topic string) (int, error) {
	m, err := PartitionCounts(ctx, brokers, sec, topic)
	if err != nil {
		return 0, err
	}
	return m[topic], nil
}

// CheckCoPartitioned checks that the topics have the same partition
// count, so that a key hashed with murmur2 lands on the same partition
// number in each (prices and stock, and the changelog that holds their
// state). The error names every topic's count.
func CheckCoPartitioned(ctx context.Context, brokers []string, sec Security, topics ...string) error {
	counts, err := PartitionCounts(ctx, brokers, sec, topics...)
	if err != nil {
		return err
	}
	same := true
	for _, t := range topics {
		if counts[t] != counts[topics[0]] {
			same = false
		}
	}
	if same {
		return nil
	}
	parts := make([]string, len(topics))
	for i, t := range topics {
		parts[i] = fmt.Sprintf("%s has %d", t, counts[t])
	}
	return fmt.Errorf("topics are not co-partitioned: %s partitions; records keyed by sku would land on different partition numbers. Give them the same partition count", strings.Join(parts, ", "))
}
