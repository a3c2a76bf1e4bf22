package datacmd

import (
	"bytes"
	"context"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/pstoremigrate/pstoremigrate/compat/pstoreds/legacy"
)

// Keys deleted from the key space without a compaction (what compat/pstoreds
// did before it compacted) stay in leveldb's tables: inspect says so and
// scrub removes them, though the key space holds none.
func TestPrivKeysDeletedButInFilesAreFoundAndScrubbed(t *testing.T) {
	ctx := context.Background()
	s := fillLegacy(t, LevelDB, 3, false)
	d, err := OpenDatastore(s.Dir, false)
	require.NoError(t, err)
	n, err := legacy.DeletePrivKeys(ctx, d)
	require.NoError(t, err)
	require.Equal(t, 3, n)
	require.NoError(t, d.Close())

	r, err := Inspect(ctx, s.Dir)
	require.NoError(t, err)
	require.Zero(t, r.Legacy.PrivKeys, "none left in the key space")
	require.Equal(t, 3, r.Legacy.PrivKeysInFiles, "but all three in the files")
	var out bytes.Buffer
	require.NoError(t, r.WriteTable(&out))
	require.Contains(t, out.String(), "3 private keys still readable in the files; run")

	res, err := Scrub(ctx, s.Dir)
	require.NoError(t, err)
	require.Empty(t, res.Removed)
	require.Equal(t, 3, res.InFiles)
	require.True(t, res.Compacted)

	r, err = Inspect(ctx, s.Dir)
	require.NoError(t, err)
	require.Zero(t, r.Legacy.PrivKeysInFiles, "scrub removed them from the files")
}
