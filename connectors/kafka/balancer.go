package kafka

import (
	"encoding/json"
	"slices"
	"sort"
	"sync"

	"github.com/segmentio/kafka-go"
)

// CoPartitionBalancer is a consumer-group balancer for co-partitioned
// topics (DESIGN §8): a member gets the same partition numbers of every
// topic it subscribes to, so the prices and the stock of a sku meet in one
// engine. It is sticky: a member keeps the numbers it held (sent along as
// its user data) as far as an even spread allows, so a rebalance moves as
// little state as it can. kafka-go's Range and RoundRobin balancers
// guarantee neither.
//
// Every member of the group must use it (the protocol name says so to the
// coordinator).
type CoPartitionBalancer struct {
	mu    sync.Mutex
	owned []int // the partition numbers this member holds now
}

// ProtocolName implements kafka.GroupBalancer.
func (b *CoPartitionBalancer) ProtocolName() string { return "promoguard-copartition" }

// SetOwned records the partition numbers this member holds, sent with the
// next join so the assignment can keep them.
func (b *CoPartitionBalancer) SetOwned(parts []int) {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.owned = slices.Clone(parts)
}

type balancerUserData struct {
	Owned []int `json:"owned"`
}

// UserData implements kafka.GroupBalancer.
func (b *CoPartitionBalancer) UserData() ([]byte, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return json.Marshal(balancerUserData{Owned: b.owned})
}

// AssignGroups implements kafka.GroupBalancer. Partition numbers are the
// numbers every subscribed topic has (with equal partition counts, all of
// them); each member gets ⌊n/m⌋ or ⌈n/m⌉ of them, keeping what it held,
// members ordered by id for the rest.
func (b *CoPartitionBalancer) AssignGroups(members []kafka.GroupMember, partitions []kafka.Partition) kafka.GroupMemberAssignments {
	return assignCoPartitioned(members, partitions)
}

func assignCoPartitioned(members []kafka.GroupMember, partitions []kafka.Partition) kafka.GroupMemberAssignments {
	out := kafka.GroupMemberAssignments{}
	if len(members) == 0 {
		return out
	}
	members = slices.Clone(members)
	sort.Slice(members, func(i, j int) bool { return members[i].ID < members[j].ID })

	// the partition numbers of each topic
	byTopic := map[string]map[int]bool{}
	for _, p := range partitions {
		if byTopic[p.Topic] == nil {
			byTopic[p.Topic] = map[int]bool{}
		}
		byTopic[p.Topic][p.ID] = true
	}
	// the numbers to hand out: every number some subscribed topic has
	numSet := map[int]bool{}
	for _, ids := range byTopic {
		for id := range ids {
			numSet[id] = true
		}
	}
	nums := make([]int, 0, len(numSet))
	for n := range numSet {
		nums = append(nums, n)
	}
	slices.Sort(nums)

	quota := func(i int) int {
		q := len(nums) / len(members)
		if i < len(nums)%len(members) {
			q++
		}
		return q
	}
	owner := map[int]int{} // number -> member index
	held := make([][]int, len(members))
	// keep what each member held, up to its quota
	for i, m := range members {
		var ud balancerUserData
		_ = json.Unmarshal(m.UserData, &ud) // unknown data: holds nothing
		slices.Sort(ud.Owned)
		for _, n := range ud.Owned {
			if !numSet[n] || len(held[i]) >= quota(i) {
				continue
			}
			if _, taken := owner[n]; taken {
				continue
			}
			owner[n] = i
			held[i] = append(held[i], n)
		}
	}
	// hand out the rest in order
	next := 0
	for _, n := range nums {
		if _, taken := owner[n]; taken {
			continue
		}
		for len(held[next]) >= quota(next) {
			next = (next + 1) % len(members)
		}
		owner[n] = next
		held[next] = append(held[next], n)
	}
	for i, m := range members {
		topics := map[string][]int{}
		slices.Sort(held[i])
		for _, t := range m.Topics {
			ids := byTopic[t]
			var mine []int
			for _, n := range held[i] {
				if ids[n] {
					mine = append(mine, n)
				}
			}
			topics[t] = mine
		}
		out[m.ID] = topics
	}
	return out
}
