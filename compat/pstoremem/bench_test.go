package pstoremem

import (
	"runtime"
	"testing"

	pstore "github.com/libp2p/go-libp2p/core/peerstore"
	upstream "github.com/libp2p/go-libp2p/p2p/host/peerstore/pstoremem"
	pt "github.com/libp2p/go-libp2p/p2p/host/peerstore/test"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/stretchr/testify/require"

	"github.com/pstoremigrate/pstoremigrate/internal/benchdata"
	"github.com/pstoremigrate/pstoremigrate/newstore"
)

// BenchmarkPeerstore runs upstream's benchmark suite on this package and on
// upstream pstoremem in the same run, for side-by-side comparison:
//
//	go test -run '^$' -bench 'BenchmarkPeerstore$' ./compat/pstoremem/
func BenchmarkPeerstore(b *testing.B) {
	b.Run("compat", func(b *testing.B) {
		pt.BenchmarkPeerstore(b, func() (pstore.Peerstore, func()) {
			ps, err := NewPeerstore()
			require.NoError(b, err)
			return ps, func() { ps.Close() }
		}, "")
	})
	b.Run("upstream", func(b *testing.B) {
		pt.BenchmarkPeerstore(b, func() (pstore.Peerstore, func()) {
			ps, err := upstream.NewPeerstore()
			require.NoError(b, err)
			return ps, func() { ps.Close() }
		}, "")
	})
}

// BenchmarkPeerstoreMetrics runs upstream's benchmark suite with the
// metrics tracer off and on, in the same run, to show what the tracer costs
// on the hot paths (the goal: within 5%):
//
//	go test -run '^$' -bench 'BenchmarkPeerstoreMetrics' -count 5 ./compat/pstoremem/
func BenchmarkPeerstoreMetrics(b *testing.B) {
	for _, on := range []bool{false, true} {
		name := "tracer-off"
		if on {
			name = "tracer-on"
		}
		b.Run(name, func(b *testing.B) {
			pt.BenchmarkPeerstore(b, func() (pstore.Peerstore, func()) {
				var opts []Option
				if on {
					tr, err := newstore.NewMetricsTracer(newstore.WithRegisterer(prometheus.NewRegistry()))
					require.NoError(b, err)
					opts = append(opts, WithMetricsTracer(tr))
				}
				ps, err := NewPeerstore(opts...)
				require.NoError(b, err)
				return ps, func() { ps.Close() }
			}, "")
		})
	}
}

// BenchmarkHeapPerPeer reports the heap retained per peer (B/peer) once
// 100,000 peers are stored, each with 8 addresses, a public key, a signed
// record, 20 of about 50 protocols and an agent version, for this package
// and upstream pstoremem. It takes tens of seconds; run it alone:
//
//	go test -run '^$' -bench HeapPerPeer -benchtime 1x ./compat/pstoremem/
func BenchmarkHeapPerPeer(b *testing.B) {
	const n = 100_000
	peers, err := benchdata.Generate(n)
	require.NoError(b, err)
	for _, impl := range []struct {
		name string
		open func() (pstore.Peerstore, error)
	}{
		{"compat", func() (pstore.Peerstore, error) { return NewPeerstore() }},
		{"upstream", func() (pstore.Peerstore, error) { return upstream.NewPeerstore() }},
	} {
		b.Run(impl.name, func(b *testing.B) {
			for range b.N {
				before := heapInUse()
				ps, err := impl.open()
				require.NoError(b, err)
				for i := range peers {
					require.NoError(b, benchdata.Load(ps, &peers[i]))
				}
				after := heapInUse()
				b.ReportMetric(float64(after-before)/n, "B/peer")
				require.Len(b, ps.PeersWithAddrs(), n)
				ps.Close()
			}
		})
	}
}

func heapInUse() uint64 {
	var m runtime.MemStats
	runtime.GC()
	runtime.GC()
	runtime.ReadMemStats(&m)
	return m.HeapAlloc
}
