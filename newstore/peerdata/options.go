package peerdata

import (
	"time"

	"github.com/benbjohnson/clock"

	"github.com/pstoremigrate/pstoremigrate/newstore/internal/background"
)

// Option configures a Store built by New.
type Option func(*Store)

// WithClock sets the clock the store measures TTLs and sweeps with; tests
// pass a clock.Mock.
func WithClock(c clock.Clock) Option {
	return func(s *Store) { s.sweeper.SetClock(c) }
}

// WithMaxPeers caps how many peers may hold data at once (DefaultMaxPeers by
// default). n <= 0 keeps the default: the store is never unbounded.
func WithMaxPeers(n int) Option {
	return func(s *Store) {
		if n > 0 {
			s.maxPeers = n
		}
	}
}

// WithMaxEntriesPerPeer caps how many values one peer may hold
// (DefaultMaxEntriesPerPeer by default). n <= 0 keeps the default.
func WithMaxEntriesPerPeer(n int) Option {
	return func(s *Store) {
		if n > 0 {
			s.maxEntries = n
		}
	}
}

// WithSweepInterval sets how often expired values are freed
// (DefaultSweepInterval by default): an expired value stays in memory for up
// to this long. d <= 0 keeps the default.
func WithSweepInterval(d time.Duration) Option {
	return func(s *Store) { s.sweeper.SetInterval(d) }
}

// WithSweepIntervalFor sets the sweep interval for values put with a
// ttlAfterDisconnect of ttl, as a store that keeps a peer's data for a grace
// period does: half of ttl (as go-libp2p's pstoremanager sweeps), at most
// DefaultSweepInterval and at least 100 ms, so such a value is gone from
// memory by ttl + ttl/2 at the latest. ttl <= 0 keeps the default.
func WithSweepIntervalFor(ttl time.Duration) Option {
	return func(s *Store) { s.sweeper.SetInterval(background.IntervalFor(ttl, DefaultSweepInterval)) }
}

// WithMaxBytesPerPeer sets how many bytes one peer's values may take
// (DefaultMaxBytesPerPeer by default); a Put past it is ErrTooManyBytes.
// n <= 0 keeps the default.
func WithMaxBytesPerPeer(n int) Option {
	return func(s *Store) {
		if n > 0 {
			s.maxBytesPerPeer = n
		}
	}
}

// WithMaxRetainedBytes sets how many bytes the values of disconnected peers
// may take together (DefaultMaxRetainedBytes by default); past it the peers
// disconnected longest lose their values first. n <= 0 keeps the default.
func WithMaxRetainedBytes(n int) Option {
	return func(s *Store) {
		if n > 0 {
			s.maxRetainedBytes = n
		}
	}
}
