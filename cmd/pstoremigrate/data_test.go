package main

import (
	"bytes"
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"testing"
	"time"

	ds "github.com/ipfs/go-datastore"
	leveldb "github.com/ipfs/go-ds-leveldb"
	ic "github.com/libp2p/go-libp2p/core/crypto"
	"github.com/libp2p/go-libp2p/core/peer"
	"github.com/libp2p/go-libp2p/p2p/host/peerstore/pstoreds"
	ma "github.com/multiformats/go-multiaddr"
	"github.com/stretchr/testify/require"

	"github.com/pstoremigrate/pstoremigrate/internal/datacmd"
)

// dataCLI runs "pstoremigrate data args..." in this process.
func dataCLI(t *testing.T, args ...string) result {
	t.Helper()
	var stdout, stderr bytes.Buffer
	inv := &invocation{Stdout: &stdout, Stderr: &stderr}
	code := run(inv, append([]string{"data"}, args...))
	return result{stdout: stdout.String(), stderr: stderr.String(), code: code}
}

// legacyLevelDB has upstream pstoreds write n peers, with their private
// keys, into a new leveldb datastore and returns its directory.
func legacyLevelDB(t *testing.T, n int) string {
	t.Helper()
	dir := filepath.Join(t.TempDir(), "datastore")
	d, err := leveldb.NewDatastore(dir, nil)
	require.NoError(t, err)
	ps, err := pstoreds.NewPeerstore(context.Background(), d, pstoreds.DefaultOpts())
	require.NoError(t, err)
	for i := range n {
		priv, pub, err := ic.GenerateEd25519Key(nil)
		require.NoError(t, err)
		id, err := peer.IDFromPublicKey(pub)
		require.NoError(t, err)
		require.NoError(t, ps.AddPrivKey(id, priv))
		require.NoError(t, ps.AddPubKey(id, pub))
		ps.AddAddr(id, ma.StringCast("/ip4/10.0.0.1/tcp/"+string(rune('0'+i%10))+"001"), time.Hour)
		require.NoError(t, ps.SetProtocols(id, "/ipfs/id/1.0.0"))
	}
	require.NoError(t, ps.Close())
	require.NoError(t, d.Close())
	return dir
}

func TestHelpDataDocumentsTheSubcommands(t *testing.T) {
	var stdout, stderr bytes.Buffer
	code := run(&invocation{Stdout: &stdout, Stderr: &stderr}, []string{"help", "data"})
	require.Equal(t, exitOK, code)
	for _, s := range []string{inspectUsage, "-from DATASTORE -to PATH", scrubUsage, "-skip-corrupt", "-dry-run", "-json", "-progress", "Exit status"} {
		require.Contains(t, stdout.String(), s)
	}
}

func TestDataInspectImportScrub(t *testing.T) {
	dir := legacyLevelDB(t, 3)

	res := dataCLI(t, "inspect", dir)
	require.Equal(t, exitOK, res.code, res.stderr)
	require.Regexp(t, `PRIVATE KEYS in clear text +3\n`, res.stdout)

	res = dataCLI(t, "inspect", "-json", dir)
	require.Equal(t, exitOK, res.code, res.stderr)
	var rep datacmd.Report
	require.NoError(t, json.Unmarshal([]byte(res.stdout), &rep))
	require.Equal(t, 3, rep.Legacy.Peers)
	require.Equal(t, 3, rep.Legacy.PrivKeys)
	require.Equal(t, 3, rep.Legacy.AddrsLive)

	snap := filepath.Join(t.TempDir(), "peers.snap")
	res = dataCLI(t, "import", "--from", dir, "--to", snap)
	require.Equal(t, exitOK, res.code, res.stderr)
	require.Contains(t, res.stdout, "peers 3, live addresses 3, public keys 3")
	require.Contains(t, res.stdout, "3 private keys, still in clear text")
	require.Empty(t, res.stderr, "a progress bar was drawn on a stderr that is no terminal")

	res = dataCLI(t, "inspect", "-json", snap)
	require.Equal(t, exitOK, res.code, res.stderr)
	rep = datacmd.Report{}
	require.NoError(t, json.Unmarshal([]byte(res.stdout), &rep))
	require.Equal(t, "snapshot", rep.Kind)
	require.Equal(t, 3, rep.Snapshot.Peers)

	res = dataCLI(t, "scrub", dir, "--dry-run")
	require.Equal(t, exitOK, res.code, res.stderr)
	require.Contains(t, res.stdout, "would remove 3 private keys")

	res = dataCLI(t, "scrub", "-json", dir)
	require.Equal(t, exitOK, res.code, res.stderr)
	var scrubbed datacmd.ScrubResult
	require.NoError(t, json.Unmarshal([]byte(res.stdout), &scrubbed))
	require.Len(t, scrubbed.Removed, 3)
	require.False(t, scrubbed.DryRun)

	res = dataCLI(t, "inspect", "-json", dir)
	require.Equal(t, exitOK, res.code, res.stderr)
	rep = datacmd.Report{}
	require.NoError(t, json.Unmarshal([]byte(res.stdout), &rep))
	require.Zero(t, rep.Legacy.PrivKeys)
	require.Equal(t, 3, rep.Legacy.Peers)
}

