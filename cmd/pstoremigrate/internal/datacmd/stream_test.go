package datacmd

import (
	"context"
	"errors"
	"path/filepath"
	"testing"

	"github.com/libp2p/go-libp2p/core/peer"
	"github.com/stretchr/testify/require"

	"github.com/pstoremigrate/pstoremigrate/compat/pstoreds/legacy"
	"github.com/pstoremigrate/pstoremigrate/internal/legacytest"
)

func TestStreamLegacyStopsAtTheFirstError(t *testing.T) {
	ctx := context.Background()
	d := openNew(t, LevelDB, filepath.Join(t.TempDir(), "db"))
	defer d.Close()
	writeLegacyPeers(t, d, 50)

	// Every peer once, whatever the batch size.
	for _, batch := range []int{1, 7, 1000} {
		seen := map[peer.ID]int{}
		entries := 0
		err := streamLegacy(ctx, d, batch, func(string) bool { entries++; return true }, func(p *legacy.Peer) error {
			seen[p.ID]++
			require.NotNil(t, p.Record)
			require.Len(t, p.Protocols, len(legacytest.Protocols))
			return nil
		}, func(e *legacy.EntryError) { t.Errorf("entry error: %v", e) })
		require.NoError(t, err)
		require.Len(t, seen, 50)
		for id, n := range seen {
			require.Equal(t, 1, n, "peer %s seen %d times", id, n)
		}
		require.Equal(t, 50*5, entries)
	}

	// The error of fn ends the stream; the decoding goroutines stop
	// (TestMain checks for leaks).
	boom := errors.New("boom")
	calls := 0
	err := streamLegacy(ctx, d, 1, nil, func(*legacy.Peer) error {
		calls++
		if calls == 3 {
			return boom
		}
		return nil
	}, nil)
	require.ErrorIs(t, err, boom)
	require.Equal(t, 3, calls)

	cctx, cancel := context.WithCancel(ctx)
	err = streamLegacy(cctx, d, 1, nil, func(*legacy.Peer) error { cancel(); return nil }, nil)
	require.ErrorIs(t, err, context.Canceled)
}
