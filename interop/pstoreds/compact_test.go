package pstoreds_test

import (
	"context"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/pstoremigrate/pstoremigrate/compat/pstoreds"
	"github.com/pstoremigrate/pstoremigrate/internal/legacytest"
	"github.com/pstoremigrate/pstoremigrate/interop/internal/ondisk"
)

// go-ds-leveldb and go-ds-pebble are compacted after the private keys are
// deleted, found through their DB fields: no warning that the keys may
// remain. (This does not scan the files; see issue 12.)
func TestOnDiskDatastoresAreCompactedAfterPrivKeyDeletion(t *testing.T) {
	for _, b := range ondisk.Backends {
		t.Run(b.Name, func(t *testing.T) {
			d := b.Open(t, t.TempDir())
			defer d.Close()
			legacytest.Fill(t, d, 3)
			ps, err := pstoreds.NewPeerstore(context.Background(), d, pstoreds.DefaultOpts())
			require.NoError(t, err)
			rep := ps.MigrationReport()
			require.Equal(t, 3, rep.PrivKeysDeleted)
			require.Empty(t, rep.Warnings, "the backend's compaction was found and ran")
			require.NoError(t, ps.Close())
		})
	}
}
