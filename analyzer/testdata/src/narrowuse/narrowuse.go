// Package narrowuse calls a legacy method on a field that its own package
// uses only for kept methods: here the use, not only the type, needs the
// legacy interface, so the destination finding does not say otherwise.
package narrowuse

import (
	"github.com/libp2p/go-libp2p/core/host"
	"github.com/libp2p/go-libp2p/core/peer"
	"github.com/libp2p/go-libp2p/core/protocol"

	"fixtures/src/narrowlib"
)

func protocols(h host.Host, p peer.ID) []protocol.ID {
	c := narrowlib.Config{Store: h.Peerstore()} // want `h.Peerstore\(\) is stored in a field of type peerstore.Peerstore: the legacy-only Peerstore API it needs is going away from the host's store; fix:`
	protos, _ := c.Store.GetProtocols(p)        // want `ProtoBook.GetProtocols is going away: .*not rewritten: the receiver is c.Store, field Store of narrowlib.Config`
	return protos
}
