package datacmd

import (
	"bufio"
	"bytes"
	"context"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"testing"

	"github.com/libp2p/go-libp2p/core/peer"
	upstream "github.com/libp2p/go-libp2p/p2p/host/peerstore/pstoreds"
	"github.com/stretchr/testify/require"

	compat "github.com/pstoremigrate/pstoremigrate/compat/pstoreds"
	"github.com/pstoremigrate/pstoremigrate/compat/pstoreds/legacy"
	"github.com/pstoremigrate/pstoremigrate/internal/legacytest"
)

// filesContain reports whether any file under dir holds b verbatim.
func filesContain(t *testing.T, dir string, b []byte) bool {
	t.Helper()
	found := false
	err := filepath.WalkDir(dir, func(path string, e fs.DirEntry, err error) error {
		if err != nil || !e.Type().IsRegular() {
			return err
		}
		raw, err := os.ReadFile(path)
		if err != nil {
			return err
		}
		found = found || bytes.Contains(raw, b)
		return nil
	})
	require.NoError(t, err)
	return found
}

// seed is the secret half of an Ed25519 private key as stored.
func seed(t *testing.T, p legacytest.Peer) []byte {
	raw, err := p.Priv.Raw()
	require.NoError(t, err)
	return raw[:32]
}

func TestScrubRemovesPrivateKeysOnly(t *testing.T) {
	for _, b := range backends {
		t.Run(string(b), func(t *testing.T) {
			ctx := context.Background()
			s := fillLegacy(t, b, 5, false)
			for _, p := range s.Peers {
				require.True(t, filesContain(t, s.Dir, seed(t, p)), "the filled datastore should hold private keys in clear")
			}

			before := treeDigest(t, s.Dir)
			dry, err := Scrub(ctx, s.Dir, WithDryRun(true))
			require.NoError(t, err)
			require.True(t, dry.DryRun)
			require.Len(t, dry.Removed, 5)
			require.Equal(t, before, treeDigest(t, s.Dir), "a dry run wrote to the datastore")

			res, err := Scrub(ctx, s.Dir)
			require.NoError(t, err)
			require.Equal(t, dry.Removed, res.Removed)
			var ids []string
			for _, r := range res.Removed {
				ids = append(ids, r.Peer)
			}
			var want []string
			for _, id := range peerIDs(s.Peers) {
				want = append(want, id.String())
			}
			require.ElementsMatch(t, want, ids)
			var out bytes.Buffer
			require.NoError(t, res.WriteText(&out))
			require.Contains(t, out.String(), "removed 5 private keys")
			require.Contains(t, out.String(), "(private key of "+s.Peers[0].ID.String()+")")

			// Gone from the files too, not only from the key space.
			for _, p := range s.Peers {
				require.False(t, filesContain(t, s.Dir, seed(t, p)), "private key of %s still on disk", p.ID)
			}

			// Upstream pstoreds opens the scrubbed datastore and finds
			// everything but the private keys.
			d, err := OpenDatastore(s.Dir, false)
			require.NoError(t, err)
			ps, err := upstream.NewPeerstore(ctx, d, upstream.DefaultOpts())
			require.NoError(t, err)
			require.ElementsMatch(t, peerIDs(s.Peers), []peer.ID(ps.PeersWithAddrs()))
			for _, p := range s.Peers {
				require.ElementsMatch(t, liveAddrs(p), ps.Addrs(p.ID))
				require.True(t, ps.PubKey(p.ID).Equals(p.Priv.GetPublic()))
				require.NotNil(t, ps.GetPeerRecord(p.ID))
				protos, err := ps.GetProtocols(p.ID)
				require.NoError(t, err)
				require.ElementsMatch(t, legacytest.Protocols, protos)
				agent, err := ps.Get(p.ID, "AgentVersion")
				require.NoError(t, err)
				require.Equal(t, legacytest.AgentVersion, agent)
				require.Nil(t, ps.PrivKey(p.ID))
			}
			require.NoError(t, ps.Close())
			require.NoError(t, d.Close())

			again, err := Scrub(ctx, s.Dir)
			require.NoError(t, err)
			require.Empty(t, again.Removed)

			// And so does compat/pstoreds, which imports it.
			d, err = OpenDatastore(s.Dir, false)
			require.NoError(t, err)
			cps, err := compat.NewPeerstore(ctx, d, compat.DefaultOpts())
			require.NoError(t, err)
			rep := cps.MigrationReport()
			require.Equal(t, 5, rep.Peers)
			require.Zero(t, rep.PrivKeysDeleted)
			require.Zero(t, rep.Skipped)
			require.NoError(t, cps.Close())
			require.NoError(t, d.Close())
		})
	}
}

