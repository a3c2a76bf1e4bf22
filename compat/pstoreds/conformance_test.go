package pstoreds

import (
	"context"
	"testing"

	"github.com/pstoremigrate/pstoremigrate/internal/suiteversion"

	ds "github.com/ipfs/go-datastore"
	pt "github.com/libp2p/go-libp2p/p2p/host/peerstore/test"
	"github.com/stretchr/testify/require"
	"go.uber.org/goleak"

	"github.com/pstoremigrate/pstoremigrate/internal/legacytest"
)

func TestMain(m *testing.M) {
	suiteversion.LeaveOutStaleCases("TestSuite/UpstreamAddrBookSuite/.*")
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

func TestPeerstoreProtoStoreLimits(t *testing.T) {
	const limit = 10
	opts := DefaultOpts()
	opts.MaxProtocols = limit
	ps, _, done := open(t, legacytest.Memory, opts)
	defer done()
	pt.TestPeerstoreProtoStoreLimits(t, ps, limit)
}
