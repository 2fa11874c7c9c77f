package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"net"
	"os"
	"strconv"
	"strings"
	"time"

	"github.com/segmentio/kafka-go"
)

func main() {
	free := flag.Int("free", 0, "print this many free 127.0.0.1 ports and exit")
	brokers := flag.String("brokers", "", "host:port of the broker to wait for")
	timeout := flag.Duration("timeout", 90*time.Second, "give up after this long")
	pid := flag.Int("pid", 0, "give up as soon as this process has exited (0: do not watch)")
	flag.Parse()

	if *free > 0 {
		ports, err := freePorts(*free)
		if err != nil {
			fmt.Fprintln(os.Stderr, "waitbroker:", err)
			os.Exit(1)
		}
		fmt.Println(strings.Join(ports, " "))
		return
	}
	if *brokers == "" {
		fmt.Fprintln(os.Stderr, "waitbroker: -brokers or -free is required")
		os.Exit(2)
	}
	start := time.Now()
	if err := wait(*brokers, *timeout, *pid); err != nil {
		fmt.Fprintf(os.Stderr, "waitbroker: %s not ready after %s: %v\n", *brokers, time.Since(start).Round(time.Millisecond), err)
		os.Exit(1)
	}
}

// freePorts holds n listeners open at once, so the ports differ, and closes
// them. Another process can still take a port before the broker binds it:
// broker.sh retries with new ports when that happens.
func freePorts(n int) ([]string, error) {
	var ports []string
	for range n {
		l, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			return nil, err
		}
		defer l.Close()
		ports = append(ports, strconv.Itoa(l.Addr().(*net.TCPAddr).Port))
	}
	return ports, nil
}

func wait(addr string, timeout time.Duration, pid int) error {
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	defer cancel()
	var last error
	for {
		if pid > 0 && !alive(pid) {
			return fmt.Errorf("broker process %d exited (last error: %v)", pid, last)
		}
		md, err := metadata(ctx, addr)
		switch {
		case err != nil:
			last = err
		case len(md.Brokers) == 0:
			last = errors.New("metadata lists no broker yet")
		default:
			// a new broker creates __consumer_offsets on the first group
			// request; until then groups get "coordinator not available",
			// on which kafka-go's consumer groups can stall (kafka-go#955):
			// ready means groups work
			if err := coordinator(ctx, addr); err != nil {
				last = fmt.Errorf("group coordinator: %w", err)
				break
			}
			return nil
		}
		select {
		case <-ctx.Done():
			return last
		case <-time.After(250 * time.Millisecond):
		}
	}
}

// metadata sends one metadata request. The transport is new each time: a
// kafka-go Transport keeps the outcome of its last metadata request for a
// while, an error too.
func metadata(ctx context.Context, addr string) (*kafka.MetadataResponse, error) {
	ctx, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	tr := &kafka.Transport{ClientID: "promoguard-waitbroker", DialTimeout: 2 * time.Second}
	defer tr.CloseIdleConnections()
	c := &kafka.Client{Addr: kafka.TCP(addr), Timeout: 5 * time.Second, Transport: tr}
	return c.Metadata(ctx, &kafka.MetadataRequest{Topics: []string{}})
}

// coordinator asks for a group coordinator once.
func coordinator(ctx context.Context, addr string) error {
	ctx, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	tr := &kafka.Transport{ClientID: "promoguard-waitbroker", DialTimeout: 2 * time.Second}
	defer tr.CloseIdleConnections()
	c := &kafka.Client{Addr: kafka.TCP(addr), Timeout: 5 * time.Second, Transport: tr}
	resp, err := c.FindCoordinator(ctx, &kafka.FindCoordinatorRequest{Key: "promoguard-waitbroker", KeyType: kafka.CoordinatorKeyTypeConsumer})
	if err != nil {
		return err
	}
	return resp.Error
}

// alive reports whether pid is a running process (a zombie is not: the
// broker's parent shell has not reaped it yet).
func alive(pid int) bool {
	b, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/stat")
	if err != nil {
		return false
	}
	// The state follows the command name, which is in parentheses.
	s := string(b)
	i := strings.LastIndexByte(s, ')')
	return i >= 0 && i+2 < len(s) && s[i+2] != 'Z'
}
