package peerstore

import (
	"slices"
	"testing"
	"time"

	"github.com/libp2p/go-libp2p/core/host"
	"github.com/libp2p/go-libp2p/core/peer"
	"github.com/libp2p/go-libp2p/core/peerstore"
	"github.com/libp2p/go-libp2p/core/record"
	pt "github.com/libp2p/go-libp2p/p2p/host/peerstore/test"
	"github.com/stretchr/testify/require"
)

// withoutSelf hides the host's own entry (its keys, put there by
// libp2p.New) from listings: upstream's suites expect a store that starts
// empty, and that entry is the only thing a fresh host's store holds.
type withoutSelf struct {
	peerstore.Peerstore
	cab  peerstore.CertifiedAddrBook
	self peer.ID
}

func (w withoutSelf) ConsumePeerRecord(s *record.Envelope, ttl time.Duration) (bool, error) {
	return w.cab.ConsumePeerRecord(s, ttl)
}
func (w withoutSelf) GetPeerRecord(p peer.ID) *record.Envelope { return w.cab.GetPeerRecord(p) }

func (w withoutSelf) Peers() peer.IDSlice { return w.drop(w.Peerstore.Peers()) }
func (w withoutSelf) PeersWithKeys() peer.IDSlice {
	return w.drop(w.Peerstore.PeersWithKeys())
}
func (w withoutSelf) drop(ps peer.IDSlice) peer.IDSlice {
	return slices.DeleteFunc(ps, func(p peer.ID) bool { return p == w.self })
}

func viewWithoutSelf(t *testing.T, h host.Host) withoutSelf {
	v := New(h)
	cab, ok := peerstore.GetCertifiedAddrBook(v)
	require.True(t, ok, "a view of a host whose store keeps records keeps them too")
	return withoutSelf{Peerstore: v, cab: cab, self: h.ID()}
}

// Upstream's own suites, run on views of hosts whose store keeps only
// addresses, keys and records: metadata, protocols and other peers' private
// keys then come from the view's state alone.
func TestUpstreamPeerstoreSuiteOnMinimalHost(t *testing.T) {
	pt.TestPeerstore(t, func() (peerstore.Peerstore, func()) {
		h := newHost(t, hostConfig{Minimal: true})
		return viewWithoutSelf(t, h), func() { _ = h.Close() }
	})
}

func TestUpstreamKeyBookSuiteOnMinimalHost(t *testing.T) {
	pt.TestKeyBook(t, func() (peerstore.KeyBook, func()) {
		h := newHost(t, hostConfig{Minimal: true})
		return viewWithoutSelf(t, h), func() { _ = h.Close() }
	})
}

func TestUpstreamProtoStoreLimitsOnMinimalHost(t *testing.T) {
	h := newHost(t, hostConfig{Minimal: true})
	pt.TestPeerstoreProtoStoreLimits(t, New(h), MaxProtocols)
}
