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
	peerStateSize = int64(unsafe.Sizeof(peerState{}))
	entrySize     = int64(unsafe.Sizeof(entry{}))
	mapEntrySize  = 48 // a map slot for a peer.ID and a pointer, with overhead
)

// stats reads the store's size for the tracer: O(peers) under the lock, at
// each scrape only. Bytes counts the store's structures, not the memory of
// the values themselves, which the store cannot see into.
func (s *Store) stats() newstore.StoreStats {
	s.mu.Lock()
	defer s.mu.Unlock()
	st := newstore.StoreStats{Peers: s.withData}
	b := int64(len(s.peers)) * (mapEntrySize + peerStateSize)
	for p, ps := range s.peers {
		b += int64(len(p)) + int64(cap(ps.entries))*entrySize
		st.Values += len(ps.entries)
	}
	st.Bytes = b
	return st
}
