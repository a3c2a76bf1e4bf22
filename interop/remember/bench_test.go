package remember_test

import (
	"context"
	"path/filepath"
	"sync"
	"testing"
	"time"

	leveldb "github.com/ipfs/go-ds-leveldb"
	"github.com/libp2p/go-libp2p"
	"github.com/libp2p/go-libp2p/core/host"
	"github.com/libp2p/go-libp2p/core/peer"
	"github.com/libp2p/go-libp2p/p2p/host/peerstore/pstoreds"
	"github.com/stretchr/testify/require"

	"github.com/pstoremigrate/pstoremigrate/newstore/remember"
)

const benchPeers = 5

// BenchmarkRestartToFirstPeer measures the time from the start of a
// restart (before the host is built) to the first remembered peer that
// answers, for a node that remembers benchPeers peers on loopback. Run it
// with
//
//	go test -run='^$' -bench=RestartToFirstPeer ./newstore/remember/
//
// ns/op is a whole restart and shutdown; to-first-peer-ns is the figure.
// The sub-benchmarks are:
//
//   - remember: the host is built and Attach dials the saved peers;
//   - upstream-pstoreds: what a node did upstream, a host on a pstoreds
//     peerstore in LevelDB, then dials to every peer the store still has
//     addresses for, with the same concurrency limit.
func BenchmarkRestartToFirstPeer(b *testing.B) {
	peers := make([]host.Host, benchPeers)
	for i := range peers {
		peers[i] = newHost(b, newKey(b))
	}
	connectAll := func(h host.Host) {
		for _, p := range peers {
			connect(b, h, p)
		}
	}

	b.Run("upstream-pstoreds", func(b *testing.B) {
		key := newKey(b)
		dir := filepath.Join(b.TempDir(), "peerstore")
		start := func() (host.Host, func()) {
			store, err := leveldb.NewDatastore(dir, nil)
			require.NoError(b, err)
			ps, err := pstoreds.NewPeerstore(context.Background(), store, pstoreds.DefaultOpts())
			require.NoError(b, err)
			h := startHost(b, key, libp2p.Peerstore(ps))
			return h, func() {
				require.NoError(b, h.Close())
				require.NoError(b, ps.Close())
				require.NoError(b, store.Close())
			}
		}
		h, stop := start()
		connectAll(h)
		stop()

		var total time.Duration
		for b.Loop() {
			t0 := time.Now()
			h, stop := start()
			var known []peer.AddrInfo
			for _, p := range h.Peerstore().PeersWithAddrs() {
				if p != h.ID() {
					known = append(known, h.Peerstore().PeerInfo(p))
				}
			}
			first := dialFirst(h, known, remember.DefaultDialConcurrency, t0)
			require.Positive(b, first, "a remembered peer answered")
			total += first
			stop()
		}
		b.ReportMetric(float64(total.Nanoseconds())/float64(b.N), "to-first-peer-ns")
	})

	b.Run("remember", func(b *testing.B) {
		key := newKey(b)
		path := filepath.Join(b.TempDir(), "peers")
		h := startHost(b, key)
		r, err := remember.Attach(h, remember.WithFile(path))
		require.NoError(b, err)
		connectAll(h)
		require.Eventually(b, func() bool { return len(r.Remembered()) == benchPeers }, waitFor, time.Millisecond)
		require.NoError(b, r.Close())
		require.NoError(b, h.Close())

		var total time.Duration
		for b.Loop() {
			t0 := time.Now()
			h := startHost(b, key)
			built := time.Since(t0)
			r, err := remember.Attach(h, remember.WithFile(path))
			require.NoError(b, err)
			res := rejoined(b, r)
			require.Equal(b, benchPeers, res.Remembered)
			require.Positive(b, res.FirstAnswer, "a remembered peer answered")
			total += built + res.FirstAnswer
			require.NoError(b, r.Close())
			require.NoError(b, h.Close())
		}
		b.ReportMetric(float64(total.Nanoseconds())/float64(b.N), "to-first-peer-ns")
	})
}

// dialFirst dials the peers, at most limit at once, and returns the time
// from t0 to the first that answered, zero if none did.
func dialFirst(h host.Host, peers []peer.AddrInfo, limit int, t0 time.Time) time.Duration {
	ctx, cancel := context.WithTimeout(context.Background(), remember.DefaultDialTimeout)
	defer cancel()
	var (
		once  sync.Once
		first time.Duration
		wg    sync.WaitGroup
	)
	sem := make(chan struct{}, limit)
	for _, ai := range peers {
		sem <- struct{}{}
		wg.Add(1)
		go func() {
			defer wg.Done()
			defer func() { <-sem }()
			if h.Connect(ctx, ai) == nil {
				once.Do(func() { first = time.Since(t0) })
			}
		}()
	}
	wg.Wait()
	return first
}
