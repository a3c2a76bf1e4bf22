package protocols

import (
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

// WithSweepInterval sets how often peers past their grace period are freed
// (DefaultSweepInterval by default); d <= 0 keeps the default.
func WithSweepInterval(d time.Duration) Option {
	return func(s *Store) { s.sweeper.SetInterval(d) }
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
