package kafkatest

import "testing"

// javaPartitions are what the Java client's default partitioner puts each
// key on: org.apache.kafka.common.utils.Utils.murmur2 and
// BuiltInPartitioner.partitionForKey(key, n) of kafka-clients 4.4.0, run in
// jshell. The hashes of "1" to "12345" also appear in other projects' tests
// of Kafka's murmur2.
var javaPartitions = []struct {
	key         string
	hash        int32
	p3, p8, p12 int
}{
	{"1", -1993445489, 0, 7, 3},
	{"12", 126087238, 1, 6, 10},
	{"123", -267702483, 2, 5, 5},
	{"1234", -1614185708, 0, 4, 0},
	{"12345", -1188365604, 2, 4, 8},
	{"21", -973932308, 0, 4, 0},
	{"foobar", -790332482, 0, 6, 6},
	{"a-little-bit-long-string", -985981536, 2, 0, 8},
	{"sku-1", -418539829, 1, 3, 7},
	{"sku-2", -174684103, 1, 1, 1},
	{"sku-3", -1211845443, 2, 5, 5},
	{"SKU-0001", -1798259006, 0, 2, 6},
	{"abc", 479470107, 0, 3, 3},
	{"", 275646681, 0, 1, 9},
}

func TestPartitionOfMatchesJava(t *testing.T) {
	for _, c := range javaPartitions {
		for n, want := range map[int]int{3: c.p3, 8: c.p8, 12: c.p12} {
			if got := PartitionOf([]byte(c.key), n); got != want {
				t.Errorf("PartitionOf(%q, %d) = %d, Java puts it on %d", c.key, n, got, want)
			}
		}
		// Java's formula on Java's hash, toPositive(murmur2(key)) % n,
		// for more partition counts.
		for n := 1; n <= 64; n++ {
			if got, want := PartitionOf([]byte(c.key), n), int(uint32(c.hash)&0x7fffffff)%n; got != want {
				t.Errorf("PartitionOf(%q, %d) = %d, want %d (Java's murmur2 is %d)", c.key, n, got, want, c.hash)
			}
		}
	}
	if got := PartitionOf(nil, 3); got != -1 {
		t.Errorf("PartitionOf(nil, 3) = %d, want -1", got)
	}
}
