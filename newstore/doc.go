// Package newstore is the minimal peer store proposed in go-libp2p issue
// #2355: an address book that keeps only what is needed to dial a peer
// (addresses with TTLs, public keys, certified peer records in serialized
// form), bounded by default, and snapshots of it that replace the
// datastore-backed peerstore.
//
// Everything the legacy Peerstore also kept lives elsewhere: per-peer data
// that is garbage-collected after disconnect in newstore/peerdata, the
// protocols a connection's peer advertised in newstore/protocols.
package newstore
