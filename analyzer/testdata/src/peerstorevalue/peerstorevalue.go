// Package peerstorevalue hands the host's peerstore to code that needs the
// legacy interfaces, and to code that needs only what the new store keeps.
package peerstorevalue

import (
	"time"

	"github.com/libp2p/go-libp2p-kbucket"
	"github.com/libp2p/go-libp2p/core/host"
	"github.com/libp2p/go-libp2p/core/peer"
	"github.com/libp2p/go-libp2p/core/peerstore"
	ma "github.com/multiformats/go-multiaddr"
)

// tracker stores the full legacy interface.
type tracker struct {
	ps    peerstore.Peerstore
	books []peerstore.ProtoBook
}

// embedded embeds the legacy interface: positional literals store into it.
type embedded struct {
	peerstore.Peerstore
}

// latencies embeds Metrics, so it needs the legacy-only surface too.
type latencies interface {
	peerstore.Metrics
	peerstore.AddrBook
}

// rtts redeclares a Metrics method with the same signature.
type rtts interface {
	LatencyEWMA(peer.ID) time.Duration
}

// addrs needs only what the new store keeps.
type addrs interface {
	Addrs(peer.ID) []ma.Multiaddr
}

func useProtos(peerstore.ProtoBook)    {}
func useMetrics(...peerstore.Metrics)  {}
func useRTTs(rtts)                     {}
func useAddrs(addrs)                   {}
func useAddrBook(peerstore.AddrBook)   {}
func useKeys(peerstore.KeyBook)        {}
func useAnything(any)                  {}
func useLatencies(latencies) time.Time { return time.Time{} }

func routingTable(h host.Host) (*kbucket.RoutingTable, error) {
	return kbucket.NewRoutingTable(20, kbucket.ConvertPeerID(h.ID()), time.Minute,
		h.Peerstore(), time.Hour, nil) // want `h.Peerstore\(\) is passed as an argument of type peerstore.Metrics: the legacy-only Peerstore API it needs is going away.*pass peerstore.New\(h\)`
}

func newTracker(h host.Host) *tracker {
	t := &tracker{ps: h.Peerstore()}               // want `h.Peerstore\(\) is stored in a field of type peerstore.Peerstore`
	t.books = []peerstore.ProtoBook{h.Peerstore()} // want `h.Peerstore\(\) is stored in a slice of type peerstore.ProtoBook`
	t.ps = h.Peerstore()                           // want `h.Peerstore\(\) is assigned to a variable or field of type peerstore.Peerstore`
	return t
}

func wrap(h host.Host) embedded {
	return embedded{h.Peerstore()} // want `stored in a field of type peerstore.Peerstore`
}

func store(h host.Host) peerstore.Peerstore {
	var ps peerstore.Peerstore = h.Peerstore() // want `declared as a variable of type peerstore.Peerstore`
	_ = ps
	return h.Peerstore() // want `returned as a result of type peerstore.Peerstore`
}

func pass(h host.Host, out chan<- peerstore.Metrics) {
	useProtos(h.Peerstore())                   // want `passed as an argument of type peerstore.ProtoBook`
	useMetrics(h.Peerstore(), (h.Peerstore())) // want `passed as an argument of type peerstore.Metrics` `passed as an argument of type peerstore.Metrics`
	useRTTs(h.Peerstore())                     // want `passed as an argument of type rtts`
	useKeys(h.Peerstore())                     // want `passed as an argument of type peerstore.KeyBook`
	useProtos(h.Network().Peerstore())         // want `h.Network\(\).Peerstore\(\) is passed as an argument of type peerstore.ProtoBook: .*fix: pass peerstore.New\(h\) of compat/peerstore instead`
	_ = map[string]peerstore.PeerMetadata{
		"host": h.Peerstore(), // want `stored in a map of type peerstore.PeerMetadata`
	}
	_ = peerstore.Metrics(h.Peerstore()) // want `converted to a value of type peerstore.Metrics`
	out <- h.Peerstore()                 // want `sent on a channel of type peerstore.Metrics`
	go func() peerstore.Metrics {
		return h.Peerstore() // want `returned as a result of type peerstore.Metrics`
	}()
}

// viaLocal passes a local holding the host's store: the fix goes to the
// declaration, the finding to each legacy use.
func viaLocal(h host.Host) time.Time {
	ps := h.Peerstore()
	useAddrs(ps)
	return useLatencies(ps) // want `ps is passed as an argument of type latencies`
}

// Only what the new store keeps: no finding.
func kept(h host.Host) {
	useAddrs(h.Peerstore())
	useAddrBook(h.Peerstore())
	useAnything(h.Peerstore())
	var ab peerstore.AddrBook = h.Peerstore()
	_ = ab
	ps := h.Peerstore()
	useAddrBook(ps)
	if cab, ok := peerstore.GetCertifiedAddrBook(h.Peerstore()); ok {
		_ = cab.GetPeerRecord(h.ID())
	}
}

// wrapper is a host that forwards to another: its Peerstore method returns
// the wrapped host's store, which is the host.Host contract, not a use.
type wrapper struct {
	host.Host
}

func (w *wrapper) Peerstore() peerstore.Peerstore { return w.Host.Peerstore() }
