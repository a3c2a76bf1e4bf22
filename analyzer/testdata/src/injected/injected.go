// Package injected gets its store through dependency injection: uber-go/fx
// fills exported fields of a parameter struct, so no trace reaches where
// the store is made, and the message says which value it is and what to
// do.
package injected

import (
	"github.com/libp2p/go-libp2p/core/peer"
	"github.com/libp2p/go-libp2p/core/peerstore"
)

// Params is what an fx constructor receives (fx.In is left out to keep the
// fixture free of fx; the shape is the same).
type Params struct {
	Peerstore peerstore.Peerstore
}

type service struct {
	ps peerstore.Peerstore
}

// NewService is an fx constructor.
func NewService(p Params) *service {
	return &service{ps: p.Peerstore}
}

func (s *service) agent(p peer.ID) (any, error) {
	return s.ps.Get(p, "AgentVersion") // want `PeerMetadata.Get\("AgentVersion"\) is going away: .*not rewritten: the receiver is s.ps, field ps of service \(declared at injected.go:19\), filled only with p.Peerstore, field Peerstore of Params \(declared at injected.go:15\), which code outside this package can fill`
}

func latency(in Params, p peer.ID) bool {
	return in.Peerstore.LatencyEWMA(p) > 0 // want `Metrics.LatencyEWMA is going away: .*not rewritten: the receiver is in.Peerstore, field Peerstore of Params \(declared at injected.go:15\), which code outside this package can fill \(another package, or dependency injection such as uber-go/fx\)`
}
