package peerdata_test

import (
	"path/filepath"
	"testing"

	ds "github.com/ipfs/go-datastore"
	leveldb "github.com/ipfs/go-ds-leveldb"
	"github.com/stretchr/testify/require"

	"github.com/pstoremigrate/pstoremigrate/internal/peerdatatest"
	"github.com/pstoremigrate/pstoremigrate/newstore"
)

// The restart scenario with the node's state in go-ds-leveldb, closed and
// reopened across the restart as a node's datastore is.
func TestScoreSurvivesRestartInLevelDB(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "datastore")
	peerdatatest.ScoreSurvivesRestart(t, func(t *testing.T) (newstore.Sink, func()) {
		d, err := leveldb.NewDatastore(dir, nil)
		require.NoError(t, err)
		return newstore.NewDatastoreSink(d, ds.NewKey("/peerstore/snapshot")), func() { require.NoError(t, d.Close()) }
	})
}
