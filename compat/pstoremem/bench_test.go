package pstoremem

import (
	"fmt"
	"testing"

	"github.com/libp2p/go-libp2p/core/peer"
	pstore "github.com/libp2p/go-libp2p/core/peerstore"
	upstream "github.com/libp2p/go-libp2p/p2p/host/peerstore/pstoremem"
	pt "github.com/libp2p/go-libp2p/p2p/host/peerstore/test"
	ma "github.com/multiformats/go-multiaddr"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/stretchr/testify/require"

	"github.com/pstoremigrate/pstoremigrate/internal/benchdata"
	"github.com/pstoremigrate/pstoremigrate/internal/interleave"
	"github.com/pstoremigrate/pstoremigrate/internal/measure"
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

// BenchmarkPeerstoreMetrics runs the cases of upstream's BenchmarkPeerstore
// (the same operations on the same kind of data) on two stores at once, the
// metrics tracer off and on, to show what the tracer costs on the hot paths
// (the goal: within 5%). A shared, loaded machine skews two runs made one
// after the other, so the two stores take turns in blocks of about 2 ms,
// each block timed by the CPU time of the benchmark's thread, which time
// spent by other processes does not advance (internal/interleave). Reported
// per case: each side's median CPU per operation over its blocks and their
// ratio:
//
//	go test -run '^$' -bench 'BenchmarkPeerstoreMetrics' -count 6 ./compat/pstoremem/
//
// ns/op is the wall time of one operation on both stores.
func BenchmarkPeerstoreMetrics(b *testing.B) {
	const peersPerCase = 10000
	ttl := pstore.RecentlyConnectedAddrTTL
	type pair = struct {
		ID   peer.ID
		Addr []ma.Multiaddr
	}
	cases := []struct {
		name string
		// fill prepares a fresh store, as upstream's case does before its
		// timer starts.
		fill func(ps pstore.Peerstore, peers []pair)
		op   func(ps pstore.Peerstore, peers []pair, i int)
	}{
		{"AddAddrs", nil, func(ps pstore.Peerstore, peers []pair, i int) {
			pp := peers[i%len(peers)]
			ps.AddAddrs(pp.ID, pp.Addr, ttl)
		}},
		// Upstream's GetAddrs case calls SetAddrs; kept as it is.
		{"GetAddrs", nil, func(ps pstore.Peerstore, peers []pair, i int) {
			pp := peers[i%len(peers)]
			ps.SetAddrs(pp.ID, pp.Addr, ttl)
		}},
		{"GetAndClearAddrs", nil, func(ps pstore.Peerstore, peers []pair, i int) {
			const itersPerBM = 10
			for j := range itersPerBM {
				pp := peers[(i+j)%len(peers)]
				ps.AddAddrs(pp.ID, pp.Addr, ttl)
			}
			for j := range itersPerBM {
				_ = ps.Addrs(peers[(i+j)%len(peers)].ID)
			}
			for j := range itersPerBM {
				ps.ClearAddrs(peers[(i+j)%len(peers)].ID)
			}
		}},
		{"PeersWithAddrs", func(ps pstore.Peerstore, peers []pair) {
			for _, pp := range peers {
				ps.AddAddrs(pp.ID, pp.Addr, ttl)
			}
		}, func(ps pstore.Peerstore, _ []pair, _ int) { _ = ps.PeersWithAddrs() }},
		{"SetAddrs", nil, func(ps pstore.Peerstore, peers []pair, i int) {
			pp := peers[i%len(peers)]
			ps.SetAddrs(pp.ID, pp.Addr, ttl)
		}},
	}
	tr, err := newstore.NewMetricsTracer(newstore.WithRegisterer(prometheus.NewRegistry()))
	require.NoError(b, err)
	for _, sz := range []int{1, 10, 100} {
		peers := make([]pair, peersPerCase)
		for i := range peers {
			pp := pt.RandomPeer(b, sz)
			peers[i] = pair{pp.ID, pp.Addr}
		}
		for _, c := range cases {
			b.Run(fmt.Sprintf("%s-%d", c.name, sz), func(b *testing.B) {
				var stores [2]*Peerstore // off, on
				for side := range stores {
					var opts []Option
					if side == 1 {
						opts = append(opts, WithMetricsTracer(tr))
					}
					ps, err := NewPeerstore(opts...)
					require.NoError(b, err)
					defer ps.Close()
					if c.fill != nil {
						c.fill(ps, peers)
					}
					stores[side] = ps
				}
				interleave.Report(b, [2]string{"off", "on"}, func(side, i int) { c.op(stores[side], peers, i) })
			})
		}
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
				before := measure.HeapInUse()
				ps, err := impl.open()
				require.NoError(b, err)
				for i := range peers {
					require.NoError(b, benchdata.Load(ps, &peers[i]))
				}
				after := measure.HeapInUse()
				b.ReportMetric(float64(after-before)/n, "B/peer")
				require.Len(b, ps.PeersWithAddrs(), n)
				ps.Close()
			}
		})
	}
}
