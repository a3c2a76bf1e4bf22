package alias

import (
	"github.com/libp2p/go-libp2p/core/host"
	"github.com/libp2p/go-libp2p/core/peer"
)

func agent(h host.Host, p peer.ID) (any, error) {
	return h.Peerstore().Get(p, "AgentVersion") // want `PeerMetadata.Get\("AgentVersion"\) is going away`
}
