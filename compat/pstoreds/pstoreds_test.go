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

func TestPrivKeysWrittenAgainAreDeletedAtNextOpen(t *testing.T) {
	ctx := context.Background()
	b := legacytest.Memory
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
	b := legacytest.Memory
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
	d := legacytest.Memory.Open(t, t.TempDir())
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

func allEntries(t *testing.T, d ds.Read) []query.Entry {
	res, err := d.Query(context.Background(), query.Query{})
	require.NoError(t, err)
	all, err := res.Rest()
	require.NoError(t, err)
	return all
}

func TestSnapshotWithoutCommitRecordIsReportedAndKept(t *testing.T) {
	ctx := context.Background()
	ps, d, _ := open(t, legacytest.Memory, DefaultOpts())
	defer d.Close()
	p := newTestPeer(t, 1, ic.Ed25519)
	ps.AddAddrs(p.id, p.addrs, time.Hour)
	require.NoError(t, ps.Close())
	require.NoError(t, d.Delete(ctx, SnapshotPrefix.ChildString("current")))
	chunks := func() (n int) {
		for _, e := range allEntries(t, d) {
			if strings.HasPrefix(e.Key, SnapshotPrefix.String()+"/") {
				n++
			}
		}
		return n
	}
	before := chunks()
	require.NotZero(t, before)

	ps, err := NewPeerstore(ctx, d, DefaultOpts())
	require.NoError(t, err, "the node still starts")
	rep := ps.MigrationReport()
	require.Len(t, rep.Warnings, 1, "opening empty is reported")
	require.Contains(t, rep.Warnings[0], "commit record")
	require.Contains(t, rep.String(), "warnings=1")
	require.Equal(t, before, chunks(), "the chunks stay until a new snapshot is committed")
	require.NoError(t, ps.Close())
}
