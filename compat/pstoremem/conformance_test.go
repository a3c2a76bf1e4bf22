package pstoremem

import (
	"testing"

	"github.com/pstoremigrate/pstoremigrate/internal/suiteversion"

	mockclock "github.com/benbjohnson/clock"
	pstore "github.com/libp2p/go-libp2p/core/peerstore"
	pt "github.com/libp2p/go-libp2p/p2p/host/peerstore/test"
	"github.com/stretchr/testify/require"
	"go.uber.org/goleak"
)

func TestMain(m *testing.M) {
	suiteversion.LeaveOutStaleCases("Test(Standalone)?AddrBookSuite")
	goleak.VerifyTestMain(m,
		goleak.IgnoreTopFunction("github.com/libp2p/go-libp2p/gologshim/writer.(*MirrorWriter).logRoutine"),
		goleak.IgnoreTopFunction("go.opencensus.io/stats/view.(*worker).start"),
	)
}

// The suites and the way they are called are upstream pstoremem's own
// (inmem_test.go), pointed at this package.

func TestUnknownOptionIsAnError(t *testing.T) {
	_, err := NewPeerstore(1337)
	require.EqualError(t, err, "unexpected peer store option: 1337")
}

func TestNilClockIsAnError(t *testing.T) {
	_, err := NewPeerstore(WithClock(nil))
	require.ErrorContains(t, err, "nil clock")
}

func TestPeerstoreSuite(t *testing.T) {
	pt.TestPeerstore(t, func() (pstore.Peerstore, func()) {
		ps, err := NewPeerstore()
		require.NoError(t, err)
		return ps, func() { ps.Close() }
	})
}

func TestPeerstoreProtoStoreLimits(t *testing.T) {
	const limit = 10
	ps, err := NewPeerstore(WithMaxProtocols(limit))
	require.NoError(t, err)
	defer ps.Close()
	pt.TestPeerstoreProtoStoreLimits(t, ps, limit)
}

func TestAddrBookSuite(t *testing.T) {
	clk := mockclock.NewMock()
	// As upstream: the suite inserts batches larger than the default
	// per-peer cap, so the cap is disabled to test general behaviour.
	pt.TestAddrBook(t, func() (pstore.AddrBook, func()) {
		ps, err := NewPeerstore(WithClock(clk), WithMaxAddressesPerPeer(0))
		require.NoError(t, err)
		return ps, func() { ps.Close() }
	}, clk)
}

func TestStandaloneAddrBookSuite(t *testing.T) {
	clk := mockclock.NewMock()
	pt.TestAddrBook(t, func() (pstore.AddrBook, func()) {
		ab := NewAddrBook(WithClock(clk), WithMaxAddressesPerPeer(0))
		return ab, func() { ab.Close() }
	}, clk)
}

func TestKeyBookSuite(t *testing.T) {
	pt.TestKeyBook(t, func() (pstore.KeyBook, func()) {
		ps, err := NewPeerstore()
		require.NoError(t, err)
		return ps, func() { ps.Close() }
	})
}

func TestStandaloneKeyBookSuite(t *testing.T) {
	pt.TestKeyBook(t, func() (pstore.KeyBook, func()) {
		return NewKeyBook(), func() {}
	})
}
