package reload

import (
	"context"
	"os"
	"os/signal"
	"path/filepath"
	"sync"
	"syscall"
	"time"

	"github.com/fsnotify/fsnotify"
	"github.com/rs/zerolog"

	"github.com/promoguard/promoguard/rules"
)

// Target is what holds the running rules (a *kafka.Daemon).
type Target interface {
	Rules() *rules.RuleSet
	Reload(*rules.RuleSet)
}

// Reloader loads the rules of Paths into Target.
type Reloader struct {
	Paths  []string
	Target Target
	Log    zerolog.Logger
	// Loaded hears every attempt: whether it loaded, and the count of the
	// rules now running (for metrics). Nil: none.
	Loaded func(ok bool, at time.Time, rules int)

	mu sync.Mutex
}

// Reload loads the rules again and hands them to the target if they
// changed; why names the trigger in the log. It returns the load's errors.
func (r *Reloader) Reload(why string) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	loaded := r.Loaded
	if loaded == nil {
		loaded = func(bool, time.Time, int) {}
	}
	nrs, err := rules.Load(r.Paths, nil)
	if err != nil {
		loaded(false, time.Now(), len(r.Target.Rules().Rules))
		r.Log.Error().Str("trigger", why).Str("errors", err.Error()).Msg("rule reload failed: the previous rules keep running")
		return err
	}
	if nrs.Version == r.Target.Rules().Version {
		loaded(true, time.Now(), len(nrs.Rules))
		r.Log.Info().Str("trigger", why).Msg("rules unchanged")
		return nil
	}
	r.Target.Reload(nrs)
	loaded(true, time.Now(), len(nrs.Rules))
	r.Log.Info().Str("trigger", why).Int("rules", len(nrs.Rules)).Str("rules_version", nrs.Version).Msg("rules reloaded")
	return nil
}

// OnSIGHUP reloads on every SIGHUP until ctx ends.
func (r *Reloader) OnSIGHUP(ctx context.Context) {
	hup := make(chan os.Signal, 1)
	signal.Notify(hup, syscall.SIGHUP)
	go func() {
		defer signal.Stop(hup)
		for {
			select {
			case <-hup:
				r.Reload("SIGHUP")
			case <-ctx.Done():
				return
			}
		}
	}()
}

// Watch reloads when a rule file under Paths changes, after the changes
// have settled for 200 ms (editors write in several steps), until ctx ends.
func (r *Reloader) Watch(ctx context.Context) error {
	w, err := fsnotify.NewWatcher()
	if err != nil {
		return err
	}
	for _, p := range r.Paths {
		st, err := os.Stat(p)
		if err != nil {
			w.Close()
			return err
		}
		dir := p
		if !st.IsDir() {
			dir = filepath.Dir(p)
		}
		if err := w.Add(dir); err != nil {
			w.Close()
			return err
		}
	}
	go func() {
		defer w.Close()
		var timer <-chan time.Time
		for {
			select {
			case <-ctx.Done():
				return
			case ev, ok := <-w.Events:
				if !ok {
					return
				}
				if ev.Op&(fsnotify.Write|fsnotify.Create|fsnotify.Remove|fsnotify.Rename) != 0 {
					timer = time.After(200 * time.Millisecond)
				}
			case err, ok := <-w.Errors:
				if !ok {
					return
				}
				r.Log.Warn().Err(err).Msg("rule file watcher")
			case <-timer:
				timer = nil
				r.Reload("file change")
			}
		}
	}()
	return nil
}
