package peerdata

import (
	"strings"
	"testing"
	"time"

	"github.com/libp2p/go-libp2p/core/peer"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/pstoremigrate/pstoremigrate/newstore"
)

// The byte budgets' refusals and drops reach the tracer under their own
// reasons, and the values given up for the retained budget are evictions.
func TestMetricsCountByteBudgets(t *testing.T) {
	reg := prometheus.NewRegistry()
	tr, err := newstore.NewMetricsTracer(newstore.WithRegisterer(reg))
	require.NoError(t, err)
	val := strings.Repeat("v", 400)
	per := sizeOf(scoreKey{}) + sizeOf(val) + EntryOverhead
	s, mock := newMockStore(t, WithMaxBytesPerPeer(1024), WithMaxRetainedBytes(2*per), WithSweepInterval(time.Hour), WithMetricsTracer(tr))

	s.Connected(peerA)
	require.ErrorIs(t, s.Put(peerA, otherKey{}, strings.Repeat("x", 2000), time.Minute), ErrTooManyBytes)
	require.NoError(t, s.Put(peerA, scoreKey{}, "small", time.Minute))
	require.ErrorIs(t, s.Put(peerA, scoreKey{}, strings.Repeat("x", 2000), time.Minute), ErrTooManyBytes)
	for _, p := range []string{"p1", "p2", "p3"} {
		require.NoError(t, s.Put(peer.ID(p), scoreKey{}, val, time.Hour)) // not connected: retained at once
		mock.Add(time.Second)
	}
	assert.Equal(t, uint64(1), s.Dropped())

	fams, err := reg.Gather()
	require.NoError(t, err)
	got := map[string]float64{}
	for _, f := range fams {
		for _, m := range f.GetMetric() {
			labels := map[string]string{}
			for _, l := range m.GetLabel() {
				labels[l.GetName()] = l.GetValue()
			}
			if labels["store"] == newstore.StorePeerData {
				got[f.GetName()+"/"+labels["reason"]] = m.GetCounter().GetValue()
			}
		}
	}
	assert.Equal(t, 2.0, got["newstore_dropped_total/max_bytes_per_peer"], "two Puts over the peer's budget")
	assert.Equal(t, 1.0, got["newstore_dropped_total/max_retained_bytes"], "p1's value, the longest retained")
	assert.Equal(t, 1.0, got["newstore_evictions_total/"])
}
