package pstoremem_test

import (
	"context"
	"testing"
	"time"

	"github.com/libp2p/go-libp2p/core/peer"
	upstream "github.com/libp2p/go-libp2p/p2p/host/peerstore/pstoremem"
	ma "github.com/multiformats/go-multiaddr"
	"github.com/stretchr/testify/require"

	"github.com/pstoremigrate/pstoremigrate/compat/pstoremem"
)

// addrSubManager is what upstream's and our AddrSubManager have in common.
type addrSubManager interface {
	BroadcastAddr(peer.ID, ma.Multiaddr)
	AddrStream(context.Context, peer.ID, []ma.Multiaddr) <-chan ma.Multiaddr
}

// streamRun is what one subscriber saw.
type streamRun struct {
	initial, broadcast []ma.Multiaddr
	closed             bool
}

// runSubscription subscribes to p with initial addresses, broadcasts more
// (duplicates and another peer's included), reads everything, then cancels
// and waits for the stream to end.
func runSubscription(t *testing.T, m addrSubManager) streamRun {
	t.Helper()
	p, other := peer.ID("peer-a"), peer.ID("peer-b")
	initial := []ma.Multiaddr{
		ma.StringCast("/ip4/1.2.3.4/tcp/1"),
		ma.StringCast("/ip4/127.0.0.1/tcp/2"),
		ma.StringCast("/ip4/1.2.3.4/udp/3/quic-v1"),
		ma.StringCast("/ip4/5.6.7.8/tcp/4"),
		ma.StringCast("/ip6/::1/udp/5/quic-v1"),
		ma.StringCast("/dns4/example.com/tcp/6"),
	}
	later := []ma.Multiaddr{
		ma.StringCast("/ip4/1.2.3.4/tcp/1"), // already streamed
		ma.StringCast("/ip4/9.9.9.9/tcp/7"),
		ma.StringCast("/ip4/9.9.9.9/tcp/7"), // twice
		ma.StringCast("/ip4/9.9.9.9/udp/8/quic-v1"),
	}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	ch := m.AddrStream(ctx, p, append([]ma.Multiaddr(nil), initial...))

	var run streamRun
	for range initial {
		run.initial = append(run.initial, recv(t, ch))
	}
	for _, a := range later {
		m.BroadcastAddr(p, a)
		m.BroadcastAddr(other, ma.StringCast("/ip4/10.0.0.1/tcp/9"))
	}
	for range 2 { // the two new addresses
		run.broadcast = append(run.broadcast, recv(t, ch))
	}
	select {
	case a, ok := <-ch:
		require.False(t, ok, "no address beyond the new ones, got %s", a)
	default:
	}
	cancel()
	// Broadcasting to a cancelled subscriber must not block.
	m.BroadcastAddr(p, ma.StringCast("/ip4/9.9.9.9/tcp/10"))
	select {
	case _, ok := <-ch:
		run.closed = !ok
	case <-time.After(10 * time.Second):
		t.Fatal("stream not closed after its context was cancelled")
	}
	return run
}

func recv(t *testing.T, ch <-chan ma.Multiaddr) ma.Multiaddr {
	t.Helper()
	select {
	case a, ok := <-ch:
		require.True(t, ok, "stream closed early")
		return a
	case <-time.After(10 * time.Second):
		t.Fatal("no address streamed")
		return nil
	}
}

// TestAddrSubManagerBehavesAsUpstream runs one subscription on upstream's
// manager and on ours and requires them to yield the same addresses in the
// same order: initial ones in upstream's dial order, new ones once each.
func TestAddrSubManagerBehavesAsUpstream(t *testing.T) {
	want := runSubscription(t, upstream.NewAddrSubManager())
	got := runSubscription(t, pstoremem.NewAddrSubManager())
	require.Equal(t, want, got)
	require.True(t, got.closed)
	require.Len(t, got.broadcast, 2)
}

func TestAddrSubManagerBroadcastWithoutSubscribers(t *testing.T) {
	m := pstoremem.NewAddrSubManager()
	done := make(chan struct{})
	go func() {
		m.BroadcastAddr("nobody", ma.StringCast("/ip4/1.2.3.4/tcp/1"))
		close(done)
	}()
	select {
	case <-done:
	case <-time.After(10 * time.Second):
		t.Fatal("a broadcast with no subscriber blocked")
	}
}
