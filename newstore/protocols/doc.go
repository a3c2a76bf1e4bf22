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
// first connection identified afterwards replaces it. The sweeper frees it
// at its first run past the grace period; it runs every DefaultSweepInterval
// or every half grace period, whichever is shorter (as go-libp2p's
// pstoremanager), so the set is in memory for grace + grace/2 at the latest.
//
// # Cost and bounds
//
// Every event costs time linear in what it carries, never in a union or an
// index: each peer keeps, per protocol, how many of its live connections
// advertise it, so a connection that changes or closes changes the union by
// its own difference. Sets of more than a few dozen protocols are looked up
// through a map, so a thousand-protocol push costs a thousand steps. An
// identification whose list is the same as the last one, entry by entry (as
// peers running the same software send it), takes its interned entries
// without looking each protocol up.
//
// Bounds are in bytes as well as entries, each protocol entry charged its
// length plus EntryOverhead:
//   - a connection keeps at most DefaultMaxProtocolsPerConn (128) protocols:
//     upstream pstoremem refuses a peer with more than 128 outright, so no
//     peer that works with upstream today advertises more (honest ones
//     advertise tens); what is over is cut before anything is looked up,
//     interned or allocated for it, and only counted;
//   - a peer's live connections share DefaultMaxBytesPerPeer;
//   - a disconnected peer keeps its set for the grace period cut to
//     DefaultMaxRetainedBytesPerPeer;
//   - all retained peers together stay within DefaultMaxRetainedBytes and
//     DefaultMaxRetainedPeers, the longest-disconnected dropped first.
//
// The defaults sit far above any honest peer (tens of protocols, under
// 2 KiB) and far below what a hostile one would cost unbounded. What is over
// a bound is left out and counted (Store.Dropped); the rest of the event
// still applies.
//
// # Memory
//
// Protocol IDs are interned in the store's own table: every peer advertising
// "/ipfs/kad/1.0.0" shares one copy of the string, sets are slices of 8-byte
// handles, a peer with a single connection shares that connection's set as
// its union, and peers whose first connection sends the list the peer before
// sent (same software, same list) share one slice, copied only for a peer
// whose set then changes. PeersSupporting reads an index of the peers per
// protocol, kept in step at O(1) per change; it grows by chunks, so a
// protocol every peer speaks never copies its list. The index is built by
// the first PeersSupporting, in one pass over the peers that holds the lock
// for a batch of them at a time (events go on in between), and kept from
// then on: until then no event pays for it (about a fifth of an
// identification's time and of a connected peer's memory), and a store
// nobody asks, such as compat/peerstore's (the legacy Peerstore has no such
// question), never builds it.
//
// Memory comes back: an interned string leaves the table the moment no set
// holds it, a set or index slice that lost most of its entries is copied to a
// smaller one, and the sweeper rebuilds a map that holds a quarter of what
// it once did (Go maps never shrink) and lets go of the spare entries kept
// between events for protocols no set took. After any churn, once the peers are
// gone and their grace period has passed, the heap is back where it was.
package protocols
