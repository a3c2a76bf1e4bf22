package protocols

import (
	"unsafe"

	"github.com/pstoremigrate/pstoremigrate/newstore"
)

// WithMetricsTracer exports the store's metrics through t (see
// newstore.MetricsTracer): peers and bytes held, retained peers evicted,
// and the protocols a cap or byte budget left out, by reason (together they
// are Dropped); nil exports nothing.
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
	peerStateSize     = int64(unsafe.Sizeof(peerState{}))
	connStateSize     = int64(unsafe.Sizeof(connState{}))
	protoEntrySize    = int64(unsafe.Sizeof(protoEntry{}))
	supporterListSize = int64(unsafe.Sizeof(supporterList{}))
	protoSetSize      = int64(unsafe.Sizeof(protoSet{}))
	setAuxSize        = int64(unsafe.Sizeof(setAux{}))
	pointerSize       = int64(unsafe.Sizeof(uintptr(0)))
	mapEntrySize      = 48 // a map slot for a key and a pointer, with overhead
)

// stats reads the store's size for the tracer: O(peers + connections +
// protocols) under the read lock, at each scrape only.
func (s *Store) stats() newstore.StoreStats {
	s.mu.RLock()
	defer s.mu.RUnlock()
	st := newstore.StoreStats{Peers: len(s.peers)}
	b := int64(len(s.peers)) * (mapEntrySize + peerStateSize)
	for _, removed := range s.removed {
		b += mapEntrySize + int64(len(removed))*mapEntrySize
	}
	for p, ps := range s.peers {
		for _, cs := range ps.conns {
			b += connStateSize + setBytes(&cs.set)
		}
		b += int64(len(p)) + int64(cap(ps.conns))*pointerSize
		// A peer's union is its only connection's set until it is counted
		// or retained: that one is counted with the connection.
		if ps.union != nil && !(len(ps.conns) == 1 && ps.union == &ps.conns[0].set) {
			b += protoSetSize + setBytes(ps.union)
		}
	}
	for id, e := range s.table {
		b += mapEntrySize + protoEntrySize + int64(len(id))
		if l := e.list; l != nil {
			b += supporterListSize + int64(cap(l.peers))*pointerSize
			if l.more != nil {
				b += int64(len(l.more.chunks)) * listChunk * pointerSize
			}
		}
	}
	b += int64(cap(s.retained)) * int64(unsafe.Sizeof(retainedRef{}))
	st.Bytes = b
	return st
}

// setBytes is what a set's slices and index take.
func setBytes(set *protoSet) int64 {
	b := int64(cap(set.list))*pointerSize + int64(cap(set.pos))*4
	if set.aux != nil {
		b += setAuxSize + int64(cap(set.aux.count))*4 + int64(len(set.aux.at))*mapEntrySize
	}
	return b
}
