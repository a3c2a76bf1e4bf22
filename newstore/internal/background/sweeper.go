package background

import (
	"sync"
	"time"

	"github.com/benbjohnson/clock"
)

// Sweeper runs a store's sweep every interval on the clock the store measures
// expiry with, so a clock.Mock drives both. Build one with NewSweeper, set it
// up (SetClock, SetInterval) while applying the store's options, then Start
// it once.
type Sweeper struct {
	// Clock is the store's clock; SetClock replaces it.
	Clock clock.Clock

	interval time.Duration
	stop     chan struct{}
	done     chan struct{}
	started  bool
	once     sync.Once
}

// NewSweeper returns a Sweeper on the real clock that will sweep every
// interval.
func NewSweeper(interval time.Duration) *Sweeper {
	return &Sweeper{
		Clock:    clock.New(),
		interval: interval,
		stop:     make(chan struct{}),
		done:     make(chan struct{}),
	}
}

// SetClock replaces the clock; nil keeps the current one.
func (s *Sweeper) SetClock(c clock.Clock) {
	if c != nil {
		s.Clock = c
	}
}

// SetInterval replaces the interval; d <= 0 keeps the current one, so a
// store never sweeps in a busy loop.
func (s *Sweeper) SetInterval(d time.Duration) {
	if d > 0 {
		s.interval = d
	}
}

// Start runs sweep in a goroutine at every tick until Stop. Call it once,
// after the options are applied: the ticker is taken from the clock then.
func (s *Sweeper) Start(sweep func()) {
	ticker := s.Clock.Ticker(s.interval)
	s.started = true
	go func() {
		defer close(s.done)
		defer ticker.Stop()
		for {
			select {
			case <-ticker.C:
				sweep()
			case <-s.stop:
				return
			}
		}
	}()
}

// Stop ends the goroutine and waits for it, a sweep in progress included.
// Later calls return at once.
func (s *Sweeper) Stop() {
	s.once.Do(func() {
		close(s.stop)
		if s.started {
			<-s.done
		}
	})
}

// MinInterval is the shortest interval IntervalFor gives: a store with a
// grace period of a few milliseconds must still not sweep in a busy loop.
const MinInterval = 100 * time.Millisecond

// IntervalFor is the sweep interval of a store that keeps data for grace
// after a peer left: def, but at most half of grace (and no less than
// MinInterval), as go-libp2p's pstoremanager does, so the data is gone by
// grace + grace/2 at the latest rather than grace + def.
func IntervalFor(grace, def time.Duration) time.Duration {
	if grace <= 0 {
		return def
	}
	return min(def, max(grace/2, MinInterval))
}
