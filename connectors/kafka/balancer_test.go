package kafka

import (
	"encoding/json"
	"fmt"
	"slices"
	"testing"

	"github.com/segmentio/kafka-go"
)

func topicParts(n int, topics ...string) []kafka.Partition {
	var ps []kafka.Partition
	for _, t := range topics {
		for i := range n {
			ps = append(ps, kafka.Partition{Topic: t, ID: i})
		}
	}
	return ps
}

func member(id string, owned ...int) kafka.GroupMember {
	ud, _ := json.Marshal(balancerUserData{Owned: owned})
	return kafka.GroupMember{ID: id, Topics: []string{"prices", "stock"}, UserData: ud}
}

func TestCoPartitionBalancer(t *testing.T) {
	cases := []struct {
		name    string
		parts   int
		members []kafka.GroupMember
		want    map[string][]int
	}{
		{"one member takes all", 4, []kafka.GroupMember{member("a")}, map[string][]int{"a": {0, 1, 2, 3}}},
		{"even split", 6, []kafka.GroupMember{member("b"), member("a")}, map[string][]int{"a": {0, 1, 2}, "b": {3, 4, 5}}},
		{"uneven split", 5, []kafka.GroupMember{member("a"), member("b")}, map[string][]int{"a": {0, 1, 2}, "b": {3, 4}}},
		{"more members than partitions", 2, []kafka.GroupMember{member("a"), member("b"), member("c")}, map[string][]int{"a": {0}, "b": {1}, "c": nil}},
		// a joins a group where b held everything: b keeps what its quota
		// allows of what it held, a gets the rest
		{"sticky join", 6, []kafka.GroupMember{member("a"), member("b", 0, 1, 2, 3, 4, 5)}, map[string][]int{"a": {3, 4, 5}, "b": {0, 1, 2}}},
		{"sticky keeps odd numbers", 4, []kafka.GroupMember{member("a", 1, 3), member("b", 0, 2)}, map[string][]int{"a": {1, 3}, "b": {0, 2}}},
		// c leaves: a and b keep theirs and share c's
		{"sticky leave", 6, []kafka.GroupMember{member("a", 0, 3), member("b", 1, 4)}, map[string][]int{"a": {0, 2, 3}, "b": {1, 4, 5}}},
		{"duplicate claims", 4, []kafka.GroupMember{member("a", 0, 1), member("b", 0, 1)}, map[string][]int{"a": {0, 1}, "b": {2, 3}}},
		{"garbage user data", 2, []kafka.GroupMember{{ID: "a", Topics: []string{"prices", "stock"}, UserData: []byte("x")}}, map[string][]int{"a": {0, 1}}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			got := (&CoPartitionBalancer{}).AssignGroups(c.members, topicParts(c.parts, "prices", "stock"))
			for id, want := range c.want {
				p, s := got[id]["prices"], got[id]["stock"]
				if !slices.Equal(p, want) || !slices.Equal(s, want) {
					t.Errorf("member %s: prices %v stock %v, want %v for both", id, p, s, want)
				}
			}
		})
	}
}

// Every partition is assigned exactly once per topic, and each member gets
// the same numbers of both topics, whatever the group looks like.
func TestCoPartitionBalancerProperties(t *testing.T) {
	for parts := 1; parts <= 12; parts++ {
		for n := 1; n <= 5; n++ {
			var ms []kafka.GroupMember
			for i := range n {
				// members claim overlapping, partly invalid numbers
				ms = append(ms, member(fmt.Sprint("m", i), i, i+1, parts+3))
			}
			got := assignCoPartitioned(ms, topicParts(parts, "prices", "stock"))
			seen := map[string]map[int]int{}
			for id, topics := range got {
				if !slices.Equal(topics["prices"], topics["stock"]) {
					t.Fatalf("%d parts %d members: %s got prices %v stock %v", parts, n, id, topics["prices"], topics["stock"])
				}
				if c := len(topics["prices"]); c < parts/n || c > (parts+n-1)/n {
					t.Fatalf("%d parts %d members: %s got %d partitions", parts, n, id, c)
				}
				for tp, ids := range topics {
					if seen[tp] == nil {
						seen[tp] = map[int]int{}
					}
					for _, i := range ids {
						seen[tp][i]++
					}
				}
			}
			for tp, m := range seen {
				for i := range parts {
					if m[i] != 1 {
						t.Fatalf("%d parts %d members: %s partition %d assigned %d times", parts, n, tp, i, m[i])
					}
				}
			}
		}
	}
}