func TestScrubRefusesDatastoreInUse(t *testing.T) {
	for _, b := range backends {
		t.Run(string(b), func(t *testing.T) {
			ctx := context.Background()
			s := fillLegacy(t, b, 2, false)
			held, err := OpenDatastore(s.Dir, false)
			require.NoError(t, err)

			for _, dry := range []bool{false, true} {
				_, err = Scrub(ctx, s.Dir, WithDryRun(dry))
				require.ErrorIs(t, err, ErrInUse)
				require.ErrorContains(t, err, "stop the node")
				require.ErrorContains(t, err, s.Dir)
			}
			n, err := legacy.CountPrivKeys(ctx, held)
			require.NoError(t, err)
			require.Equal(t, 2, n)
			require.NoError(t, held.Close())

			res, err := Scrub(ctx, s.Dir)
			require.NoError(t, err)
			require.Len(t, res.Removed, 2)
		})
	}
}

func TestScrubRefusesDatastoreAnotherProcessHolds(t *testing.T) {
	for _, b := range backends {
		t.Run(string(b), func(t *testing.T) {
			ctx := context.Background()
			s := fillLegacy(t, b, 2, false)
			node := exec.Command(os.Args[0], "-test.run=^$")
			node.Env = append(os.Environ(), holdEnv+"="+s.Dir)
			stdin, err := node.StdinPipe()
			require.NoError(t, err)
			stdout, err := node.StdoutPipe()
			require.NoError(t, err)
			node.Stderr = os.Stderr
			require.NoError(t, node.Start())
			line, err := bufio.NewReader(stdout).ReadString('\n')
			require.NoError(t, err)
			require.Equal(t, "ready\n", line)

			_, err = Scrub(ctx, s.Dir)
			require.ErrorIs(t, err, ErrInUse)
			require.ErrorContains(t, err, "stop the node")
			_, err = Import(ctx, s.Dir, filepath.Join(t.TempDir(), "peers.snap"))
			require.ErrorIs(t, err, ErrInUse)

			// The refused scrub deleted nothing: both keys are
			// there once the node has stopped.
			require.NoError(t, stdin.Close())
			require.NoError(t, node.Wait())
			res, err := Scrub(ctx, s.Dir)
			require.NoError(t, err)
			require.Len(t, res.Removed, 2)
		})
	}
}

func TestScrubRefusesBadInput(t *testing.T) {
	ctx := context.Background()
	tmp := t.TempDir()
	file := filepath.Join(tmp, "file")
	require.NoError(t, os.WriteFile(file, []byte("a file"), 0o644))
	other := filepath.Join(tmp, "other")
	d := openNew(t, LevelDB, other)
	require.NoError(t, d.Put(ctx, dsKey("/pins/x"), []byte("pin")))
	require.NoError(t, d.Close())
	empty := filepath.Join(tmp, "empty")
	d = openNew(t, Pebble, empty)
	require.NoError(t, d.Close())

	for _, tc := range []struct {
		name, dir string
		is        error
	}{
		{"a directory that is no datastore", t.TempDir(), ErrNotDatastore},
		{"a file", file, ErrNotDatastore},
		{"a missing path", filepath.Join(tmp, "missing"), os.ErrNotExist},
		{"a datastore of another program", other, ErrNoPeerstore},
		{"an empty datastore", empty, ErrNoPeerstore},
	} {
		t.Run(tc.name, func(t *testing.T) {
			before := treeDigest(t, tmp)
			_, err := Scrub(ctx, tc.dir)
			require.ErrorIs(t, err, tc.is)
			require.Equal(t, before, treeDigest(t, tmp), "a refused scrub wrote something")
		})
	}
}

func TestScrubRefusesReadOnlyDatastore(t *testing.T) {
	for _, b := range backends {
		t.Run(string(b), func(t *testing.T) {
			ctx := context.Background()
			s := fillLegacy(t, b, 2, false)
			ro := filepath.Join(t.TempDir(), "ro")
			copyDir(t, s.Dir, ro)
			require.NoError(t, os.Chmod(ro, 0o555))
			t.Cleanup(func() { os.Chmod(ro, 0o755) })
			if writable(ro) {
				// Root writes through 0555. Opening for writing fails
				// just as well where a file it must write is a
				// directory.
				require.NoError(t, os.Chmod(ro, 0o755))
				lock := filepath.Join(ro, "LOCK")
				require.NoError(t, os.Remove(lock))
				require.NoError(t, os.Mkdir(lock, 0o555))
			}
			before := treeDigest(t, ro)
			_, err := Scrub(ctx, ro)
			require.Error(t, err)
			require.ErrorContains(t, err, ro)
			require.Equal(t, before, treeDigest(t, ro), "a refused scrub wrote something")
		})
	}
}
