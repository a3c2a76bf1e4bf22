// Package asserted asks stores for their dynamic type, as op-node's p2p
// package does with its ExtendedPeerstore wrapper: a compat view is another
// value than the host's store and would not pass those assertions, so the
// stores that reach them are not rewritten. Assertions a view passes
// exactly when the host's store does (core/peerstore interfaces) do not
// hold the fix back.
package asserted

import (
	"time"

	"github.com/libp2p/go-libp2p/core/host"
	"github.com/libp2p/go-libp2p/core/peer"
	"github.com/libp2p/go-libp2p/core/peerstore"
)

// Extended is an application's store wrapper, set as the host's store.
type Extended interface {
	peerstore.Peerstore
	Score(p peer.ID) float64
}

type info struct {
	score   float64
	latency time.Duration
	agent   any
}

// dump reads the wrapper's extra data when the store is one.
func dump(ps peerstore.Peerstore, p peer.ID) info {
	var in info
	if ext, ok := ps.(Extended); ok {
		in.score = ext.Score(p)
	}
	in.agent, _ = ps.Get(p, "AgentVersion") // want `PeerMetadata.Get\("AgentVersion"\) is going away: .*not rewritten: h.Peerstore\(\) reaches the type assertion to Extended on line 32 of asserted.go, which a compat view does not pass`
	in.latency = ps.LatencyEWMA(p)          // want `Metrics.LatencyEWMA is going away: .*not rewritten: h.Peerstore\(\) reaches the type assertion to Extended`
	return in
}

func self(h host.Host) info {
	ps := h.Peerstore()
	return dump(ps, h.ID()) // want `ps is passed as an argument of type peerstore.Peerstore: .*not rewritten: h.Peerstore\(\) reaches the type assertion to Extended`
}

// kind switches on the store's type.
func kind(h host.Host, p peer.ID) string {
	ps := h.Peerstore()
	protos, _ := ps.GetProtocols(p) // want `ProtoBook.GetProtocols is going away: .*not rewritten: h.Peerstore\(\) reaches the type switch on line 49 of asserted.go`
	switch ps.(type) {
	case Extended:
		return "extended"
	case nil:
		return "none"
	}
	if len(protos) > 0 {
		return "known"
	}
	return "plain"
}

// certified asserts a core/peerstore interface, which a view of a host
// whose store is certified is too: the fix goes ahead.
func certified(h host.Host, p peer.ID) bool {
	ps := h.Peerstore()
	if _, ok := ps.(peerstore.CertifiedAddrBook); !ok {
		return false
	}
	got, _ := ps.SupportsProtocols(p, "/x/1") // want `ProtoBook.SupportsProtocols is going away: .*fix: rewrite to peerstore.New\(h\)`
	return len(got) > 0
}

// other asserts on another host's store: the fix for this one goes ahead.
func other(h, h2 host.Host, p peer.ID) time.Duration {
	if _, ok := h2.Peerstore().(Extended); ok {
		return 0
	}
	return h.Peerstore().LatencyEWMA(p) // want `Metrics.LatencyEWMA is going away: .*fix: rewrite to peerstore.New\(h\)`
}
