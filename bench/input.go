package bench

import (
	"hash/fnv"
)

// Input is a generated stream held in memory as the JSON lines a broker
// would deliver, so that a measured run decodes them but does not generate
// them.
type Input struct {
	Config Config // with defaults filled in
	Lines  [][]byte
	Kinds  []Kind
	// Keys hashes each event's key (the sku; a promotion's id), to shard
	// skus across engines as Kafka partitions would.
	Keys  []uint32
	Bytes int64 // of the lines, newlines included
	Stats Stats
}

// arenaChunk is how much line data one allocation holds.
const arenaChunk = 16 << 20

// Generate generates cfg's events into memory. progress, when set, hears
// how many events are done now and then.
func Generate(cfg Config, progress func(done int)) (*Input, error) {
	g, err := NewGenerator(cfg)
	if err != nil {
		return nil, err
	}
	n := g.Len()
	in := &Input{Config: g.Config(), Lines: make([][]byte, 0, n), Kinds: make([]Kind, 0, n), Keys: make([]uint32, 0, n)}
	var arena []byte
	for i := 0; ; i++ {
		ev, ok := g.Next()
		if !ok {
			break
		}
		if len(arena)+len(ev.Line) > cap(arena) {
			arena = make([]byte, 0, max(arenaChunk, len(ev.Line)))
		}
		start := len(arena)
		arena = append(arena, ev.Line...)
		in.Lines = append(in.Lines, arena[start:len(arena):len(arena)])
		in.Kinds = append(in.Kinds, ev.Kind)
		in.Keys = append(in.Keys, keyHash(ev.Key))
		in.Bytes += int64(len(ev.Line)) + 1
		if progress != nil && i%65536 == 0 {
			progress(i)
		}
	}
	in.Stats = g.Stats()
	if progress != nil {
		progress(len(in.Lines))
	}
	return in, nil
}

func keyHash(k string) uint32 {
	h := fnv.New32a()
	h.Write([]byte(k))
	return h.Sum32()
}

// shards splits the event indices across n engines: a price or stock event
// goes to the engine its sku hashes to, a promotion to every engine — the
// daemon's layout, where prices and stock are co-partitioned by sku and
// every instance reads all of the promotions.
func (in *Input) shards(n int) [][]int32 {
	out := make([][]int32, n)
	for i := range out {
		out[i] = make([]int32, 0, len(in.Lines)/n+len(in.Lines)/100)
	}
	for i, k := range in.Kinds {
		if k == KindPromo || n == 1 {
			for s := range out {
				out[s] = append(out[s], int32(i))
			}
			continue
		}
		s := int(in.Keys[i] % uint32(n))
		out[s] = append(out[s], int32(i))
	}
	return out
}
