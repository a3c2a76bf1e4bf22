// Package peerdata is the per-peer data store proposed in go-libp2p issue
// #2355 (the "PeerDataStore" of the thread): values attached to a peer that
// live while the peer is connected and are dropped a chosen time after it
// disconnects.
//
// It replaces the legacy PeerMetadata (Peerstore.Get/Put), whose values lived
// as long as the peer's addresses did and were never bounded.
//
//	s := peerdata.New()
//	defer s.Close()
//	sub, err := s.Subscribe(h.EventBus()) // fed by EvtPeerConnectednessChanged
//	...
//	for _, p := range h.Network().Peers() {
//		s.Connected(p) // peers connected before the subscription
//	}
//	err = s.Put(p, scoreKey{}, 0.7, 10*time.Minute)
//	v, err := s.Get(p, scoreKey{})
//
// # Keys
//
// Keys compare like context.WithValue keys: with ==, so a key must be
// comparable, and an unexported key type keeps packages from colliding. A key
// that is nil or not comparable is an error (ErrInvalidKey), never a panic.
//
// # Lifetime
//
// Each value carries its own ttlAfterDisconnect. While the peer is connected
// (network.Connected or network.Limited) nothing expires. When it disconnects
// each value is dropped ttlAfterDisconnect later, at once for a TTL of 0. A
// peer that reconnects before then keeps its values, and their clocks start
// again at the next disconnect.
//
// A Put for a peer that is not connected is taken as if the peer had just
// disconnected: the value lives ttlAfterDisconnect from the Put, or for the
// whole next connection if the peer connects first. This keeps data put just
// before a dial, or just after a disconnect (late events), for the time the
// caller asked. A Put with a TTL of 0 for a peer that is not connected would
// be dropped at once, so it is an error (ErrNotConnected).
//
// # Bounds
//
// The store is bounded by default: at most DefaultMaxPeers peers hold data
// and at most DefaultMaxEntriesPerPeer values per peer (WithMaxPeers,
// WithMaxEntriesPerPeer change them). A Put past a cap is an error
// (ErrTooManyPeers, ErrTooManyEntries); replacing an existing value never is.
// Expired values are dropped on every access and by a sweep every
// DefaultSweepInterval (WithSweepInterval), so they neither answer Get nor
// count against the caps.
//
// Bounds are in bytes too. Each value is charged the size of its key and
// its own (a string or byte slice by its length, anything else by its
// type's size: memory a pointer leads to is the caller's to bound) plus
// EntryOverhead. A peer's values may take DefaultMaxBytesPerPeer
// (WithMaxBytesPerPeer); a Put past it is ErrTooManyBytes and changes
// nothing. The values of all disconnected peers together may take
// DefaultMaxRetainedBytes (WithMaxRetainedBytes): past it the peers
// disconnected longest lose their values first, counted by Dropped, so
// churning identities cannot grow the store within a TTL. Once the peers
// are gone the store gives its memory back (a map that emptied out is
// rebuilt by the sweep).
package peerdata
