// Package ondisk gives the interop tests the on-disk datastores that legacy
// nodes ran pstoreds on, as legacytest backends.
package ondisk

import (
	"path/filepath"
	"testing"

	ds "github.com/ipfs/go-datastore"
	leveldb "github.com/ipfs/go-ds-leveldb"
	pebbleds "github.com/ipfs/go-ds-pebble"
	"github.com/stretchr/testify/require"

	"github.com/pstoremigrate/pstoremigrate/internal/legacytest"
)

// LevelDB opens go-ds-leveldb in dir/leveldb.
var LevelDB = legacytest.Backend{Name: "leveldb", Open: func(t testing.TB, dir string) ds.Batching {
	d, err := leveldb.NewDatastore(filepath.Join(dir, "leveldb"), nil)
	require.NoError(t, err)
	return d
}}

// Pebble opens go-ds-pebble in dir/pebble.
var Pebble = legacytest.Backend{Name: "pebble", Open: func(t testing.TB, dir string) ds.Batching {
	d, err := pebbleds.NewDatastore(filepath.Join(dir, "pebble"))
	require.NoError(t, err)
	return d
}}

// Backends are both.
var Backends = []legacytest.Backend{LevelDB, Pebble}
