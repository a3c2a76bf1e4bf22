package pstoreds_test

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/cockroachdb/pebble/v2"
	"github.com/cockroachdb/pebble/v2/sstable"
	"github.com/cockroachdb/pebble/v2/vfs"
	ds "github.com/ipfs/go-datastore"
	leveldb "github.com/ipfs/go-ds-leveldb"
	pebbleds "github.com/ipfs/go-ds-pebble"
	ic "github.com/libp2p/go-libp2p/core/crypto"
	"github.com/libp2p/go-libp2p/core/peer"
	upstream "github.com/libp2p/go-libp2p/p2p/host/peerstore/pstoreds"
	"github.com/stretchr/testify/require"
	"github.com/syndtr/goleveldb/leveldb/opt"
	"github.com/syndtr/goleveldb/leveldb/storage"
	"github.com/syndtr/goleveldb/leveldb/table"

	"github.com/pstoremigrate/pstoremigrate/compat/pstoreds"
)

// secrets are the bytes of the private keys upstream pstoreds stored: each
// key's raw form and its protobuf encoding, every key type upstream stores.
func storeLegacyPrivKeys(t *testing.T, b diskBackend, dir string) [][]byte {
	t.Helper()
	ctx := context.Background()
	d, err := b.open(dir)
	require.NoError(t, err)
	ps, err := upstream.NewPeerstore(ctx, d, upstream.DefaultOpts())
	require.NoError(t, err)
	var secrets [][]byte
	for _, typ := range []int{ic.Ed25519, ic.Secp256k1, ic.ECDSA, ic.RSA} {
		priv, pub, err := ic.GenerateKeyPair(typ, 2048)
		require.NoError(t, err)
		id, err := peer.IDFromPublicKey(pub)
		require.NoError(t, err)
		require.NoError(t, ps.AddPrivKey(id, priv))
		raw, err := priv.Raw()
		require.NoError(t, err)
		enc, err := ic.MarshalPrivateKey(priv)
		require.NoError(t, err)
		secrets = append(secrets, raw, enc)
	}
	require.NoError(t, ps.Close())
	require.NoError(t, d.Close())
	return secrets
}

// diskBackend is an on-disk datastore and how to read its tables.
type diskBackend struct {
	name  string
	open  func(dir string) (ds.Batching, error)
	table string // the suffix of its table files
	scan  func(t *testing.T, path string, look func([]byte))
}

var diskBackends = []diskBackend{
	{"leveldb", func(dir string) (ds.Batching, error) { return leveldb.NewDatastore(dir, nil) }, ".ldb", scanLevelDBTable},
	{"pebble", func(dir string) (ds.Batching, error) { return pebbleds.NewDatastore(dir) }, ".sst", scanPebbleTable},
}

// scanLevelDBTable reads every entry of a leveldb table with goleveldb's
// table reader.
func scanLevelDBTable(t *testing.T, path string, look func([]byte)) {
	f, err := os.Open(path)
	require.NoError(t, err)
	defer f.Close()
	fi, err := f.Stat()
	require.NoError(t, err)
	r, err := table.NewReader(f, fi.Size(), storage.FileDesc{Type: storage.TypeTable}, nil, nil, &opt.Options{})
	require.NoError(t, err)
	defer r.Release()
	it := r.NewIterator(nil, nil)
	defer it.Release()
	for it.Next() {
		look(it.Key())
		look(it.Value())
	}
	require.NoError(t, it.Error())
}

// scanPebbleTable reads every entry of a pebble sstable with pebble's
// sstable reader.
func scanPebbleTable(t *testing.T, path string, look func([]byte)) {
	f, err := vfs.Default.Open(path)
	require.NoError(t, err)
	readable, err := sstable.NewSimpleReadable(f)
	require.NoError(t, err)
	o := &pebble.Options{}
	o.EnsureDefaults()
	r, err := sstable.NewReader(context.Background(), readable, o.MakeReaderOptions())
	require.NoError(t, err)
	defer r.Close()
	it, err := r.NewIter(sstable.NoTransforms, nil, nil, sstable.AssertNoBlobHandles)
	require.NoError(t, err)
	defer it.Close()
	for kv := it.First(); kv != nil; kv = it.Next() {
		look(kv.K.UserKey)
		v, _, err := kv.Value(nil)
		require.NoError(t, err)
		look(v)
	}
	require.NoError(t, it.Error())
}

// readableSecrets counts the secrets found in dir's files: tables decoded
// entry by entry with the backend's own reader (they are compressed), every
// other file (journals, WALs, manifests) read raw.
func readableSecrets(t *testing.T, b diskBackend, dir string, secrets [][]byte) int {
	t.Helper()
	entries, err := os.ReadDir(dir)
	require.NoError(t, err)
	found := map[int]bool{}
	look := func(b []byte) {
		for i, s := range secrets {
			if bytes.Contains(b, s) {
				found[i] = true
			}
		}
	}
	for _, e := range entries {
		path := filepath.Join(dir, e.Name())
		raw, err := os.ReadFile(path)
		require.NoError(t, err)
		look(raw)
		if strings.HasSuffix(e.Name(), b.table) {
			b.scan(t, path, look)
		}
	}
	return len(found)
}

// After compat/pstoreds opens and closes a datastore upstream pstoreds
// wrote, no private key byte is left in any of its files: the deletion
// reached the tables, not just the key space.
func TestPrivKeysLeaveTheFiles(t *testing.T) {
	for _, b := range diskBackends {
		t.Run(b.name, func(t *testing.T) {
			dir := filepath.Join(t.TempDir(), b.name)
			secrets := storeLegacyPrivKeys(t, b, dir)
			require.Equal(t, len(secrets), readableSecrets(t, b, dir, secrets), "the scan finds what upstream wrote")

			d, err := b.open(dir)
			require.NoError(t, err)
			ps, err := pstoreds.NewPeerstore(context.Background(), d, pstoreds.DefaultOpts())
			require.NoError(t, err)
			require.Equal(t, 4, ps.MigrationReport().PrivKeysDeleted)
			require.Empty(t, ps.MigrationReport().Warnings)
			require.NoError(t, ps.Close())
			require.NoError(t, d.Close())

			require.Zero(t, readableSecrets(t, b, dir, secrets), "private key bytes left in the files")
		})
	}
}
