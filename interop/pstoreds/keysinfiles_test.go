package pstoreds_test

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"

	leveldb "github.com/ipfs/go-ds-leveldb"
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
func storeLegacyPrivKeys(t *testing.T, dir string) [][]byte {
	t.Helper()
	ctx := context.Background()
	d, err := leveldb.NewDatastore(dir, nil)
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

// readableSecrets counts the secrets found in dir's files: leveldb tables
// decoded entry by entry with goleveldb's table reader (they are
// compressed), every other file (journals, manifests) read raw.
func readableSecrets(t *testing.T, dir string, secrets [][]byte) int {
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
		if !strings.HasSuffix(e.Name(), ".ldb") {
			continue
		}
		f, err := os.Open(path)
		require.NoError(t, err)
		r, err := table.NewReader(f, int64(len(raw)), storage.FileDesc{Type: storage.TypeTable}, nil, nil, &opt.Options{})
		require.NoError(t, err)
		it := r.NewIterator(nil, nil)
		for it.Next() {
			look(it.Key())
			look(it.Value())
		}
		require.NoError(t, it.Error())
		it.Release()
		r.Release()
		require.NoError(t, f.Close())
	}
	return len(found)
}

// After compat/pstoreds opens and closes a datastore upstream pstoreds
// wrote, no private key byte is left in any of its files: the deletion
// reached the tables, not just the key space.
func TestPrivKeysLeaveTheLevelDBFiles(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "leveldb")
	secrets := storeLegacyPrivKeys(t, dir)
	require.Equal(t, len(secrets), readableSecrets(t, dir, secrets), "the scan finds what upstream wrote")

	d, err := leveldb.NewDatastore(dir, nil)
	require.NoError(t, err)
	ps, err := pstoreds.NewPeerstore(context.Background(), d, pstoreds.DefaultOpts())
	require.NoError(t, err)
	require.Equal(t, 4, ps.MigrationReport().PrivKeysDeleted)
	require.Empty(t, ps.MigrationReport().Warnings)
	require.NoError(t, ps.Close())
	require.NoError(t, d.Close())

	require.Zero(t, readableSecrets(t, dir, secrets), "private key bytes left in the files")
}
