package merge

import (
	"fmt"
	"os/exec"
	"slices"
	"strings"
	"testing"
	"testing/synctest"
	"time"
)

var t0 = time.Date(2026, 11, 27, 10, 0, 0, 0, time.UTC)

// arrival is an item an input delivers at virtual time at (from the start
// of the scenario), with whether the input has caught up after it.
type arrival struct {
	at       time.Duration
	in       int
	v        string
	ts       int // seconds after t0
	bad      bool
	caughtUp bool
}

// released is an item the merge let go, and when.
type released struct {
	at time.Duration
	v  string
}

func (r released) String() string { return fmt.Sprintf("%s@%s", r.v, r.at) }

// scenario runs a merge as the Kafka worker does, in the bubble's virtual
// time: the inputs' fetchers hand items over a channel, and a loop takes
// them and asks the merge for what can go, on every item and every
// millisecond tick, until the end. busy, when set, is a span of time
// (from, to) in which the loop takes nothing and then calls Resumed.
func scenario(m *Merger[string], inputs []bool, arrivals []arrival, end time.Duration, busy ...time.Duration) []released {
	for _, caughtUp := range inputs {
		m.Add(caughtUp)
	}
	start := time.Now()
	ch := make(chan arrival)
	go func() {
		for _, a := range arrivals {
			time.Sleep(time.Until(start.Add(a.at)))
			ch <- a
		}
	}()
	tick := time.NewTicker(time.Millisecond)
	defer tick.Stop()
	var out []released
	for time.Since(start) < end {
		if len(busy) == 2 && time.Since(start) >= busy[0] && time.Since(start) < busy[1] {
			time.Sleep(time.Until(start.Add(busy[1])))
			m.Resumed(time.Now())
		}
		select {
		case a := <-ch:
			m.Push(a.in, Item[string]{Value: a.v, TS: t0.Add(time.Duration(a.ts) * time.Second), Bad: a.bad, Fetched: time.Now()})
			m.SetCaughtUp(a.in, a.caughtUp)
		case <-tick.C:
		}
		for {
			_, it, ok := m.Next(time.Now())
			if !ok {
				break
			}
			out = append(out, released{time.Since(start), it.Value})
		}
	}
	return out
}

func check(t *testing.T, got []released, want ...string) {
	t.Helper()
	var g []string
	for _, r := range got {
		g = append(g, r.String())
	}
	if !slices.Equal(g, want) {
		t.Errorf("released %v\nwant     %v", g, want)
	}
}

// When every input has an item queued, the earliest goes at once; at
// equal times the input added first goes first; bad input goes before
// every event.
func TestNextInTimeOrder(t *testing.T) {
	m := &Merger[string]{Grace: time.Hour, MaxWait: time.Hour}
	promos, stock, prices := m.Add(true), m.Add(true), m.Add(true)
	item := func(v string, sec int) Item[string] {
		return Item[string]{Value: v, TS: t0.Add(time.Duration(sec) * time.Second), Fetched: t0}
	}
	m.Push(promos, item("promo@3", 3))
	m.Push(promos, item("promo@9", 9))
	m.Push(stock, item("stock@2", 2))
	m.Push(stock, Item[string]{Value: "bad", Bad: true, Fetched: t0})
	m.Push(stock, item("stock@7", 7))
	m.Push(prices, item("price@2", 2))
	m.Push(prices, item("price@5", 5))
	var got []string
	for {
		in, it, ok := m.Next(t0)
		if !ok {
			break
		}
		got = append(got, fmt.Sprintf("%d:%s", in, it.Value))
	}
	// stock@2 before price@2 (stock was added first), the bad record as
	// soon as it heads its input; then, once prices is empty, promo@9 and
	// stock@7 wait out the grace of an hour for an earlier price
	want := []string{"1:stock@2", "1:bad", "2:price@2", "0:promo@3", "2:price@5"}
	if !slices.Equal(got, want) {
		t.Fatalf("released %v, want %v", got, want)
	}
	if m.Empty() || m.Queued(promos) != 1 || m.Queued(stock) != 1 || m.Queued(prices) != 0 {
		t.Fatalf("queued %d, %d, %d, want 1, 1, 0", m.Queued(promos), m.Queued(stock), m.Queued(prices))
	}
	if _, _, ok := m.Next(t0.Add(time.Hour)); !ok {
		t.Fatal("nothing released after the grace")
	}
}

