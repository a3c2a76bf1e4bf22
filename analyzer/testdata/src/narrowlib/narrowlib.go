// Package narrowlib declares parameters and fields of the full Peerstore
// type that it uses only for what the new store keeps. The facts the
// analyzer exports for them let findings in other packages say that the
// type, not the use, asks for the legacy interface.
package narrowlib

import (
	"time"

	"github.com/libp2p/go-libp2p/core/peer"
	"github.com/libp2p/go-libp2p/core/peerstore"
	ma "github.com/multiformats/go-multiaddr"
)

// Dial uses only the address book.
func Dial(ps peerstore.Peerstore, p peer.ID) []ma.Multiaddr { // want Dial:`keptOnlyParams\(0: Addrs\)`
	return ps.Addrs(p)
}

// Forward hands its store on to Dial, so uses it only as Dial does.
func Forward(p peer.ID, ps peerstore.Peerstore) int { // want Forward:`keptOnlyParams\(1: Addrs\)`
	return len(Dial(ps, p))
}

// Latency needs the legacy surface: no fact.
func Latency(ps peerstore.Peerstore, p peer.ID) time.Duration {
	return ps.LatencyEWMA(p) // want `Metrics.LatencyEWMA is going away: .*not rewritten: the receiver is parameter ps of exported Latency`
}

// Check asserts the store back to the full interface: no fact.
func Check(ps peerstore.AddrBook) bool {
	_, ok := ps.(peerstore.Peerstore)
	return ok
}

// Config is filled by its callers.
type Config struct {
	Store   peerstore.Peerstore // want Store:`keptOnlyField\(Addrs\)`
	Metrics peerstore.Peerstore
	private peerstore.Peerstore
}

// Addrs uses Store for addresses only (a comparison with nil uses no
// method).
func (c Config) Addrs(p peer.ID) []ma.Multiaddr {
	if c.Store == nil {
		return nil
	}
	return c.Store.Addrs(p)
}

// RTT uses Metrics for latency.
func (c Config) RTT(p peer.ID) time.Duration {
	return c.Metrics.LatencyEWMA(p) // want `Metrics.LatencyEWMA is going away: .*not rewritten: the receiver is c.Metrics, field Metrics of Config`
}

// Dialer has a method whose parameter is used for addresses only.
type Dialer struct{}

// Book uses only the address book.
func (Dialer) Book(ps peerstore.Peerstore, p peer.ID) []ma.Multiaddr { // want Book:`keptOnlyParams\(0: Addrs\)`
	return ps.Addrs(p)
}

// Narrow already asks only for what it uses.
func Narrow(ab peerstore.AddrBook, p peer.ID) []ma.Multiaddr { // want Narrow:`keptOnlyParams\(0: Addrs\)`
	return ab.Addrs(p)
}

// Verify uses only the public key: no kept interface of core/peerstore
// holds just that, so the advice names an interface of that method.
func Verify(kb peerstore.KeyBook, p peer.ID) bool { // want Verify:`keptOnlyParams\(0: PubKey\)`
	return kb != nil && kb.PubKey(p) != nil
}
