// Package network reaches the host's store through its network: the same
// store, so the fix rewrites it like h.Peerstore().
package network

import (
	"github.com/libp2p/go-libp2p/core/host"
	"github.com/libp2p/go-libp2p/core/network"
	"github.com/libp2p/go-libp2p/core/peer"
	"github.com/libp2p/go-libp2p/core/peerstore"
)

func agent(h host.Host, p peer.ID) (any, error) {
	return h.Network().Peerstore().Get(p, "AgentVersion") // want `PeerMetadata.Get\("AgentVersion"\) is going away: .*fix: rewrite to peerstore.New\(h\)`
}

func metrics(h host.Host) peerstore.Metrics {
	return h.Network().Peerstore() // want `h.Network\(\).Peerstore\(\) is returned as a result of type peerstore.Metrics: .*fix: pass peerstore.New\(h\)`
}

func local(h host.Host, p peer.ID) bool {
	ps := h.Network().Peerstore()
	s, _ := ps.FirstSupportedProtocol(p, "/x/1") // want `ProtoBook.FirstSupportedProtocol is going away: .*fix: rewrite to peerstore.New\(h\)`
	return s != ""
}

// A bare network is not a host: no host to pass to New.
func bare(n network.Network, p peer.ID) {
	n.Peerstore().RecordLatency(p, 0) // want `Metrics.RecordLatency is going away: .*not rewritten`
}

// Addresses stay in the new store: nothing to report.
func addrs(h host.Host, p peer.ID) int {
	return len(h.Network().Peerstore().Addrs(p))
}
