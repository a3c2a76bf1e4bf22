package twofiles

import "github.com/libp2p/go-libp2p/core/host"

// A single, unparenthesised import: the compat import becomes a second
// declaration.
func latency(h host.Host) int64 {
	return int64(h.Peerstore().LatencyEWMA(h.ID())) // want `Metrics.LatencyEWMA is going away`
}
