package protocols

import (
	"context"
	"testing"
	"time"

	"github.com/benbjohnson/clock"
	"github.com/libp2p/go-libp2p"
	"github.com/libp2p/go-libp2p/core/host"
	"github.com/libp2p/go-libp2p/core/network"
	"github.com/libp2p/go-libp2p/core/peer"
	"github.com/libp2p/go-libp2p/core/protocol"
	"github.com/libp2p/go-libp2p/p2p/protocol/identify"
	"github.com/libp2p/go-libp2p/p2p/transport/tcp"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func newHost(t *testing.T) host.Host {
	t.Helper()
	h, err := libp2p.New(
		libp2p.ListenAddrStrings("/ip4/127.0.0.1/tcp/0"),
		libp2p.NoTransports, libp2p.Transport(tcp.NewTCPTransport),
		libp2p.DisableRelay(),
	)
	require.NoError(t, err)
	t.Cleanup(func() { _ = h.Close() })
	return h
}

func TestAttachLearnsFromRealIdentify(t *testing.T) {
	mock := clock.NewMock()
	s := New(WithClock(mock), WithGracePeriod(time.Minute))
	defer s.Close()
	local, remote := newHost(t), newHost(t)
	const echo = protocol.ID("/test/echo/1.0.0")
	remote.SetStreamHandler(echo, func(st network.Stream) { _ = st.Close() })

	att, err := s.Attach(local.EventBus(), local.Network())
	require.NoError(t, err)
	defer att.Close()

	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	require.NoError(t, local.Connect(ctx, peer.AddrInfo{ID: remote.ID(), Addrs: remote.Addrs()}))
	conns := local.Network().ConnsToPeer(remote.ID())
	require.Len(t, conns, 1)
	conn := conns[0]

	require.Eventually(t, func() bool { return len(s.ConnProtocols(conn)) > 0 },
		30*time.Second, 5*time.Millisecond, "identify event reaches the store")
	assert.Contains(t, s.ConnProtocols(conn), echo)
	assert.Contains(t, s.ConnProtocols(conn), protocol.ID(identify.ID))
	assert.Equal(t, echo, s.FirstSupported(remote.ID(), "/not/spoken", echo))
	assert.Contains(t, s.PeersSupporting(echo), remote.ID())

	// identify push: the remote adds a protocol, then drops one.
	const added = protocol.ID("/test/added/1.0.0")
	remote.SetStreamHandler(added, func(st network.Stream) { _ = st.Close() })
	require.Eventually(t, func() bool { return len(s.Supports(remote.ID(), added)) == 1 },
		30*time.Second, 5*time.Millisecond, "identify push adds the protocol")
	remote.RemoveStreamHandler(echo)
	require.Eventually(t, func() bool { return len(s.Supports(remote.ID(), echo)) == 0 },
		30*time.Second, 5*time.Millisecond, "identify push removes the protocol")

	require.NoError(t, conn.Close())
	require.Eventually(t, func() bool { return s.ConnProtocols(conn) == nil },
		30*time.Second, 5*time.Millisecond, "the conn's set goes with it")
	assert.Contains(t, s.PeerProtocols(remote.ID()), added, "kept for the grace period")
	mock.Add(time.Minute)
	assert.Nil(t, s.PeerProtocols(remote.ID()))
	assert.Empty(t, s.PeersSupporting(added))
}
