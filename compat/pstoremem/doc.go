// Package pstoremem is a drop-in replacement for go-libp2p's
// p2p/host/peerstore/pstoremem: swap the import path and nothing else
// changes. The same constructors and options (WithClock, WithMaxProtocols,
// WithMaxAddresses, WithMaxAddressesPerPeer, WithMaxSignedPeerRecords) build
// a core/peerstore.Peerstore that passes upstream's own test suites.
//
// Underneath, addresses, public keys and certified records live in the new
// minimal store (newstore.AddrBook); protocols, metadata, latency and
// private keys live in bounded books beside it (see
// compat/internal/legacybooks for the bounds). Private keys are held in
// memory only and never reach a snapshot.
package pstoremem
