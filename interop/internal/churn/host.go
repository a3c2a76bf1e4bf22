package churn

import (
	"sync"
	"sync/atomic"

	"github.com/libp2p/go-libp2p/core/event"
	"github.com/libp2p/go-libp2p/core/host"
	"github.com/libp2p/go-libp2p/core/network"
	"github.com/libp2p/go-libp2p/core/peer"
	"github.com/libp2p/go-libp2p/core/peerstore"
)

// benchHost is what the stores see of a host: its event bus, its network's
// connections and notifiees, and an (empty) store of its own. The rest of
// host.Host is not used by either world; calling it panics.
type benchHost struct {
	host.Host
	id  peer.ID
	bus event.Bus
	ps  peerstore.Peerstore
	net *benchNet
}

func (h *benchHost) ID() peer.ID                    { return h.id }
func (h *benchHost) EventBus() event.Bus            { return h.bus }
func (h *benchHost) Network() network.Network       { return h.net }
func (h *benchHost) Peerstore() peerstore.Peerstore { return h.ps }

// benchNet tracks the driver's connections, one per peer, and tells the
// notifiees of closed ones as go-libp2p's swarm does.
type benchNet struct {
	network.Network
	mu        sync.Mutex
	conns     map[peer.ID]*benchConn
	notifiees []network.Notifiee
}

func newBenchNet() *benchNet { return &benchNet{conns: make(map[peer.ID]*benchConn)} }

func (n *benchNet) Notify(f network.Notifiee) {
	n.mu.Lock()
	n.notifiees = append(n.notifiees, f)
	n.mu.Unlock()
}

func (n *benchNet) StopNotify(f network.Notifiee) {
	n.mu.Lock()
	defer n.mu.Unlock()
	for i, g := range n.notifiees {
		if g == f {
			n.notifiees = append(n.notifiees[:i], n.notifiees[i+1:]...)
			return
		}
	}
}

func (n *benchNet) Peers() []peer.ID {
	n.mu.Lock()
	defer n.mu.Unlock()
	out := make([]peer.ID, 0, len(n.conns))
	for p := range n.conns {
		out = append(out, p)
	}
	return out
}

func (n *benchNet) Conns() []network.Conn {
	n.mu.Lock()
	defer n.mu.Unlock()
	out := make([]network.Conn, 0, len(n.conns))
	for _, c := range n.conns {
		out = append(out, c)
	}
	return out
}

func (n *benchNet) ConnsToPeer(p peer.ID) []network.Conn {
	n.mu.Lock()
	defer n.mu.Unlock()
	if c := n.conns[p]; c != nil {
		return []network.Conn{c}
	}
	return nil
}

func (n *benchNet) Connectedness(p peer.ID) network.Connectedness {
	n.mu.Lock()
	defer n.mu.Unlock()
	if n.conns[p] != nil {
		return network.Connected
	}
	return network.NotConnected
}

func (n *benchNet) open(c *benchConn) {
	n.mu.Lock()
	n.conns[c.peer] = c
	n.mu.Unlock()
}

// close closes c and tells the notifiees, before the connectedness event,
// as the swarm does.
func (n *benchNet) close(c *benchConn) {
	c.closed.Store(true)
	n.mu.Lock()
	delete(n.conns, c.peer)
	notifiees := append([]network.Notifiee(nil), n.notifiees...)
	n.mu.Unlock()
	for _, f := range notifiees {
		f.Disconnected(n, c)
	}
}

// benchConn stands for one of the swarm's connections.
type benchConn struct {
	network.Conn
	peer   peer.ID
	closed atomic.Bool
}

func (c *benchConn) RemotePeer() peer.ID { return c.peer }
func (c *benchConn) IsClosed() bool      { return c.closed.Load() }
