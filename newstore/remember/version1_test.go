package remember

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"testing"

	"github.com/libp2p/go-libp2p/core/peer"
	ma "github.com/multiformats/go-multiaddr"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/pstoremigrate/pstoremigrate/internal/v1fixture"
	"github.com/pstoremigrate/pstoremigrate/newstore"
)

// The fixtures in newstore/testdata/v1 were written by the code of commit
// 62b5214, the last that wrote snapshot version 1 (see the README there):
// this package's own Attach and Close on loopback hosts, and newstore's
// Persister for an address book.
const v1Fixtures = "../testdata/v1"

// A node upgraded from a version that wrote snapshot version 1 remembers
// the peers it saved then, their signed records included.
func TestRemembersPeersSavedInVersion1(t *testing.T) {
	raw, err := os.ReadFile(filepath.Join(v1Fixtures, "remembered-peers-v1.snapshot"))
	require.NoError(t, err)
	path := filepath.Join(t.TempDir(), "peers")
	require.NoError(t, os.WriteFile(path, raw, 0o600))

	// The saved peers listened on 127.0.0.1 ports that are closed now: the
	// dials fail, the peers are remembered all the same.
	_, r := attached(t, WithFile(path))
	res, err := r.Rejoined(context.Background())
	require.NoError(t, err)
	require.NoError(t, res.LoadErr)
	assert.Equal(t, 2, res.Remembered)

	b := v1fixture.ID(t, v1fixture.RememberedB)
	c := v1fixture.ID(t, v1fixture.RememberedC)
	got := map[peer.ID][]ma.Multiaddr{}
	for _, ai := range r.Remembered() {
		got[ai.ID] = ai.Addrs
	}
	assert.Equal(t, map[peer.ID][]ma.Multiaddr{
		b: {ma.StringCast("/ip4/127.0.0.1/tcp/42399")},
		c: {ma.StringCast("/ip4/127.0.0.1/tcp/44281")},
	}, got)
	r.mu.Lock()
	for _, id := range []peer.ID{b, c} {
		assert.NotNil(t, r.peers[id].record, "%s's signed record verified and kept", id)
	}
	r.mu.Unlock()

	// The next save writes the current version, marked as remembered peers.
	require.NoError(t, r.Close())
	raw, err = os.ReadFile(path)
	require.NoError(t, err)
	sr, err := newstore.NewSnapshotReader(bytes.NewReader(raw))
	require.NoError(t, err)
	assert.Equal(t, newstore.SnapshotVersion, sr.Version())
	assert.Equal(t, newstore.KindRememberedPeers, sr.Kind())
}

// Version 1 did not mark a snapshot's kind, and its readers took an address
// book's snapshot for remembered peers; an unmarked file still passes the
// kind check (only a marked one of another kind is refused, see
// TestRestoreRefusesAnAddressBookSnapshot).
func TestReadsAnUnmarkedVersion1AddressBook(t *testing.T) {
	raw, err := os.ReadFile(filepath.Join(v1Fixtures, "addrbook-v1.snapshot"))
	require.NoError(t, err)
	_, r := attached(t)
	// Restore, not Attach: Attach would dial the book's documentation
	// addresses (192.0.2.1).
	require.NoError(t, savedSet{r}.Restore(bytes.NewReader(raw)))
	x := v1fixture.ID(t, v1fixture.AddrBookX)
	r.mu.Lock()
	defer r.mu.Unlock()
	var ids []peer.ID
	for _, ai := range r.loaded {
		ids = append(ids, ai.ID)
	}
	assert.Len(t, ids, 2)
	assert.Contains(t, ids, x)
	assert.NotNil(t, r.peers[x].record, "X's record, which the book kept")
}
