package datacmd

import (
	"context"
	"os"
	"path/filepath"
	"slices"
	"testing"

	ds "github.com/ipfs/go-datastore"
	ic "github.com/libp2p/go-libp2p/core/crypto"
	"github.com/libp2p/go-libp2p/core/peer"
	ma "github.com/multiformats/go-multiaddr"
	"github.com/stretchr/testify/require"

	"github.com/pstoremigrate/pstoremigrate/compat/pstoreds"
	"github.com/pstoremigrate/pstoremigrate/compat/pstoreds/legacy"
	"github.com/pstoremigrate/pstoremigrate/internal/legacytest"
	"github.com/pstoremigrate/pstoremigrate/newstore"
)

// requireHoldsPeers checks that what a store answers for each filled peer
// is what a node needs to dial it again.
func requireHoldsPeers(t *testing.T, peers []legacytest.Peer, addrs func(peer.ID) []ma.Multiaddr,
	pubKey func(peer.ID) ic.PubKey, hasRecord func(peer.ID) bool) {
	t.Helper()
	for _, p := range peers {
		require.ElementsMatch(t, liveAddrs(p), addrs(p.ID), "addresses of %s", p.ID)
		pk := pubKey(p.ID)
		require.NotNil(t, pk)
		require.True(t, pk.Equals(p.Priv.GetPublic()))
		require.True(t, hasRecord(p.ID), "signed record of %s", p.ID)
	}
}

func TestImportToSnapshot(t *testing.T) {
	for _, b := range backends {
		t.Run(string(b), func(t *testing.T) {
			ctx := context.Background()
			s := fillLegacy(t, b, 5, false)
			before := treeDigest(t, s.Dir)
			snap := filepath.Join(t.TempDir(), "peers.snap")
			sum, err := Import(ctx, s.Dir, snap)
			require.NoError(t, err)
			require.Equal(t, treeDigest(t, s.Dir), before, "import wrote to its source")

			require.Equal(t, FormatSnapshot, sum.Format)
			require.Equal(t, Counts{Peers: 5, AddrsLive: countLive(s.Peers), PubKeys: 5, Records: 5}, sum.Imported)
			require.Empty(t, sum.Skipped)
			require.Equal(t, Left{ExpiredAddrs: 5, PeersWithProtocols: 5, MetadataValues: 5, PrivKeys: 5}, sum.Left)

			ab, err := newstore.New()
			require.NoError(t, err)
			defer ab.Close()
			f, err := os.Open(snap)
			require.NoError(t, err)
			defer f.Close()
			require.NoError(t, ab.Restore(f))
			requireHoldsPeers(t, s.Peers, ab.Addrs, ab.PubKey,
				func(p peer.ID) bool { return ab.GetPeerRecord(p) != nil })
			require.Len(t, ab.Peers(), 5)
		})
	}
}

func TestImportToCompatDatastore(t *testing.T) {
	for _, from := range backends {
		for _, to := range backends {
			t.Run(string(from)+" to "+string(to), func(t *testing.T) {
				ctx := context.Background()
				s := fillLegacy(t, from, 5, false)
				dst := filepath.Join(t.TempDir(), "new")
				sum, err := Import(ctx, s.Dir, dst, WithFormat(Format(to)))
				require.NoError(t, err)
				require.Equal(t, 5, sum.Imported.Peers)

				got, err := DetectBackend(dst)
				require.NoError(t, err)
				require.Equal(t, to, got)

				// compat/pstoreds opens what import wrote.
				d, err := OpenDatastore(dst, false)
				require.NoError(t, err)
				defer d.Close()
				ps, err := pstoreds.NewPeerstore(ctx, d, pstoreds.DefaultOpts())
				require.NoError(t, err)
				defer ps.Close()
				requireHoldsPeers(t, s.Peers, ps.Addrs, ps.PubKey,
					func(p peer.ID) bool { return ps.GetPeerRecord(p) != nil })
				for _, p := range s.Peers {
					require.Nil(t, ps.PrivKey(p.ID), "a private key reached the new datastore")
				}
				require.False(t, ps.MigrationReport().Imported, "the new datastore holds legacy entries")
			})
		}
	}
}

func TestImportToADirectoryWritesADatastore(t *testing.T) {
	s := fillLegacy(t, Pebble, 2, false)
	for _, dst := range []string{t.TempDir(), filepath.Join(t.TempDir(), "new") + string(filepath.Separator)} {
		sum, err := Import(context.Background(), s.Dir, dst)
		require.NoError(t, err)
		require.Equal(t, FormatPebble, sum.Format)
		r, err := Inspect(context.Background(), dst)
		require.NoError(t, err)
		require.Equal(t, 2, r.Snapshot.Peers)
	}
}

