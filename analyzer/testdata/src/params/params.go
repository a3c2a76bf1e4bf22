// Package params calls the legacy surface on parameters: where every call
// of an unexported function in the package passes the host's store, the fix
// rewrites the call sites; otherwise the message names the parameter and
// why its value is unknown.
package params

import (
	"time"

	"github.com/libp2p/go-libp2p/core/host"
	"github.com/libp2p/go-libp2p/core/peer"
	"github.com/libp2p/go-libp2p/core/peerstore"
	"github.com/libp2p/go-libp2p/core/protocol"
)

// rtt is a helper both callers pass their host's store to.
func rtt(ps peerstore.Peerstore, p peer.ID) time.Duration {
	return ps.LatencyEWMA(p) // want `Metrics.LatencyEWMA is going away: .*fix: every call of rtt in the package passes the host's store`
}

func first(h host.Host, p peer.ID) time.Duration {
	return rtt(h.Peerstore(), p) // want `h.Peerstore\(\) is passed as an argument of type peerstore.Peerstore`
}

func second(h host.Host, p peer.ID) time.Duration {
	ps := h.Peerstore()
	return rtt(ps, p) // want `ps is passed as an argument of type peerstore.Peerstore`
}

type node struct {
	h host.Host
}

// supports is a method; its parameter is narrower than Peerstore.
func (n *node) supports(pb peerstore.ProtoBook, p peer.ID) bool {
	got, _ := pb.SupportsProtocols(p, "/x/1") // want `ProtoBook.SupportsProtocols is going away: .*fix: every call of supports in the package`
	return len(got) > 0
}

func (n *node) check(p peer.ID) bool {
	return n.supports(n.h.Peerstore(), p) // want `n.h.Peerstore\(\) is passed as an argument of type peerstore.ProtoBook`
}

// relay forwards its parameter to rtt's sibling: the trace goes through two
// calls.
func relay(ps peerstore.Peerstore, p peer.ID) time.Duration {
	return agentRTT(ps, p)
}

func agentRTT(ps peerstore.Peerstore, p peer.ID) time.Duration {
	ps.RecordLatency(p, time.Millisecond) // want `Metrics.RecordLatency is going away: .*fix: every call of agentRTT`
	return 0
}

func viaRelay(h host.Host, p peer.ID) time.Duration {
	return relay(h.Peerstore(), p) // want `h.Peerstore\(\) is passed as an argument of type peerstore.Peerstore`
}

// Exported: callers in other packages choose the value.
func Protocols(ps peerstore.Peerstore, p peer.ID) ([]protocol.ID, error) {
	return ps.GetProtocols(p) // want `ProtoBook.GetProtocols is going away: .*not rewritten: the receiver is parameter ps of exported Protocols, whose callers in other packages choose its value`
}

// mixed is called with the host's store and with another store.
func mixed(ps peerstore.Peerstore, p peer.ID) error {
	return ps.Put(p, "k", 1) // want `PeerMetadata.Put\("k"\) is going away: .*not rewritten: the receiver is parameter ps of mixed, and the call on line 71 of params.go passes parameter other of callsMixed, which is never called in the package`
}

func callsMixed(h host.Host, other peerstore.Peerstore, p peer.ID) {
	_ = mixed(h.Peerstore(), p) // want `h.Peerstore\(\) is passed as an argument of type peerstore.Peerstore`
	_ = mixed(other, p)
}

// asValue is also used as a function value: not every call is seen.
func asValue(ps peerstore.Peerstore, p peer.ID) error {
	return ps.AddProtocols(p, "/x/1") // want `ProtoBook.AddProtocols is going away: .*not rewritten: the receiver is parameter ps of asValue, which is used as a value, not only called`
}

func usesValue(h host.Host, p peer.ID) {
	f := asValue
	_ = f(h.Peerstore(), p) // want `h.Peerstore\(\) is passed as an argument of type peerstore.Peerstore`
}

// reassignedParam is written in its body: the argument is not all it holds.
func reassignedParam(ps peerstore.Peerstore, other peerstore.Peerstore, p peer.ID) {
	if other != nil {
		ps = other
	}
	_, _ = ps.GetProtocols(p) // want `ProtoBook.GetProtocols is going away: .*not rewritten: the receiver is parameter ps of reassignedParam, which is assigned in its body`
}

func callsReassigned(h host.Host, p peer.ID) {
	reassignedParam(h.Peerstore(), nil, p) // want `h.Peerstore\(\) is passed as an argument of type peerstore.Peerstore`
}

// dispatcher's method may be reached through the interface.
type dispatcher interface {
	rm(peerstore.ProtoBook, peer.ID)
}

type impl struct{}

func (impl) rm(pb peerstore.ProtoBook, p peer.ID) {
	_ = pb.RemoveProtocols(p, "/x/1") // want `ProtoBook.RemoveProtocols is going away: .*not rewritten: the receiver is parameter pb of impl.rm, which may be called from where the analyzer cannot see`
}

func dispatch(d dispatcher, h host.Host, p peer.ID) {
	d.rm(h.Peerstore(), p)      // want `h.Peerstore\(\) is passed as an argument of type peerstore.ProtoBook`
	impl{}.rm(h.Peerstore(), p) // want `h.Peerstore\(\) is passed as an argument of type peerstore.ProtoBook`
}

// key reads a private key through a parameter every caller fills with the
// host's store: compat's view answers what that store holds, as for a field.
func key(ps peerstore.Peerstore, p peer.ID) bool {
	return ps.PrivKey(p) != nil // want `KeyBook.PrivKey is going away: .*fix: every call of key in the package passes the host's store`
}

func callsKey(h host.Host) bool {
	return key(h.Peerstore(), h.ID()) // want `h.Peerstore\(\) is passed as an argument of type peerstore.Peerstore`
}

// addrsOnly uses what the new store keeps: nothing to report inside.
func addrsOnly(ps peerstore.Peerstore, p peer.ID) int {
	return len(ps.Addrs(p))
}

func callsAddrsOnly(h host.Host, p peer.ID) int {
	return addrsOnly(h.Peerstore(), p) // want `h.Peerstore\(\) is passed as an argument of type peerstore.Peerstore: .*; parameter ps of addrsOnly uses only Addrs, which the new store keeps, so its type, not its use, requires the legacy interface: narrowing that type \(to peerstore.AddrBook\) is the other way out; fix: pass peerstore.New\(h\)`
}
