package legacybooks

import (
	"errors"
	"fmt"
	"sync"

	ic "github.com/libp2p/go-libp2p/core/crypto"
	"github.com/libp2p/go-libp2p/core/peer"
)

// PrivKeys holds private keys in memory only. It has no way to be
// serialised: the legacy datastore peerstore wrote private keys to disk in
// clear text, and the migration exists partly to stop that.
type PrivKeys struct {
	mu   sync.RWMutex
	keys map[peer.ID]ic.PrivKey
}

// NewPrivKeys returns an empty private key book.
func NewPrivKeys() *PrivKeys {
	return &PrivKeys{keys: make(map[peer.ID]ic.PrivKey)}
}

// PrivKey returns p's private key, nil if none.
func (k *PrivKeys) PrivKey(p peer.ID) ic.PrivKey {
	k.mu.RLock()
	defer k.mu.RUnlock()
	return k.keys[p]
}

// AddPrivKey stores sk for p after checking that it is p's key.
func (k *PrivKeys) AddPrivKey(p peer.ID, sk ic.PrivKey) error {
	if sk == nil {
		return errors.New("sk is nil (PrivKey)")
	}
	if !p.MatchesPrivateKey(sk) {
		return fmt.Errorf("private key does not match peer ID %s", p)
	}
	k.mu.Lock()
	k.keys[p] = sk
	k.mu.Unlock()
	return nil
}

// Peers returns the peers with a private key.
func (k *PrivKeys) Peers() peer.IDSlice {
	k.mu.RLock()
	defer k.mu.RUnlock()
	out := make(peer.IDSlice, 0, len(k.keys))
	for p := range k.keys {
		out = append(out, p)
	}
	return out
}

// RemovePeer forgets p's private key.
func (k *PrivKeys) RemovePeer(p peer.ID) {
	k.mu.Lock()
	delete(k.keys, p)
	k.mu.Unlock()
}

// PubKeys holds public keys in memory, for the standalone key book that has
// no address book beside it.
type PubKeys struct {
	mu   sync.RWMutex
	keys map[peer.ID]ic.PubKey
}

// NewPubKeys returns an empty public key book.
func NewPubKeys() *PubKeys {
	return &PubKeys{keys: make(map[peer.ID]ic.PubKey)}
}

// PubKey returns p's public key: the stored one, else the one inlined in the
// peer ID, else nil.
func (k *PubKeys) PubKey(p peer.ID) ic.PubKey {
	k.mu.RLock()
	pk := k.keys[p]
	k.mu.RUnlock()
	if pk != nil {
		return pk
	}
	// Not cached, unlike upstream: extracting is cheap and caching would
	// grow the book for every peer ever asked about.
	pk, err := p.ExtractPublicKey()
	if err != nil {
		return nil
	}
	return pk
}

// AddPubKey stores pk for p after checking that it is p's key.
func (k *PubKeys) AddPubKey(p peer.ID, pk ic.PubKey) error {
	if pk == nil {
		return errors.New("pk is nil (PubKey)")
	}
	if !p.MatchesPublicKey(pk) {
		return fmt.Errorf("public key does not match peer ID %s", p)
	}
	k.mu.Lock()
	k.keys[p] = pk
	k.mu.Unlock()
	return nil
}

// PeersWithKeys returns the peers with a stored public key.
func (k *PubKeys) PeersWithKeys() peer.IDSlice {
	k.mu.RLock()
	defer k.mu.RUnlock()
	out := make(peer.IDSlice, 0, len(k.keys))
	for p := range k.keys {
		out = append(out, p)
	}
	return out
}

// RemovePeer forgets p's public key.
func (k *PubKeys) RemovePeer(p peer.ID) {
	k.mu.Lock()
	delete(k.keys, p)
	k.mu.Unlock()
}
