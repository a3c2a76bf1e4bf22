package pstoreds_test

import (
	"context"
	"io/fs"
	"path/filepath"
	"testing"
	"time"

	ds "github.com/ipfs/go-datastore"
	pebbleds "github.com/ipfs/go-ds-pebble"
	pstore "github.com/libp2p/go-libp2p/core/peerstore"
	upstream "github.com/libp2p/go-libp2p/p2p/host/peerstore/pstoreds"
	"github.com/stretchr/testify/require"

	"github.com/pstoremigrate/pstoremigrate/compat/pstoreds"
	"github.com/pstoremigrate/pstoremigrate/internal/benchdata"
)

// BenchmarkPebble compares this package with upstream pstoreds on
// go-ds-pebble with 100,000 peers (8 addresses, a public key, a signed
// record, 20 protocols, an agent version each), and reports:
//
//	add-ns     time to add all peers
//	reopen-ns  time to close, reopen, and read every peer's addresses
//	disk-B     bytes of the datastore directory after the last close
//
// It takes minutes for upstream; run it alone:
//
//	go test -run '^$' -bench Pebble -benchtime 1x ./pstoreds/   (in interop/)
func BenchmarkPebble(b *testing.B) {
	const n = 100_000
	peers, err := benchdata.Generate(n)
	require.NoError(b, err)
	// Decoding (signature checks included) is identify's work, the same
	// whatever the store: it is done before the clock starts.
	decoded := make([]*benchdata.Decoded, n)
	for i := range peers {
		decoded[i], err = benchdata.Decode(&peers[i])
		require.NoError(b, err)
	}
	ctx := context.Background()
	for _, impl := range []struct {
		name string
		open func(d ds.Batching) (pstore.Peerstore, error)
	}{
		{"compat", func(d ds.Batching) (pstore.Peerstore, error) {
			return pstoreds.NewPeerstore(ctx, d, pstoreds.DefaultOpts())
		}},
		{"upstream", func(d ds.Batching) (pstore.Peerstore, error) {
			return upstream.NewPeerstore(ctx, d, upstream.DefaultOpts())
		}},
	} {
		b.Run(impl.name, func(b *testing.B) {
			var add, reopen time.Duration
			var disk int64
			for range b.N {
				dir := b.TempDir()
				d, err := pebbleds.NewDatastore(dir)
				require.NoError(b, err)
				ps, err := impl.open(d)
				require.NoError(b, err)
				start := time.Now()
				for _, p := range decoded {
					require.NoError(b, benchdata.Store(ps, p))
				}
				add += time.Since(start)

				start = time.Now()
				require.NoError(b, ps.Close())
				require.NoError(b, d.Close())
				d, err = pebbleds.NewDatastore(dir)
				require.NoError(b, err)
				ps, err = impl.open(d)
				require.NoError(b, err)
				for i, p := range decoded {
					if len(ps.Addrs(p.ID)) == 0 {
						b.Fatalf("peer %d has no addresses after reopening", i)
					}
				}
				reopen += time.Since(start)
				require.NoError(b, ps.Close())
				require.NoError(b, d.Close())
				disk += dirSize(b, dir)
			}
			b.ReportMetric(float64(add.Nanoseconds())/float64(b.N), "add-ns")
			b.ReportMetric(float64(reopen.Nanoseconds())/float64(b.N), "reopen-ns")
			b.ReportMetric(float64(disk)/float64(b.N), "disk-B")
		})
	}
}

func dirSize(tb testing.TB, dir string) int64 {
	var total int64
	err := filepath.WalkDir(dir, func(_ string, e fs.DirEntry, err error) error {
		if err != nil || e.IsDir() {
			return err
		}
		info, err := e.Info()
		if err != nil {
			return err
		}
		total += info.Size()
		return nil
	})
	require.NoError(tb, err)
	return total
}
