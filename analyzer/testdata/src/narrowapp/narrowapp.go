// Package narrowapp passes its host's store to another package's
// parameters and fields of the full Peerstore type. Where that package
// uses them only for kept methods (its facts say so), the finding says
// that the type, not the use, needs the legacy interface; the finding and
// its fix stay, since the value must still satisfy the type.
package narrowapp

import (
	"github.com/libp2p/go-libp2p/core/host"
	"github.com/libp2p/go-libp2p/core/peer"

	"fixtures/src/narrowlib"
)

func dial(h host.Host, p peer.ID) int {
	n := len(narrowlib.Dial(h.Peerstore(), p))          // want `h.Peerstore\(\) is passed as an argument of type peerstore.Peerstore: the legacy-only Peerstore API it needs is going away from the host's store; parameter ps of narrowlib.Dial uses only Addrs, which the new store keeps, so its type, not its use, requires the legacy interface: narrowing that type \(to peerstore.AddrBook\) is the other way out; fix: pass peerstore.New\(h\)`
	n += narrowlib.Forward(p, h.Peerstore())            // want `h.Peerstore\(\) is passed .*; parameter ps of narrowlib.Forward uses only Addrs, which the new store keeps`
	n += len(narrowlib.Dialer{}.Book(h.Peerstore(), p)) // want `h.Peerstore\(\) is passed .*; parameter ps of narrowlib.Dialer.Book uses only Addrs, which the new store keeps`
	n += int(narrowlib.Latency(h.Peerstore(), p))       // want `h.Peerstore\(\) is passed as an argument of type peerstore.Peerstore: the legacy-only Peerstore API it needs is going away from the host's store; fix:`
	n += len(narrowlib.Narrow(h.Peerstore(), p))        // an AddrBook: not reported
	if narrowlib.Verify(h.Peerstore(), p) {             // want `h.Peerstore\(\) is passed as an argument of type peerstore.KeyBook: .*; parameter kb of narrowlib.Verify uses only PubKey, which the new store keeps, so its type, not its use, requires the legacy interface: narrowing that type \(to an interface of just PubKey\) is the other way out`
		n++
	}
	return n
}

func config(h host.Host) narrowlib.Config {
	return narrowlib.Config{
		Store:   h.Peerstore(), // want `h.Peerstore\(\) is stored in a field of type peerstore.Peerstore: .*; field Store of package fixtures/src/narrowlib uses only Addrs, which the new store keeps, so its type, not its use, requires the legacy interface`
		Metrics: h.Peerstore(), // want `h.Peerstore\(\) is stored in a field of type peerstore.Peerstore: the legacy-only Peerstore API it needs is going away from the host's store; fix:`
	}
}

func assign(h host.Host, c *narrowlib.Config) {
	c.Store = h.Peerstore() // want `h.Peerstore\(\) is assigned to a variable or field of type peerstore.Peerstore: .*; field Store of package fixtures/src/narrowlib uses only Addrs, which the new store keeps`
}
