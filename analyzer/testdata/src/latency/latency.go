// Package latency keeps RTTs in the peerstore's Metrics.
package latency

import (
	"time"

	"github.com/libp2p/go-libp2p/core/host"
	"github.com/libp2p/go-libp2p/core/peer"
)

// node embeds the host, so node.Peerstore() is the host's.
type node struct {
	host.Host
	name string
}

func (n *node) observe(p peer.ID, rtt time.Duration) {
	n.Peerstore().RecordLatency(p, rtt) // want `Metrics.RecordLatency is going away: RTT belongs to the connection`
}

func slowest(h host.Host, peers []peer.ID) peer.ID {
	ewma := h.Peerstore().LatencyEWMA // want `Metrics.LatencyEWMA is going away`
	var worst peer.ID
	for _, p := range peers {
		if ewma(p) > ewma(worst) {
			worst = p
		}
	}
	return worst
}
