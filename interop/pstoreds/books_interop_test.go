package pstoreds_test

import (
	"bytes"
	"io/fs"
	"os"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/pstoremigrate/pstoremigrate/internal/pstoredstest"
	"github.com/pstoremigrate/pstoremigrate/interop/internal/ondisk"
)

// Books assembled as upstream's pstoreds.NewPeerstore assembles them write
// no private key byte to any file of an on-disk datastore: the files are
// scanned, not the key space, since leveldb and pebble keep overwritten and
// deleted values in their tables and logs until a compaction.
func TestAssembledBooksWriteNoPrivateKeyToFiles(t *testing.T) {
	for _, b := range ondisk.Backends {
		t.Run(b.Name, func(t *testing.T) {
			dir := t.TempDir()
			secrets, publics, requireRestoredAfterReopen := pstoredstest.WriteAssembled(t, b, dir)
			var files int
			found := make([]bool, len(publics))
			err := filepath.WalkDir(dir, func(path string, e fs.DirEntry, err error) error {
				if err != nil || !e.Type().IsRegular() {
					return err
				}
				content, err := os.ReadFile(path)
				if err != nil {
					return err
				}
				files++
				for i, pub := range publics {
					found[i] = found[i] || bytes.Contains(content, pub)
				}
				for _, secret := range secrets {
					require.False(t, bytes.Contains(content, secret), "%s holds private key bytes", path)
				}
				return nil
			})
			require.NoError(t, err)
			require.NotZero(t, files, "the datastore wrote files")
			for i := range publics {
				require.True(t, found[i], "public key %d is in no file: the scan cannot see what the books write", i)
			}
			requireRestoredAfterReopen()
		})
	}
}
