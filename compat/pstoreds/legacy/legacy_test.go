package legacy_test

import (
	"context"
	"testing"
	"time"

	ds "github.com/ipfs/go-datastore"
	"github.com/ipfs/go-datastore/query"
	"github.com/libp2p/go-libp2p/core/peer"
	ma "github.com/multiformats/go-multiaddr"
	"github.com/stretchr/testify/require"
	"go.uber.org/goleak"

	"github.com/pstoremigrate/pstoremigrate/compat/pstoreds/legacy"
	"github.com/pstoremigrate/pstoremigrate/internal/legacytest"
)

func TestMain(m *testing.M) {
	goleak.VerifyTestMain(m, legacytest.LeakOptions...)
}

func TestReadPeersDecodesWhatUpstreamWrote(t *testing.T) {
	for _, b := range legacytest.Backends {
		t.Run(b.Name, func(t *testing.T) {
			ctx := context.Background()
			d := b.Open(t, t.TempDir())
			defer d.Close()
			filled := legacytest.Fill(t, d, 5)

			got := map[peer.ID]*legacy.Peer{}
			var order []peer.ID
			err := legacy.ReadPeers(ctx, d, func(p *legacy.Peer) error {
				got[p.ID] = p
				order = append(order, p.ID)
				return nil
			}, func(e *legacy.EntryError) { t.Errorf("unexpected bad entry: %v", e) })
			require.NoError(t, err)
			require.Len(t, got, len(filled))
			require.IsIncreasing(t, order, "peers come in ID order")

			now := time.Now()
			for _, f := range filled {
				p := got[f.ID]
				require.NotNil(t, p, "peer %s", f.ID)
				require.True(t, p.PubKey.Equals(f.Priv.GetPublic()))
				require.True(t, p.HasPrivKey)
				require.ElementsMatch(t, legacytest.Protocols, p.Protocols)
				require.Equal(t, legacytest.AgentVersion, p.Metadata["AgentVersion"])
				require.NotNil(t, p.Record)
				require.True(t, p.Record.Equal(f.Record))

				var all, live []ma.Multiaddr
				for _, a := range p.Addrs {
					all = append(all, a.Addr)
				}
				for _, a := range p.Unexpired(now) {
					live = append(live, a.Addr)
				}
				require.Subset(t, all, f.Expired, "expired addresses are still read")
				require.ElementsMatch(t, append(append([]ma.Multiaddr{}, f.Live...), f.RecordAddrs...), live,
					"only unexpired addresses survive Unexpired")
			}
		})
	}
}

func TestBadEntriesAreReportedAndSkipped(t *testing.T) {
	for _, b := range legacytest.Backends {
		t.Run(b.Name, func(t *testing.T) {
			ctx := context.Background()
			d := b.Open(t, t.TempDir())
			defer d.Close()
			filled := legacytest.Fill(t, d, 3)
			nbad := legacytest.Corrupt(t, d, filled[0].ID)

			var bad []*legacy.EntryError
			seen := map[peer.ID]*legacy.Peer{}
			err := legacy.ReadPeers(ctx, d, func(p *legacy.Peer) error {
				seen[p.ID] = p
				return nil
			}, func(e *legacy.EntryError) { bad = append(bad, e) })
			require.NoError(t, err)
			require.Len(t, bad, nbad)
			for _, e := range bad {
				require.NotEmpty(t, e.Key.String())
				require.Error(t, e.Err)
			}
			// The corrupted peer keeps everything that did decode.
			p := seen[filled[0].ID]
			require.NotNil(t, p)
			require.NotNil(t, p.PubKey)
			require.NotEmpty(t, p.Addrs)
			require.NotNil(t, p.Record)
			require.Empty(t, p.Protocols)
			for _, f := range filled[1:] {
				require.ElementsMatch(t, legacytest.Protocols, seen[f.ID].Protocols)
			}
		})
	}
}

func TestCallbackErrorStopsReading(t *testing.T) {
	ctx := context.Background()
	d := legacytest.Memory.Open(t, t.TempDir())
	defer d.Close()
	legacytest.Fill(t, d, 3)
	stop := context.Canceled
	calls := 0
	err := legacy.ReadPeers(ctx, d, func(*legacy.Peer) error { calls++; return stop }, nil)
	require.ErrorIs(t, err, stop)
	require.Equal(t, 1, calls)
}

func TestDeletePrivKeys(t *testing.T) {
	for _, b := range legacytest.Backends {
		t.Run(b.Name, func(t *testing.T) {
			ctx := context.Background()
			d := b.Open(t, t.TempDir())
			defer d.Close()
			filled := legacytest.Fill(t, d, 4)

			n, err := legacy.CountPrivKeys(ctx, d)
			require.NoError(t, err)
			require.Equal(t, len(filled), n)
			before := countUnder(t, d, legacy.Root)

			n, err = legacy.DeletePrivKeys(ctx, d)
			require.NoError(t, err)
			require.Equal(t, len(filled), n)

			n, err = legacy.CountPrivKeys(ctx, d)
			require.NoError(t, err)
			require.Zero(t, n)
			require.Equal(t, before-len(filled), countUnder(t, d, legacy.Root), "only private keys are deleted")
			for _, f := range filled {
				raw, err := f.Priv.Raw()
				require.NoError(t, err)
				requireNoValueContains(t, d, raw[:32])
			}
			err = legacy.ReadPeers(ctx, d, func(p *legacy.Peer) error {
				require.False(t, p.HasPrivKey)
				require.NotNil(t, p.PubKey)
				return nil
			}, nil)
			require.NoError(t, err)
		})
	}
}

func countUnder(t *testing.T, d ds.Read, prefix ds.Key) int {
	res, err := d.Query(context.Background(), query.Query{Prefix: prefix.String(), KeysOnly: true})
	require.NoError(t, err)
	all, err := res.Rest()
	require.NoError(t, err)
	return len(all)
}

func requireNoValueContains(t *testing.T, d ds.Read, secret []byte) {
	res, err := d.Query(context.Background(), query.Query{})
	require.NoError(t, err)
	all, err := res.Rest()
	require.NoError(t, err)
	for _, e := range all {
		require.NotContains(t, string(e.Value), string(secret), "value of %s", e.Key)
		require.NotContains(t, e.Key, string(secret))
	}
}
