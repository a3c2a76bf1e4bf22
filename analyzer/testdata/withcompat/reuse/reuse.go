// Package reuse already holds a compat view of the host in a local: the fix
// uses it instead of calling New again.
package reuse

import (
	"github.com/libp2p/go-libp2p/core/host"
	"github.com/libp2p/go-libp2p/core/peer"

	"github.com/pstoremigrate/pstoremigrate/compat/peerstore"
)

func handle(h host.Host, p peer.ID) (any, error) {
	view := peerstore.New(h)
	view.RecordLatency(p, 0)
	_, _ = h.Peerstore().GetProtocols(p)           // want `ProtoBook.GetProtocols is going away: .*fix: use view, the compat/peerstore view of h already in scope`
	return h.Peerstore().Get(p, "ProtocolVersion") // want `PeerMetadata.Get\("ProtocolVersion"\) is going away: .*fix: use view`
}

// Before the view is declared, and for another host, New is called.
func before(h, other host.Host, p peer.ID) {
	_ = h.Peerstore().LatencyEWMA(p) // want `Metrics.LatencyEWMA is going away: .*fix: rewrite to peerstore.New`
	view := peerstore.New(h)
	view.RecordLatency(p, 0)
	_ = other.Peerstore().LatencyEWMA(p) // want `Metrics.LatencyEWMA is going away: .*fix: rewrite to peerstore.New`
}

// A host variable that is reassigned may be another host by the time of
// the call: no reuse.
func moved(h, next host.Host, p peer.ID) {
	view := peerstore.New(h)
	view.RecordLatency(p, 0)
	h = next
	_ = h.Peerstore().LatencyEWMA(p) // want `Metrics.LatencyEWMA is going away: .*fix: rewrite to peerstore.New\(h\)`
}
