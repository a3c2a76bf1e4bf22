// Package assertedunknown asserts on a store whose origin the analyzer
// cannot trace (a parameter of an exported function): a view stored where
// it might reach that assertion is not put in place, while a rewrite whose
// value only serves the one call goes ahead.
package assertedunknown

import (
	"time"

	"github.com/libp2p/go-libp2p/core/host"
	"github.com/libp2p/go-libp2p/core/peer"
	"github.com/libp2p/go-libp2p/core/peerstore"
)

// Scorer is an application's store wrapper.
type Scorer interface {
	peerstore.Peerstore
	Score(p peer.ID) float64
}

// Score is exported: callers in other packages choose ps.
func Score(ps peerstore.Peerstore, p peer.ID) float64 {
	if s, ok := ps.(Scorer); ok {
		return s.Score(p)
	}
	return 0
}

type node struct {
	h  host.Host
	ps peerstore.Peerstore
}

func newNode(h host.Host) *node {
	return &node{h: h, ps: h.Peerstore()} // want `h.Peerstore\(\) is stored in a field of type peerstore.Peerstore: .*not rewritten: the type assertion to Scorer on line 23`
}

// rtt's store is held in a field, which Score may be given.
func (n *node) rtt(p peer.ID) time.Duration {
	return n.ps.LatencyEWMA(p) // want `Metrics.LatencyEWMA is going away: .*not rewritten: the type assertion to Scorer on line 23 of assertedunknown.go is on a store whose origin the analyzer cannot trace`
}

func (n *node) score(p peer.ID) float64 {
	return Score(n.ps, p)
}

// direct: the view serves this one call and goes nowhere else.
func direct(h host.Host, p peer.ID) time.Duration {
	return h.Peerstore().LatencyEWMA(p) // want `Metrics.LatencyEWMA is going away: .*fix: rewrite to peerstore.New\(h\)`
}

// local: the local is only ever a method receiver.
func local(h host.Host, p peer.ID) error {
	ps := h.Peerstore()
	ps.AddAddrs(p, nil, time.Minute)
	return ps.Put(p, "k", 1) // want `PeerMetadata.Put\("k"\) is going away: .*fix: rewrite to peerstore.New\(h\)`
}
