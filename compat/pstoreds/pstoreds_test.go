package pstoreds

import (
	"context"
	"strings"
	"testing"
	"time"

	ds "github.com/ipfs/go-datastore"
	"github.com/ipfs/go-datastore/query"
	ic "github.com/libp2p/go-libp2p/core/crypto"
	"github.com/libp2p/go-libp2p/core/peer"
	pstore "github.com/libp2p/go-libp2p/core/peerstore"
	"github.com/libp2p/go-libp2p/core/record"
	"github.com/libp2p/go-libp2p/p2p/host/peerstore/pstoreds/pb"
	b32 "github.com/multiformats/go-base32"
	ma "github.com/multiformats/go-multiaddr"
	"github.com/stretchr/testify/require"
	"google.golang.org/protobuf/proto"

	"github.com/pstoremigrate/pstoremigrate/compat/pstoreds/legacy"
	"github.com/pstoremigrate/pstoremigrate/internal/legacytest"
	"github.com/pstoremigrate/pstoremigrate/newstore"
)

type testPeer struct {
	id    peer.ID
	priv  ic.PrivKey
	addrs []ma.Multiaddr
	env   *record.Envelope
}

func newTestPeer(t *testing.T, i int, keyType int) testPeer {
	priv, pub, err := ic.GenerateKeyPair(keyType, 2048)
	require.NoError(t, err)
	id, err := peer.IDFromPublicKey(pub)
	require.NoError(t, err)
	addrs := []ma.Multiaddr{
		ma.StringCast("/ip4/10.0.0." + string(rune('0'+i)) + "/tcp/4001"),
		ma.StringCast("/ip4/10.0.1." + string(rune('0'+i)) + "/udp/4001/quic-v1"),
	}
	env, err := record.Seal(peer.PeerRecordFromAddrInfo(peer.AddrInfo{ID: id, Addrs: addrs[1:]}), priv)
	require.NoError(t, err)
	return testPeer{id: id, priv: priv, addrs: addrs, env: env}
}

func TestCloseReopenRestoresAddrsKeysAndRecords(t *testing.T) {
	for _, b := range legacytest.Backends {
		t.Run(b.Name, func(t *testing.T) {
			ctx := context.Background()
			dir := t.TempDir()
			d := b.Open(t, dir)
			ps, err := NewPeerstore(ctx, d, DefaultOpts())
			require.NoError(t, err)

			// An RSA peer, whose key must be stored, and an Ed25519 one,
			// whose key the ID inlines.
			peers := []testPeer{newTestPeer(t, 1, ic.RSA), newTestPeer(t, 2, ic.Ed25519)}
			for _, p := range peers {
				require.NoError(t, ps.AddPubKey(p.id, p.priv.GetPublic()))
				require.NoError(t, ps.AddPrivKey(p.id, p.priv))
				ps.AddAddr(p.id, p.addrs[0], time.Hour)
				ps.AddAddr(p.id, p.addrs[0], pstore.PermanentAddrTTL)
				ok, err := ps.ConsumePeerRecord(p.env, time.Hour)
				require.NoError(t, err)
				require.True(t, ok)
			}
			ps = reopen(t, b, dir, ps, d)
			require.False(t, ps.MigrationReport().Imported)
			for _, p := range peers {
				require.ElementsMatch(t, p.addrs, ps.Addrs(p.id))
				require.True(t, ps.PubKey(p.id).Equals(p.priv.GetPublic()))
				require.Contains(t, ps.PeersWithKeys(), p.id)
				require.Nil(t, ps.PrivKey(p.id), "private keys do not survive a restart")
				env := ps.GetPeerRecord(p.id)
				require.NotNil(t, env)
				require.True(t, env.Equal(p.env))
			}
		})
	}
}

