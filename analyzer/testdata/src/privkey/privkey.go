// Package privkey reads private keys from the peerstore: the host's own key
// can come from compat, other peers' keys cannot.
package privkey

import (
	"github.com/libp2p/go-libp2p/core/crypto"
	"github.com/libp2p/go-libp2p/core/host"
	"github.com/libp2p/go-libp2p/core/peer"
)

type service struct {
	h host.Host
}

func signer(h host.Host) crypto.PrivKey {
	return h.Peerstore().PrivKey(h.ID()) // want `KeyBook.PrivKey is going away: the new store keeps public keys only.*rewrite to peerstore.New\(h\)`
}

func (s *service) sign(data []byte) ([]byte, error) {
	key := s.h.Peerstore().PrivKey(s.h.ID()) // want `KeyBook.PrivKey is going away`
	return key.Sign(data)
}

func (s *service) restore(k crypto.PrivKey) error {
	ps := s.h.Peerstore()
	return ps.AddPrivKey(s.h.ID(), k) // want `KeyBook.AddPrivKey is going away`
}

func keyOf(h host.Host, p peer.ID) crypto.PrivKey {
	return h.Peerstore().PrivKey(p) // want `KeyBook.PrivKey is going away: .*not rewritten: the key is not provably the host's own \(the peer is not h.ID\(\)\)`
}

func otherHost(a, b host.Host) crypto.PrivKey {
	return a.Peerstore().PrivKey(b.ID()) // want `not rewritten: the key is not provably the host's own \(the peer is not a.ID\(\)\)`
}

func owners(h host.Host) []peer.ID {
	return h.Peerstore().PeersWithKeys() // want `KeyBook.PeersWithKeys is going away: .*not rewritten: no store lists private keys`
}

func keyFunc(h host.Host) func(peer.ID) crypto.PrivKey {
	return h.Peerstore().PrivKey // want `KeyBook.PrivKey is going away: .*not rewritten: a method value may be called with any peer`
}

// Hosts in a slice: the same element twice is the same host.
func keysOf(hosts []host.Host) []crypto.PrivKey {
	var keys []crypto.PrivKey
	for i := range hosts {
		keys = append(keys, hosts[i].Peerstore().PrivKey(hosts[i].ID())) // want `KeyBook.PrivKey is going away: .*fix: rewrite to peerstore.New\(hosts\[i\]\)`
	}
	return keys
}

func firstKey(hosts []host.Host) crypto.PrivKey {
	return hosts[0].Peerstore().PrivKey(hosts[0].ID()) // want `KeyBook.PrivKey is going away: .*fix: rewrite to peerstore.New\(hosts\[0\]\)`
}

func neighbourKey(hosts []host.Host, i int) crypto.PrivKey {
	j := i + 1
	return hosts[i].Peerstore().PrivKey(hosts[j].ID()) // want `not rewritten: the key is not provably the host's own \(the peer is not hosts\[i\].ID\(\)\)`
}

func movingIndex(hosts []host.Host) crypto.PrivKey {
	i := 0
	i++
	return hosts[i].Peerstore().PrivKey(hosts[i].ID()) // want `not rewritten: the key is not provably the host's own`
}
