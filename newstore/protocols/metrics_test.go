package protocols

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/benbjohnson/clock"
	"github.com/libp2p/go-libp2p/core/peer"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/pstoremigrate/pstoremigrate/newstore"
)

// What the tracer reads of the store follows a real connection: a peer and
// its sets while connected (and within the grace period), nothing once the
// grace period has passed; protocols over the per-connection cap are counted
// as dropped.
func TestMetricsFollowARealConnection(t *testing.T) {
	reg := prometheus.NewRegistry()
	tr, err := newstore.NewMetricsTracer(newstore.WithRegisterer(reg))
	require.NoError(t, err)
	mock := clock.NewMock()
	s := New(WithClock(mock), WithGracePeriod(time.Minute), WithMaxProtocolsPerConn(2), WithMetricsTracer(tr))
	defer s.Close()
	local, remote := newHost(t), newHost(t)
	att, err := s.Attach(local.EventBus(), local.Network())
	require.NoError(t, err)
	defer att.Close()

	empty := s.stats()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	require.NoError(t, local.Connect(ctx, peer.AddrInfo{ID: remote.ID(), Addrs: remote.Addrs()}))
	require.Eventually(t, func() bool { return len(s.PeerProtocols(remote.ID())) > 0 },
		30*time.Second, 5*time.Millisecond, "identify event reaches the store")

	st := s.stats()
	assert.Equal(t, 1, st.Peers)
	assert.Greater(t, st.Bytes, empty.Bytes)
	assert.Equal(t, 1.0, gathered(t, reg, "newstore_peers", "store", "protocols"))
	dropped := gathered(t, reg, "newstore_dropped_total", "store", "protocols", "reason", "max_protocols_per_conn")
	assert.Positive(t, dropped, "the remote speaks more than 2 protocols")

	conns := local.Network().ConnsToPeer(remote.ID())
	require.NoError(t, local.Network().ClosePeer(remote.ID()))
	// The grace period starts when the store hears of the close: wait for
	// that before moving the clock.
	require.Eventually(t, func() bool {
		for _, c := range conns {
			if s.HasConn(c) {
				return false
			}
		}
		return s.stats().Peers == 1
	}, 30*time.Second, 5*time.Millisecond)
	mock.Add(time.Minute) // the grace period passes and the sweep runs
	require.Eventually(t, func() bool { return s.stats().Peers == 0 }, 30*time.Second, 5*time.Millisecond)
}

// gathered is the value of the series of reg named name with the given
// labels (name, value pairs).
func gathered(t *testing.T, reg *prometheus.Registry, name string, labels ...string) float64 {
	t.Helper()
	fams, err := reg.Gather()
	require.NoError(t, err)
	for _, f := range fams {
		if f.GetName() != name {
			continue
		}
	next:
		for _, m := range f.GetMetric() {
			for i := 0; i < len(labels); i += 2 {
				ok := false
				for _, l := range m.GetLabel() {
					ok = ok || (l.GetName() == labels[i] && l.GetValue() == labels[i+1])
				}
				if !ok {
					continue next
				}
			}
			return m.GetGauge().GetValue() + m.GetCounter().GetValue()
		}
	}
	t.Fatalf("no series %s%v", name, labels)
	return 0
}

// Every protocol the budgets leave out is counted under its reason, and the
// counts add up to Store.Dropped; a retained peer given up for the retained
// budget is an eviction.
func TestMetricsCountBudgetDropsByReason(t *testing.T) {
	reg := prometheus.NewRegistry()
	tr, err := newstore.NewMetricsTracer(newstore.WithRegisterer(reg))
	require.NoError(t, err)
	const per = 40 + EntryOverhead
	s, _ := newMockStore(t, WithMaxRetainedBytes(25*per), WithMetricsTracer(tr))
	var conns []*fakeConn
	const n = 8 // 8 connections of DefaultMaxProtocolsPerConn are over DefaultMaxBytesPerPeer
	for i := range n {
		c := newConn(peerA)
		conns = append(conns, c)
		// Over the per-connection cap, and together over the peer's budget.
		s.Identified(c, hostileSet(fmt.Sprint(i), DefaultMaxProtocolsPerConn+5))
	}
	// The first connections hold the whole budget (the last ones got
	// nothing): the first closes last, its set is cut to the retained budget per peer, and
	// the peer, alone over the retained budget, is given up.
	for i := len(conns) - 1; i >= 0; i-- {
		s.ConnClosed(conns[i])
	}
	assert.Empty(t, s.PeerProtocols(peerA), "over the retained budget on its own")
	checkConsistent(t, s)

	byReason := map[string]float64{}
	var sum float64
	for _, r := range []string{dropMaxPerConn, dropMaxBytesPerPeer, dropMaxRetainedBytesPerPeer, dropMaxRetainedBytes, dropRetainedPeerEvicted} {
		byReason[r] = gathered(t, reg, "newstore_dropped_total", "store", "protocols", "reason", r)
		sum += byReason[r]
	}
	assert.Equal(t, float64(n*5), byReason[dropMaxPerConn], "5 over the cap on each connection")
	assert.Positive(t, byReason[dropMaxBytesPerPeer])
	assert.Positive(t, byReason[dropMaxRetainedBytesPerPeer])
	assert.Equal(t, float64(DefaultMaxRetainedBytesPerPeer/per), byReason[dropRetainedPeerEvicted], "what was left of the retained set")
	assert.Equal(t, float64(s.Dropped()), sum, "the reasons add up to Dropped")
	assert.Equal(t, 1.0, gathered(t, reg, "newstore_evictions_total", "store", "protocols"))
}
