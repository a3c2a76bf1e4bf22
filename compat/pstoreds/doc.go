// Package pstoreds is a drop-in replacement for go-libp2p's deprecated
// p2p/host/peerstore/pstoreds: NewPeerstore(ctx, datastore, DefaultOpts())
// as before, and the store behaves as compat/pstoremem's does.
//
// The state no longer lives in the datastore entry by entry: it is held in
// memory (a newstore.AddrBook and the bounded side books) and saved into the
// datastore as a newstore snapshot, periodically and on Close, and restored
// on open. Only what the minimal store keeps is saved (addresses, public
// keys, certified records); protocols, metadata and latency are relearned
// from identify and ping after a restart, and private keys are never written.
//
// Opening a datastore that upstream pstoreds wrote migrates it once: its
// unexpired addresses, public keys, certified records, protocols and agent
// versions are imported, and the private keys it wrote in clear text are
// deleted. Entries that do not decode are counted, logged and skipped (see
// Peerstore.MigrationReport). Package legacy reads that layout on its own.
package pstoreds
