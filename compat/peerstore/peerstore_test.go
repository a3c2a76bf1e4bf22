package peerstore

import (
	"testing"
	"time"

	"github.com/benbjohnson/clock"
	"github.com/libp2p/go-libp2p/core/crypto"
	"github.com/libp2p/go-libp2p/core/event"
	"github.com/libp2p/go-libp2p/core/network"
	"github.com/libp2p/go-libp2p/core/peer"
	"github.com/libp2p/go-libp2p/core/peerstore"
	"github.com/libp2p/go-libp2p/core/protocol"
	"github.com/libp2p/go-libp2p/p2p/protocol/identify"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

const echo = protocol.ID("/test/echo/1.0.0")

func handleEcho(s network.Stream) { _ = s.Close() }

// On a host whose store keeps only addresses, keys and records, a view
// attached right after the host is built answers from events alone.
func TestViewLearnsFromEventsAlone(t *testing.T) {
	mock := clock.NewMock()
	local := newHost(t, hostConfig{Minimal: true})
	ps := New(local, WithClock(mock), WithGracePeriod(time.Minute))
	remote := newHost(t, hostConfig{Agent: "remote-agent/1.2.3", ProtocolVersion: "test/0.1"})
	remote.SetStreamHandler(echo, handleEcho)

	connect(t, local, remote)
	rp := remote.ID()

	// No waiting: Connect returned after identify, and the view catches up
	// with the events already emitted, as a legacy store would answer.
	first, err := ps.FirstSupportedProtocol(rp, "/not/spoken", protocol.ID(identify.ID))
	require.NoError(t, err)
	assert.Equal(t, protocol.ID(identify.ID), first)
	av, err := ps.Get(rp, "AgentVersion")
	require.NoError(t, err)
	assert.Equal(t, "remote-agent/1.2.3", av)
	pv, err := ps.Get(rp, "ProtocolVersion")
	require.NoError(t, err)
	assert.Equal(t, "test/0.1", pv)

	// The remote's identify can answer before it has taken in the handler
	// set just before connecting; a push then brings it.
	waitFor(t, func() bool {
		got, err := ps.SupportsProtocols(rp, "/not/spoken", echo)
		return err == nil && len(got) == 1 && got[0] == echo
	}, "the view learns the remote's echo handler")
	all, err := ps.GetProtocols(rp)
	require.NoError(t, err)
	assert.Contains(t, all, echo)

	// The host's own store knows none of it: the answers came from events.
	legacy, _ := local.Peerstore().GetProtocols(rp)
	assert.Empty(t, legacy)
	_, err = local.Peerstore().Get(rp, "AgentVersion")
	require.ErrorIs(t, err, peerstore.ErrNotFound)

	// Addresses and keys are the host store's.
	assert.NotEmpty(t, ps.Addrs(rp))
	assert.True(t, ps.PubKey(rp).Equals(remote.Peerstore().PubKey(rp)))

	// An identify push reaches the view too.
	const added = protocol.ID("/test/added/1.0.0")
	remote.SetStreamHandler(added, handleEcho)
	waitFor(t, func() bool {
		ok, _ := ps.SupportsProtocols(rp, added)
		return len(ok) == 1
	}, "identify push adds a protocol")

	// Disconnect: kept for the grace period, gone after it.
	st := ps.(*certifiedView).state
	conn := local.Network().ConnsToPeer(rp)[0]
	require.NoError(t, local.Network().ClosePeer(rp))
	waitFor(t, func() bool {
		// A TTL-0 Put is refused once the state saw the disconnect.
		return !st.protos.HasConn(conn) && st.data.Put(rp, "probe", 1, 0) != nil
	}, "the view sees the disconnect")
	mock.Add(59 * time.Second)
	av, err = ps.Get(rp, "AgentVersion")
	require.NoError(t, err, "kept within the grace period")
	assert.Equal(t, "remote-agent/1.2.3", av)
	ok, err := ps.SupportsProtocols(rp, echo)
	require.NoError(t, err)
	assert.Equal(t, []protocol.ID{echo}, ok)

	mock.Add(time.Second)
	_, err = ps.Get(rp, "AgentVersion")
	require.ErrorIs(t, err, peerstore.ErrNotFound, "gone after the grace period")
	all, err = ps.GetProtocols(rp)
	require.NoError(t, err)
	assert.Empty(t, all)
}

// identify emits an event for every push; one that comes after its
// connection closed must not keep the peer's data past the grace period.
func TestLateIdentifyEventAfterDisconnect(t *testing.T) {
	mock := clock.NewMock()
	tr := newTracker(config{grace: time.Minute, clock: mock})
	defer tr.close()
	c := makeConns(1, 0)[0]
	tr.consume(event.EvtPeerConnectednessChanged{Peer: c.peer, Connectedness: network.Connected})
	tr.consume(identifiedEvent(c))
	c.closed.Store(true)
	tr.protos.ConnClosed(c)
	tr.consume(event.EvtPeerConnectednessChanged{Peer: c.peer, Connectedness: network.NotConnected})

	mock.Add(59 * time.Second)
	tr.consume(identifiedEvent(c)) // a push's event, handled late
	_, ok := tr.version(c.peer, "AgentVersion")
	require.True(t, ok, "kept within the grace period")
	mock.Add(time.Second)
	_, ok = tr.version(c.peer, "AgentVersion")
	require.False(t, ok, "gone after the grace period of the disconnect")
	assert.Empty(t, tr.protos.PeerProtocols(c.peer))
}

func TestViewsOfOneHostShareState(t *testing.T) {
	h := newHost(t, hostConfig{Minimal: true})
	a, b := New(h), New(h)
	other := peer.ID("some-peer")

	require.NoError(t, a.Put(other, "score", 42))
	v, err := b.Get(other, "score")
	require.NoError(t, err)
	assert.Equal(t, 42, v)

	require.NoError(t, a.SetProtocols(other, echo))
	got, err := b.SupportsProtocols(other, echo)
	require.NoError(t, err)
	assert.Equal(t, []protocol.ID{echo}, got)

	a.RecordLatency(other, 10*time.Millisecond)
	assert.Equal(t, 10*time.Millisecond, b.LatencyEWMA(other))
	a.RecordLatency(other, 20*time.Millisecond)
	assert.Equal(t, 11*time.Millisecond, b.LatencyEWMA(other), "EWMA as upstream computes it")

	assert.Contains(t, b.Peers(), other)
	b.RemovePeer(other)
	_, err = a.Get(other, "score")
	require.ErrorIs(t, err, peerstore.ErrNotFound)
	assert.Zero(t, a.LatencyEWMA(other))
}

func TestProtocolWritesThroughView(t *testing.T) {
	h := newHost(t, hostConfig{Minimal: true})
	ps := New(h)
	p := peer.ID("some-peer")
	require.NoError(t, ps.AddProtocols(p, "/a", "/b"))
	require.NoError(t, ps.AddProtocols(p, "/b", "/c"))
	require.NoError(t, ps.RemoveProtocols(p, "/a"))
	got, err := ps.GetProtocols(p)
	require.NoError(t, err)
	assert.ElementsMatch(t, []protocol.ID{"/b", "/c"}, got)
	require.NoError(t, ps.SetProtocols(p, "/z"))
	got, err = ps.GetProtocols(p)
	require.NoError(t, err)
	assert.Equal(t, []protocol.ID{"/z"}, got)

	too := make([]protocol.ID, 2000)
	for i := range too {
		too[i] = protocol.ID(string(rune('a'+i%26)) + string(rune(i)))
	}
	require.ErrorIs(t, ps.SetProtocols(p, too...), ErrTooManyProtocols, "past the cap is an error, not growth")
	got, err = ps.GetProtocols(p)
	require.NoError(t, err)
	assert.Equal(t, []protocol.ID{"/z"}, got, "a refused write changes nothing")
}

func TestPrivateKeys(t *testing.T) {
	h := newHost(t, hostConfig{Minimal: true})
	ps := New(h)
	own := ps.PrivKey(h.ID())
	require.NotNil(t, own, "the host's own key")
	assert.True(t, own.Equals(h.Peerstore().PrivKey(h.ID())))

	sk, _, err := crypto.GenerateEd25519Key(nil)
	require.NoError(t, err)
	other, err := peer.IDFromPrivateKey(sk)
	require.NoError(t, err)
	require.NoError(t, ps.AddPrivKey(other, sk))
	assert.True(t, ps.PrivKey(other).Equals(sk))
	assert.True(t, New(h).PrivKey(other).Equals(sk), "shared by every view")
	assert.Nil(t, h.Peerstore().PrivKey(other), "never written to the host's store")
	assert.Contains(t, ps.PeersWithKeys(), other)

	require.Error(t, ps.AddPrivKey(other, nil))
	err = ps.AddPrivKey(h.ID(), sk)
	require.Error(t, err, "a key that does not match the peer ID")
	assert.Contains(t, err.Error(), "another peer ID")
}

func TestCertifiedAddrBookFollowsHostStore(t *testing.T) {
	h := newHost(t, hostConfig{})
	_, ok := peerstore.GetCertifiedAddrBook(New(h))
	assert.True(t, ok)
}

// A set written through a view stands until identify says otherwise, as
// identify's SetProtocols overwrites a legacy store's set.
func TestIdentifyReplacesSetWrittenThroughView(t *testing.T) {
	local := newHost(t, hostConfig{Minimal: true})
	ps := New(local)
	remote := newHost(t, hostConfig{})
	connect(t, local, remote)
	rp := remote.ID()

	require.NoError(t, ps.SetProtocols(rp, "/written/by/hand"))
	got, err := ps.GetProtocols(rp)
	require.NoError(t, err)
	assert.Equal(t, []protocol.ID{"/written/by/hand"}, got)

	remote.SetStreamHandler(echo, handleEcho) // identify push
	waitFor(t, func() bool {
		got, _ := ps.GetProtocols(rp)
		return len(got) > 1 && !contains(got, "/written/by/hand") && contains(got, echo)
	}, "the push replaces the hand-written set")
}

func TestPeersAndRemovePeer(t *testing.T) {
	local := newHost(t, hostConfig{Minimal: true})
	ps := New(local)
	remote := newHost(t, hostConfig{})
	connect(t, local, remote)
	rp := remote.ID()
	assert.Contains(t, ps.Peers(), rp)
	assert.Equal(t, rp, ps.PeerInfo(rp).ID)
	assert.NotEmpty(t, ps.PeerInfo(rp).Addrs)

	ps.RemovePeer(rp)
	got, err := ps.GetProtocols(rp)
	require.NoError(t, err)
	assert.Empty(t, got, "protocols forgotten until the next identify")
	_, err = ps.Get(rp, "AgentVersion")
	require.ErrorIs(t, err, peerstore.ErrNotFound)
}

func contains(list []protocol.ID, p protocol.ID) bool {
	for _, x := range list {
		if x == p {
			return true
		}
	}
	return false
}

// identify's agent and protocol version are one value in the state; a
// version written through a view is the answer until the next
// identification replaces it, as identify overwrites a legacy store's.
func TestIdentifyReplacesAVersionAViewWrote(t *testing.T) {
	h := newHost(t, hostConfig{Minimal: true})
	ps := New(h)
	st := ps.(*certifiedView).state
	c := makeConns(1, 0)[0]
	st.consume(event.EvtPeerConnectednessChanged{Peer: c.peer, Connectedness: network.Connected})
	st.consume(identifiedEvent(c))
	for key, want := range map[string]string{"AgentVersion": "kubo/0.30.0/", "ProtocolVersion": "ipfs/0.1.0"} {
		got, ok := st.version(c.peer, key)
		require.True(t, ok, key)
		assert.Equal(t, want, got)
	}

	require.NoError(t, ps.Put(c.peer, "AgentVersion", "written/1.0"))
	got, ok := st.version(c.peer, "AgentVersion")
	require.True(t, ok)
	assert.Equal(t, "written/1.0", got, "the last write is the answer")
	got, _ = st.version(c.peer, "ProtocolVersion")
	assert.Equal(t, "ipfs/0.1.0", got, "the other version is untouched")

	ev := identifiedEvent(c)
	ev.AgentVersion = "kubo/0.31.0/"
	st.consume(ev)
	got, _ = st.version(c.peer, "AgentVersion")
	assert.Equal(t, "kubo/0.31.0/", got, "the next identification replaces what the view wrote")
	v, err := ps.Get(c.peer, "ProtocolVersion")
	require.NoError(t, err)
	assert.Equal(t, "ipfs/0.1.0", v)
}