func TestImportInBatchesMatchesOneBatch(t *testing.T) {
	ctx := context.Background()
	s := fillLegacy(t, LevelDB, 7, true)
	var sums []*ImportSummary
	var snaps [][]peer.ID
	for _, batch := range []int{1, 2, 1000} {
		snap := filepath.Join(t.TempDir(), "peers.snap")
		sum, err := Import(ctx, s.Dir, snap, WithSkipCorrupt(true), func(c *importConfig) { c.batchPeers = batch })
		require.NoError(t, err)
		sum.To, sum.Errors = "", nil // the order of errors is the datastore's
		sums = append(sums, sum)

		f, err := os.Open(snap)
		require.NoError(t, err)
		sr, err := newstore.NewSnapshotReader(f)
		require.NoError(t, err)
		var ids []peer.ID
		for e, err := sr.Next(); err == nil; e, err = sr.Next() {
			ids = append(ids, e.ID)
		}
		f.Close()
		slices.Sort(ids)
		snaps = append(snaps, ids)
	}
	require.Equal(t, sums[2], sums[0])
	require.Equal(t, sums[2], sums[1])
	require.Equal(t, snaps[2], snaps[0])
	require.Equal(t, snaps[2], snaps[1])
	require.Len(t, snaps[0], 7, "every peer once, none split across batches")
}

func TestImportCorruptEntries(t *testing.T) {
	for _, b := range backends {
		t.Run(string(b), func(t *testing.T) {
			ctx := context.Background()
			s := fillLegacy(t, b, 4, true)
			out := t.TempDir()

			// Refused by default, and nothing written.
			snap := filepath.Join(out, "peers.snap")
			_, err := Import(ctx, s.Dir, snap)
			require.ErrorIs(t, err, ErrCorruptEntries)
			require.ErrorContains(t, err, "-skip-corrupt")
			dst := filepath.Join(out, "new")
			_, err = Import(ctx, s.Dir, dst, WithFormat(Format(b)))
			require.ErrorIs(t, err, ErrCorruptEntries)
			entries, err := os.ReadDir(out)
			require.NoError(t, err)
			require.Empty(t, entries, "a refused import left files behind")

			// With -skip-corrupt: the rest, and why some was left out.
			sum, err := Import(ctx, s.Dir, snap, WithSkipCorrupt(true))
			require.NoError(t, err)
			require.Equal(t, 4, sum.Imported.Peers)
			// The two corrupt metadata values are not imported, so
			// not decoded either: they are counted as left behind.
			require.Contains(t, sum.Skipped, Skip{Reason: skipCorrupt, Count: s.Corrupt - 2})
			require.Contains(t, sum.Skipped, Skip{Reason: skipNothingLeft, Count: 1})
			require.Len(t, sum.Errors, s.Corrupt-2)
			require.Equal(t, Left{ExpiredAddrs: 4, PeersWithProtocols: 4, MetadataValues: 4, PrivKeys: 4}, sum.Left)
		})
	}
}

func TestImportIgnoresCorruptMetadataItLeavesBehind(t *testing.T) {
	ctx := context.Background()
	s := fillLegacy(t, Pebble, 3, false)
	meta := legacy.MetadataPrefix.ChildString(encodeID(s.Peers[1].ID))
	putEntries(t, s.Dir, map[ds.Key][]byte{
		meta.ChildString("protocols"):       []byte("not gob"),
		meta.ChildString("ProtocolVersion"): {0xff},
	})

	sum, err := Import(ctx, s.Dir, filepath.Join(t.TempDir(), "peers.snap"))
	require.NoError(t, err)
	require.Equal(t, 3, sum.Imported.Peers)
	require.Empty(t, sum.Skipped)
	require.Equal(t, Left{ExpiredAddrs: 3, PeersWithProtocols: 3, MetadataValues: 4, PrivKeys: 3}, sum.Left)
}

