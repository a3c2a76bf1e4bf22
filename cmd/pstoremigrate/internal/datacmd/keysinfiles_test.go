package datacmd

import (
	"bytes"
	"context"
	"path/filepath"
	"testing"
	"time"

	"github.com/cockroachdb/pebble/v2"
	ds "github.com/ipfs/go-datastore"
	pebbleds "github.com/ipfs/go-ds-pebble"
	ic "github.com/libp2p/go-libp2p/core/crypto"
	"github.com/libp2p/go-libp2p/core/peer"
	upstream "github.com/libp2p/go-libp2p/p2p/host/peerstore/pstoreds"
	ma "github.com/multiformats/go-multiaddr"
	"github.com/stretchr/testify/require"

	"github.com/pstoremigrate/pstoremigrate/compat/pstoreds"
	"github.com/pstoremigrate/pstoremigrate/compat/pstoreds/legacy"
)

// storeLegacyPrivKeys has upstream pstoreds store a peer with a private key
// of every type it stores in a new datastore of backend b in dir, and
// returns the secrets: each key's raw form and its protobuf encoding. The
// keys end up in the backend's tables, as on a node that ran for a while:
// goleveldb writes its journal into a table when it next opens, pebble is
// flushed here (it would otherwise drop a value deleted before its memtable
// was ever flushed).
func storeLegacyPrivKeys(t *testing.T, b Backend, dir string) [][]byte {
	t.Helper()
	d := openNew(t, b, dir)
	ps, err := upstream.NewPeerstore(context.Background(), d, upstream.DefaultOpts())
	require.NoError(t, err)
	var secrets [][]byte
	for _, typ := range []int{ic.Ed25519, ic.Secp256k1, ic.ECDSA, ic.RSA} {
		priv, pub, err := ic.GenerateKeyPair(typ, 2048)
		require.NoError(t, err)
		id, err := peer.IDFromPublicKey(pub)
		require.NoError(t, err)
		require.NoError(t, ps.AddPrivKey(id, priv))
		require.NoError(t, ps.AddPubKey(id, pub))
		ps.AddAddr(id, ma.StringCast("/ip4/127.0.0.1/tcp/4001"), time.Hour)
		raw, err := priv.Raw()
		require.NoError(t, err)
		enc, err := ic.MarshalPrivateKey(priv)
		require.NoError(t, err)
		secrets = append(secrets, raw, enc)
	}
	require.NoError(t, ps.Close())
	if p, ok := d.Batching.(*pebbleds.Datastore); ok {
		require.NoError(t, p.DB.Flush())
	}
	require.NoError(t, d.Close())
	return secrets
}

// readableSecrets counts the secrets found in dir's files, read as
// scanFiles reads them: tables entry by entry with the backend's own
// reader, every file (journals, WALs, manifests, tables) raw.
func readableSecrets(t *testing.T, b Backend, dir string, secrets [][]byte) int {
	t.Helper()
	found := map[int]bool{}
	look := func(p []byte) {
		for i, s := range secrets {
			if bytes.Contains(p, s) {
				found[i] = true
			}
		}
	}
	require.NoError(t, scanFiles(dir, b, func(e fileEntry) {
		look(e.Key)
		look(e.Value)
	}))
	return len(found)
}

// After compat/pstoreds opens and closes a datastore upstream pstoreds
// wrote, no private key byte is left in any of its files: the deletion
// reached the tables, not just the key space.
func TestPrivKeysLeaveTheFiles(t *testing.T) {
	for _, b := range backends {
		t.Run(string(b), func(t *testing.T) {
			dir := filepath.Join(t.TempDir(), string(b))
			secrets := storeLegacyPrivKeys(t, b, dir)
			require.Equal(t, len(secrets), readableSecrets(t, b, dir, secrets), "the scan finds what upstream wrote")

			d, err := OpenDatastore(dir, false)
			require.NoError(t, err)
			ps, err := pstoreds.NewPeerstore(context.Background(), d.Batching, pstoreds.DefaultOpts())
			require.NoError(t, err)
			require.Equal(t, 4, ps.MigrationReport().PrivKeysDeleted)
			require.Empty(t, ps.MigrationReport().Warnings)
			require.NoError(t, ps.Close())
			require.NoError(t, d.Close())

			require.Zero(t, readableSecrets(t, b, dir, secrets), "private key bytes left in the files")
		})
	}
}

// deleteWithoutCompaction deletes the legacy private keys from the key
// space of the datastore in dir and closes it, with no compaction: goleveldb
// compacts only when told or when a level fills up; pebble runs its
// automatic compactions off here, as a busy node may not have got to them
// yet (on a datastore this small, the tombstones would otherwise start one
// at once).
func deleteWithoutCompaction(t *testing.T, b Backend, dir string) {
	t.Helper()
	var d ds.Batching
	var err error
	if b == Pebble {
		d, err = pebbleds.NewDatastore(dir, pebbleds.WithPebbleOpts(&pebble.Options{DisableAutomaticCompactions: true}))
	} else {
		d, err = OpenDatastore(dir, false)
	}
	require.NoError(t, err)
	n, err := legacy.DeletePrivKeys(context.Background(), d)
	require.NoError(t, err)
	require.Equal(t, 4, n)
	require.NoError(t, d.Close())
}

// Keys deleted from the key space without a compaction (what
// compat/pstoreds did before it compacted, or any tool that only deletes)
// stay in the files: inspect says so, scrub removes them, and then no byte
// of any of them is left in any file.
func TestScrubRemovesKeysDeletedButStillInTheFiles(t *testing.T) {
	ctx := context.Background()
	for _, b := range backends {
		t.Run(string(b), func(t *testing.T) {
			dir := filepath.Join(t.TempDir(), string(b))
			secrets := storeLegacyPrivKeys(t, b, dir)
			deleteWithoutCompaction(t, b, dir)
			require.Equal(t, len(secrets), readableSecrets(t, b, dir, secrets), "deleted, but still in the files")

			r, err := Inspect(ctx, dir)
			require.NoError(t, err)
			require.Zero(t, r.Legacy.PrivKeys, "none left in the key space")
			require.Equal(t, 4, r.Legacy.PrivKeysInFiles, "but all four in the files")
			var out bytes.Buffer
			require.NoError(t, r.WriteTable(&out))
			require.Contains(t, out.String(), "4 private keys still readable in the files; run")

			res, err := Scrub(ctx, dir, WithDryRun(true))
			require.NoError(t, err)
			require.Equal(t, 4, res.InFiles)
			require.False(t, res.Compacted, "a dry run writes nothing")
			require.Equal(t, len(secrets), readableSecrets(t, b, dir, secrets))

			res, err = Scrub(ctx, dir)
			require.NoError(t, err)
			require.Empty(t, res.Removed)
			require.Equal(t, 4, res.InFiles)
			require.True(t, res.Compacted)
			require.Zero(t, readableSecrets(t, b, dir, secrets), "private key bytes left in the files after scrub")

			r, err = Inspect(ctx, dir)
			require.NoError(t, err)
			require.Zero(t, r.Legacy.PrivKeysInFiles)
			out.Reset()
			require.NoError(t, r.WriteTable(&out))
			require.NotContains(t, out.String(), "still readable")
		})
	}
}
