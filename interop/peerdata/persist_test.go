package peerdata_test

import (
	"testing"

	ds "github.com/ipfs/go-datastore"
	"github.com/stretchr/testify/require"
	"go.uber.org/goleak"

	"github.com/pstoremigrate/pstoremigrate/internal/legacytest"
	"github.com/pstoremigrate/pstoremigrate/internal/peerdatatest"
	"github.com/pstoremigrate/pstoremigrate/interop/internal/ondisk"
	"github.com/pstoremigrate/pstoremigrate/newstore"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m, legacytest.LeakOptions...) }

// newstore/peerdata's restart scenario with the node's state in the
// datastores nodes run on (go-ds-leveldb, go-ds-pebble), closed and reopened
// across the restart as a node's datastore is: a score kept by a small
// protocol survives the restart, and is gone ttlAfterDisconnect after it.
func TestScoreSurvivesRestartInADatastore(t *testing.T) {
	for _, b := range ondisk.Backends {
		t.Run(b.Name, func(t *testing.T) {
			dir := t.TempDir()
			peerdatatest.ScoreSurvivesRestart(t, func(t *testing.T) (newstore.Sink, func()) {
				d := b.Open(t, dir)
				return newstore.NewDatastoreSink(d, ds.NewKey("/peerstore/snapshot")), func() { require.NoError(t, d.Close()) }
			})
		})
	}
}
