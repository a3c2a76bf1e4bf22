// Package newstore is the minimal peer store proposed in go-libp2p issue
// #2355: an address book that keeps only what is needed to dial a peer
// (addresses with TTLs, public keys, certified peer records in serialized
// form), bounded by default, and snapshots of it that replace the
// datastore-backed peerstore.
//
// # The address book
//
// AddrBook implements core/peerstore.AddrBook and CertifiedAddrBook with
// upstream pstoremem's semantics (upstream's own TestAddrBook suite passes
// against it) plus public keys, and nothing else: no private keys, protocols,
// metadata or latency. Bounds are on by default, with upstream's values:
// 64 unconnected addresses per peer, 1,000,000 in total, 100,000 signed
// records (WithMaxAddrsPerPeer, WithMaxUnconnectedAddrs, WithMaxSignedRecords).
//
// # TTLs that count from disconnect
//
// AddrBook.AddAddrsAfterDisconnect adds addresses that live while their peer
// is connected and for a TTL after its last connection closes, the
// semantics upstream's AddAddrs callers usually mean (go-libp2p#3218).
// AddrBook.Attach feeds the book the host's connectedness. The upstream
// methods are unchanged.
//
// # Snapshots
//
// AddrBook.Snapshot streams the book to an io.Writer in a versioned,
// checksummed format (see snapshot.go), never with a private key;
// AddrBook.Restore reads one back, validating all of it before changing
// anything. A Persister saves snapshots periodically and on Close, to a file
// (NewFileSink: temp file, fsync, rename) or into any go-datastore
// (NewDatastoreSink: chunks first, commit point last), and a crash mid-save
// leaves the previous snapshot loadable.
//
// # Elsewhere
//
// What the legacy Peerstore also kept lives in its own packages: per-peer
// data that is dropped after disconnect in newstore/peerdata, the protocols
// a connection's peer advertised in newstore/protocols, and the peers to
// remember across restarts in newstore/remember.
package newstore
