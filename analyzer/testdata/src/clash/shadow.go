package clash

import (
	"github.com/libp2p/go-libp2p/core/host"
	"github.com/libp2p/go-libp2p/core/peer"
)

// This file does not import core/peerstore, so the compat package keeps its
// own name, even beside a local called peerstore: the local's scope starts
// after its declaration, where the rewrite is.
func metrics(h host.Host, p peer.ID) {
	peerstore := h.Peerstore()
	peerstore.RecordLatency(p, 0) // want `Metrics.RecordLatency is going away`
}