func TestPrivateKeysAreNeverWritten(t *testing.T) {
	for _, b := range legacytest.Backends {
		t.Run(b.Name, func(t *testing.T) {
			ctx := context.Background()
			ps, d, done := open(t, b, DefaultOpts())
			p := newTestPeer(t, 1, ic.Ed25519)
			require.NoError(t, ps.AddPrivKey(p.id, p.priv))
			require.NoError(t, ps.AddPubKey(p.id, p.priv.GetPublic()))
			ps.AddAddrs(p.id, p.addrs, time.Hour)
			require.NoError(t, ps.Save(ctx))
			require.NoError(t, ps.Close())

			raw, err := p.priv.Raw()
			require.NoError(t, err)
			marshalled, err := ic.MarshalPrivateKey(p.priv)
			require.NoError(t, err)
			entries := allEntries(t, d)
			require.NotEmpty(t, entries, "the store was persisted")
			for _, e := range entries {
				// An Ed25519 private key's first 32 bytes are its seed.
				require.NotContains(t, string(e.Value), string(raw[:32]), "value of %s", e.Key)
				require.NotContains(t, string(e.Value), string(marshalled), "value of %s", e.Key)
				require.NotContains(t, e.Key, "priv")
			}
			done()
		})
	}
}

func allEntries(t *testing.T, d ds.Read) []query.Entry {
	res, err := d.Query(context.Background(), query.Query{})
	require.NoError(t, err)
	all, err := res.Rest()
	require.NoError(t, err)
	return all
}

func TestOpenMigratesWhatUpstreamPstoredsWrote(t *testing.T) {
	for _, b := range legacytest.Backends {
		t.Run(b.Name, func(t *testing.T) {
			ctx := context.Background()
			dir := t.TempDir()
			d := b.Open(t, dir)
			filled := legacytest.Fill(t, d, 20)
			nbad := legacytest.Corrupt(t, d, filled[0].ID)
			n, err := legacy.CountPrivKeys(ctx, d)
			require.NoError(t, err)
			require.Equal(t, len(filled), n)

			ps, err := NewPeerstore(ctx, d, DefaultOpts())
			require.NoError(t, err)
			r := ps.MigrationReport()
			require.True(t, r.Imported)
			require.Equal(t, len(filled), r.Peers)
			require.Equal(t, len(filled), r.Records)
			require.Equal(t, len(filled)-1, r.Protocols, "the corrupted peer's protocols did not decode")
			require.Equal(t, len(filled)*(len(filled[0].Live)+len(filled[0].RecordAddrs)), r.Addrs)
			require.Equal(t, len(filled), r.PrivKeysDeleted)
			require.Equal(t, nbad, r.Skipped)
			require.Len(t, r.Errors, nbad)

			n, err = legacy.CountPrivKeys(ctx, d)
			require.NoError(t, err)
			require.Zero(t, n, "private keys are deleted")
			for _, f := range filled {
				want := append(append([]ma.Multiaddr{}, f.Live...), f.RecordAddrs...)
				require.ElementsMatch(t, want, ps.Addrs(f.ID), "unexpired addresses only")
				require.True(t, ps.PubKey(f.ID).Equals(f.Priv.GetPublic()))
				require.Contains(t, ps.PeersWithKeys(), f.ID)
				require.Nil(t, ps.PrivKey(f.ID))
				env := ps.GetPeerRecord(f.ID)
				require.NotNil(t, env)
				require.True(t, env.Equal(f.Record))
				if f.ID != filled[0].ID {
					protos, err := ps.GetProtocols(f.ID)
					require.NoError(t, err)
					require.ElementsMatch(t, legacytest.Protocols, protos)
					av, err := ps.Get(f.ID, "AgentVersion")
					require.NoError(t, err)
					require.Equal(t, legacytest.AgentVersion, av)
				}
			}
			// Reopened: the import is not repeated, the snapshot has it all.
			ps = reopen(t, b, dir, ps, d)
			r = ps.MigrationReport()
			require.False(t, r.Imported)
			require.Zero(t, r.PrivKeysDeleted)
			for _, f := range filled {
				want := append(append([]ma.Multiaddr{}, f.Live...), f.RecordAddrs...)
				require.ElementsMatch(t, want, ps.Addrs(f.ID))
				require.NotNil(t, ps.GetPeerRecord(f.ID))
			}
		})
	}
}

