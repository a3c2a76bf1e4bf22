package obtained

import (
	"github.com/libp2p/go-libp2p/core/host"
	"github.com/libp2p/go-libp2p/core/peer"
	"github.com/libp2p/go-libp2p/core/peerstore"
	"github.com/libp2p/go-libp2p/core/protocol"
)

// tracked's field only ever holds the host's store: the fix where it is
// stored also settles the calls through it.
type tracked struct {
	h  host.Host
	ps peerstore.Peerstore
}

func newTracked(h host.Host) *tracked {
	return &tracked{h: h, ps: h.Peerstore()} // want `h.Peerstore\(\) is stored in a field of type peerstore.Peerstore`
}

func (t *tracked) reset() {
	t.ps = t.h.Peerstore() // want `t.h.Peerstore\(\) is assigned to a variable or field of type peerstore.Peerstore`
}

func (t *tracked) protos(p peer.ID) ([]protocol.ID, error) {
	return t.ps.GetProtocols(p) // want `ProtoBook.GetProtocols is going away: .*fix: where the field it is called on is filled, rewrite h.Peerstore\(\) to peerstore.New\(h\)`
}

// escaping's field has its address taken: anything may be stored in it.
type escaping struct {
	ps peerstore.Peerstore
}

func newEscaping(h host.Host) *escaping {
	e := &escaping{ps: h.Peerstore()} // want `h.Peerstore\(\) is stored in a field of type peerstore.Peerstore`
	fill(&e.ps)
	return e
}

func fill(*peerstore.Peerstore) {}

func (e *escaping) protos(p peer.ID) ([]protocol.ID, error) {
	return e.ps.GetProtocols(p) // want `ProtoBook.GetProtocols is going away: .*not rewritten: the receiver is e.ps, field ps of escaping \(declared at fields.go:31\), which is filled with other values than h.Peerstore\(\) of a host.Host or peerstore.New\(h\), or whose address is taken`
}

// twice is filled twice from one local: the fix rewrites that local once.
type twice struct {
	a, b peerstore.Metrics
}

func newTwice(h host.Host) twice {
	ps := h.Peerstore()
	t := twice{a: ps} // want `ps is stored in a field of type peerstore.Metrics`
	t.b = ps          // want `ps is assigned to a variable or field of type peerstore.Metrics`
	t.a = ps          // want `ps is assigned to a variable or field of type peerstore.Metrics`
	return t
}

func (t twice) rtt(p peer.ID) bool {
	return t.a.LatencyEWMA(p) > t.b.LatencyEWMA(p) // want `Metrics.LatencyEWMA is going away: .*fix: where the field` `Metrics.LatencyEWMA is going away: .*fix: where the field`
}
