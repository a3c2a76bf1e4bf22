package newstore

import (
	"bytes"
	"context"
	"errors"
	"io"
	"os"
	"path/filepath"
	"testing"

	"github.com/libp2p/go-libp2p/core/crypto"
	"github.com/libp2p/go-libp2p/core/peer"
	ma "github.com/multiformats/go-multiaddr"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/pstoremigrate/pstoremigrate/internal/v1fixture"
)

// The files in testdata/v1 were written by the code of commit 62b5214, the
// last that wrote snapshot version 1, through its own Persister and
// package remember (testdata/v1/README.md says how). A node upgraded from
// that code starts from them.

// copyFixture copies a fixture to a fresh directory, so that a sink that
// saves cannot change the committed file.
func copyFixture(t *testing.T, name string) string {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("testdata", "v1", name))
	require.NoError(t, err)
	path := filepath.Join(t.TempDir(), name)
	require.NoError(t, os.WriteFile(path, b, 0o600))
	return path
}

func TestRestoresAVersion1AddressBookFile(t *testing.T) {
	path := copyFixture(t, "addrbook-v1.snapshot")
	raw, err := os.ReadFile(path)
	require.NoError(t, err)
	sr, err := NewSnapshotReader(bytes.NewReader(raw))
	require.NoError(t, err)
	assert.Equal(t, 1, sr.Version())
	// Version 1 says nothing of its kind, so it passes for either kind
	// that wrote it (see SnapshotReader.Expect).
	assert.Equal(t, kindUnmarked, sr.Kind())
	require.NoError(t, sr.Expect(KindAddrBook))
	require.NoError(t, sr.Expect(KindRememberedPeers))

	// Through the same path a node takes at start: a file sink, Load.
	ab, err := New()
	require.NoError(t, err)
	defer ab.Close()
	p := NewPersister(ab, NewFileSink(path))
	require.NoError(t, p.Load(context.Background()))

	x := v1fixture.ID(t, v1fixture.AddrBookX)
	assert.ElementsMatch(t, []ma.Multiaddr{
		ma.StringCast("/ip4/192.0.2.1/tcp/4001"), ma.StringCast("/ip4/192.0.2.1/udp/4001/quic-v1"),
	}, ab.Addrs(x), "a permanent address and a 50-year one")
	env := ab.GetPeerRecord(x)
	require.NotNil(t, env, "X's signed record")
	r, err := env.Record()
	require.NoError(t, err)
	rec, ok := r.(*peer.PeerRecord)
	require.True(t, ok)
	assert.Equal(t, x, rec.PeerID)

	// Y is the ECDSA peer, whose key its ID does not inline: the snapshot
	// carried the key, and it is Y's.
	var y peer.ID
	for _, q := range ab.PeersWithAddrs() {
		if q != x {
			y = q
		}
	}
	require.Len(t, ab.PeersWithAddrs(), 2)
	assert.Equal(t, []ma.Multiaddr{ma.StringCast("/dns4/y.example/tcp/4001")}, ab.Addrs(y))
	k := ab.PubKey(y)
	require.NotNil(t, k, "Y's public key")
	assert.Equal(t, crypto.ECDSA, int(k.Type()))
	assert.True(t, y.MatchesPublicKey(k))

	// Saving again writes the current version, marked as an address book.
	require.NoError(t, p.Close())
	raw, err = os.ReadFile(path)
	require.NoError(t, err)
	sr, err = NewSnapshotReader(bytes.NewReader(raw))
	require.NoError(t, err)
	assert.Equal(t, SnapshotVersion, sr.Version())
	assert.Equal(t, KindAddrBook, sr.Kind())
	require.ErrorIs(t, sr.Expect(KindRememberedPeers), ErrWrongKind)
}

// A version-1 file of remembered peers is unmarked too: an address book
// reads it, as the version-1 readers did, rather than refusing it.
func TestVersion1RememberedPeersFileIsUnmarked(t *testing.T) {
	raw, err := os.ReadFile(filepath.Join("testdata", "v1", "remembered-peers-v1.snapshot"))
	require.NoError(t, err)
	sr, err := NewSnapshotReader(bytes.NewReader(raw))
	require.NoError(t, err)
	assert.Equal(t, 1, sr.Version())
	assert.Equal(t, kindUnmarked, sr.Kind())
	require.NoError(t, sr.Expect(KindAddrBook))
	var ids []peer.ID
	for {
		e, err := sr.Next()
		if errors.Is(err, io.EOF) {
			break
		}
		require.NoError(t, err)
		ids = append(ids, e.ID)
		assert.NotEmpty(t, e.Record, "identify's signed record was remembered")
	}
	assert.ElementsMatch(t, []peer.ID{
		v1fixture.ID(t, v1fixture.RememberedB),
		v1fixture.ID(t, v1fixture.RememberedC),
	}, ids)

	ab, err := New()
	require.NoError(t, err)
	defer ab.Close()
	require.NoError(t, ab.Restore(bytes.NewReader(raw)), "an unmarked snapshot passes the address book's kind check")
}
