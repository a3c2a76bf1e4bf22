package clash

import (
	"github.com/libp2p/go-libp2p/core/host"
	"github.com/libp2p/go-libp2p/core/peer"
)

// This file could import the compat package under its own name, but the
// package picks one name for it in every file, and clash.go can use none of
// the shorter ones.
func metrics(h host.Host, p peer.ID) {
	peerstore := h.Peerstore()
	peerstore.RecordLatency(p, 0) // want `Metrics.RecordLatency is going away`
}
