package peerdata_test

import (
	"path/filepath"
	"testing"

	"github.com/pstoremigrate/pstoremigrate/internal/peerdatatest"
	"github.com/pstoremigrate/pstoremigrate/newstore"
)

// A score kept by a small protocol on a host survives a restart of the host
// (same identity) persisted to a file, and is gone ttlAfterDisconnect after
// the restart when the peer does not come back. The go-ds-leveldb run is in
// persist_interop_test.go.
func TestScoreSurvivesRestartInAFile(t *testing.T) {
	path := filepath.Join(t.TempDir(), "peers.snapshot")
	peerdatatest.ScoreSurvivesRestart(t, func(*testing.T) (newstore.Sink, func()) {
		return newstore.NewFileSink(path), func() {}
	})
}
