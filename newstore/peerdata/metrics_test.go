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

// newstore_bytes for per-peer data is what the byte budgets charge for the
// values, plus each peer's place in the store: an operator reading it sees
// the figure WithMaxRetainedBytes bounds, not a count of structures.
func TestMetricsBytesFollowTheBudgetsCharges(t *testing.T) {
	reg := prometheus.NewRegistry()
	tr, err := newstore.NewMetricsTracer(newstore.WithRegisterer(reg))
	require.NoError(t, err)
	s, mock := newMockStore(t, WithSweepInterval(time.Second), WithMetricsTracer(tr))
	bytesHeld := func() float64 {
		t.Helper()
		fams, err := reg.Gather()
		require.NoError(t, err)
		for _, f := range fams {
			if f.GetName() != "newstore_bytes" {
				continue
			}
			for _, m := range f.GetMetric() {
				for _, l := range m.GetLabel() {
					if l.GetName() == "store" && l.GetValue() == newstore.StorePeerData {
						return m.GetGauge().GetValue()
					}
				}
			}
		}
		t.Fatal("no newstore_bytes for peerdata")
		return 0
	}
	require.Zero(t, bytesHeld(), "an empty store")

	// Two peers: one with a 1,000-byte agent string and an 8-byte score,
	// one with a 100-byte slice. Charges: string 16+len, slice 24+cap,
	// anything else its type's size; keys (empty structs) 0; 64 per value.
	perPeer := int(mapEntrySize + peerStateSize)
	pB := peer.ID("peer-b")
	s.Connected(peerA)
	require.NoError(t, s.Put(peerA, otherKey{}, strings.Repeat("a", 1000), time.Minute))
	require.NoError(t, s.Put(peerA, scoreKey{}, 2.5, time.Minute))
	require.NoError(t, s.Put(pB, scoreKey{}, make([]byte, 100), time.Minute))
	want := 2*perPeer + len(peerA) + len(pB) + (16 + 1000 + EntryOverhead) + (8 + EntryOverhead) + (24 + 100 + EntryOverhead)
	assert.Equal(t, float64(want), bytesHeld())

	// Replacing the agent with a shorter one charges the difference.
	require.NoError(t, s.Put(peerA, otherKey{}, strings.Repeat("a", 10), time.Minute))
	want -= 990
	assert.Equal(t, float64(want), bytesHeld())

	// pB was never connected: its value dies a minute after the Put, and
	// the sweep gives back its bytes and its place.
	mock.Add(time.Minute + time.Second)
	require.Eventually(t, func() bool {
		return bytesHeld() == float64(want-perPeer-len(pB)-(24+100+EntryOverhead))
	}, 5*time.Second, 10*time.Millisecond, "pB's value expired and was swept")
	require.NoError(t, s.Delete(peerA, otherKey{}))
	assert.Equal(t, float64(perPeer+len(peerA)+8+EntryOverhead), bytesHeld())
}
