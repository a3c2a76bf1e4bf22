package pstoreds

import (
	"time"

	"github.com/pstoremigrate/pstoremigrate/newstore"
)

// Options configures NewPeerstore. The fields are upstream's, so that code
// filling them compiles unchanged; what each now means is documented on it.
type Options struct {
	// CacheSize is ignored: the whole state is in memory.
	CacheSize uint

	// MaxProtocols is the maximum number of protocols stored for one peer.
	MaxProtocols int

	// MaxAddrsPerPeer bounds the unconnected addresses stored per peer;
	// past it, a new one evicts the one expiring first. Addresses held by
	// a live connection are not counted. <= 0 disables the cap.
	MaxAddrsPerPeer int

	// GCPurgeInterval, GCLookaheadInterval and GCInitialDelay are
	// ignored: there is no datastore GC any more. Expired addresses are
	// never returned, never saved, and dropped from memory every minute,
	// as in pstoremem (upstream's default purge of every two hours would
	// let expired addresses hold memory, and cap slots, far longer).
	GCPurgeInterval     time.Duration
	GCLookaheadInterval time.Duration
	GCInitialDelay      time.Duration

	// Clock is what address expiry is measured against.
	Clock newstore.Clock

	// PersistInterval is how often the state is saved into the datastore,
	// besides on Close. Zero means newstore.DefaultPersistInterval; a
	// negative value saves only on Close. (Not in upstream's Options.)
	PersistInterval time.Duration
}

// DefaultOpts returns upstream's defaults (MaxProtocols 1024,
// MaxAddrsPerPeer 64, and the ignored cache and GC settings), and saves
// every newstore.DefaultPersistInterval.
func DefaultOpts() Options {
	return Options{
		CacheSize:           1024,
		MaxProtocols:        1024,
		MaxAddrsPerPeer:     64,
		GCPurgeInterval:     2 * time.Hour,
		GCLookaheadInterval: 0,
		GCInitialDelay:      60 * time.Second,
		PersistInterval:     newstore.DefaultPersistInterval,
	}
}

func (o Options) addrBookOptions() []newstore.Option {
	opts := []newstore.Option{newstore.WithMaxAddrsPerPeer(o.MaxAddrsPerPeer)}
	if o.Clock != nil {
		opts = append(opts, newstore.WithClock(o.Clock))
	}
	return opts
}

func (o Options) persistInterval() time.Duration {
	switch {
	case o.PersistInterval == 0:
		return newstore.DefaultPersistInterval
	case o.PersistInterval < 0:
		return 0
	}
	return o.PersistInterval
}
