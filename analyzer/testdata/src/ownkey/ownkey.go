// Package ownkey adds the host's own private key to a store before the
// host exists, and reads it back to build the host's identity.
package ownkey

import (
	"github.com/libp2p/go-libp2p"
	"github.com/libp2p/go-libp2p/core/crypto"
	"github.com/libp2p/go-libp2p/core/host"
	"github.com/libp2p/go-libp2p/core/peer"
	"github.com/libp2p/go-libp2p/core/peerstore"
	"github.com/libp2p/go-libp2p/p2p/host/peerstore/pstoremem" // want `pstoremem is going away`
	ma "github.com/multiformats/go-multiaddr"
)

// NewNode adds the key and reads it back in one function: the read is
// rewritten to the key itself.
func NewNode(ps peerstore.Peerstore, sk crypto.PrivKey, addrs []ma.Multiaddr) (host.Host, error) {
	self, err := peer.IDFromPrivateKey(sk)
	if err != nil {
		return nil, err
	}
	if err := ps.AddPrivKey(self, sk); err != nil { // want `KeyBook.AddPrivKey is going away: .*not rewritten: the receiver is parameter ps of exported NewNode.*; the key is read back on line 26, which the fix replaces by sk; this call stays because ps is a parameter, so its callers hold the store and may read the key from it`
		return nil, err
	}
	ps.AddAddrs(self, addrs, peerstore.PermanentAddrTTL)
	return libp2p.New(libp2p.Identity(ps.PrivKey(self)), libp2p.Peerstore(ps)) // want `KeyBook.PrivKey is going away: .*fix: the key read back is sk, added with AddPrivKey on line 22 \(which stays: ps is a parameter, so its callers hold the store and may read the key from it\): use it instead of reading it back`
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
	return ps.PrivKey(self) // want `KeyBook.PrivKey is going away: .*not rewritten: .*; the key read back is sk, added with AddPrivKey on line 43: keep it and pass libp2p.Identity\(sk\)`
}

// Unchecked: if AddPrivKey failed, PrivKey answers something else than sk.
func Unchecked(ps peerstore.Peerstore, sk crypto.PrivKey, self peer.ID) crypto.PrivKey {
	_ = ps.AddPrivKey(self, sk) // want `KeyBook.AddPrivKey is going away`
	return ps.PrivKey(self)     // want `KeyBook.PrivKey is going away: .*not rewritten: .*if it is the host's own key`
}

// Local creates the store and hands it only to libp2p.New with the key as
// the identity: no other code can read the key from the store, and
// libp2p.New adds it itself, so the AddPrivKey statement goes too.
func Local(sk crypto.PrivKey, addrs []ma.Multiaddr) (host.Host, error) {
	self, err := peer.IDFromPrivateKey(sk)
	if err != nil {
		return nil, err
	}
	var ps peerstore.Peerstore
	ps, err = pstoremem.NewPeerstore()
	if err != nil {
		return nil, err
	}
	if err := ps.AddPrivKey(self, sk); err != nil { // want `KeyBook.AddPrivKey is going away: .*fix: nothing else reads ps's private keys: ps is created here by pstoremem.NewPeerstore and only used for kept methods and by libp2p.New, which adds the key given with libp2p.Identity itself; remove the call, and use sk instead of reading it back on line 73`
		return nil, err
	}
	ps.AddAddrs(self, addrs, peerstore.PermanentAddrTTL)
	return libp2p.New(libp2p.Identity(ps.PrivKey(self)), libp2p.Peerstore(ps)) // want `KeyBook.PrivKey is going away: .*fix: the key read back is sk, added with AddPrivKey on line 69, which the fix removes \(ps is created here`
}

// LocalShared creates the store but also returns it: its holder may read
// the key, so the AddPrivKey statement stays.
func LocalShared(sk crypto.PrivKey) (host.Host, peerstore.Peerstore, error) {
	self, err := peer.IDFromPrivateKey(sk)
	if err != nil {
		return nil, nil, err
	}
	var ps peerstore.Peerstore
	ps, err = pstoremem.NewPeerstore()
	if err != nil {
		return nil, nil, err
	}
	if err := ps.AddPrivKey(self, sk); err != nil { // want `KeyBook.AddPrivKey is going away: .*the key is read back on line 91, which the fix replaces by sk; this call stays because ps is used on line 92 in a way the fix does not follow \(passed on, stored or returned\)`
		return nil, nil, err
	}
	h, err := libp2p.New(libp2p.Identity(ps.PrivKey(self)), libp2p.Peerstore(ps)) // want `KeyBook.PrivKey is going away: .*fix: the key read back is sk, added with AddPrivKey on line 88 \(which stays: ps is used on line 92`
	return h, ps, err
}

// LocalUnchecked adds a key for an ID not derived from it: AddPrivKey's
// check that they match would be lost, so the statement stays.
func LocalUnchecked(sk crypto.PrivKey, self peer.ID, addrs []ma.Multiaddr) (host.Host, error) {
	var ps peerstore.Peerstore
	ps, err := pstoremem.NewPeerstore()
	if err != nil {
		return nil, err
	}
	if err := ps.AddPrivKey(self, sk); err != nil { // want `KeyBook.AddPrivKey is going away: .*this call stays because AddPrivKey also checks that sk is the key of self, and self is not peer.IDFromPrivateKey\(sk\)`
		return nil, err
	}
	ps.AddAddrs(self, addrs, peerstore.PermanentAddrTTL)
	return libp2p.New(libp2p.Identity(ps.PrivKey(self)), libp2p.Peerstore(ps)) // want `KeyBook.PrivKey is going away: .*fix: the key read back is sk, added with AddPrivKey on line 103 \(which stays: AddPrivKey also checks`
}

// LocalSelfOnly uses self only to add and read the key: without them it
// would be unused, so the statement stays.
func LocalSelfOnly(sk crypto.PrivKey) (host.Host, error) {
	self, err := peer.IDFromPrivateKey(sk)
	if err != nil {
		return nil, err
	}
	var ps peerstore.Peerstore
	ps, err = pstoremem.NewPeerstore()
	if err != nil {
		return nil, err
	}
	if err := ps.AddPrivKey(self, sk); err != nil { // want `KeyBook.AddPrivKey is going away: .*this call stays because without it and the read, self would be declared and not used`
		return nil, err
	}
	return libp2p.New(libp2p.Identity(ps.PrivKey(self)), libp2p.Peerstore(ps)) // want `KeyBook.PrivKey is going away: .*fix: the key read back is sk, added with AddPrivKey on line 122 \(which stays: without it`
}
