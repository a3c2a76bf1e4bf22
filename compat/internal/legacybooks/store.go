package legacybooks

import (
	ic "github.com/libp2p/go-libp2p/core/crypto"
	"github.com/libp2p/go-libp2p/core/peer"
	pstore "github.com/libp2p/go-libp2p/core/peerstore"

	"github.com/pstoremigrate/pstoremigrate/newstore"
)

// Store is the whole legacy core/peerstore.Peerstore: a newstore.AddrBook
// for what the minimal store keeps (addresses, public keys, certified
// records) and the side books of this package for the rest.
type Store struct {
	*newstore.AddrBook
	*ProtoBook
	*Metadata
	*Metrics
	privs *PrivKeys
}

var (
	_ pstore.Peerstore         = (*Store)(nil)
	_ pstore.CertifiedAddrBook = (*Store)(nil)
)

// NewStore puts side books holding at most maxProtos protocols per peer
// beside ab. The Store owns ab from then on: Close closes it.
func NewStore(ab *newstore.AddrBook, maxProtos int) *Store {
	return &Store{
		AddrBook:  ab,
		ProtoBook: NewProtoBook(maxProtos),
		Metadata:  NewMetadata(),
		Metrics:   NewMetrics(),
		privs:     NewPrivKeys(),
	}
}

// PrivKey returns p's private key, nil if none.
func (s *Store) PrivKey(p peer.ID) ic.PrivKey { return s.privs.PrivKey(p) }

// AddPrivKey keeps sk in memory; it never reaches a snapshot.
func (s *Store) AddPrivKey(p peer.ID, sk ic.PrivKey) error { return s.privs.AddPrivKey(p, sk) }

// PeersWithKeys returns the peers with a public or a private key.
func (s *Store) PeersWithKeys() peer.IDSlice {
	return union(s.AddrBook.PeersWithKeys(), s.privs.Peers())
}

// Peers returns the peers with addresses or keys, as upstream's.
func (s *Store) Peers() peer.IDSlice {
	return union(s.AddrBook.Peers(), s.privs.Peers())
}

// PeerInfo returns p's ID and unexpired addresses.
func (s *Store) PeerInfo(p peer.ID) peer.AddrInfo {
	return peer.AddrInfo{ID: p, Addrs: s.AddrBook.Addrs(p)}
}

// RemovePeer forgets p's keys, protocols, metadata and latency. As with
// upstream, p's addresses stay until they expire or ClearAddrs.
func (s *Store) RemovePeer(p peer.ID) {
	s.AddrBook.RemovePeer(p)
	s.privs.RemovePeer(p)
	s.ProtoBook.RemovePeer(p)
	s.Metadata.RemovePeer(p)
	s.Metrics.RemovePeer(p)
}

// RemoveKeys forgets p's public and private keys and nothing else, as a
// key book's RemovePeer does.
func (s *Store) RemoveKeys(p peer.ID) {
	s.AddrBook.RemovePeer(p)
	s.privs.RemovePeer(p)
}

// Close stops the address book's background work.
func (s *Store) Close() error { return s.AddrBook.Close() }

func union(a, b peer.IDSlice) peer.IDSlice {
	if len(b) == 0 {
		return a
	}
	seen := make(map[peer.ID]struct{}, len(a))
	for _, p := range a {
		seen[p] = struct{}{}
	}
	for _, p := range b {
		if _, ok := seen[p]; !ok {
			a = append(a, p)
		}
	}
	return a
}
