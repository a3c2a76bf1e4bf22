package pstoreds

import (
	"testing"
	"time"

	mockclock "github.com/benbjohnson/clock"
	"github.com/libp2p/go-libp2p/core/peer"
	ma "github.com/multiformats/go-multiaddr"
	"github.com/stretchr/testify/require"

	"github.com/pstoremigrate/pstoremigrate/internal/legacytest"
	"github.com/pstoremigrate/pstoremigrate/newstore"
)

// As upstream pstoreds' TestDsMaxAddrsPerPeerEvictsNearestExpiry.
func TestMaxAddrsPerPeerEvictsNearestExpiry(t *testing.T) {
	opts := DefaultOpts()
	opts.MaxAddrsPerPeer = 3
	opts.Clock = mockclock.NewMock()
	ps, _, done := open(t, legacytest.Memory, opts)
	defer done()

	const p = peer.ID("peer-cap")
	a1 := ma.StringCast("/ip4/1.2.3.4/tcp/1")
	a2 := ma.StringCast("/ip4/1.2.3.4/tcp/2")
	a3 := ma.StringCast("/ip4/1.2.3.4/tcp/3")
	a4 := ma.StringCast("/ip4/1.2.3.4/tcp/4")
	ps.AddAddr(p, a1, time.Hour)
	ps.AddAddr(p, a2, 30*time.Minute)
	ps.AddAddr(p, a3, 10*time.Minute)
	require.ElementsMatch(t, []ma.Multiaddr{a1, a2, a3}, ps.Addrs(p))
	ps.AddAddr(p, a4, 45*time.Minute)
	require.ElementsMatch(t, []ma.Multiaddr{a1, a2, a4}, ps.Addrs(p))
}

func TestClockOptionDrivesExpiry(t *testing.T) {
	clk := mockclock.NewMock()
	opts := DefaultOpts()
	opts.Clock = clk
	ps, _, done := open(t, legacytest.Memory, opts)
	defer done()
	p := peer.ID("peer-clock")
	a := ma.StringCast("/ip4/1.2.3.4/tcp/1")
	ps.AddAddr(p, a, time.Minute)
	require.Len(t, ps.Addrs(p), 1)
	clk.Add(2 * time.Minute)
	require.Empty(t, ps.Addrs(p))
}

func TestPersistInterval(t *testing.T) {
	require.Equal(t, newstore.DefaultPersistInterval, Options{}.persistInterval(), "zero means the default")
	require.Equal(t, time.Duration(0), Options{PersistInterval: -1}.persistInterval(), "negative: on Close only")
	require.Equal(t, time.Second, Options{PersistInterval: time.Second}.persistInterval())
	require.Equal(t, newstore.DefaultPersistInterval, DefaultOpts().PersistInterval)
}
