package peerdata

import (
	"unsafe"

	"github.com/pstoremigrate/pstoremigrate/newstore"
)

// WithMetricsTracer exports the store's metrics through t (see
// newstore.MetricsTracer): peers, values and bytes held, what the caps
// and byte budgets refused or dropped, by reason; nil exports nothing.
func WithMetricsTracer(t *newstore.MetricsTracer) Option {
	return func(s *Store) {
		s.stopTracking()
		s.tracer = t
		s.untrack = t.Track(newstore.StorePeerData, s.stats)
	}
}

func (s *Store) stopTracking() {
	if s.untrack != nil {
		s.untrack()
		s.untrack = nil
	}
}

const (
	peerStateSize = int64(unsafe.Sizeof(peerWithRoom{}))
	mapEntrySize  = 48 // a map slot for a peer.ID and a pointer, with overhead
)

// stats reads the store's size for the tracer: O(peers) under the lock, at
// each scrape only. Bytes is what the byte budgets charge for the values
// (sizeOf of key and value plus EntryOverhead each, the same figure
// WithMaxBytesPerPeer and WithMaxRetainedBytes bound), plus what each peer
// costs the store itself: its map slot, its state and its ID's bytes.
// Memory a value points to is not seen, as the budgets do not see it.
func (s *Store) stats() newstore.StoreStats {
	s.mu.Lock()
	defer s.mu.Unlock()
	st := newstore.StoreStats{Peers: s.withData}
	b := int64(len(s.peers)) * (mapEntrySize + peerStateSize)
	for p, ps := range s.peers {
		b += int64(len(p)) + int64(ps.bytes)
		st.Values += len(ps.entries)
	}
	st.Bytes = b
	return st
}