func TestImportSkipsPeersWithOnlyAPrivateKey(t *testing.T) {
	ctx := context.Background()
	s := fillLegacy(t, LevelDB, 2, false)
	priv, _, err := ic.GenerateEd25519Key(nil)
	require.NoError(t, err)
	id, err := peer.IDFromPrivateKey(priv)
	require.NoError(t, err)
	raw, err := ic.MarshalPrivateKey(priv)
	require.NoError(t, err)
	putEntries(t, s.Dir, map[ds.Key][]byte{legacy.KeysPrefix.ChildString(encodeID(id)).ChildString("priv"): raw})

	sum, err := Import(ctx, s.Dir, filepath.Join(t.TempDir(), "peers.snap"))
	require.NoError(t, err)
	require.Equal(t, 2, sum.Imported.Peers)
	require.Equal(t, []Skip{{Reason: skipPrivOnly, Count: 1}}, sum.Skipped)
	require.Equal(t, 3, sum.Left.PrivKeys)
}

func TestImportRefusesBadInput(t *testing.T) {
	ctx := context.Background()
	legacyDir := fillLegacy(t, LevelDB, 2, false).Dir
	tmp := t.TempDir()

	notDS := filepath.Join(tmp, "empty")
	require.NoError(t, os.Mkdir(notDS, 0o755))
	compat := filepath.Join(tmp, "compat")
	_, err := Import(ctx, legacyDir, compat, WithFormat(FormatLevelDB))
	require.NoError(t, err)
	existing := filepath.Join(tmp, "exists.snap")
	require.NoError(t, os.WriteFile(existing, []byte("keep me"), 0o644))
	file := filepath.Join(tmp, "file")
	require.NoError(t, os.WriteFile(file, []byte("a file"), 0o644))
	full := filepath.Join(tmp, "full")
	require.NoError(t, os.MkdirAll(filepath.Join(full, "x"), 0o755))

	for _, tc := range []struct {
		name, from, to string
		opts           []ImportOption
		want           string
		is             error
	}{
		{name: "source not a datastore", from: notDS, to: filepath.Join(tmp, "a.snap"), is: ErrNotDatastore},
		{name: "source missing", from: filepath.Join(tmp, "missing"), to: filepath.Join(tmp, "a.snap"), is: os.ErrNotExist},
		{name: "source of the compat layout", from: compat, to: filepath.Join(tmp, "a.snap"), want: "compat/pstoreds layout only"},
		{name: "same path", from: legacyDir, to: legacyDir, want: "both"},
		{name: "snapshot over an existing file", from: legacyDir, to: existing, want: "already exists"},
		{name: "snapshot over a directory", from: legacyDir, to: full, opts: []ImportOption{WithFormat(FormatSnapshot)}, want: "is a directory"},
		{name: "datastore into a non-empty directory", from: legacyDir, to: full, want: "not empty"},
		{name: "datastore over a file", from: legacyDir, to: file, opts: []ImportOption{WithFormat(FormatPebble)}, want: "is a file"},
		// A file where a directory should be: what a read-only
		// destination comes to for root, whom chmod does not stop.
		{name: "parent is a file", from: legacyDir, to: filepath.Join(file, "peers.snap"), want: "not a directory"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			before := treeDigest(t, tmp)
			_, err := Import(ctx, tc.from, tc.to, tc.opts...)
			require.Error(t, err)
			if tc.is != nil {
				require.ErrorIs(t, err, tc.is)
			}
			require.ErrorContains(t, err, tc.want)
			require.Equal(t, before, treeDigest(t, tmp), "a refused import wrote something")
		})
	}
}

func TestImportRefusesReadOnlyDestination(t *testing.T) {
	ctx := context.Background()
	s := fillLegacy(t, Pebble, 2, false)
	ro := t.TempDir()
	require.NoError(t, os.Chmod(ro, 0o555))
	t.Cleanup(func() { os.Chmod(ro, 0o755) })
	if !writable(ro) {
		_, err := Import(ctx, s.Dir, filepath.Join(ro, "peers.snap"))
		require.ErrorIs(t, err, ErrNotWritable)
		_, err = Import(ctx, s.Dir, filepath.Join(ro, "new"), WithFormat(FormatLevelDB))
		require.ErrorIs(t, err, ErrNotWritable)
	} else {
		// Root writes through 0555; a destination that cannot be
		// created fails the same way.
		file := filepath.Join(ro, "file")
		require.NoError(t, os.WriteFile(file, nil, 0o444))
		_, err := Import(ctx, s.Dir, filepath.Join(file, "new"), WithFormat(FormatLevelDB))
		require.ErrorContains(t, err, "not a directory")
	}
	entries, err := os.ReadDir(ro)
	require.NoError(t, err)
	require.LessOrEqual(t, len(entries), 1, "a refused import wrote into %s", ro)
}
