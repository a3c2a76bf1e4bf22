// Package metadata reads identify's facts and its own data from the
// peerstore's metadata, the way go-libp2p users do today.
package metadata

import (
	"errors"
	"fmt"

	"github.com/libp2p/go-libp2p/core/host"
	"github.com/libp2p/go-libp2p/core/peer"
	"github.com/libp2p/go-libp2p/core/peerstore"
)

const scoreKey = "example/score"

func describe(h host.Host, p peer.ID) string {
	av, err := h.Peerstore().Get(p, "AgentVersion") // want `PeerMetadata.Get\("AgentVersion"\) is going away: identify's EvtPeerIdentificationCompleted carries AgentVersion`
	if errors.Is(err, peerstore.ErrNotFound) {
		return "unknown"
	}
	ps := h.Peerstore()
	pv, _ := ps.Get(p, "ProtocolVersion") // want `PeerMetadata.Get\("ProtocolVersion"\) is going away`
	return fmt.Sprint(av, " ", pv)
}

func remember(h host.Host, p peer.ID, score int) error {
	return h.Peerstore().Put(p, scoreKey, score) // want `PeerMetadata.Put\("example/score"\) is going away: .*per-peer data store`
}
