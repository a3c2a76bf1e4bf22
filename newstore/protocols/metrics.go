package protocols

import (
	"unsafe"

	"github.com/pstoremigrate/pstoremigrate/newstore"
)

// WithMetricsTracer exports the store's metrics through t (see
// newstore.MetricsTracer): peers and bytes held, retained peers evicted,
// protocols over the per-connection cap; nil exports nothing.
func WithMetricsTracer(t *newstore.MetricsTracer) Option {
	return func(s *Store) {
		s.stopTracking()
		s.tracer = t
		s.untrack = t.Track(newstore.StoreProtocols, s.stats)
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
	connStateSize = int64(unsafe.Sizeof(connState{}))
	handleSize    = int64(unsafe.Sizeof(handle{}))
	mapEntrySize  = 48 // a map slot for a key and a pointer, with overhead
)

// stats reads the store's size for the tracer: O(peers + connections)
// under the read lock, at each scrape only. Interned protocol IDs, shared by
// every peer, are not counted.
func (s *Store) stats() newstore.StoreStats {
	s.mu.RLock()
	defer s.mu.RUnlock()
	st := newstore.StoreStats{Peers: len(s.peers)}
	b := int64(len(s.conns))*(mapEntrySize+connStateSize) + int64(len(s.peers))*(mapEntrySize+peerStateSize)
	for _, cs := range s.conns {
		b += int64(cap(cs.protos)) * handleSize
	}
	for p, ps := range s.peers {
		b += int64(len(p)) + int64(cap(ps.union))*handleSize + int64(cap(ps.pos))*4 +
			int64(cap(ps.removed))*handleSize + int64(cap(ps.conns))*16
	}
	for _, list := range s.supporting {
		b += mapEntrySize + int64(cap(list))*8
	}
	b += int64(cap(s.retained)) * int64(unsafe.Sizeof(retainedRef{}))
	st.Bytes = b
	return st
}
