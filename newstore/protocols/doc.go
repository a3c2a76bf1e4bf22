// Package protocols keeps the protocols each connection's peer advertised,
// as go-libp2p issue #2355 proposes: protocols belong to the connection, not
// to a peerstore.
//
// It learns them from identify: EvtPeerIdentificationCompleted gives a
// connection's full set, EvtPeerProtocolsUpdated (identify push) adds and
// removes protocols on every live connection of the peer. A connection's set
// is gone when the connection closes (network notifiee Disconnected).
//
// go-libp2p also emits EvtPeerIdentificationCompleted for every push, and
// handles pushes concurrently, so events of two pushes can arrive out of
// order. The updates carry additions and removals in the order identify
// applied them; a later identification event on a connection is believed
// except for protocols an update removed since (see Store.Identified).
//
//	s := protocols.New()
//	defer s.Close()
//	att, err := s.Attach(h.EventBus(), h.Network())
//	...
//	s.ConnProtocols(conn)              // what this connection's peer speaks
//	s.PeerProtocols(p)                 // union over p's live connections
//	s.FirstSupported(p, "/a", "/b")    // like Peerstore.FirstSupportedProtocol
//	s.PeersSupporting("/ipfs/kad/1.0.0")
//
// # Per peer
//
// A peer's set is the union over its live identified connections. When its
// last connection closes the union is kept for a grace period
// (DefaultGracePeriod, WithGracePeriod), so code that asks right after a
// disconnect, or between a disconnect and a redial, still gets an answer; the
// first connection identified afterwards replaces it.
//
// # Memory
//
// Protocol IDs are interned (package unique): every peer advertising
// "/ipfs/kad/1.0.0" shares one copy of the string, and sets are slices of
// 8-byte handles. A peer with a single connection shares that connection's
// set as its union. PeersSupporting reads an index of one slice of peers per
// protocol, kept in step on every change at O(1) per protocol.
//
// A connection keeps at most DefaultMaxProtocolsPerConn protocols (identify
// already truncates at the same number). Everything else is bounded by the
// live connections plus the peers that disconnected within the grace period,
// at most DefaultMaxRetainedPeers of them (WithMaxRetainedPeers): past it the
// longest-disconnected go first.
package protocols
