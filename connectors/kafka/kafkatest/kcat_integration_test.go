//go:build integration

package kafkatest

import (
	"bytes"
	"context"
	"fmt"
	"os/exec"
	"strconv"
	"strings"
	"testing"
	"time"
)

// kcat runs kcat (Debian package kcat; `make integration` installs it) with
// stdin and returns its stdout.
func kcat(t *testing.T, stdin string, args ...string) string {
	t.Helper()
	path, err := exec.LookPath("kcat")
	if err != nil {
		t.Fatalf("kcat is not installed (`apt-get install kcat`; `make integration` installs it): %v", err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, path, args...)
	cmd.Stdin = strings.NewReader(stdin)
	var out, errb bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errb
	if err := cmd.Run(); err != nil {
		t.Fatalf("kcat %s: %v\n%s", strings.Join(args, " "), err, errb.String())
	}
	return out.String()
}

// A client no one here wrote: kcat produces with murmur2_random (as the README
// says to) onto the partitions kafka-go and the Java client pick, and
// consumes what kafka-go produced.
func TestIntegrationKcat(t *testing.T) {
	brokers := Brokers(t)
	const parts = 4

	// kcat produces "key:value" lines; kafka-go reads them back.
	in := Name(t, "kcat-in")
	CreateTopics(t, brokers, TopicSpec{Name: in, Partitions: parts})
	var lines strings.Builder
	want := map[string]string{}
	for i := range 40 {
		k := fmt.Sprintf("sku-%03d", i)
		v := fmt.Sprintf(`{"sku":%q,"price":%d.99}`, k, 10+i) // the value has ':' too
		want[k] = v
		fmt.Fprintf(&lines, "%s:%s\n", k, v)
	}
	kcat(t, lines.String(), "-b", brokers, "-P", "-t", in, "-K", ":",
		"-X", "topic.partitioner=murmur2_random", "-X", "acks=all")
	got := Consume(t, brokers, in, len(want), 30*time.Second)
	if len(got) != len(want) {
		t.Fatalf("kafka-go read %d of the %d messages kcat produced", len(got), len(want))
	}
	for _, m := range got {
		k := string(m.Key)
		if string(m.Value) != want[k] {
			t.Errorf("key %q: value %q, want %q", k, m.Value, want[k])
		}
		if p := PartitionOf(m.Key, parts); m.Partition != p {
			t.Errorf("kcat put key %q on partition %d, murmur2 (kafka-go, Java) says %d", k, m.Partition, p)
		}
	}

	// kafka-go produces; kcat consumes every partition from the start and
	// reports where each record is.
	out := Name(t, "kcat-out")
	CreateTopics(t, brokers, TopicSpec{Name: out, Partitions: parts})
	msgs := keyedMessages(40)
	Produce(t, brokers, out, msgs...)
	text := kcat(t, "", "-b", brokers, "-C", "-t", out, "-o", "beginning", "-e", "-q",
		"-f", `%p\t%k\t%s\n`)
	seen := 0
	for _, line := range strings.Split(strings.TrimSuffix(text, "\n"), "\n") {
		f := strings.SplitN(line, "\t", 3)
		if len(f) != 3 {
			t.Fatalf("kcat printed %q", line)
		}
		p, err := strconv.Atoi(f[0])
		if err != nil {
			t.Fatalf("kcat printed %q", line)
		}
		if f[2] != "v-"+f[1] {
			t.Errorf("key %q: value %q", f[1], f[2])
		}
		if want := PartitionOf([]byte(f[1]), parts); p != want {
			t.Errorf("key %q on partition %d, want %d", f[1], p, want)
		}
		seen++
	}
	if seen != len(msgs) {
		t.Errorf("kcat read %d records, kafka-go produced %d", seen, len(msgs))
	}

	// Without the flag kcat hashes keys with CRC32: some keys land elsewhere.
	// This is why the README and DESIGN insist on murmur2_random.
	crc := Name(t, "kcat-crc")
	CreateTopics(t, brokers, TopicSpec{Name: crc, Partitions: parts})
	kcat(t, lines.String(), "-b", brokers, "-P", "-t", crc, "-K", ":")
	moved := 0
	for _, m := range Consume(t, brokers, crc, len(want), 30*time.Second) {
		if m.Partition != PartitionOf(m.Key, parts) {
			moved++
		}
	}
	if moved == 0 {
		t.Errorf("kcat's default partitioner agreed with murmur2 on all %d keys: is the check above meaningful?", len(want))
	}
}
