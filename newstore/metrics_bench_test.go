package newstore_test

import (
	"testing"
	"time"

	"github.com/libp2p/go-libp2p/core/peer"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/stretchr/testify/require"

	"github.com/pstoremigrate/pstoremigrate/internal/interleave"
	"github.com/pstoremigrate/pstoremigrate/newstore"
)

// BenchmarkTracerOverhead measures what the metrics tracer costs on the
// address book's hot path in its worst case: every AddAddr lands on a peer
// at the per-peer cap, so each one evicts, and with the tracer on counts the
// eviction; a read follows each. Two books, tracer off and on, run the same
// operations in turns of about 2 ms, each timed by the CPU time of the
// benchmark's thread (internal/interleave), so that a loaded machine hits
// both alike; reported are both sides' median costs per operation and their
// ratio (on/off):
//
//	go test -run '^$' -bench TracerOverhead -count 6 ./newstore/
//
// BenchmarkPeerstoreMetrics in compat/pstoremem runs upstream's suite with
// the tracer off and on the same way.
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
	interleave.Report(b, [2]string{"off", "on"}, func(side, n int) {
		p := peers[n%len(peers)]
		books[side].AddAddr(p, pool[8+n%(len(pool)-8)], time.Hour)
		_ = books[side].Addrs(p)
	})
}
