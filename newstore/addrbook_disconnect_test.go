package newstore_test

import (
	"bytes"
	"testing"
	"time"

	mockclock "github.com/benbjohnson/clock"
	"github.com/libp2p/go-libp2p/core/peer"
	"github.com/libp2p/go-libp2p/core/peerstore"
	ma "github.com/multiformats/go-multiaddr"
	"github.com/stretchr/testify/require"

	"github.com/pstoremigrate/pstoremigrate/internal/testhost"
	"github.com/pstoremigrate/pstoremigrate/newstore"
)

func waitConnected(t *testing.T, ab *newstore.AddrBook, p peer.ID, want bool) {
	t.Helper()
	require.Eventually(t, func() bool { return ab.IsConnected(p) == want }, 30*time.Second, time.Millisecond,
		"the book never saw peer %s connected=%v", p, want)
}

// The scenario with real hosts: an address added with a 10-minute
// TTL after disconnect outlives an hour-long connection, dies 10 minutes
// after the disconnect and not before, and survives a reconnect at minute 9.
func TestAddrsAfterDisconnectFollowRealConnections(t *testing.T) {
	clk := mockclock.NewMock()
	ab := newBook(t, newstore.WithClock(clk))
	local, remote := testhost.New(t, testhost.Config{}), testhost.New(t, testhost.Config{})
	att, err := ab.Attach(local.EventBus(), local.Network())
	require.NoError(t, err)
	defer att.Close()

	p := remote.ID()
	addr := remote.Addrs()[0]
	has := func() bool { return containsMultiaddr(ab.Addrs(p), addr) }

	testhost.Connect(t, local, remote)
	waitConnected(t, ab, p, true)
	ab.AddAddrsAfterDisconnect(p, []ma.Multiaddr{addr}, 10*time.Minute)
	clk.Add(time.Hour)
	ab.GC()
	require.True(t, has(), "connected for an hour: the address is still there")

	require.NoError(t, local.Network().ClosePeer(p))
	waitConnected(t, ab, p, false)
	clk.Add(10*time.Minute - time.Nanosecond)
	ab.GC()
	require.True(t, has(), "gone before its 10 minutes after disconnect")
	clk.Add(time.Nanosecond)
	require.False(t, has(), "still there 10 minutes after disconnect")
	ab.GC()
	require.Empty(t, ab.PeersWithAddrs())

	// Again, with a reconnect at minute 9.
	ab.AddAddrsAfterDisconnect(p, []ma.Multiaddr{addr}, 10*time.Minute)
	testhost.Connect(t, local, remote)
	waitConnected(t, ab, p, true)
	require.NoError(t, local.Network().ClosePeer(p))
	waitConnected(t, ab, p, false)
	clk.Add(9 * time.Minute)
	testhost.Connect(t, local, remote)
	waitConnected(t, ab, p, true)
	clk.Add(time.Hour)
	ab.GC()
	require.True(t, has(), "a reconnect at minute 9 keeps the address")
	require.NoError(t, local.Network().ClosePeer(p))
	waitConnected(t, ab, p, false)
	clk.Add(9 * time.Minute)
	require.True(t, has(), "the clock starts again at the next disconnect")
	clk.Add(time.Minute)
	require.False(t, has())
	require.NoError(t, ab.CheckCounters())
}

// Attach learns the peers already connected when it is called.
func TestAttachSeesPeersConnectedBefore(t *testing.T) {
	ab := newBook(t)
	local, remote := testhost.New(t, testhost.Config{}), testhost.New(t, testhost.Config{})
	testhost.Connect(t, local, remote)
	att, err := ab.Attach(local.EventBus(), local.Network())
	require.NoError(t, err)
	require.True(t, ab.IsConnected(remote.ID()))
	require.NoError(t, att.Close())
	require.NoError(t, ab.Close(), "closing the book after its feed is fine")
}

func containsMultiaddr(list []ma.Multiaddr, a ma.Multiaddr) bool {
	for _, b := range list {
		if b.Equal(a) {
			return true
		}
	}
	return false
}