func TestPrivKeysWrittenAgainAreDeletedAtNextOpen(t *testing.T) {
	ctx := context.Background()
	b := legacytest.Backends[1]
	d := b.Open(t, t.TempDir())
	defer d.Close()
	legacytest.Fill(t, d, 1)
	ps, err := NewPeerstore(ctx, d, DefaultOpts())
	require.NoError(t, err)
	require.True(t, ps.MigrationReport().Imported)
	require.NoError(t, ps.Close())

	// An older node run on the same datastore writes keys again.
	legacytest.Fill(t, d, 2)
	ps, err = NewPeerstore(ctx, d, DefaultOpts())
	require.NoError(t, err)
	defer ps.Close()
	require.False(t, ps.MigrationReport().Imported, "imported once only")
	require.Equal(t, 2, ps.MigrationReport().PrivKeysDeleted)
	n, err := legacy.CountPrivKeys(ctx, d)
	require.NoError(t, err)
	require.Zero(t, n)
}

func TestCorruptSnapshotIsAnErrorNotAnEmptyStore(t *testing.T) {
	ctx := context.Background()
	b := legacytest.Backends[1]
	ps, d, _ := open(t, b, DefaultOpts())
	defer d.Close()
	p := newTestPeer(t, 1, ic.Ed25519)
	ps.AddAddrs(p.id, p.addrs, time.Hour)
	require.NoError(t, ps.Close())

	var corrupted int
	for _, e := range allEntries(t, d) {
		if strings.HasPrefix(e.Key, SnapshotPrefix.String()+"/") && !strings.HasSuffix(e.Key, "/current") {
			v := append([]byte{}, e.Value...)
			v[len(v)/2] ^= 0xff
			require.NoError(t, d.Put(ctx, ds.NewKey(e.Key), v))
			corrupted++
		}
	}
	require.NotZero(t, corrupted)
	_, err := NewPeerstore(ctx, d, DefaultOpts())
	require.ErrorContains(t, err, "restoring the peerstore")
}

func TestNilDatastoreIsAnError(t *testing.T) {
	_, err := NewPeerstore(context.Background(), nil, DefaultOpts())
	require.Error(t, err)
}

func TestLegacyEntryOverSnapshotBoundsKeepsTheRest(t *testing.T) {
	ctx := context.Background()
	d := legacytest.Backends[1].Open(t, t.TempDir())
	defer d.Close()
	p := newTestPeer(t, 1, ic.Ed25519)
	long := ma.StringCast("/dns4/" + strings.Repeat("a", newstore.MaxSnapshotAddrLen) + "/tcp/1")
	exp := time.Now().Add(time.Hour).Unix()
	rec, err := proto.Marshal(&pb.AddrBookRecord{Id: []byte(p.id), Addrs: []*pb.AddrBookRecord_AddrEntry{
		{Addr: long.Bytes(), Expiry: exp, Ttl: int64(time.Hour)},
		{Addr: p.addrs[0].Bytes(), Expiry: exp, Ttl: int64(time.Hour)},
	}})
	require.NoError(t, err)
	require.NoError(t, d.Put(ctx, legacy.AddrsPrefix.ChildString(b32.RawStdEncoding.EncodeToString([]byte(p.id))), rec))

	ps, err := NewPeerstore(ctx, d, DefaultOpts())
	require.NoError(t, err)
	defer ps.Close()
	r := ps.MigrationReport()
	require.Equal(t, 1, r.Peers)
	require.Equal(t, 1, r.Skipped)
	require.ErrorContains(t, r.Errors[0], "bytes, more than")
	require.Equal(t, []ma.Multiaddr{p.addrs[0]}, ps.Addrs(p.id))
}

// reopen closes ps and its datastore d, as a node does at shutdown, and
// opens the datastore in dir again with a new store, closed at cleanup.
func reopen(t *testing.T, b legacytest.Backend, dir string, ps *Peerstore, d ds.Batching) *Peerstore {
	t.Helper()
	require.NoError(t, ps.Close())
	require.NoError(t, d.Close())
	d = b.Open(t, dir)
	ps, err := NewPeerstore(context.Background(), d, DefaultOpts())
	require.NoError(t, err)
	t.Cleanup(func() {
		require.NoError(t, ps.Close())
		require.NoError(t, d.Close())
	})
	return ps
}
