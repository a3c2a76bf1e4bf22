// Package obtained reaches the legacy surface through values obtained in
// every way but h.Peerstore() directly: those have no automatic fix unless
// they trace back to it through local variables.
package obtained

import (
	"github.com/libp2p/go-libp2p/core/host"
	"github.com/libp2p/go-libp2p/core/peer"
	"github.com/libp2p/go-libp2p/core/peerstore"
	"github.com/libp2p/go-libp2p/core/protocol"
)

type service struct {
	ps peerstore.Peerstore
}

// book embeds a legacy interface in a struct.
type book struct {
	peerstore.ProtoBook
}

// store embeds a legacy interface in an interface.
type store interface {
	peerstore.PeerMetadata
	Name() string
}

func param(ps peerstore.Peerstore, p peer.ID) ([]protocol.ID, error) {
	return ps.GetProtocols(p) // want `ProtoBook.GetProtocols is going away: .*not rewritten: the receiver is parameter ps of param, which is never called in the package`
}

func (s *service) field(p peer.ID) error {
	return s.ps.AddProtocols(p, "/x/1") // want `ProtoBook.AddProtocols is going away: .*not rewritten: the receiver is s.ps, field ps of service \(declared at obtained.go:14\), which is filled with other values`
}

func embeddedInStruct(b book, p peer.ID) error {
	return b.SetProtocols(p, "/x/1") // want `ProtoBook.SetProtocols is going away: .*not rewritten: the method is promoted from an embedded peerstore`
}

func embeddedInInterface(s store, p peer.ID) (any, error) {
	return s.Get(p, "k") // want `PeerMetadata.Get\("k"\) is going away: .*not rewritten`
}

func generic[T peerstore.Metrics](m T, p peer.ID) {
	_ = m.LatencyEWMA(p) // want `Metrics.LatencyEWMA is going away: .*not rewritten`
}

func methodValue(ps peerstore.Peerstore) func(peer.ID) ([]protocol.ID, error) {
	return ps.GetProtocols // want `ProtoBook.GetProtocols is going away: .*not rewritten`
}

func methodExpr() func(peerstore.ProtoBook, peer.ID) ([]protocol.ID, error) {
	return peerstore.ProtoBook.GetProtocols // want `ProtoBook.GetProtocols is going away: .*not rewritten: a method expression has no receiver`
}

func reassigned(h host.Host, other peerstore.Peerstore, p peer.ID) {
	ps := h.Peerstore()
	if other != nil {
		ps = other
	}
	_ = ps.Put(p, "k", 1) // want `PeerMetadata.Put\("k"\) is going away: .*not rewritten: the receiver is ps, not h.Peerstore\(\) of a host.Host`
}

func addressTaken(h host.Host, p peer.ID) {
	ps := h.Peerstore()
	replace(&ps)
	ps.RecordLatency(p, 0) // want `Metrics.RecordLatency is going away: .*not rewritten`
}

func replace(*peerstore.Peerstore) {}

// throughLocals traces b to a to h.Peerstore(): the fix goes to a's
// declaration, once, however many uses report it.
func throughLocals(h host.Host, p peer.ID) {
	a := h.Peerstore()
	b := a
	var c = b
	_, _ = b.GetProtocols(p) // want `ProtoBook.GetProtocols is going away: .*rewrite to peerstore.New\(h\)`
	_ = c.LatencyEWMA(p)     // want `Metrics.LatencyEWMA is going away: .*rewrite to peerstore.New\(h\)`
}

// closure: a local declared once and read in a closure still traces.
func closure(h host.Host, p peer.ID) func() error {
	ps := h.Peerstore()
	return func() error {
		return ps.AddProtocols(p, "/x/1") // want `ProtoBook.AddProtocols is going away: .*rewrite`
	}
}
