package newstore

import (
	"fmt"
	"time"
)

// Clock tells the time. The mock clock of github.com/benbjohnson/clock
// satisfies it, as it does upstream pstoremem's WithClock.
type Clock interface {
	Now() time.Time
}

type realClock struct{}

func (realClock) Now() time.Time { return time.Now() }

// The defaults are upstream pstoremem's, so a swap changes no limit.
const (
	DefaultMaxAddrsPerPeer     = 64
	DefaultMaxUnconnectedAddrs = 1_000_000
	DefaultMaxSignedRecords    = 100_000
	defaultGCInterval          = time.Minute
)

type config struct {
	clock               Clock
	maxAddrsPerPeer     int
	maxUnconnectedAddrs int
	maxSignedRecords    int
	gcInterval          time.Duration
	tracer              *MetricsTracer
}

func defaultConfig() config {
	return config{
		clock:               realClock{},
		maxAddrsPerPeer:     DefaultMaxAddrsPerPeer,
		maxUnconnectedAddrs: DefaultMaxUnconnectedAddrs,
		maxSignedRecords:    DefaultMaxSignedRecords,
		gcInterval:          defaultGCInterval,
	}
}

// Option configures an AddrBook.
type Option func(*config) error

// WithClock sets the clock that address expiry is measured against.
func WithClock(c Clock) Option {
	return func(cfg *config) error {
		if c == nil {
			return fmt.Errorf("newstore: WithClock: nil clock")
		}
		cfg.clock = c
		return nil
	}
}

// WithMaxAddrsPerPeer caps the unconnected addresses kept for one peer; past
// it, adding an address evicts the peer's address that expires first.
// Addresses of a live connection are not counted. 0 or less disables the cap.
func WithMaxAddrsPerPeer(n int) Option {
	return func(cfg *config) error {
		cfg.maxAddrsPerPeer = n
		return nil
	}
}

// WithMaxUnconnectedAddrs caps the unconnected addresses kept in total; past
// it, new unconnected addresses are dropped. Connected addresses are bounded
// by the host's connection limits instead.
func WithMaxUnconnectedAddrs(n int) Option {
	return func(cfg *config) error {
		if n < 0 {
			return fmt.Errorf("newstore: WithMaxUnconnectedAddrs: negative limit %d", n)
		}
		cfg.maxUnconnectedAddrs = n
		return nil
	}
}

// WithMaxSignedRecords caps the certified peer records kept; past it, a
// record of a new peer is refused with an error.
func WithMaxSignedRecords(n int) Option {
	return func(cfg *config) error {
		if n < 0 {
			return fmt.Errorf("newstore: WithMaxSignedRecords: negative limit %d", n)
		}
		cfg.maxSignedRecords = n
		return nil
	}
}

// WithGCInterval sets how often expired addresses are collected. Reads never
// return an expired address whatever the interval; it only bounds how long
// the memory of an expired one is held.
func WithGCInterval(d time.Duration) Option {
	return func(cfg *config) error {
		if d <= 0 {
			return fmt.Errorf("newstore: WithGCInterval: interval must be positive, got %v", d)
		}
		cfg.gcInterval = d
		return nil
	}
}

// WithMetricsTracer exports the book's metrics through t (see
// MetricsTracer); nil exports nothing.
func WithMetricsTracer(t *MetricsTracer) Option {
	return func(cfg *config) error {
		cfg.tracer = t
		return nil
	}
}
