// Package pstoreds is a drop-in replacement for go-libp2p's deprecated
// p2p/host/peerstore/pstoreds: NewPeerstore(ctx, datastore, DefaultOpts())
// as before, and the store behaves as compat/pstoremem's does. The separate
// books are here too, with upstream's signatures: NewAddrBook, NewKeyBook,
// NewPeerMetadata and NewProtoBook (with WithMaxProtocols), to use alone or
// to assemble into a peerstore as upstream's NewPeerstore does.
//
// The state no longer lives in the datastore entry by entry: it is held in
// memory (a newstore.AddrBook and the bounded side books) and saved into the
// datastore as a newstore snapshot, periodically and on Close, and restored
// on open. Only what the minimal store keeps is saved (addresses, public
// keys, certified records); protocols, metadata and latency are relearned
// from identify and ping after a restart, and private keys are never written.
//
// # One state per datastore
//
// Everything opened on one datastore shares one state and one snapshot: a
// Peerstore, an AddrBook, a KeyBook and a PeerMetadata opened on the same
// datastore value are views of the same books, so an address added through
// the AddrBook is in the Peerstore at once, and no view's save overwrites
// what another holds (separate snapshots under one key would). The state is
// opened by the first view (restore, legacy migration) and counted: each
// view's Close releases it, and the last one saves it and stops its
// background work. Upstream's key and metadata books have no Close; ours
// have one, and one dropped without it is released when the garbage
// collector finds it unreachable. The state's settings (Clock,
// MaxAddrsPerPeer, PersistInterval, and MaxProtocols for a Peerstore) are
// those of the first view; a later AddrBook or Peerstore asking for others
// is refused with an error rather than silently given them.
//
// Datastores are told apart by the value passed in (compared with ==): two
// distinct wrappers over one underlying store, each with the same key
// space, are two states that would save over each other; pass the same
// value to every book. A ProtoBook keeps its protocols itself, in memory,
// not in the metadata book as upstream's did, so two ProtoBooks are two
// sets; built on one of our PeerMetadata, it starts with what the
// datastore's state holds.
//
// Opening a datastore that upstream pstoreds wrote migrates it once: its
// unexpired addresses, public keys, certified records, protocols and agent
// versions are imported, and the private keys it wrote in clear text are
// deleted. Entries that do not decode are counted, logged and skipped (see
// Peerstore.MigrationReport). Package legacy reads that layout on its own.
package pstoreds
