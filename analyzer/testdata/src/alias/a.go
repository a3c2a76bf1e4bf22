// Package alias needs the compat import in two files; in this one
// "peerstore" is core/peerstore, so the compat import takes another name,
// and the other file uses the same name for it.
package alias

import (
	"github.com/libp2p/go-libp2p/core/host"
	"github.com/libp2p/go-libp2p/core/peer"
	"github.com/libp2p/go-libp2p/core/peerstore"
)

func metrics(h host.Host) peerstore.Metrics {
	return h.Peerstore() // want `h.Peerstore\(\) is returned as a result of type peerstore.Metrics`
}

func protos(h host.Host, p peer.ID) int {
	got, _ := h.Peerstore().GetProtocols(p) // want `ProtoBook.GetProtocols is going away`
	return len(got)
}
