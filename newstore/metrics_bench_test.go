package newstore_test

import (
	"slices"
	"testing"
	"time"

	"github.com/libp2p/go-libp2p/core/peer"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/stretchr/testify/require"

	"github.com/pstoremigrate/pstoremigrate/newstore"
)

// BenchmarkTracerOverhead measures what the metrics tracer costs on the
// address book's hot path in its worst case: every AddAddr lands on a peer
// at the per-peer cap, so each one evicts, and with the tracer on counts the
// eviction; a read follows each. Two books, tracer off and on, run the same
// operations interleaved in blocks (alternating which goes first), so that
// drift of a shared machine hits both alike; reported are both costs per
// operation, each the median over its blocks (a block the scheduler
// preempted does not count for more than one), and their ratio (on/off):
//
//	go test -run '^$' -bench TracerOverhead -count 5 ./newstore/
//
// BenchmarkPeerstoreMetrics in compat/pstoremem runs upstream's suite with
// the tracer off and on as well.
func BenchmarkTracerOverhead(b *testing.B) {
	tr, err := newstore.NewMetricsTracer(newstore.WithRegisterer(prometheus.NewRegistry()))
	require.NoError(b, err)
	var books [2]*newstore.AddrBook
	for i, opts := range [][]newstore.Option{
		{newstore.WithMaxAddrsPerPeer(8)},
		{newstore.WithMaxAddrsPerPeer(8), newstore.WithMetricsTracer(tr)},
	} {
		books[i] = newBook(b, opts...)
	}
	peers := make([]peer.ID, 1000)
	for i := range peers {
		_, peers[i] = newPeer(b)
	}
	pool := addrs(b, 64, 1000)
	// Fill every peer to its cap, so that the measured adds all evict;
	// both books at once, so neither's memory is laid out better.
	for _, p := range peers {
		for _, ab := range books {
			ab.AddAddrs(p, pool[:8], time.Hour)
		}
	}

	const block = 128
	var spent [2][]time.Duration
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		for k := range 2 {
			side := (i + k) % 2
			ab := books[side]
			start := time.Now()
			for j := range block {
				n := i*block + j
				p := peers[n%len(peers)]
				ab.AddAddr(p, pool[8+n%(len(pool)-8)], time.Hour)
				_ = ab.Addrs(p)
			}
			spent[side] = append(spent[side], time.Since(start))
		}
	}
	b.StopTimer()
	median := func(d []time.Duration) float64 {
		slices.Sort(d)
		return float64(d[len(d)/2]) / block
	}
	off, on := median(spent[0]), median(spent[1])
	b.ReportMetric(off, "off-ns/op")
	b.ReportMetric(on, "on-ns/op")
	b.ReportMetric(on/off, "on/off")
}
