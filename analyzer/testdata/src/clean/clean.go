// Package clean uses only what the new store keeps: no finding.
package clean

import (
	"context"
	"time"

	"github.com/libp2p/go-libp2p/core/crypto"
	"github.com/libp2p/go-libp2p/core/host"
	"github.com/libp2p/go-libp2p/core/peer"
	"github.com/libp2p/go-libp2p/core/peerstore"
	"github.com/libp2p/go-libp2p/core/record"
	ma "github.com/multiformats/go-multiaddr"
)

func remember(h host.Host, ai peer.AddrInfo) {
	h.Peerstore().AddAddrs(ai.ID, ai.Addrs, peerstore.TempAddrTTL)
	h.Peerstore().SetAddr(ai.ID, ai.Addrs[0], time.Hour)
	h.Peerstore().UpdateAddrs(ai.ID, time.Hour, peerstore.RecentlyConnectedAddrTTL)
	_ = h.Peerstore().Addrs(ai.ID)
	_ = h.Peerstore().PeersWithAddrs()
	_ = h.Peerstore().PeerInfo(ai.ID)
	_ = h.Peerstore().Peers()
	h.Peerstore().ClearAddrs(ai.ID)
	h.Peerstore().RemovePeer(ai.ID)
}

func keys(h host.Host, p peer.ID, pk crypto.PubKey) error {
	if h.Peerstore().PubKey(p) != nil {
		return nil
	}
	return h.Peerstore().AddPubKey(p, pk)
}

func records(h host.Host, env *record.Envelope) (bool, error) {
	cab, ok := peerstore.GetCertifiedAddrBook(h.Peerstore())
	if !ok {
		return false, nil
	}
	_ = cab.GetPeerRecord(h.ID())
	return cab.ConsumePeerRecord(env, peerstore.PermanentAddrTTL)
}

func stream(ctx context.Context, ps peerstore.Peerstore, p peer.ID) <-chan ma.Multiaddr {
	return ps.AddrStream(ctx, p)
}

// registry has methods named like the legacy ones; they are not the
// peerstore's, so they are not reported.
type registry struct{ protos map[peer.ID][]string }

func (r *registry) GetProtocols(p peer.ID) ([]string, error) { return r.protos[p], nil }
func (r *registry) Get(p peer.ID, key string) (any, error)   { return nil, nil }
func (r *registry) PrivKey(peer.ID) crypto.PrivKey           { return nil }

func own(r *registry, p peer.ID) {
	_, _ = r.GetProtocols(p)
	_, _ = r.Get(p, "AgentVersion")
	_ = r.PrivKey(p)
}