func TestDataImportProgressAndJSON(t *testing.T) {
	dir := legacyLevelDB(t, 2)
	out := filepath.Join(t.TempDir(), "new")
	res := dataCLI(t, "import", "-progress", "-json", "-format", "pebble", "-from", dir, "-to", out)
	require.Equal(t, exitOK, res.code, res.stderr)
	require.Contains(t, res.stderr, "importing "+dir)
	var sum datacmd.ImportSummary
	require.NoError(t, json.Unmarshal([]byte(res.stdout), &sum))
	require.Equal(t, datacmd.FormatPebble, sum.Format)
	require.Equal(t, 2, sum.Imported.Peers)
	require.Equal(t, 2, sum.Left.PrivKeys)
	b, err := datacmd.DetectBackend(out)
	require.NoError(t, err)
	require.Equal(t, datacmd.Pebble, b)
}

func TestDataUsageErrors(t *testing.T) {
	for _, args := range [][]string{
		{},
		{"frobnicate"},
		{"inspect"},
		{"inspect", "a", "b"},
		{"import", "-from", "x"},
		{"import", "-from", "x", "-to", "y", "-format", "zip"},
		{"scrub"},
		{"scrub", "-no-such-flag", "x"},
	} {
		res := dataCLI(t, args...)
		require.Equal(t, exitUsage, res.code, "data %v", args)
		require.Contains(t, res.stderr, "pstoremigrate", "data %v", args)
	}
}

func TestDataErrorsAreClearAndExitNonZero(t *testing.T) {
	tmp := t.TempDir()
	res := dataCLI(t, "inspect", tmp)
	require.Equal(t, exitError, res.code)
	require.Contains(t, res.stderr, "not a snapshot file nor a leveldb or pebble datastore")

	res = dataCLI(t, "scrub", filepath.Join(tmp, "missing"))
	require.Equal(t, exitError, res.code)
	require.Contains(t, res.stderr, "no such file or directory")

	// Corrupt entries: inspect lists them and fails; import refuses
	// unless told to skip them.
	dir := legacyLevelDB(t, 2)
	d, err := leveldb.NewDatastore(dir, nil)
	require.NoError(t, err)
	require.NoError(t, d.Put(context.Background(), ds.NewKey("/peers/addrs/NOTBASE32!"), []byte("x")))
	require.NoError(t, d.Close())
	res = dataCLI(t, "inspect", dir)
	require.Equal(t, exitError, res.code)
	require.Contains(t, res.stdout, "/peers/addrs/NOTBASE32!")
	require.Contains(t, res.stderr, "1 legacy entries that do not decode")
	snap := filepath.Join(tmp, "peers.snap")
	res = dataCLI(t, "import", "-from", dir, "-to", snap)
	require.Equal(t, exitError, res.code)
	require.Contains(t, res.stderr, "-skip-corrupt")
	require.NoFileExists(t, snap)
	res = dataCLI(t, "import", "-skip-corrupt", "-from", dir, "-to", snap)
	require.Equal(t, exitOK, res.code, res.stderr)
	require.Contains(t, res.stdout, "1 entries that do not decode")

	// A datastore a running node holds.
	held, err := leveldb.NewDatastore(dir, nil)
	require.NoError(t, err)
	res = dataCLI(t, "scrub", dir)
	require.NoError(t, held.Close())
	require.Equal(t, exitError, res.code)
	require.Contains(t, res.stderr, "is open in another process")
	require.Empty(t, res.stdout)

	entries, err := os.ReadDir(tmp)
	require.NoError(t, err)
	require.Len(t, entries, 1, "only the snapshot of the -skip-corrupt import")
}
