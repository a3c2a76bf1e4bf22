package peerstore

import (
	"testing"
	"time"

	"github.com/benbjohnson/clock"
	"github.com/libp2p/go-libp2p/core/peer"
	"github.com/libp2p/go-libp2p/core/peerstore"
	"github.com/libp2p/go-libp2p/core/protocol"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// Migrated code writes through a view, unmigrated code reads h.Peerstore().
func TestMixedMigrationViewToLegacy(t *testing.T) {
	h := newHost(t, hostConfig{}) // full legacy store
	ps := New(h)
	p := peer.ID("some-peer")

	require.NoError(t, ps.Put(p, "score", 1))
	v, err := h.Peerstore().Get(p, "score")
	require.NoError(t, err)
	assert.Equal(t, 1, v)

	require.NoError(t, ps.AddProtocols(p, echo))
	got, err := h.Peerstore().SupportsProtocols(p, echo)
	require.NoError(t, err)
	assert.Equal(t, []protocol.ID{echo}, got)

	ps.RecordLatency(p, 30*time.Millisecond)
	assert.Equal(t, 30*time.Millisecond, h.Peerstore().LatencyEWMA(p))
}

// Unmigrated code writes h.Peerstore(), migrated code reads a view, even
// where the view had learned or been given a value of its own.
func TestMixedMigrationLegacyToView(t *testing.T) {
	local := newHost(t, hostConfig{})
	ps := New(local)
	remote := newHost(t, hostConfig{Agent: "remote/1"})
	connect(t, local, remote)
	rp := remote.ID()
	av, err := ps.Get(rp, "AgentVersion")
	require.NoError(t, err)
	require.Equal(t, "remote/1", av)

	require.NoError(t, ps.Put(rp, "score", 1))
	require.NoError(t, local.Peerstore().Put(rp, "score", 2))
	v, err := ps.Get(rp, "score")
	require.NoError(t, err)
	assert.Equal(t, 2, v, "the later write through h.Peerstore() wins")

	require.NoError(t, local.Peerstore().SetProtocols(rp, "/only/this"))
	got, err := ps.GetProtocols(rp)
	require.NoError(t, err)
	assert.Equal(t, []protocol.ID{"/only/this"}, got)

	local.Peerstore().RecordLatency(rp, 40*time.Millisecond)
	assert.Equal(t, 40*time.Millisecond, ps.LatencyEWMA(rp))
}

// Migrated code writes through a view, unmigrated code removes the peer from
// h.Peerstore() (go-waku's peer manager does): the view must not answer what
// was removed from a copy of its own.
func TestRemovePeerOnLegacyStoreReachesViewWrites(t *testing.T) {
	h := newHost(t, hostConfig{}) // full legacy store
	ps := New(h)
	p := peer.ID("some-peer")

	require.NoError(t, ps.Put(p, "score", 1))
	require.NoError(t, ps.AddProtocols(p, echo))
	ps.RecordLatency(p, 30*time.Millisecond)
	got, err := ps.GetProtocols(p)
	require.NoError(t, err)
	require.Equal(t, []protocol.ID{echo}, got)

	h.Peerstore().RemovePeer(p)

	_, err = ps.Get(p, "score")
	assert.ErrorIs(t, err, peerstore.ErrNotFound)
	got, err = ps.GetProtocols(p)
	require.NoError(t, err)
	assert.Empty(t, got)
	supported, err := ps.SupportsProtocols(p, echo)
	require.NoError(t, err)
	assert.Empty(t, supported)
	assert.Zero(t, ps.LatencyEWMA(p))
}

// A view created long after the peers were identified, on a full legacy
// store: it answers from the legacy store.
func TestLateViewOnLegacyStore(t *testing.T) {
	local := newHost(t, hostConfig{})
	remote := newHost(t, hostConfig{Agent: "remote/2"})
	remote.SetStreamHandler(echo, handleEcho)
	connect(t, local, remote)

	ps := New(local)
	// The remote's identify can answer before it has taken in the handler
	// set just before connecting; a push then brings it to the legacy store.
	waitFor(t, func() bool {
		got, err := ps.SupportsProtocols(remote.ID(), echo)
		return err == nil && len(got) == 1 && got[0] == echo
	}, "the view answers the remote's echo handler from the legacy store")
	av, err := ps.Get(remote.ID(), "AgentVersion")
	require.NoError(t, err)
	assert.Equal(t, "remote/2", av)
}

// A view created after the peers were identified, on a host whose store
// keeps nothing extra: it identifies the existing connections again.
func TestLateViewOnMinimalStoreReidentifies(t *testing.T) {
	local := newHost(t, hostConfig{Minimal: true})
	remote := newHost(t, hostConfig{Agent: "remote/3"})
	remote.SetStreamHandler(echo, handleEcho)
	connect(t, local, remote)
	got, _ := local.Peerstore().SupportsProtocols(remote.ID(), echo)
	require.Empty(t, got, "the host's store knows nothing")

	ps := New(local)
	waitFor(t, func() bool {
		got, _ := ps.SupportsProtocols(remote.ID(), echo)
		av, _ := ps.Get(remote.ID(), "AgentVersion")
		return len(got) == 1 && av == "remote/3"
	}, "the late view learns the connected peer by identifying it again")
}

// Where go-libp2p exposes a connection's RTT (QUIC), a view reports it
// without anyone recording a latency.
func TestLatencyFromQUICConnection(t *testing.T) {
	local := newHost(t, hostConfig{Minimal: true, QUIC: true})
	remote := newHost(t, hostConfig{QUIC: true})
	ps := New(local)
	connect(t, local, remote)
	assert.Positive(t, ps.LatencyEWMA(remote.ID()))
	assert.Zero(t, local.Peerstore().LatencyEWMA(remote.ID()))

	ps.RecordLatency(remote.ID(), time.Hour)
	assert.Equal(t, time.Hour, ps.LatencyEWMA(remote.ID()), "a recorded latency comes first")
}

// Nothing a view starts outlives the host: the state is released when the
// swarm closes (goleak in TestMain checks the goroutines).
func TestStateReleasedWhenHostCloses(t *testing.T) {
	h := newHost(t, hostConfig{})
	ps := New(h)
	st := ps.(*certifiedView).state
	require.NoError(t, h.Close())
	select {
	case <-st.closed:
	case <-time.After(30 * time.Second):
		t.Fatal("state not released after the host closed")
	}
	registry.Lock()
	_, still := registry.states[h.Network()]
	registry.Unlock()
	assert.False(t, still)

	// A view of a closed host still answers what it can.
	require.NoError(t, ps.Put("p", "k", 1))
	v, err := ps.Get("p", "k")
	require.NoError(t, err)
	assert.Equal(t, 1, v)
}

func TestReleaseByHand(t *testing.T) {
	h := newHost(t, hostConfig{})
	st := New(h).(*certifiedView).state
	Release(h)
	<-st.closed
	assert.NotSame(t, st, New(h).(*certifiedView).state, "a later New starts a fresh state")
	Release(h)
}

// Two states can share a host's bus for a moment (Release, then New at
// once); each waits for its own barrier only.
func TestTwoStatesOnOneBus(t *testing.T) {
	h := newHost(t, hostConfig{})
	cfg := config{grace: DefaultGracePeriod, clock: clock.New()}
	a, err := newState(h, cfg)
	require.NoError(t, err)
	defer a.close()
	b, err := newState(h, cfg)
	require.NoError(t, err)
	defer b.close()
	require.NotPanics(t, func() {
		a.catchUp()
		b.catchUp()
	})
}
