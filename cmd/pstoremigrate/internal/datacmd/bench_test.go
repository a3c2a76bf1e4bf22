package datacmd

import (
	"bytes"
	"context"
	"crypto/ed25519"
	"encoding/binary"
	"encoding/gob"
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"runtime/metrics"
	"syscall"
	"testing"
	"time"

	ds "github.com/ipfs/go-datastore"
	ic "github.com/libp2p/go-libp2p/core/crypto"
	"github.com/libp2p/go-libp2p/core/peer"
	"github.com/libp2p/go-libp2p/core/protocol"
	"github.com/libp2p/go-libp2p/core/record"
	upstream "github.com/libp2p/go-libp2p/p2p/host/peerstore/pstoreds"
	"github.com/libp2p/go-libp2p/p2p/host/peerstore/pstoreds/pb"
	ma "github.com/multiformats/go-multiaddr"
	"github.com/stretchr/testify/require"
	"google.golang.org/protobuf/proto"

	"github.com/pstoremigrate/pstoremigrate/compat/pstoreds/legacy"
	"github.com/pstoremigrate/pstoremigrate/internal/legacytest"
)

// writeLegacyPeers writes n peers straight in the legacy layout, with the
// encodings upstream pstoreds uses (protobuf address records, marshalled
// keys, gob metadata), much faster than going through pstoreds: each has
// three live addresses and an expired one, public and private keys, a
// signed record, protocols and an agent version.
func writeLegacyPeers(tb testing.TB, d ds.Batching, n int) {
	tb.Helper()
	ctx := context.Background()
	now := time.Now()
	gobValue := func(v any) []byte {
		var buf bytes.Buffer
		require.NoError(tb, gob.NewEncoder(&buf).Encode(&v))
		return buf.Bytes()
	}
	protos := make(map[protocol.ID]struct{})
	for _, p := range legacytest.Protocols {
		protos[p] = struct{}{}
	}
	protosVal, agentVal := gobValue(protos), gobValue(legacytest.AgentVersion)

	batch, err := d.Batch(ctx)
	require.NoError(tb, err)
	for i := range n {
		// Deterministic keys: the same datastore each run.
		var seed [ed25519.SeedSize]byte
		binary.BigEndian.PutUint64(seed[:], uint64(i)+1)
		priv, err := ic.UnmarshalEd25519PrivateKey(ed25519.NewKeyFromSeed(seed[:]))
		require.NoError(tb, err)
		id, err := peer.IDFromPrivateKey(priv)
		require.NoError(tb, err)
		enc := encodeID(id)

		rec := &pb.AddrBookRecord{Id: []byte(id)}
		// Written two hours ago; upstream keeps them soonest expiry
		// first (its reads rely on it).
		written := now.Add(-2 * time.Hour)
		addr := func(s string, ttl time.Duration) {
			rec.Addrs = append(rec.Addrs, &pb.AddrBookRecord_AddrEntry{
				Addr: ma.StringCast(s).Bytes(), Ttl: int64(ttl), Expiry: written.Add(ttl).Unix(),
			})
		}
		addr(fmt.Sprintf("/ip4/192.%d.%d.%d/tcp/4001", i>>16&255, i>>8&255, i&255), time.Hour)
		for j := range 3 {
			addr(fmt.Sprintf("/ip4/10.%d.%d.%d/tcp/%d", i>>16&255, i>>8&255, i&255, 4001+j), 26*time.Hour)
		}
		env, err := record.Seal(peer.PeerRecordFromAddrInfo(peer.AddrInfo{ID: id, Addrs: []ma.Multiaddr{
			ma.StringCast(fmt.Sprintf("/ip4/10.%d.%d.%d/tcp/4001", i>>16&255, i>>8&255, i&255)),
		}}), priv)
		require.NoError(tb, err)
		raw, err := env.Marshal()
		require.NoError(tb, err)
		rec.CertifiedRecord = &pb.AddrBookRecord_CertifiedRecord{Seq: 1, Raw: raw}
		recBytes, err := proto.Marshal(rec)
		require.NoError(tb, err)
		pubBytes, err := ic.MarshalPublicKey(priv.GetPublic())
		require.NoError(tb, err)
		privBytes, err := ic.MarshalPrivateKey(priv)
		require.NoError(tb, err)

		keys := legacy.KeysPrefix.ChildString(enc)
		meta := legacy.MetadataPrefix.ChildString(enc)
		for k, v := range map[ds.Key][]byte{
			legacy.AddrsPrefix.ChildString(enc): recBytes,
			keys.ChildString("pub"):             pubBytes,
			keys.ChildString("priv"):            privBytes,
			meta.ChildString("protocols"):       protosVal,
			meta.ChildString("AgentVersion"):    agentVal,
		} {
			require.NoError(tb, batch.Put(ctx, k, v))
		}
		if i%1000 == 999 {
			require.NoError(tb, batch.Commit(ctx))
			batch, err = d.Batch(ctx)
			require.NoError(tb, err)
		}
	}
	require.NoError(tb, batch.Commit(ctx))
}

