package pstoreds

import (
	"context"
	"testing"
	"time"

	"github.com/libp2p/go-libp2p"
	ic "github.com/libp2p/go-libp2p/core/crypto"
	"github.com/libp2p/go-libp2p/core/event"
	"github.com/libp2p/go-libp2p/core/host"
	"github.com/libp2p/go-libp2p/core/peer"
	"github.com/stretchr/testify/require"

	"github.com/pstoremigrate/pstoremigrate/internal/legacytest"
)

func loopbackHost(t *testing.T, opts ...libp2p.Option) host.Host {
	h, err := libp2p.New(append([]libp2p.Option{
		libp2p.ListenAddrStrings("/ip4/127.0.0.1/tcp/0"),
		libp2p.DisableRelay(),
	}, opts...)...)
	require.NoError(t, err)
	return h
}

// A host restarted on the same datastore finds the peers it knew, and its
// private key was never written.
func TestHostRestartKeepsPeers(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	b := legacytest.Backends[1]
	dir := t.TempDir()
	d := b.Open(t, dir)
	ps, err := NewPeerstore(ctx, d, DefaultOpts())
	require.NoError(t, err)
	priv, _, err := ic.GenerateEd25519Key(nil)
	require.NoError(t, err)
	h1 := loopbackHost(t, libp2p.Identity(priv), libp2p.Peerstore(ps))
	h2 := loopbackHost(t)
	defer h2.Close()

	sub, err := h1.EventBus().Subscribe(new(event.EvtPeerIdentificationCompleted))
	require.NoError(t, err)
	require.NoError(t, h1.Connect(ctx, peer.AddrInfo{ID: h2.ID(), Addrs: h2.Addrs()}))
	select {
	case <-sub.Out():
	case <-ctx.Done():
		t.Fatal("identify did not complete")
	}
	sub.Close()
	require.NotNil(t, ps.PrivKey(h1.ID()), "the host keeps its key in the peerstore")
	av, err := ps.Get(h2.ID(), "AgentVersion")
	require.NoError(t, err)
	require.NotEmpty(t, av)
	want := h2.Addrs()
	require.NoError(t, h1.Close()) // closes ps: the last save
	require.NoError(t, d.Close())

	d = b.Open(t, dir)
	defer d.Close()
	raw, err := priv.Raw()
	require.NoError(t, err)
	for _, e := range allEntries(t, d) {
		require.NotContains(t, string(e.Value), string(raw[:32]), "value of %s", e.Key)
	}
	ps, err = NewPeerstore(ctx, d, DefaultOpts())
	require.NoError(t, err)
	defer ps.Close()
	require.Subset(t, ps.Addrs(h2.ID()), want)
	require.NotNil(t, ps.PubKey(h2.ID()))
}
