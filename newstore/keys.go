package newstore

import (
	"encoding/binary"
	"fmt"

	"github.com/libp2p/go-libp2p/core/crypto"
	"github.com/libp2p/go-libp2p/core/peer"
	mh "github.com/multiformats/go-multihash"
)

// PubKey returns the public key of p: the one added, or the one the peer ID
// inlines (Ed25519 and secp256k1 IDs do). Nil when neither exists.
func (ab *AddrBook) PubKey(p peer.ID) crypto.PubKey {
	ab.mu.RLock()
	var k crypto.PubKey
	if ps := ab.peers[p]; ps != nil {
		k = ps.key()
	}
	ab.mu.RUnlock()
	if k != nil {
		return k
	}
	k, err := p.ExtractPublicKey()
	if err != nil {
		return nil
	}
	return k
}

// AddPubKey stores the public key of p. A key that does not match the peer
// ID is refused. A key the ID inlines is not stored twice: only the fact
// that it was added is kept.
func (ab *AddrBook) AddPubKey(p peer.ID, k crypto.PubKey) error {
	if k == nil {
		return fmt.Errorf("newstore: AddPubKey: nil key for peer %s", p)
	}
	inlined, ok := keyMatches(p, k)
	if !ok {
		return fmt.Errorf("newstore: AddPubKey: key does not match peer ID %s", p)
	}
	ab.mu.Lock()
	defer ab.mu.Unlock()
	ps := ab.stateLocked(p)
	ps.hasKey = true
	if !inlined {
		ps.setKey(k)
	}
	return nil
}

// PeersWithKeys returns the peers whose public key was added.
func (ab *AddrBook) PeersWithKeys() peer.IDSlice {
	ab.mu.RLock()
	defer ab.mu.RUnlock()
	out := make(peer.IDSlice, 0, len(ab.peers))
	for p, ps := range ab.peers {
		if ps.hasKey {
			out = append(out, p)
		}
	}
	return out
}

// Peers returns every peer the book knows: with addresses or a key.
func (ab *AddrBook) Peers() peer.IDSlice {
	ab.mu.RLock()
	defer ab.mu.RUnlock()
	out := make(peer.IDSlice, 0, len(ab.peers))
	for p := range ab.peers {
		out = append(out, p)
	}
	return out
}

// RemovePeer forgets p's public key. Its addresses and record are kept and
// expire on their own, as with upstream's RemovePeer; ClearAddrs drops them.
func (ab *AddrBook) RemovePeer(p peer.ID) {
	ab.mu.Lock()
	defer ab.mu.Unlock()
	ps := ab.peers[p]
	if ps == nil {
		return
	}
	ps.hasKey = false
	ps.setKey(nil)
	ab.tidyLocked(p, ps)
}

// keyMatches reports whether k is p's key, and whether p inlines it. For an
// inlining ID (Ed25519, secp256k1: nearly every peer) comparing with the
// inlined key spares hashing k, which is most of what MatchesPublicKey costs;
// comparing bytes spares unmarshalling the inlined key too.
func keyMatches(p peer.ID, k crypto.PubKey) (inlined, ok bool) {
	if digest, isInline := inlinedDigest(p); isInline {
		if isEncodingOf(digest, k) {
			return true, true
		}
		ik, err := crypto.UnmarshalPublicKey([]byte(digest))
		return true, err == nil && ik.Equals(k)
	}
	return false, p.MatchesPublicKey(k)
}

// inlinedDigest returns the digest of p if p is an identity multihash (the
// marshalled public key an ID inlines), without copying it.
func inlinedDigest(p peer.ID) (string, bool) {
	s := string(p)
	if len(s) < 2 || s[0] != mh.IDENTITY {
		return "", false
	}
	var n, shift uint
	i := 1
	for ; i < len(s) && i <= binary.MaxVarintLen64; i++ {
		b := s[i]
		n |= uint(b&0x7f) << shift
		shift += 7
		if b < 0x80 {
			i++
			if uint(len(s)-i) != n {
				return "", false
			}
			return s[i:], true
		}
	}
	return "", false
}

// isEncodingOf reports whether digest is the canonical marshalling of k: the
// protobuf PublicKey{Type, Data} with one-byte varints, which is what
// go-libp2p writes for the key types IDs inline. Any other form is left to
// the slow path, so false means "not shown equal", never "different".
func isEncodingOf(digest string, k crypto.PubKey) bool {
	raw, err := k.Raw()
	if err != nil || len(raw) > 0x7f || k.Type() < 0 || k.Type() > 0x7f {
		return false
	}
	return len(digest) == 4+len(raw) &&
		digest[0] == 0x08 && digest[1] == byte(k.Type()) &&
		digest[2] == 0x12 && digest[3] == byte(len(raw)) &&
		digest[4:] == string(raw)
}
