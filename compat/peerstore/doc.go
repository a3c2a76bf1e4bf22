// Package peerstore gives legacy code the full go-libp2p
// core/peerstore.Peerstore of a host that no longer keeps one, as go-libp2p
// issue #2355 proposes (`peerstore.New(host.Host) -> peerstore`).
//
//	ps := peerstore.New(h) // instead of h.Peerstore()
//	rt, err := kbucket.NewRoutingTable(20, kbucket.ConvertPeerID(h.ID()), time.Minute, ps, time.Hour, nil)
//
// New returns the core interface type, so replacing h.Peerstore() with
// peerstore.New(h) never changes an expression's type; this is the rewrite
// `pstoremigrate fix` makes.
//
// # Where each answer comes from
//
// Addresses, public keys and certified records are h.Peerstore()'s: the new
// minimal store keeps them. Everything else is learned by a state shared by
// every view of the host:
//
//   - protocols, per connection, from identify (EvtPeerIdentificationCompleted,
//     EvtPeerProtocolsUpdated), see newstore/protocols;
//   - "AgentVersion" and "ProtocolVersion" from EvtPeerIdentificationCompleted,
//     and any value Put through a view, see newstore/peerdata;
//   - latency from RecordLatency through a view, else from the connection
//     where go-libp2p exposes one (QUIC's smoothed RTT);
//   - private keys of other peers added through a view, held in memory only
//     and never written to h.Peerstore(), which may persist them (upstream
//     pstoreds wrote them in clear text). PrivKey(h.ID()) is the host's own
//     key, read from h.Peerstore().
//
// What the state learned about a peer is dropped the grace period
// (DefaultGracePeriod, the same as go-libp2p's pstoremanager; WithGracePeriod)
// after the peer's last connection closed.
//
// The state is bounded by newstore's defaults: metadata for at most
// peerdata.DefaultMaxPeers peers and peerdata.DefaultMaxEntriesPerPeer keys
// each (a Put past them is an error), at most MaxProtocols protocols per set
// (ErrTooManyProtocols), and protocols of at most
// protocols.DefaultMaxRetainedPeers disconnected peers.
//
// # Mixed migration
//
// While the host still has a full legacy peerstore, migrated code (a view)
// and unmigrated code (h.Peerstore()) see one picture. Writes through a view
// go to h.Peerstore(), and to the state only when h.Peerstore() does not
// keep them: a second copy would survive a RemovePeer made on h.Peerstore()
// directly. Reads ask h.Peerstore() first and use the state when it has
// nothing: the legacy store then holds every write from both sides
// (identify writes there too), so a value Put through h.Peerstore() is seen
// through a view even when the view had its own, and a view created long
// after the peers were identified answers from it. On a host whose store
// keeps nothing of this, writes go to the state and every read falls
// through to it. One corner follows: when the legacy store is emptied for a
// peer still connected (RemoveProtocols of every protocol, or RemovePeer,
// through h.Peerstore()), a view answers what identify told it on the
// peer's live connections.
//
// # One state per host, and when to attach it
//
// All views of a host share one state, created by the first New for that
// host: a value Put through one view is Get through another. The state is
// keyed by h.Network(), so a routed host and the basic host it wraps share it.
// It lives until the host closes: go-libp2p's swarm exposes Done(), and the
// state stops its goroutines and subscriptions then. On a host whose network
// has no Done (a mock network), call Release(h) when done with it.
// Options given to New apply only when it creates the state.
//
// On a host whose store keeps nothing extra, create the first view right
// after building the host, before it connects, so that every identify event
// is seen. A state created later learns the peers already connected by
// identifying their connections again: for each live connection whose peer
// h.Peerstore() knows no protocols of, it runs the identify request protocol
// (/ipfs/id/1.0.0) on that connection in the background and records the
// answer (protocols, agent and protocol version) as an identify event would;
// the host's own identify service is not involved and emits nothing.
//
// # Timing
//
// Events are handled on the state's goroutine. So that legacy code that
// asks right after h.Connect (which waits for identify) gets its answer, a
// read that finds no protocols or agent for a peer with a connection whose
// identify has finished, but that the state has not seen, first waits for the
// state to handle the events already emitted. One case stays out of reach: a
// handler of EvtPeerIdentificationCompleted asking a view about that very
// event's peer may run before the state received the event (the bus hands an
// event to its subscribers one after the other); such code should read the
// event's own fields, which is what the new API wants anyway.
package peerstore
