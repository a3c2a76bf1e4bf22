package datacmd

import (
	"context"
	"crypto/sha256"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"testing"

	ds "github.com/ipfs/go-datastore"
	"github.com/libp2p/go-libp2p/core/peer"
	b32pkg "github.com/multiformats/go-base32"
	ma "github.com/multiformats/go-multiaddr"
	"github.com/stretchr/testify/require"
	"go.uber.org/goleak"

	"github.com/pstoremigrate/pstoremigrate/internal/legacytest"
)

func TestMain(m *testing.M) {
	if dir := os.Getenv(holdEnv); dir != "" {
		os.Exit(holdOpen(dir))
	}
	goleak.VerifyTestMain(m,
		// goleveldb's pool drainer lingers for up to a second after its
		// database is closed.
		goleak.IgnoreTopFunction("github.com/syndtr/goleveldb/leveldb.(*DB).mpoolDrain"),
	)
}

// holdEnv makes the test binary a stand-in for a running node: it opens
// the datastore in the directory the variable names, says "ready" on
// stdout and keeps it open until stdin closes.
const holdEnv = "DATACMD_TEST_HOLD_OPEN"

func holdOpen(dir string) int {
	d, err := OpenDatastore(dir, false)
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	defer d.Close()
	fmt.Println("ready")
	io.Copy(io.Discard, os.Stdin)
	return 0
}

// backends are the on-disk datastores legacy nodes used, as the tests
// create them.
var backends = []Backend{LevelDB, Pebble}

// openNew creates (or opens) a datastore of backend b in dir.
func openNew(t testing.TB, b Backend, dir string) *Datastore {
	t.Helper()
	d, err := openBackend(dir, b, false, true)
	require.NoError(t, err)
	return d
}

// liveAddrs are the addresses of p a store should still answer after
// fill: the live ones and the signed record's.
func liveAddrs(p legacytest.Peer) []ma.Multiaddr {
	return append(slices.Clone(p.Live), p.RecordAddrs...)
}

// countLive is how many addresses of peers a store should still answer.
func countLive(peers []legacytest.Peer) int {
	n := 0
	for _, p := range peers {
		n += len(liveAddrs(p))
	}
	return n
}

// legacyStore is a datastore directory upstream pstoreds filled.
type legacyStore struct {
	Dir     string
	Backend Backend
	Peers   []legacytest.Peer
	// Corrupt counts the entries that do not decode.
	Corrupt int
}

// fillLegacy has upstream pstoreds write n peers into a new datastore of
// backend b, closes it and returns its directory; with corrupt, entries
// that do not decode are added for the first peer.
func fillLegacy(t testing.TB, b Backend, n int, corrupt bool) legacyStore {
	t.Helper()
	s := legacyStore{Dir: filepath.Join(t.TempDir(), string(b)), Backend: b}
	d := openNew(t, b, s.Dir)
	s.Peers = legacytest.Fill(t, d, n)
	if corrupt {
		s.Corrupt = legacytest.Corrupt(t, d, s.Peers[0].ID)
	}
	require.NoError(t, d.Close())
	return s
}

// putEntries writes raw entries into the closed datastore in dir, for
// tests that add what pstoreds itself would not write.
func putEntries(t testing.TB, dir string, entries map[ds.Key][]byte) {
	t.Helper()
	d, err := OpenDatastore(dir, false)
	require.NoError(t, err)
	for k, v := range entries {
		require.NoError(t, d.Put(context.Background(), k, v))
	}
	require.NoError(t, d.Close())
}

// treeDigest hashes every file name, mode and content under dir, to prove
// that a refused command wrote nothing.
func treeDigest(t testing.TB, dir string) [32]byte {
	t.Helper()
	h := sha256.New()
	err := filepath.WalkDir(dir, func(path string, e fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(dir, path)
		fi, err := e.Info()
		if err != nil {
			return err
		}
		h.Write([]byte(rel))
		h.Write([]byte(fi.Mode().String()))
		if e.Type().IsRegular() {
			b, err := os.ReadFile(path)
			if err != nil {
				return err
			}
			h.Write(b)
		}
		return nil
	})
	require.NoError(t, err)
	return [32]byte(h.Sum(nil))
}

// copyDir copies the regular files and directories of src to dst.
func copyDir(t testing.TB, src, dst string) {
	t.Helper()
	err := filepath.WalkDir(src, func(path string, e fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(src, path)
		target := filepath.Join(dst, rel)
		if e.IsDir() {
			return os.MkdirAll(target, 0o755)
		}
		b, err := os.ReadFile(path)
		if err != nil {
			return err
		}
		return os.WriteFile(target, b, 0o644)
	})
	require.NoError(t, err)
}

func peerIDs(ps []legacytest.Peer) []peer.ID {
	out := make([]peer.ID, len(ps))
	for i, p := range ps {
		out[i] = p.ID
	}
	return out
}

func dsKey(s string) ds.Key { return ds.NewKey(s) }

func encodeID(id peer.ID) string { return b32enc.EncodeToString([]byte(id)) }

var b32enc = b32pkg.RawStdEncoding

// writable reports whether this process can create files in dir despite
// its permission bits (root can).
func writable(dir string) bool {
	f, err := os.CreateTemp(dir, "probe-")
	if err != nil {
		return false
	}
	f.Close()
	os.Remove(f.Name())
	return true
}
