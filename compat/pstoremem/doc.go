// Package pstoremem is a drop-in replacement for go-libp2p's
// p2p/host/peerstore/pstoremem: swap the import path and nothing else
// changes. The same constructors and options (WithClock, WithMaxProtocols,
// WithMaxAddresses, WithMaxAddressesPerPeer, WithMaxSignedPeerRecords) build
// a core/peerstore.Peerstore that passes upstream's own test suites; the
// standalone books (NewAddrBook, NewKeyBook, NewPeerMetadata, NewProtoBook)
// and AddrSubManager are here too.
//
// Underneath, addresses, public keys and certified records live in the new
// minimal store (newstore.AddrBook); protocols, metadata, latency and
// private keys live in books beside it. Private keys are held in memory only
// and never reach a snapshot.
//
// Every per-peer book is bounded, so that a hostile peer cannot make the
// store grow without limit: addresses as upstream (64 unconnected per peer,
// 1,000,000 in total, 100,000 signed records, all configurable); protocols
// as upstream (128 per peer, WithMaxProtocols), each protocol ID interned so
// that peers advertising the same protocols share one copy; and, unlike
// upstream, metadata: at most 64 keys per peer, keys of at most 256 bytes,
// string and []byte values of at most 8 KiB (a Put beyond these fails with
// an error and changes nothing).
package pstoremem
