package datacmd

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"testing"

	"github.com/libp2p/go-libp2p/core/protocol"
	"github.com/stretchr/testify/require"

	"github.com/pstoremigrate/pstoremigrate/internal/legacytest"
)

func TestDetectBackend(t *testing.T) {
	for _, b := range backends {
		t.Run(string(b), func(t *testing.T) {
			s := fillLegacy(t, b, 1, false)
			got, err := DetectBackend(s.Dir)
			require.NoError(t, err)
			require.Equal(t, b, got)
		})
	}
	t.Run("not a datastore", func(t *testing.T) {
		dir := t.TempDir()
		_, err := DetectBackend(dir)
		require.ErrorIs(t, err, ErrNotDatastore)
		require.ErrorContains(t, err, dir)

		// A leveldb's files without its CURRENT is not one.
		require.NoError(t, os.WriteFile(filepath.Join(dir, "MANIFEST-000001"), nil, 0o644))
		_, err = DetectBackend(dir)
		require.ErrorIs(t, err, ErrNotDatastore)

		file := filepath.Join(dir, "file")
		require.NoError(t, os.WriteFile(file, []byte("x"), 0o644))
		_, err = DetectBackend(file)
		require.ErrorIs(t, err, ErrNotDatastore)

		_, err = DetectBackend(filepath.Join(dir, "missing"))
		require.ErrorIs(t, err, os.ErrNotExist)
	})
}

func TestInspectLegacyDatastore(t *testing.T) {
	for _, b := range backends {
		t.Run(string(b), func(t *testing.T) {
			s := fillLegacy(t, b, 5, false)
			before := treeDigest(t, s.Dir)
			r, err := Inspect(context.Background(), s.Dir)
			require.NoError(t, err)
			require.NoError(t, r.Err())
			require.Equal(t, treeDigest(t, s.Dir), before, "inspect wrote to the datastore")

			require.Equal(t, "datastore", r.Kind)
			require.Equal(t, b, r.Backend)
			require.Equal(t, "legacy pstoreds", r.Layout)
			require.Nil(t, r.Snapshot)
			l := r.Legacy
			require.NotNil(t, l)
			require.Equal(t, Counts{Peers: 5, AddrsLive: countLive(s.Peers), AddrsExpired: 5, PubKeys: 5, Records: 5}, l.Counts)
			require.Equal(t, 5, l.PrivKeys)
			require.Equal(t, 5, l.PeersWithProtocols)
			want := map[protocol.ID]int{}
			for _, p := range legacytest.Protocols {
				want[p] = 5
			}
			require.Equal(t, want, l.Protocols)
			require.Equal(t, 5, l.Metadata)
			require.Zero(t, l.Corrupt)

			var out bytes.Buffer
			require.NoError(t, r.WriteTable(&out))
			require.Regexp(t, `PRIVATE KEYS in clear text +5\n`, out.String())
			require.Regexp(t, `addresses expired +5\n`, out.String())
			require.Contains(t, out.String(), "pstoremigrate data scrub "+s.Dir)
		})
	}
}

func TestInspectReportsCorruptEntries(t *testing.T) {
	for _, b := range backends {
		t.Run(string(b), func(t *testing.T) {
			s := fillLegacy(t, b, 3, true)
			r, err := Inspect(context.Background(), s.Dir)
			require.NoError(t, err)
			require.ErrorIs(t, r.Err(), ErrCorruptEntries)
			require.Equal(t, s.Corrupt, r.Legacy.Corrupt)
			require.Len(t, r.Legacy.Errors, s.Corrupt)
			// What does decode is still described: the peer whose
			// metadata is corrupt keeps its addresses and keys.
			require.Equal(t, 3, r.Legacy.PubKeys)
			require.Equal(t, 3, r.Legacy.Records)
			require.Equal(t, 2, r.Legacy.PeersWithProtocols)

			var out bytes.Buffer
			require.NoError(t, r.WriteTable(&out))
			require.Contains(t, out.String(), "/peers/addrs/NOTBASE32!")
		})
	}
}

func TestInspectSnapshotAndCompatDatastore(t *testing.T) {
	ctx := context.Background()
	s := fillLegacy(t, LevelDB, 4, false)
	snap := filepath.Join(t.TempDir(), "peers.snap")
	_, err := Import(ctx, s.Dir, snap)
	require.NoError(t, err)

	r, err := Inspect(ctx, snap)
	require.NoError(t, err)
	require.Equal(t, "snapshot", r.Kind)
	require.Nil(t, r.Legacy)
	require.Equal(t, Counts{Peers: 4, AddrsLive: countLive(s.Peers), PubKeys: 4, Records: 4}, r.Snapshot.Counts)
	require.False(t, r.Snapshot.Taken.IsZero())

	dst := filepath.Join(t.TempDir(), "compat")
	_, err = Import(ctx, s.Dir, dst, WithFormat(FormatPebble))
	require.NoError(t, err)
	r, err = Inspect(ctx, dst)
	require.NoError(t, err)
	require.Equal(t, Pebble, r.Backend)
	require.Equal(t, "compat/pstoreds", r.Layout)
	require.Nil(t, r.Legacy)
	require.Equal(t, Counts{Peers: 4, AddrsLive: countLive(s.Peers), PubKeys: 4, Records: 4}, r.Snapshot.Counts)
}

func TestInspectRefusesBadInput(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()

	text := filepath.Join(dir, "notes.txt")
	require.NoError(t, os.WriteFile(text, []byte("hello, not a snapshot"), 0o644))
	_, err := Inspect(ctx, text)
	require.ErrorIs(t, err, ErrNotDatastore)

	_, err = Inspect(ctx, dir)
	require.ErrorIs(t, err, ErrNotDatastore)

	// A snapshot cut short is a snapshot error, not a crash.
	s := fillLegacy(t, LevelDB, 2, false)
	snap := filepath.Join(dir, "peers.snap")
	_, err = Import(ctx, s.Dir, snap)
	require.NoError(t, err)
	raw, err := os.ReadFile(snap)
	require.NoError(t, err)
	require.NoError(t, os.WriteFile(snap, raw[:len(raw)-7], 0o644))
	_, err = Inspect(ctx, snap)
	require.ErrorContains(t, err, "snapshot "+snap)

	// A datastore of some other program.
	other := filepath.Join(dir, "other")
	d := openNew(t, Pebble, other)
	require.NoError(t, d.Put(ctx, dsKey("/blocks/CIQA"), []byte("block")))
	require.NoError(t, d.Close())
	_, err = Inspect(ctx, other)
	require.ErrorIs(t, err, ErrNoPeerstore)
	require.ErrorContains(t, err, "/blocks/CIQA")
}
