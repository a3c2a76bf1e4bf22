// Package peerstore_test runs compat/peerstore views under the legacy
// protocols that consume a peerstore.Metrics or a full Peerstore.
package peerstore_test

import (
	"testing"
	"time"

	kbucket "github.com/libp2p/go-libp2p-kbucket"
	"github.com/libp2p/go-libp2p/core/peer"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.uber.org/goleak"

	"github.com/pstoremigrate/pstoremigrate/compat/peerstore"
	"github.com/pstoremigrate/pstoremigrate/internal/testhost"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

// A kad-dht routing table takes peerstore.Metrics: given a view on a host
// whose store keeps no latency, it still filters on latency.
func TestKBucketRoutingTableUsesView(t *testing.T) {
	local := testhost.New(t, testhost.Config{Minimal: true})
	fast, slow := testhost.New(t, testhost.Config{}), testhost.New(t, testhost.Config{})
	ps := peerstore.New(local)
	testhost.Connect(t, local, fast)
	testhost.Connect(t, local, slow)

	rt, err := kbucket.NewRoutingTable(20, kbucket.ConvertPeerID(local.ID()), 100*time.Millisecond, ps, time.Hour, nil)
	require.NoError(t, err)
	defer rt.Close()

	ps.RecordLatency(fast.ID(), 5*time.Millisecond)
	ps.RecordLatency(slow.ID(), time.Second)
	assert.Zero(t, local.Peerstore().LatencyEWMA(slow.ID()), "the host's store kept nothing")

	added, err := rt.TryAddPeer(fast.ID(), true, false)
	require.NoError(t, err)
	assert.True(t, added)
	_, err = rt.TryAddPeer(slow.ID(), true, false)
	require.ErrorIs(t, err, kbucket.ErrPeerRejectedHighLatency, "latency read through the view")
	assert.Equal(t, fast.ID(), rt.Find(fast.ID()))
	assert.Equal(t, []peer.ID{fast.ID()}, rt.ListPeers())
}