// An event waits Grace from its fetch for one of another input produced
// alongside it: a promotion fetched 5 ms after a later price still goes
// first. One fetched after the grace comes too late, and the price has
// gone.
func TestGraceWaitsForEventsProducedAlongside(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		m := &Merger[string]{Grace: 20 * time.Millisecond, MaxWait: 500 * time.Millisecond}
		got := scenario(m, []bool{true, true}, []arrival{
			{at: 0, in: 1, v: "price", ts: 10, caughtUp: true},
			{at: 5 * time.Millisecond, in: 0, v: "promo", ts: 9, caughtUp: true},
		}, 100*time.Millisecond)
		check(t, got, "promo@5ms", "price@20ms")
	})
	synctest.Test(t, func(t *testing.T) {
		m := &Merger[string]{Grace: 20 * time.Millisecond, MaxWait: 500 * time.Millisecond}
		got := scenario(m, []bool{true, true}, []arrival{
			{at: 0, in: 1, v: "price", ts: 10, caughtUp: true},
			{at: 30 * time.Millisecond, in: 0, v: "promo", ts: 9, caughtUp: true},
		}, 100*time.Millisecond)
		check(t, got, "price@20ms", "promo@50ms")
	})
}

// While an input that has not caught up has nothing queued, the others
// wait for it, up to MaxWait from when the merge first held for it; its
// earlier event, delivered in time, goes first.
func TestMaxWaitForLaggingInput(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		m := &Merger[string]{Grace: 20 * time.Millisecond, MaxWait: 500 * time.Millisecond}
		got := scenario(m, []bool{false, true}, []arrival{
			{at: 0, in: 1, v: "price", ts: 10, caughtUp: true},
			{at: 300 * time.Millisecond, in: 0, v: "promo", ts: 9, caughtUp: false},
		}, time.Second)
		// once the promotion went, the lagging input is empty again: the
		// price waits anew, MaxWait from then
		check(t, got, "promo@300ms", "price@800ms")
	})
	synctest.Test(t, func(t *testing.T) {
		m := &Merger[string]{Grace: 20 * time.Millisecond, MaxWait: 500 * time.Millisecond}
		got := scenario(m, []bool{false, true}, []arrival{
			{at: 0, in: 1, v: "price", ts: 10, caughtUp: true},
			{at: 700 * time.Millisecond, in: 0, v: "promo", ts: 9, caughtUp: true},
		}, time.Second)
		check(t, got, "price@500ms", "promo@720ms")
	})
}

// Bad input waits for nothing, not even a lagging input.
func TestBadInputGoesAtOnce(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		m := &Merger[string]{Grace: 20 * time.Millisecond, MaxWait: 500 * time.Millisecond}
		got := scenario(m, []bool{false, true}, []arrival{
			{at: 3 * time.Millisecond, in: 1, v: "bad", bad: true, caughtUp: true},
		}, 50*time.Millisecond)
		check(t, got, "bad@3ms")
	})
}

// After the caller was busy (producing a batch) and could not take what
// its inputs fetched, the grace counts from when it resumed: the inputs'
// other events may be waiting in their fetchers.
func TestGraceCountsFromResume(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		m := &Merger[string]{Grace: 20 * time.Millisecond, MaxWait: 500 * time.Millisecond}
		got := scenario(m, []bool{true, true}, []arrival{
			{at: 1 * time.Millisecond, in: 1, v: "price", ts: 10, caughtUp: true},
		}, 200*time.Millisecond, 2*time.Millisecond, 100*time.Millisecond)
		check(t, got, "price@120ms")
	})
}

// The state of the inputs, as the worker reads it for readiness.
func TestCaughtUpAndEmpty(t *testing.T) {
	m := &Merger[int]{}
	if !m.CaughtUp() || !m.Empty() || m.Inputs() != 0 {
		t.Fatal("a merge without inputs is caught up and empty")
	}
	a, b := m.Add(true), m.Add(false)
	if m.CaughtUp() {
		t.Fatal("caught up with an input behind")
	}
	m.SetCaughtUp(b, true)
	m.Push(a, Item[int]{Value: 1, Bad: true})
	if !m.CaughtUp() || m.Empty() {
		t.Fatal("want caught up and not empty")
	}
	if in, it, ok := m.Next(t0); !ok || in != a || it.Value != 1 || !m.Empty() {
		t.Fatalf("Next = %d, %v, %v", in, it, ok)
	}
}

// The merge stays pure: the standard library's time and nothing that does
// I/O.
func TestImports(t *testing.T) {
	if testing.Short() {
		t.Skip("runs go list")
	}
	out, err := exec.Command("go", "list", "-f", `{{join .Imports "\n"}}`, ".").CombinedOutput()
	if err != nil {
		t.Fatalf("go list: %v\n%s", err, out)
	}
	if got := strings.Fields(string(out)); !slices.Equal(got, []string{"time"}) {
		t.Errorf("merge imports %v, want only time", got)
	}
}
