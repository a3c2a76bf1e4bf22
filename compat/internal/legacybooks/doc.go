// Package legacybooks holds the parts of the legacy peerstore that the new
// minimal store (newstore) deliberately does not keep: the protocols a peer
// advertised, free-form per-peer metadata, latency EWMAs and private keys.
//
// compat/pstoremem and compat/pstoreds put these books beside a
// newstore.AddrBook so that code written against core/peerstore.Peerstore
// keeps working. Every book is bounded per peer so that a hostile peer cannot
// grow memory without limit; none of them is ever written to a snapshot.
package legacybooks
