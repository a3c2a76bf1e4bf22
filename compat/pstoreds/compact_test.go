package pstoreds

import (
	"context"
	"testing"

	ds "github.com/ipfs/go-datastore"
	"github.com/stretchr/testify/require"

	"github.com/pstoremigrate/pstoremigrate/internal/legacytest"
)

// compactingStore is a datastore that says it can compact, and counts how
// often it was asked.
type compactingStore struct {
	ds.Batching
	compactions int
}

func (c *compactingStore) Compact(context.Context) error { c.compactions++; return nil }

func TestPrivKeysDeletedAreCompactedOrReported(t *testing.T) {
	ctx := context.Background()

	// A datastore that compacts is asked to, once the keys are deleted.
	c := &compactingStore{Batching: legacytest.Memory.Open(t, t.TempDir())}
	defer c.Close()
	legacytest.Fill(t, c, 2)
	ps, err := NewPeerstore(ctx, c, DefaultOpts())
	require.NoError(t, err)
	require.Equal(t, 2, ps.MigrationReport().PrivKeysDeleted)
	require.Equal(t, 1, c.compactions)
	require.Empty(t, ps.MigrationReport().Warnings)
	require.NoError(t, ps.Close())

	// One that cannot is named in a warning: the bytes may remain.
	d := legacytest.Memory.Open(t, t.TempDir())
	defer d.Close()
	legacytest.Fill(t, d, 2)
	ps, err = NewPeerstore(ctx, d, DefaultOpts())
	require.NoError(t, err)
	w := ps.MigrationReport().Warnings
	require.Len(t, w, 1)
	require.Contains(t, w[0], "deleted 2 private keys")
	require.Contains(t, w[0], "may stay readable in its files")
	require.NoError(t, ps.Close())
}
