package pstoreds

import (
	"context"
	"testing"

	mockclock "github.com/benbjohnson/clock"
	ds "github.com/ipfs/go-datastore"
	pstore "github.com/libp2p/go-libp2p/core/peerstore"
	pt "github.com/libp2p/go-libp2p/p2p/host/peerstore/test"
	"github.com/stretchr/testify/require"
	"go.uber.org/goleak"

	"github.com/pstoremigrate/pstoremigrate/internal/legacytest"
)

func TestMain(m *testing.M) {
	goleak.VerifyTestMain(m, legacytest.LeakOptions...)
}

// open opens a peerstore on a fresh on-disk datastore of backend b; the
// returned func closes both.
func open(t testing.TB, b legacytest.Backend, opts Options) (*Peerstore, ds.Batching, func()) {
	d := b.Open(t, t.TempDir())
	ps, err := NewPeerstore(context.Background(), d, opts)
	require.NoError(t, err)
	return ps, d, func() {
		require.NoError(t, ps.Close())
		require.NoError(t, d.Close())
	}
}

// suiteOpen is open for upstream's suites. They use peer IDs such as
// peer.ID("testpeer") that are not multihashes: real peers never have them,
// and the final save leaves them out of the snapshot (with a warning) while
// saving every other peer.
func suiteOpen(t testing.TB, b legacytest.Backend, opts Options) (*Peerstore, func()) {
	d := b.Open(t, t.TempDir())
	ps, err := NewPeerstore(context.Background(), d, opts)
	require.NoError(t, err)
	return ps, func() {
		require.NoError(t, ps.Close())
		require.NoError(t, d.Close())
	}
}

// The suites are called as upstream pstoreds' ds_test.go does, on real
// on-disk datastores instead of its map datastore.

func TestPeerstoreSuite(t *testing.T) {
	for _, b := range legacytest.Backends {
		t.Run(b.Name, func(t *testing.T) {
			pt.TestPeerstore(t, func() (pstore.Peerstore, func()) {
				return suiteOpen(t, b, DefaultOpts())
			})
		})
	}
}

func TestPeerstoreProtoStoreLimits(t *testing.T) {
	const limit = 10
	opts := DefaultOpts()
	opts.MaxProtocols = limit
	ps, done := suiteOpen(t, legacytest.Backends[1], opts)
	defer done()
	pt.TestPeerstoreProtoStoreLimits(t, ps, limit)
}

func TestAddrBookSuite(t *testing.T) {
	for _, b := range legacytest.Backends {
		t.Run(b.Name, func(t *testing.T) {
			opts := DefaultOpts()
			opts.MaxAddrsPerPeer = 0
			clk := mockclock.NewMock()
			opts.Clock = clk
			pt.TestAddrBook(t, func() (pstore.AddrBook, func()) {
				return suiteOpen(t, b, opts)
			}, clk)
		})
	}
}

func TestKeyBookSuite(t *testing.T) {
	for _, b := range legacytest.Backends {
		t.Run(b.Name, func(t *testing.T) {
			pt.TestKeyBook(t, func() (pstore.KeyBook, func()) {
				return suiteOpen(t, b, DefaultOpts())
			})
		})
	}
}
