package partial

import (
	"github.com/libp2p/go-libp2p/core/host"
	"github.com/libp2p/go-libp2p/core/peer"
	cps "github.com/pstoremigrate/pstoremigrate/compat/peerstore"
)

// Here cps is shadowed where the rewrite goes, by a view of another host
// that cannot be reused, so the fixer imports the package again under a
// free name.
func shadowed(h, other host.Host, p peer.ID) any {
	cps := cps.New(other)
	cps.RecordLatency(p, 0)
	return h.Peerstore().Put(p, "k", 1) // want `PeerMetadata.Put\("k"\) is going away`
}
