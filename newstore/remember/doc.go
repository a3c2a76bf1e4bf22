// Package remember lets a go-libp2p host rejoin the network after a
// restart without its bootstrap peers, by remembering a few good peers.
//
// Users of the datastore-backed peerstore (pstoreds) relied on it for this
// (go-libp2p issue #2355): a node that restarts dials the peers it knew. Keeping the whole peerstore in a database for that is not needed;
// Kubo saves a handful of connected peers periodically and on shutdown,
// and so does this package, for any host:
//
//	r, err := remember.Attach(h, remember.WithFile(filepath.Join(dir, "peers")))
//	...
//	defer r.Close() // saves; close it before h
//
// Attach loads the saved peers, dials them in the background, at most
// WithDialConcurrency at once and within WithDialTimeout (a peer not
// reached by then is not dialed), and reports how many answered
// (Rememberer.Rejoined, and the log). With
// WithBootstrapPeers and DialIfBootstrapFails the remembered peers are
// only a fallback for bootstrap peers that do not answer; with DialAlways
// (the default) they are dialed at every start. A missing, corrupt or
// foreign saved state never stops the host: it starts without remembered
// peers and says why in its log and in RejoinResult.LoadErr.
//
// # Which peers are remembered
//
// Up to WithMaxPeers peers (20, as Kubo) out of every peer the host was
// connected to during this run or that the saved state held. The aim is
// peers that are likely to be up and reachable at the next start, and
// hard to poison:
//
//   - A peer scores the time we spent connected to it, halved for every
//     WithHalfLife (an hour) since we last saw it; a peer connected now
//     is not discounted. Peers that stay up for long and that we saw
//     recently are the ones most likely to answer, and a burst of brief
//     connections does not push them out.
//   - A certified (signed) peer record doubles the score: its addresses
//     are signed by the peer, so no third party can have planted them.
//     Records come from identify (EvtPeerIdentificationCompleted: in
//     go-libp2p v0.51 identify does not store them in the peerstore) or
//     from the host's peerstore when it is a CertifiedAddrBook holding
//     one. The record is saved with the peer, its addresses are not
//     repeated beside it, and on load it is kept only if it is signed by
//     the peer's own key.
//   - Relay addresses (/p2p-circuit) are not remembered and a peer known
//     only by them is skipped: they depend on a relay that may be gone,
//     and a good relay is remembered on its own. Our own ID is skipped.
//   - The saved state keeps each address's last-seen time (as
//     Expires-TTL, with TTL peerstore.RecentlyConnectedAddrTTL) but not
//     the connected time, so a peer loaded from it starts with one
//     half-life of credit: it stays ahead of peers seen only briefly in
//     the new run, and falls behind those this run knows to be good.
//
// Addresses come from the host's peerstore and the saved state, without
// their /p2p suffix, at most 16 per peer. Public keys are not saved: the
// handshake carries them. Ties go to the peer seen more recently, then to
// a certified one, then to the lower peer ID.
//
// The state is a newstore snapshot (versioned and checksummed) written by a
// newstore.Persister to a file (WithFile: temporary file, fsync, rename)
// or into a go-datastore (WithDatastore).
package remember
