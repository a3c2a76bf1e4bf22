package remember

import (
	"errors"
	"fmt"
	"log/slog"
	"time"

	ds "github.com/ipfs/go-datastore"
	"github.com/libp2p/go-libp2p/core/peer"

	"github.com/pstoremigrate/pstoremigrate/newstore"
)

// DialMode says when the remembered peers are dialed at start.
type DialMode int

const (
	// DialAlways dials the remembered peers at every start, together with
	// the bootstrap peers: the node stops depending on its bootstrappers.
	DialAlways DialMode = iota
	// DialIfBootstrapFails dials the bootstrap peers first and the
	// remembered peers only when none of them answered (or none are
	// configured): the remembered peers are a fallback.
	DialIfBootstrapFails
)

func (m DialMode) String() string {
	switch m {
	case DialAlways:
		return "DialAlways"
	case DialIfBootstrapFails:
		return "DialIfBootstrapFails"
	default:
		return fmt.Sprintf("DialMode(%d)", int(m))
	}
}

// Defaults. DefaultMaxPeers and DefaultSaveInterval are Kubo's: it
// remembers 20 connected peers and saves them every hour.
const (
	DefaultMaxPeers        = 20
	DefaultSaveInterval    = time.Hour
	DefaultDialConcurrency = 8
	DefaultDialTimeout     = 30 * time.Second
	DefaultHalfLife        = time.Hour
)

// maxAddrsPerPeer bounds what one remembered peer costs on disk; a peer
// rarely listens on more, and a few working addresses are enough to dial.
const maxAddrsPerPeer = 16

type config struct {
	maxPeers        int
	sink            newstore.Sink
	saveInterval    time.Duration
	dialConcurrency int
	dialTimeout     time.Duration
	bootstrap       []peer.AddrInfo
	mode            DialMode
	logger          *slog.Logger
	halfLife        time.Duration
}

// Option configures Attach.
type Option func(*config) error

// WithMaxPeers sets how many peers are remembered (DefaultMaxPeers).
func WithMaxPeers(n int) Option {
	return func(c *config) error {
		if n < 1 {
			return fmt.Errorf("max peers must be at least 1, got %d", n)
		}
		c.maxPeers = n
		return nil
	}
}

// WithFile saves the remembered peers to a file at path, written through
// a temporary file and a rename so a crash keeps the previous copy.
func WithFile(path string) Option {
	return func(c *config) error {
		if path == "" {
			return errors.New("file path is empty")
		}
		c.sink = newstore.NewFileSink(path)
		return nil
	}
}

// WithDatastore saves the remembered peers into d under prefix, for nodes
// that already keep their state in a go-datastore.
func WithDatastore(d ds.Batching, prefix ds.Key) Option {
	return func(c *config) error {
		if d == nil {
			return errors.New("datastore is nil")
		}
		c.sink = newstore.NewDatastoreSink(d, prefix)
		return nil
	}
}

// WithSink saves the remembered peers to any newstore.Sink.
func WithSink(s newstore.Sink) Option {
	return func(c *config) error {
		if s == nil {
			return errors.New("sink is nil")
		}
		c.sink = s
		return nil
	}
}

// WithSaveInterval sets how often the remembered peers are saved while the
// host runs (DefaultSaveInterval); they are always saved on Close.
func WithSaveInterval(d time.Duration) Option {
	return func(c *config) error {
		if d <= 0 {
			return fmt.Errorf("save interval must be positive, got %v", d)
		}
		c.saveInterval = d
		return nil
	}
}

// WithDialConcurrency bounds how many peers are dialed at once at start
// (DefaultDialConcurrency).
func WithDialConcurrency(n int) Option {
	return func(c *config) error {
		if n < 1 {
			return fmt.Errorf("dial concurrency must be at least 1, got %d", n)
		}
		c.dialConcurrency = n
		return nil
	}
}

// WithDialTimeout bounds each dial phase at start, the bootstrap peers and
// the remembered peers (DefaultDialTimeout): a peer that has not answered
// by then is counted as not answering.
func WithDialTimeout(d time.Duration) Option {
	return func(c *config) error {
		if d <= 0 {
			return fmt.Errorf("dial timeout must be positive, got %v", d)
		}
		c.dialTimeout = d
		return nil
	}
}

// WithBootstrapPeers sets the peers dialed at start besides the remembered
// ones; see DialMode.
func WithBootstrapPeers(peers ...peer.AddrInfo) Option {
	return func(c *config) error {
		for _, p := range peers {
			if err := p.ID.Validate(); err != nil {
				return fmt.Errorf("bootstrap peer %v: %w", p, err)
			}
		}
		c.bootstrap = append([]peer.AddrInfo(nil), peers...)
		return nil
	}
}

// WithDialMode says when the remembered peers are dialed (DialAlways).
func WithDialMode(m DialMode) Option {
	return func(c *config) error {
		if m != DialAlways && m != DialIfBootstrapFails {
			return fmt.Errorf("unknown dial mode %v", m)
		}
		c.mode = m
		return nil
	}
}

// WithLogger sets the logger (by default go-libp2p's, subsystem
// "remember").
func WithLogger(l *slog.Logger) Option {
	return func(c *config) error {
		if l == nil {
			return errors.New("logger is nil")
		}
		c.logger = l
		return nil
	}
}

// WithHalfLife sets how fast an old connection stops counting
// (DefaultHalfLife): a peer's connected time counts half as much for
// every half-life since we last saw it.
func WithHalfLife(d time.Duration) Option {
	return func(c *config) error {
		if d <= 0 {
			return fmt.Errorf("half-life must be positive, got %v", d)
		}
		c.halfLife = d
		return nil
	}
}
