package legacybooks

import (
	"errors"
	"fmt"
	"sync"

	ic "github.com/libp2p/go-libp2p/core/crypto"
	"github.com/libp2p/go-libp2p/core/peer"
)

// keyMap is the map and lock both key books keep, one for each key type.
type keyMap[K any] struct {
	mu   sync.RWMutex
	keys map[peer.ID]K
}

func newKeyMap[K any]() keyMap[K] {
	return keyMap[K]{keys: make(map[peer.ID]K)}
}

func (m *keyMap[K]) get(p peer.ID) K {
	m.mu.RLock()
	defer m.mu.RUnlock()
	return m.keys[p]
}

func (m *keyMap[K]) put(p peer.ID, k K) {
	m.mu.Lock()
	m.keys[p] = k
	m.mu.Unlock()
}

func (m *keyMap[K]) peers() peer.IDSlice {
	m.mu.RLock()
	defer m.mu.RUnlock()
	out := make(peer.IDSlice, 0, len(m.keys))
	for p := range m.keys {
		out = append(out, p)
	}
	return out
}

func (m *keyMap[K]) remove(p peer.ID) {
	m.mu.Lock()
	delete(m.keys, p)
	m.mu.Unlock()
}

// PrivKeys holds private keys in memory only. It has no way to be
// serialised: the legacy datastore peerstore wrote private keys to disk in
// clear text, and the migration exists partly to stop that.
type PrivKeys struct {
	m keyMap[ic.PrivKey]
}

// NewPrivKeys returns an empty private key book.
func NewPrivKeys() *PrivKeys {
	return &PrivKeys{m: newKeyMap[ic.PrivKey]()}
}

// PrivKey returns p's private key, nil if none.
func (k *PrivKeys) PrivKey(p peer.ID) ic.PrivKey { return k.m.get(p) }

// AddPrivKey stores sk for p after checking that it is p's key.
func (k *PrivKeys) AddPrivKey(p peer.ID, sk ic.PrivKey) error {
	if sk == nil {
		return errors.New("sk is nil (PrivKey)")
	}
	if !p.MatchesPrivateKey(sk) {
		return fmt.Errorf("private key does not match peer ID %s", p)
	}
	k.m.put(p, sk)
	return nil
}

// Peers returns the peers with a private key.
func (k *PrivKeys) Peers() peer.IDSlice { return k.m.peers() }

// RemovePeer forgets p's private key.
func (k *PrivKeys) RemovePeer(p peer.ID) { k.m.remove(p) }

// PubKeys holds public keys in memory, for the standalone key book that has
// no address book beside it.
type PubKeys struct {
	m keyMap[ic.PubKey]
}

// NewPubKeys returns an empty public key book.
func NewPubKeys() *PubKeys {
	return &PubKeys{m: newKeyMap[ic.PubKey]()}
}

// PubKey returns p's public key: the stored one, else the one inlined in the
// peer ID, else nil.
func (k *PubKeys) PubKey(p peer.ID) ic.PubKey {
	if pk := k.m.get(p); pk != nil {
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
	k.m.put(p, pk)
	return nil
}

// PeersWithKeys returns the peers with a stored public key.
func (k *PubKeys) PeersWithKeys() peer.IDSlice { return k.m.peers() }

// RemovePeer forgets p's public key.
func (k *PubKeys) RemovePeer(p peer.ID) { k.m.remove(p) }
