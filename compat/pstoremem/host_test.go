package pstoremem

import (
	"context"
	"io"
	"testing"
	"time"

	"github.com/pstoremigrate/pstoremigrate/internal/testhost"

	"github.com/libp2p/go-libp2p/core/host"
	"github.com/libp2p/go-libp2p/core/network"
	"github.com/libp2p/go-libp2p/core/protocol"
	"github.com/libp2p/go-libp2p/p2p/protocol/ping"
	"github.com/stretchr/testify/require"
)

// guard bounds how long a test waits for the network; it is a deadline
// against hangs, not a measurement.
const guard = 90 * time.Second

// newHost builds a loopback-only host whose peerstore is ours.
func newHost(t *testing.T, agent string) (host.Host, *Peerstore) {
	t.Helper()
	ps, err := NewPeerstore()
	require.NoError(t, err)
	return testhost.New(t, testhost.Config{Peerstore: ps, Agent: agent}), ps // the host closes ps
}

var connectAndIdentify = testhost.ConnectAndIdentify

func TestHostIdentifyPingAndStreams(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), guard)
	defer cancel()
	h1, ps1 := newHost(t, "compat-test/one")
	h2, _ := newHost(t, "compat-test/two")

	// The host put its own keys in our key book.
	require.NotNil(t, ps1.PrivKey(h1.ID()))
	require.NotNil(t, ps1.PubKey(h1.ID()))

	const echo = "/compat-test/echo/1.0.0"
	h2.SetStreamHandler(echo, func(s network.Stream) {
		defer s.Close()
		_, _ = io.Copy(s, s)
	})
	connectAndIdentify(t, ctx, h1, h2)

	// Identify filled protocols, agent version and the key.
	protos, err := ps1.GetProtocols(h2.ID())
	require.NoError(t, err)
	require.Contains(t, protos, protocol.ID(ping.ID))
	require.Contains(t, protos, protocol.ID(echo))
	first, err := ps1.FirstSupportedProtocol(h2.ID(), "/nope", echo)
	require.NoError(t, err)
	require.EqualValues(t, echo, first)
	av, err := ps1.Get(h2.ID(), "AgentVersion")
	require.NoError(t, err)
	require.Equal(t, "compat-test/two", av)
	require.NotNil(t, ps1.PubKey(h2.ID()))
	require.NotEmpty(t, ps1.Addrs(h2.ID()))

	// Ping records latency.
	res := <-ping.Ping(ctx, h1, h2.ID())
	require.NoError(t, res.Error)
	require.Positive(t, ps1.LatencyEWMA(h2.ID()))

	// A stream opens and carries data.
	s, err := h1.NewStream(ctx, h2.ID(), echo)
	require.NoError(t, err)
	_, err = s.Write([]byte("hello"))
	require.NoError(t, err)
	require.NoError(t, s.CloseWrite())
	got, err := io.ReadAll(s)
	require.NoError(t, err)
	require.Equal(t, "hello", string(got))
	require.NoError(t, s.Close())
}
