// Package clash makes the obvious names for the compat import unusable.
package clash

import (
	"github.com/libp2p/go-libp2p/core/host"
	"github.com/libp2p/go-libp2p/core/peer"
	"github.com/libp2p/go-libp2p/core/peerstore"
)

// compatpeerstore is taken at package level.
func compatpeerstore() peerstore.Peerstore { return nil }

func protos(h host.Host, p peer.ID) int {
	compatpeerstore2 := 0                  // a local in scope at the rewrite
	ps, _ := h.Peerstore().GetProtocols(p) // want `ProtoBook.GetProtocols is going away`
	return len(ps) + compatpeerstore2
}
