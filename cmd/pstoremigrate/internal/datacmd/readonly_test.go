package datacmd

import (
	"context"
	"os"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/require"
)

// The read-only commands write nothing: not the LOCK file either backend
// creates (and pebble truncates) on a read-only open. The directory is
// hashed, names, modes and contents, before and after.
func TestReadOnlyCommandsWriteNothing(t *testing.T) {
	for _, b := range backends {
		t.Run(string(b), func(t *testing.T) {
			ctx := context.Background()
			s := fillLegacy(t, b, 3, false)
			lock := filepath.Join(s.Dir, "LOCK")
			require.NoError(t, os.Remove(lock)) // as after a copy that left it out

			before := treeDigest(t, s.Dir)
			r, err := Inspect(ctx, s.Dir)
			require.NoError(t, err)
			require.Equal(t, 3, r.Legacy.PrivKeys)
			dry, err := Scrub(ctx, s.Dir, WithDryRun(true))
			require.NoError(t, err)
			require.Len(t, dry.Removed, 3)
			require.Equal(t, before, treeDigest(t, s.Dir), "a read-only command wrote to the datastore")
			require.NoFileExists(t, lock)
		})
	}
}

func TestInspectLeavesAnExistingLockAlone(t *testing.T) {
	// A directory of pebble-named files that is no datastore, with a LOCK
	// someone else wrote: inspect fails and leaves every byte as it was.
	dir := t.TempDir()
	for name, body := range map[string]string{
		"MANIFEST-000001": "not a manifest", "OPTIONS-000002": "not options", "000003.log": "junk",
		"LOCK": "held by a tool that writes its pid here",
	} {
		require.NoError(t, os.WriteFile(filepath.Join(dir, name), []byte(body), 0o644))
	}
	before := treeDigest(t, dir)
	_, err := Inspect(context.Background(), dir)
	require.Error(t, err)
	require.ErrorContains(t, err, dir)
	require.Equal(t, before, treeDigest(t, dir), "inspect wrote to the directory")
}

func TestReadOnlyOpenRefusesAHeldDatastore(t *testing.T) {
	for _, b := range backends {
		t.Run(string(b), func(t *testing.T) {
			s := fillLegacy(t, b, 1, false)
			held, err := OpenDatastore(s.Dir, false)
			require.NoError(t, err)
			for range 2 { // asking must not drop the holder's lock
				_, err = Inspect(context.Background(), s.Dir)
				require.ErrorIs(t, err, ErrInUse)
			}
			require.NoError(t, held.Close())
			_, err = Inspect(context.Background(), s.Dir)
			require.NoError(t, err)
		})
	}
}
