package kafka

import (
	"context"
	"time"
)

// probe asks the brokers for their metadata every ProbeInterval, so that readiness turns false while they are unreachable
// (stopped, or cut off by the network) even when every partition is idle:
// the readers and writers retry quietly on their own.
func (d *Daemon) probe(ctx context.Context) {
	tick := time.NewTicker(d.cfg.ProbeInterval)
	defer tick.Stop()
	failures := 0
	for {
		select {
		case <-ctx.Done():
			return
		case <-tick.C:
		}
		err := d.probeOnce(ctx, max(2*d.cfg.ProbeInterval, 2*time.Second))
		if ctx.Err() != nil {
			return
		}
		d.cfg.Observer.BrokerReachable(err == nil)
		if err == nil {
			if failures >= 2 {
				d.cfg.Log.Info().Msg("brokers reachable again")
			}
			failures = 0
			d.unreachable.Store(nil)
			continue
		}
		failures++
		if failures == 2 {
			why := err.Error()
			d.unreachable.Store(&why)
			d.cfg.Log.Warn().Err(err).Msg("brokers unreachable: not ready until they answer")
		}
	}
}

// probeOnce opens a connection of its own to each broker in turn until one
// answers a metadata request within timeout. (A kafka-go Transport would
// answer from its metadata cache, and a pooled connection can hang.)
func (d *Daemon) probeOnce(ctx context.Context, timeout time.Duration) error {
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	var last error
	for _, b := range d.cfg.Brokers {
		conn, err := d.dialer.DialContext(ctx, "tcp", b)
		if err != nil {
			last = err
			continue
		}
		if dl, ok := ctx.Deadline(); ok {
			conn.SetDeadline(dl)
		}
		_, err = conn.Brokers()
		conn.Close()
		if err == nil {
			return nil
		}
		last = err
	}
	return last
}
