package remember

import (
	"context"
	"fmt"
	"io"
	"testing"
	"time"

	ds "github.com/ipfs/go-datastore"
	dsq "github.com/ipfs/go-datastore/query"
	"github.com/libp2p/go-libp2p/core/peer"
	"github.com/libp2p/go-libp2p/core/peerstore"
	"github.com/libp2p/go-libp2p/core/record"
	"github.com/libp2p/go-libp2p/p2p/host/peerstore/pstoreds"
	ma "github.com/multiformats/go-multiaddr"
	"github.com/stretchr/testify/require"
)

// typicalPeer is a public node as a DHT meets it: TCP and QUIC on IPv4 and
// IPv6, and the signed record identify sends, which lists the same
// addresses.
type typicalPeer struct {
	id     peer.ID
	addrs  []ma.Multiaddr
	record *record.Envelope
}

func typicalPeers(b *testing.B, n int) []typicalPeer {
	b.Helper()
	out := make([]typicalPeer, n)
	for i := range out {
		ident := newIdentity(b)
		addrs := []ma.Multiaddr{
			ma.StringCast(fmt.Sprintf("/ip4/203.0.113.%d/tcp/4001", i+1)),
			ma.StringCast(fmt.Sprintf("/ip4/203.0.113.%d/udp/4001/quic-v1", i+1)),
			ma.StringCast(fmt.Sprintf("/ip6/2001:db8::%x/tcp/4001", i+1)),
			ma.StringCast(fmt.Sprintf("/ip6/2001:db8::%x/udp/4001/quic-v1", i+1)),
		}
		env, err := record.Seal(peer.PeerRecordFromAddrInfo(peer.AddrInfo{ID: ident.id, Addrs: addrs}), ident.key)
		require.NoError(b, err)
		out[i] = typicalPeer{ident.id, addrs, env}
	}
	return out
}

type countingWriter struct{ n int64 }

func (c *countingWriter) Write(p []byte) (int, error) {
	c.n += int64(len(p))
	return len(p), nil
}

// BenchmarkBytesPerRememberedPeer measures what remembering
// DefaultMaxPeers typical peers costs: our saved state (the file's exact
// bytes) beside upstream's way of remembering them, pstoreds on a
// go-datastore (the keys and values it writes, before any database
// overhead, so a lower bound of its disk use):
//
//	go test -run='^$' -bench=BytesPerRememberedPeer ./newstore/remember/
func BenchmarkBytesPerRememberedPeer(b *testing.B) {
	peers := typicalPeers(b, DefaultMaxPeers)

	b.Run("upstream-pstoreds", func(b *testing.B) {
		ctx := context.Background()
		var size int64
		for b.Loop() {
			store := ds.NewMapDatastore()
			ps, err := pstoreds.NewPeerstore(ctx, store, pstoreds.DefaultOpts())
			require.NoError(b, err)
			for _, p := range peers {
				ps.AddAddrs(p.id, p.addrs, peerstore.RecentlyConnectedAddrTTL)
				_, err := ps.ConsumePeerRecord(p.record, peerstore.RecentlyConnectedAddrTTL)
				require.NoError(b, err)
			}
			require.NoError(b, ps.Close())
			res, err := store.Query(ctx, dsq.Query{})
			require.NoError(b, err)
			entries, err := res.Rest()
			require.NoError(b, err)
			size = 0
			for _, e := range entries {
				size += int64(len(e.Key) + len(e.Value))
			}
		}
		b.ReportMetric(float64(size)/float64(len(peers)), "bytes/peer")
	})

	b.Run("remember", func(b *testing.B) {
		h, r := attached(b)
		now := time.Now()
		for _, p := range peers {
			h.Peerstore().AddAddrs(p.id, p.addrs, peerstore.RecentlyConnectedAddrTTL)
			r.observe(p.id, true, now)
			r.observeRecord(p.id, p.record)
		}
		require.Len(b, r.Remembered(), len(peers))
		var w countingWriter
		for b.Loop() {
			w.n = 0
			require.NoError(b, savedSet{r}.Snapshot(&w))
		}
		b.ReportMetric(float64(w.n)/float64(len(peers)), "bytes/peer")
	})
}

var _ io.Writer = (*countingWriter)(nil)
