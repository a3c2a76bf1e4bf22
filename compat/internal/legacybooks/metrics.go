package legacybooks

import (
	"sync"
	"time"

	"github.com/libp2p/go-libp2p/core/peer"
	pstore "github.com/libp2p/go-libp2p/core/peerstore"
	upstream "github.com/libp2p/go-libp2p/p2p/host/peerstore"
)

// Metrics is core/peerstore.Metrics: an exponentially weighted moving
// average of each peer's latency, computed exactly as upstream's, with
// upstream's upstream.LatencyEWMASmoothing knob.
type Metrics struct {
	mu  sync.RWMutex
	lat map[peer.ID]time.Duration
}

var _ pstore.Metrics = (*Metrics)(nil)

// NewMetrics returns an empty latency book.
func NewMetrics() *Metrics {
	return &Metrics{lat: make(map[peer.ID]time.Duration)}
}

// RecordLatency folds one measurement into p's average; the first one is
// taken as the average.
func (m *Metrics) RecordLatency(p peer.ID, next time.Duration) {
	s := upstream.LatencyEWMASmoothing
	if s > 1 || s < 0 {
		s = 0.1 // upstream ignores an out-of-range knob the same way
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	cur, ok := m.lat[p]
	if !ok {
		m.lat[p] = next
		return
	}
	m.lat[p] = time.Duration((1.0-s)*float64(cur) + s*float64(next))
}

// LatencyEWMA returns p's average latency, 0 if never measured.
func (m *Metrics) LatencyEWMA(p peer.ID) time.Duration {
	m.mu.RLock()
	defer m.mu.RUnlock()
	return m.lat[p]
}

// RemovePeer forgets p's latency.
func (m *Metrics) RemovePeer(p peer.ID) {
	m.mu.Lock()
	delete(m.lat, p)
	m.mu.Unlock()
}