// Behaviour without hosts, driven by the exported methods and a mock clock.
func TestAddrsAfterDisconnectRules(t *testing.T) {
	clk := mockclock.NewMock()
	local, remote := testhost.New(t, testhost.Config{}), testhost.New(t, testhost.Config{})
	p := remote.ID()
	as := addrs(t, 4, 100)

	t.Run("permanent stays permanent", func(t *testing.T) {
		ab := newBook(t, newstore.WithClock(clk))
		ab.AddAddr(p, as[0], peerstore.PermanentAddrTTL)
		ab.AddAddrsAfterDisconnect(p, as[:1], time.Minute)
		ab.AddAddrsAfterDisconnect(p, as[1:2], peerstore.PermanentAddrTTL)
		clk.Add(24 * time.Hour)
		require.ElementsMatch(t, as[:2], ab.Addrs(p))
	})
	t.Run("a peer not connected counts from now", func(t *testing.T) {
		ab := newBook(t, newstore.WithClock(clk))
		ab.AddAddrsAfterDisconnect(p, as[:1], time.Minute)
		clk.Add(time.Minute - time.Nanosecond)
		require.Len(t, ab.Addrs(p), 1)
		clk.Add(time.Nanosecond)
		require.Empty(t, ab.Addrs(p))
	})
	t.Run("never shortens a longer plain TTL", func(t *testing.T) {
		ab := newBook(t, newstore.WithClock(clk))
		ab.AddAddr(p, as[0], time.Hour)
		ab.AddAddrsAfterDisconnect(p, as[:1], time.Minute)
		clk.Add(59 * time.Minute)
		require.Len(t, ab.Addrs(p), 1)
	})
	t.Run("connected peers' addresses are never evicted; caps hold after disconnect", func(t *testing.T) {
		ab := newBook(t, newstore.WithClock(clk), newstore.WithMaxAddrsPerPeer(2))
		att, err := ab.Attach(local.EventBus(), local.Network())
		require.NoError(t, err)
		defer att.Close()
		testhost.Connect(t, local, remote)
		waitConnected(t, ab, p, true)
		ab.AddAddrsAfterDisconnect(p, as[:3], 10*time.Minute)
		ab.AddAddrs(p, as[3:4], time.Hour) // room made among unconnected ones only
		require.Len(t, ab.Addrs(p), 4, "three held by the connection, one unconnected")
		require.NoError(t, ab.CheckCounters())
		require.NoError(t, local.Network().ClosePeer(p))
		waitConnected(t, ab, p, false)
		require.Len(t, ab.Addrs(p), 2, "the per-peer cap applies once the connection is gone")
		require.NoError(t, ab.CheckCounters())
	})
}

// A snapshot keeps what the mode needs: a peer connected at snapshot time
// gets its whole TTL after disconnect from the restore (the connection did
// not survive), a disconnected one the rest of it; a peer connected again
// when the snapshot is restored holds its addresses.
func TestAddrsAfterDisconnectSurviveSnapshots(t *testing.T) {
	clk := mockclock.NewMock()
	ab := newBook(t, newstore.WithClock(clk))
	local, online, offline := testhost.New(t, testhost.Config{}), testhost.New(t, testhost.Config{}), testhost.New(t, testhost.Config{})
	att, err := ab.Attach(local.EventBus(), local.Network())
	require.NoError(t, err)
	defer att.Close()
	testhost.Connect(t, local, online)
	waitConnected(t, ab, online.ID(), true)
	ab.AddAddrsAfterDisconnect(online.ID(), online.Addrs(), 10*time.Minute)
	ab.AddAddrsAfterDisconnect(offline.ID(), offline.Addrs(), 10*time.Minute)
	clk.Add(6 * time.Minute)
	snap := snapshotBytes(t, ab)

	clk.Add(time.Hour) // the node is down for an hour
	restored := newBook(t, newstore.WithClock(clk))
	require.NoError(t, restored.Restore(bytes.NewReader(snap)))
	require.Empty(t, restored.Addrs(offline.ID()), "its 4 remaining minutes passed while the node was down")
	clk.Add(10*time.Minute - time.Nanosecond)
	require.Len(t, restored.Addrs(online.ID()), len(online.Addrs()), "counted from the restore, as a disconnect")
	clk.Add(time.Nanosecond)
	require.Empty(t, restored.Addrs(online.ID()))

	// Restored while the peer is connected again: held.
	again := newBook(t, newstore.WithClock(clk))
	att2, err := again.Attach(local.EventBus(), local.Network())
	require.NoError(t, err)
	defer att2.Close()
	require.True(t, again.IsConnected(online.ID()))
	require.NoError(t, again.Restore(bytes.NewReader(snap)))
	clk.Add(24 * time.Hour)
	require.Len(t, again.Addrs(online.ID()), len(online.Addrs()))
	require.NoError(t, again.CheckCounters())

	// And a snapshot of a disconnected peer keeps the rest of its TTL.
	clk2 := mockclock.NewMock()
	b := newBook(t, newstore.WithClock(clk2))
	b.AddAddrsAfterDisconnect(offline.ID(), offline.Addrs(), 10*time.Minute)
	clk2.Add(6 * time.Minute)
	snap = snapshotBytes(t, b)
	c := newBook(t, newstore.WithClock(clk2))
	require.NoError(t, c.Restore(bytes.NewReader(snap)))
	clk2.Add(4*time.Minute - time.Nanosecond)
	require.NotEmpty(t, c.Addrs(offline.ID()))
	clk2.Add(time.Nanosecond)
	require.Empty(t, c.Addrs(offline.ID()))
}
