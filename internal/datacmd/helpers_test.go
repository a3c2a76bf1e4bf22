package datacmd

import (
	"context"
	"crypto/sha256"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"testing"
	"time"

	mockclock "github.com/benbjohnson/clock"
	ds "github.com/ipfs/go-datastore"
	ic "github.com/libp2p/go-libp2p/core/crypto"
	"github.com/libp2p/go-libp2p/core/peer"
	"github.com/libp2p/go-libp2p/core/protocol"
	"github.com/libp2p/go-libp2p/core/record"
	"github.com/libp2p/go-libp2p/p2p/host/peerstore/pstoreds"
	b32pkg "github.com/multiformats/go-base32"
	ma "github.com/multiformats/go-multiaddr"
	"github.com/stretchr/testify/require"
	"go.uber.org/goleak"
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

// testProtocols is the set of protocols each filled peer advertises.
var testProtocols = []protocol.ID{"/ipfs/id/1.0.0", "/ipfs/kad/1.0.0", "/meshsub/1.1.0", "/ipfs/ping/1.0.0"}

const testAgent = "legacy-node/1.0"

// legacyPeer is what fill stored about one peer.
type legacyPeer struct {
	ID   peer.ID
	Priv ic.PrivKey
	// Live are the addresses still valid after fill (the signed record's
	// included); Expired got a TTL that ended an hour ago.
	Live, Expired []ma.Multiaddr
}

// fill stores n peers into d with upstream's pstoreds, as a legacy node
// did: live and expired addresses, a public and a private key, a signed
// record, protocols and an agent version.
func fill(t testing.TB, d ds.Batching, n int) []legacyPeer {
	t.Helper()
	ctx := context.Background()
	opts := pstoreds.DefaultOpts()
	// Written "two hours ago", so that a one-hour TTL has since expired.
	clk := mockclock.NewMock()
	clk.Set(time.Now().Add(-2 * time.Hour))
	opts.Clock = clk
	opts.GCPurgeInterval = 0
	ps, err := pstoreds.NewPeerstore(ctx, d, opts)
	require.NoError(t, err)
	defer func() { require.NoError(t, ps.Close()) }()

	out := make([]legacyPeer, n)
	for i := range out {
		priv, pub, err := ic.GenerateEd25519Key(nil)
		require.NoError(t, err)
		id, err := peer.IDFromPublicKey(pub)
		require.NoError(t, err)
		p := legacyPeer{ID: id, Priv: priv}
		for j := range 2 {
			p.Live = append(p.Live, ma.StringCast(fmt.Sprintf("/ip4/10.%d.%d.%d/tcp/4001", i>>8&255, i&255, j)))
		}
		p.Expired = []ma.Multiaddr{ma.StringCast(fmt.Sprintf("/ip4/192.0.%d.%d/tcp/4001", i>>8&255, i&255))}
		recAddr := ma.StringCast(fmt.Sprintf("/ip4/172.16.%d.%d/udp/4001/quic-v1", i>>8&255, i&255))

		require.NoError(t, ps.AddPubKey(id, pub))
		require.NoError(t, ps.AddPrivKey(id, priv))
		ps.AddAddrs(id, p.Live, 26*time.Hour)
		ps.AddAddrs(id, p.Expired, time.Hour)
		env, err := record.Seal(peer.PeerRecordFromAddrInfo(peer.AddrInfo{ID: id, Addrs: []ma.Multiaddr{recAddr}}), priv)
		require.NoError(t, err)
		ok, err := ps.ConsumePeerRecord(env, 26*time.Hour)
		require.NoError(t, err)
		require.True(t, ok)
		p.Live = append(p.Live, recAddr)

		require.NoError(t, ps.SetProtocols(id, testProtocols...))
		require.NoError(t, ps.Put(id, "AgentVersion", testAgent))
		out[i] = p
	}
	return out
}

// corruptEntries are the undecodable entries addCorrupt writes.
const corruptEntries = 5

// addCorrupt writes entries of the legacy layout that do not decode: two
// metadata values of the existing peer p, a peer whose every entry is
// garbage, and a key that names no peer.
func addCorrupt(t testing.TB, d ds.Datastore, p peer.ID) {
	t.Helper()
	ctx := context.Background()
	enc := b32pkg.RawStdEncoding.EncodeToString([]byte(p))
	require.NoError(t, d.Put(ctx, ds.NewKey("/peers/metadata/"+enc+"/protocols"), []byte("not gob")))
	require.NoError(t, d.Put(ctx, ds.NewKey("/peers/metadata/"+enc+"/AgentVersion"), []byte{0xff, 0x00}))
	_, pub, err := ic.GenerateEd25519Key(nil)
	require.NoError(t, err)
	bad, err := peer.IDFromPublicKey(pub)
	require.NoError(t, err)
	benc := b32pkg.RawStdEncoding.EncodeToString([]byte(bad))
	require.NoError(t, d.Put(ctx, ds.NewKey("/peers/addrs/"+benc), []byte{0x0a, 0xff, 0xff}))
	require.NoError(t, d.Put(ctx, ds.NewKey("/peers/keys/"+benc+"/pub"), []byte("not a key")))
	require.NoError(t, d.Put(ctx, ds.NewKey("/peers/addrs/NOTBASE32!"), []byte{}))
}

// legacyStore is a datastore directory upstream pstoreds filled.
type legacyStore struct {
	Dir     string
	Backend Backend
	Peers   []legacyPeer
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
	s.Peers = fill(t, d, n)
	if corrupt {
		addCorrupt(t, d, s.Peers[0].ID)
		s.Corrupt = corruptEntries
	}
	require.NoError(t, d.Close())
	return s
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

func peerIDs(ps []legacyPeer) []peer.ID {
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
