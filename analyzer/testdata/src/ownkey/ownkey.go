// Package ownkey adds the host's own private key to a store before the
// host exists, and reads it back to build the host's identity.
package ownkey

import (
	"github.com/libp2p/go-libp2p"
	"github.com/libp2p/go-libp2p/core/crypto"
	"github.com/libp2p/go-libp2p/core/host"
	"github.com/libp2p/go-libp2p/core/peer"
	"github.com/libp2p/go-libp2p/core/peerstore"
	ma "github.com/multiformats/go-multiaddr"
)

// NewNode adds the key and reads it back in one function: the read is
// rewritten to the key itself.
func NewNode(ps peerstore.Peerstore, sk crypto.PrivKey, addrs []ma.Multiaddr) (host.Host, error) {
	self, err := peer.IDFromPrivateKey(sk)
	if err != nil {
		return nil, err
	}
	if err := ps.AddPrivKey(self, sk); err != nil { // want `KeyBook.AddPrivKey is going away: .*not rewritten: the receiver is parameter ps of exported NewNode.*; if sk is the key of the host being built, keep sk and pass libp2p.Identity\(sk\) to libp2p.New`
		return nil, err
	}
	ps.AddAddrs(self, addrs, peerstore.PermanentAddrTTL)
	return libp2p.New(libp2p.Identity(ps.PrivKey(self)), libp2p.Peerstore(ps)) // want `KeyBook.PrivKey is going away: .*fix: the key read back is sk, added with AddPrivKey on line 21: use it instead of reading it back`
}

// AddSelfKey and BuildHost are the same steps in two functions (as an fx
// app wires them): each says what to do, neither is rewritten.
func AddSelfKey(self peer.ID, sk crypto.PrivKey, ps peerstore.Peerstore) error {
	return ps.AddPrivKey(self, sk) // want `KeyBook.AddPrivKey is going away: .*not rewritten: .*; if sk is the key of the host being built, keep sk and pass libp2p.Identity\(sk\)`
}

func BuildHost(self peer.ID, ps peerstore.Peerstore) (host.Host, error) {
	return libp2p.New(libp2p.Identity(ps.PrivKey(self)), libp2p.Peerstore(ps)) // want `KeyBook.PrivKey is going away: .*not rewritten: .*; if it is the host's own key, keep the key where it is created and pass it to libp2p.Identity`
}

// Handed the store to other code between the two: that code may have
// replaced the key, so the read is not rewritten, but the message names
// the key.
func HandsOver(ps peerstore.Peerstore, sk crypto.PrivKey, self peer.ID, use func(peerstore.Peerstore)) crypto.PrivKey {
	if err := ps.AddPrivKey(self, sk); err != nil { // want `KeyBook.AddPrivKey is going away`
		return nil
	}
	use(ps)
	return ps.PrivKey(self) // want `KeyBook.PrivKey is going away: .*not rewritten: .*; the key read back is sk, added with AddPrivKey on line 42: keep it and pass libp2p.Identity\(sk\)`
}

// Unchecked: if AddPrivKey failed, PrivKey answers something else than sk.
func Unchecked(ps peerstore.Peerstore, sk crypto.PrivKey, self peer.ID) crypto.PrivKey {
	_ = ps.AddPrivKey(self, sk) // want `KeyBook.AddPrivKey is going away`
	return ps.PrivKey(self)     // want `KeyBook.PrivKey is going away: .*not rewritten: .*if it is the host's own key`
}
