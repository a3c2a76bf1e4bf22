// Package twofiles needs the compat import in both of its files.
package twofiles

import (
	"fmt"

	"github.com/libp2p/go-libp2p/core/host"
	"github.com/libp2p/go-libp2p/core/peer"
)

func agent(h host.Host, p peer.ID) string {
	v, _ := h.Peerstore().Get(p, "AgentVersion") // want `PeerMetadata.Get\("AgentVersion"\) is going away`
	return fmt.Sprint(v)
}

func protos(h host.Host, p peer.ID) int {
	ps, _ := h.Peerstore().GetProtocols(p) // want `ProtoBook.GetProtocols is going away`
	return len(ps)
}