func TestWriteLegacyPeersIsWhatUpstreamReads(t *testing.T) {
	ctx := context.Background()
	d := openNew(t, LevelDB, filepath.Join(t.TempDir(), "db"))
	defer d.Close()
	writeLegacyPeers(t, d, 10)
	ps, err := upstream.NewPeerstore(ctx, d, upstream.DefaultOpts())
	require.NoError(t, err)
	defer ps.Close()
	ids := ps.PeersWithAddrs()
	require.Len(t, ids, 10)
	for _, id := range ids {
		require.Len(t, ps.Addrs(id), 3)
		require.NotNil(t, ps.PubKey(id))
		require.NotNil(t, ps.PrivKey(id))
		require.NotNil(t, ps.GetPeerRecord(id))
		protos, err := ps.GetProtocols(id)
		require.NoError(t, err)
		require.ElementsMatch(t, legacytest.Protocols, protos)
	}
}

// cpuTime is the CPU time this process has used, user and system: on a
// machine shared with other work, a fairer measure than the wall clock.
func cpuTime() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// heapPeak samples the live heap until stopped.
type heapPeak struct {
	stop, done chan struct{}
	peak       uint64
}

func watchHeap() *heapPeak {
	runtime.GC()
	h := &heapPeak{stop: make(chan struct{}), done: make(chan struct{})}
	sample := []metrics.Sample{{Name: "/memory/classes/heap/objects:bytes"}}
	read := func() {
		metrics.Read(sample)
		h.peak = max(h.peak, sample[0].Value.Uint64())
	}
	read()
	go func() {
		defer close(h.done)
		t := time.NewTicker(2 * time.Millisecond)
		defer t.Stop()
		for {
			select {
			case <-h.stop:
				read()
				return
			case <-t.C:
				read()
			}
		}
	}()
	return h
}

func (h *heapPeak) Stop() uint64 {
	close(h.stop)
	<-h.done
	return h.peak
}

// BenchmarkImport imports 10,000 and 100,000 legacy peers from leveldb,
// into a snapshot file and into a new compat/pstoreds datastore, and
// reports peers/s, the peak heap and the CPU time of each, beside:
//   - readpeers-whole: one legacy.ReadPeers over the whole datastore, the
//     unbatched read that streaming avoids (its heap grows with the
//     datastore);
//   - upstream-pstoreds-read-all: upstream pstoreds opening the same
//     datastore and reading every peer back, what a legacy node did.
func BenchmarkImport(b *testing.B) {
	for _, n := range []int{10_000, 100_000} {
		b.Run(fmt.Sprintf("peers=%d", n), func(b *testing.B) { benchmarkImport(b, n) })
	}
}

func benchmarkImport(b *testing.B, n int) {
	ctx := context.Background()
	src := filepath.Join(b.TempDir(), "legacy")
	d := openNew(b, LevelDB, src)
	writeLegacyPeers(b, d, n)
	require.NoError(b, d.Close())

	// measure runs op b.N times, each after prepare (untimed), and
	// reports the peak heap and CPU time of op alone.
	measure := func(b *testing.B, prepare func() string, op func(string) int) {
		var peak uint64
		var cpu time.Duration
		for range b.N {
			b.StopTimer()
			arg := prepare()
			h := watchHeap()
			c0 := cpuTime()
			b.StartTimer()
			got := op(arg)
			b.StopTimer()
			cpu += cpuTime() - c0
			peak = max(peak, h.Stop())
			require.Equal(b, n, got)
			require.NoError(b, os.RemoveAll(arg))
			b.StartTimer()
		}
		b.ReportMetric(float64(n)*float64(b.N)/b.Elapsed().Seconds(), "peers/s")
		b.ReportMetric(float64(peak)/(1<<20), "peak-heap-MB")
		b.ReportMetric(cpu.Seconds()/float64(b.N), "cpu-s/op")
	}
	newDst := func() string { return filepath.Join(b.TempDir(), "out") }

	for _, f := range []Format{FormatSnapshot, FormatLevelDB} {
		b.Run("import-to-"+string(f), func(b *testing.B) {
			measure(b, newDst, func(dst string) int {
				sum, err := Import(ctx, src, dst, WithFormat(f))
				require.NoError(b, err)
				return sum.Imported.Peers
			})
		})
	}
	b.Run("readpeers-whole", func(b *testing.B) {
		measure(b, newDst, func(string) int {
			d, err := OpenDatastore(src, true)
			require.NoError(b, err)
			defer d.Close()
			got := 0
			require.NoError(b, legacy.ReadPeers(ctx, d, func(*legacy.Peer) error { got++; return nil }, nil))
			return got
		})
	})
	b.Run("upstream-pstoreds-read-all", func(b *testing.B) {
		// Upstream prunes expired addresses as it reads: give it a
		// copy, so that every run reads the same.
		measure(b, func() string {
			cp := filepath.Join(b.TempDir(), "copy")
			copyDir(b, src, cp)
			return cp
		}, func(cp string) int {
			d, err := OpenDatastore(cp, false)
			require.NoError(b, err)
			ps, err := upstream.NewPeerstore(ctx, d, upstream.DefaultOpts())
			require.NoError(b, err)
			got := 0
			for _, id := range ps.PeersWithAddrs() {
				if len(ps.Addrs(id)) > 0 && ps.PubKey(id) != nil && ps.GetPeerRecord(id) != nil {
					got++
				}
			}
			require.NoError(b, ps.Close())
			require.NoError(b, d.Close())
			return got
		})
	})
}
