package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"testing"

	ds "github.com/ipfs/go-datastore"
	leveldb "github.com/ipfs/go-ds-leveldb"
	"github.com/stretchr/testify/require"

	"github.com/pstoremigrate/pstoremigrate/cmd/pstoremigrate/internal/datacmd"
	"github.com/pstoremigrate/pstoremigrate/internal/legacytest"
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
// keys, into a new leveldb datastore and returns its directory and how
// many live addresses it holds.
func legacyLevelDB(t *testing.T, n int) (dir string, liveAddrs int) {
	t.Helper()
	dir = filepath.Join(t.TempDir(), "datastore")
	d, err := leveldb.NewDatastore(dir, nil)
	require.NoError(t, err)
	for _, p := range legacytest.Fill(t, d, n) {
		liveAddrs += len(p.Live) + len(p.RecordAddrs)
	}
	require.NoError(t, d.Close())
	return dir, liveAddrs
}

func TestDataInspectImportScrub(t *testing.T) {
	dir, live := legacyLevelDB(t, 3)

	res := dataCLI(t, "inspect", dir)
	require.Equal(t, exitOK, res.code, res.stderr)
	require.Regexp(t, `PRIVATE KEYS in clear text +3\n`, res.stdout)

	res = dataCLI(t, "inspect", "-json", dir)
	require.Equal(t, exitOK, res.code, res.stderr)
	var rep datacmd.Report
	require.NoError(t, json.Unmarshal([]byte(res.stdout), &rep))
	require.Equal(t, 3, rep.Legacy.Peers)
	require.Equal(t, 3, rep.Legacy.PrivKeys)
	require.Equal(t, live, rep.Legacy.AddrsLive)

	snap := filepath.Join(t.TempDir(), "peers.snap")
	res = dataCLI(t, "import", "--from", dir, "--to", snap)
	require.Equal(t, exitOK, res.code, res.stderr)
	require.Contains(t, res.stdout, fmt.Sprintf("peers 3, live addresses %d, public keys 3", live))
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
	dir, _ := legacyLevelDB(t, 2)
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
	dir, _ := legacyLevelDB(t, 2)
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
