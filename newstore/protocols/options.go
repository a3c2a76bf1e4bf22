package protocols

import (
	"math"
	"time"

	"github.com/benbjohnson/clock"
)

// Option configures a Store built by New.
type Option func(*Store)

// WithClock sets the clock grace periods are measured with; tests pass a
// clock.Mock.
func WithClock(c clock.Clock) Option {
	return func(s *Store) { s.sweeper.SetClock(c) }
}

// WithGracePeriod sets how long a peer's set outlives its last connection
// (DefaultGracePeriod by default); 0 drops it with the connection.
func WithGracePeriod(d time.Duration) Option {
	return func(s *Store) {
		if d >= 0 {
			s.grace = d
		}
	}
}

// WithMaxProtocolsPerConn caps the protocols kept per connection
// (DefaultMaxProtocolsPerConn by default); n <= 0 keeps the default.
func WithMaxProtocolsPerConn(n int) Option {
	return func(s *Store) {
		if n > 0 {
			s.maxPerConn = n
		}
	}
}

// WithSweepInterval sets how often peers past their grace period are freed;
// a disconnected peer's set stays in memory for up to the grace period plus
// this interval. By default (and for d <= 0) the interval is
// DefaultSweepInterval or half the grace period, whichever is shorter.
func WithSweepInterval(d time.Duration) Option {
	return func(s *Store) {
		if d > 0 {
			s.sweepInterval = d
		}
	}
}

// WithMaxRetainedPeers caps how many disconnected peers keep their set within
// the grace period (DefaultMaxRetainedPeers by default); past it the
// longest-disconnected are dropped first. n <= 0 keeps the default.
func WithMaxRetainedPeers(n int) Option {
	return func(s *Store) {
		if n > 0 {
			s.maxRetained = n
		}
	}
}

// WithMaxBytesPerPeer sets the byte budget of one peer's live connections
// (DefaultMaxBytesPerPeer by default): every protocol entry of every
// connection is charged its length plus EntryOverhead, and what would go
// over is left out. n <= 0 keeps the default; more than 2 GiB counts as
// 2 GiB.
func WithMaxBytesPerPeer(n int) Option {
	return func(s *Store) {
		if n > 0 {
			s.maxBytesPerPeer = min(n, math.MaxInt32) // a peer's charge is an int32
		}
	}
}

// WithMaxRetainedBytesPerPeer sets the budget of the set a peer keeps for
// its grace period (DefaultMaxRetainedBytesPerPeer by default): at its last
// disconnect the set is cut to it. n <= 0 keeps the default; more than
// 2 GiB counts as 2 GiB.
func WithMaxRetainedBytesPerPeer(n int) Option {
	return func(s *Store) {
		if n > 0 {
			s.maxRetainedBytesPerPeer = min(n, math.MaxInt32)
		}
	}
}

// WithMaxRetainedBytes sets the budget of every retained set together
// (DefaultMaxRetainedBytes by default); past it the longest-disconnected
// peers go first. n <= 0 keeps the default.
func WithMaxRetainedBytes(n int) Option {
	return func(s *Store) {
		if n > 0 {
			s.maxRetainedBytes = n
		}
	}
}
