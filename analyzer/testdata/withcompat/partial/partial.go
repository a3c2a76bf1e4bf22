// Package partial is half migrated: it already imports compat/peerstore, as
// cps, and the fixer reuses that import.
package partial

import (
	"time"

	"github.com/libp2p/go-libp2p/core/host"
	"github.com/libp2p/go-libp2p/core/peer"
	"github.com/libp2p/go-libp2p/core/peerstore"
	"github.com/libp2p/go-libp2p/core/protocol"
	cps "github.com/pstoremigrate/pstoremigrate/compat/peerstore"
)

func useMetrics(peerstore.Metrics) {}

// Already migrated: the compat shortcut is not reported.
func migrated(h host.Host, p peer.ID) ([]protocol.ID, error) {
	ps := cps.New(h)
	ps.RecordLatency(p, time.Millisecond)
	useMetrics(ps)
	useMetrics(cps.New(h))
	return cps.New(h).GetProtocols(p)
}

func forgotten(h host.Host, p peer.ID) time.Duration {
	return h.Peerstore().LatencyEWMA(p) // want `Metrics.LatencyEWMA is going away`
}

// node's field only ever holds compat: calls through it are the compat
// shortcut.
type node struct {
	ps peerstore.Peerstore
}

func newNode(h host.Host) *node { return &node{ps: cps.New(h)} }

func (n *node) latency(p peer.ID) time.Duration { return n.ps.LatencyEWMA(p) }
