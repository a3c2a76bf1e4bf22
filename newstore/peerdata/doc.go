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
// count against the caps. A store whose values live for a grace period after
// a disconnect sweeps every half grace period instead when that is shorter
// (WithSweepIntervalFor), so they are gone by grace + grace/2 at the latest.
//
// Bounds are in bytes too. Each value is charged the size of its key and
// its own (a string or byte slice by its length, a Sizer by what it says,
// anything else by its type's size: memory a pointer leads to is the
// caller's to bound) plus
// EntryOverhead. A peer's values may take DefaultMaxBytesPerPeer
// (WithMaxBytesPerPeer); a Put past it is ErrTooManyBytes and changes
// nothing. The values of all disconnected peers together may take
// DefaultMaxRetainedBytes (WithMaxRetainedBytes): past it the peers
// disconnected longest lose their values first, counted by Dropped, so
// churning identities cannot grow the store within a TTL. Once the peers
// are gone the store gives its memory back (a map that emptied out is
// rebuilt by the sweep). What refuses or drops a value is counted in the
// metrics too (WithMetricsTracer).
//
// # Persistence (opt-in)
//
// Values are in memory only unless their key opts in with Persist, giving a
// stable name and a Codec:
//
//	err := s.Persist(scoreKey{}, "gossipsub-score", scoreCodec)
//	p := newstore.NewPersister(newstore.Stores{Book: ab, Data: []newstore.PeerDataSnapshotter{s}}, sink)
//	err = p.Load(ctx) // at start, before Subscribe's first events matter
//
// The Persister that saves the address book then saves these values in the
// same snapshot (a file or a go-datastore, crash-safe as the book is), and
// restores them at start with what was left of their ttlAfterDisconnect
// counted from the restore, as if their peers had just disconnected (the
// whole TTL for a peer connected when the snapshot was taken), through Put,
// so the bounds above apply to restored values too. Keys that did
// not opt in are never written. A snapshot holds at most
// DefaultPersistBudget bytes of encoded values (WithPersistBudget); what a
// codec cannot encode or decode, a value over the budget, a name no key
// persists are reported (WithPersistErrorHandler, or the log) and counted
// (WithMetricsTracer), never fatal and never a panic, a codec's own panic
// included.
//
// Private keys are never persisted: a Put of a crypto.PrivKey under a
// persisted key is refused with ErrPrivateKey, and a value whose encoding is
// a marshalled libp2p private key or a PEM private key is left out of the
// snapshot and reported. Persist what the node learned about a peer
// (scores, counters, timestamps), never a secret.
package peerdata
