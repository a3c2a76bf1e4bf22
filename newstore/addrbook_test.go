package newstore_test

import (
	"context"
	"crypto/rand"
	"testing"
	"time"

	"github.com/pstoremigrate/pstoremigrate/internal/suiteversion"

	mockclock "github.com/benbjohnson/clock"
	"github.com/libp2p/go-libp2p/core/crypto"
	"github.com/libp2p/go-libp2p/core/peer"
	"github.com/libp2p/go-libp2p/core/peerstore"
	"github.com/libp2p/go-libp2p/core/record"
	pt "github.com/libp2p/go-libp2p/p2p/host/peerstore/test"
	ma "github.com/multiformats/go-multiaddr"
	"github.com/stretchr/testify/require"
	"go.uber.org/goleak"

	"github.com/pstoremigrate/pstoremigrate/newstore"
)

func TestMain(m *testing.M) {
	suiteversion.LeaveOutStaleCases("TestUpstreamAddrBookSuite")
	goleak.VerifyTestMain(m)
}

func newBook(t testing.TB, opts ...newstore.Option) *newstore.AddrBook {
	t.Helper()
	ab, err := newstore.New(opts...)
	require.NoError(t, err)
	t.Cleanup(func() { ab.Close() })
	return ab
}

// Upstream's own address-book suite is the definition of the semantics we
// keep.
func TestUpstreamAddrBookSuite(t *testing.T) {
	clk := mockclock.NewMock()
	pt.TestAddrBook(t, func() (peerstore.AddrBook, func()) {
		// As upstream runs it: the suite adds 100 addresses to one peer.
		ab, err := newstore.New(newstore.WithClock(clk), newstore.WithMaxAddrsPerPeer(0))
		require.NoError(t, err)
		return ab, func() { ab.Close() }
	}, clk)
}

func addrs(t testing.TB, n int, base int) []ma.Multiaddr {
	t.Helper()
	out := make([]ma.Multiaddr, n)
	for i := range out {
		out[i] = ma.StringCast("/ip4/127.0.0.1/tcp/" + itoa(base+i))
	}
	return out
}

func itoa(i int) string {
	if i == 0 {
		return "0"
	}
	var b []byte
	for ; i > 0; i /= 10 {
		b = append([]byte{byte('0' + i%10)}, b...)
	}
	return string(b)
}

func newPeer(t testing.TB) (crypto.PrivKey, peer.ID) {
	t.Helper()
	priv, _, err := crypto.GenerateEd25519Key(nil)
	require.NoError(t, err)
	id, err := peer.IDFromPrivateKey(priv)
	require.NoError(t, err)
	return priv, id
}

func sealRecord(t testing.TB, priv crypto.PrivKey, id peer.ID, seq uint64, as []ma.Multiaddr) *record.Envelope {
	t.Helper()
	rec := &peer.PeerRecord{PeerID: id, Addrs: as, Seq: seq}
	env, err := record.Seal(rec, priv)
	require.NoError(t, err)
	return env
}

func TestPerPeerCapEvictsNearestExpiry(t *testing.T) {
	clk := mockclock.NewMock()
	ab := newBook(t, newstore.WithClock(clk), newstore.WithMaxAddrsPerPeer(4))
	_, p := newPeer(t)
	as := addrs(t, 6, 1000)
	ab.AddAddrs(p, as[:1], time.Minute) // expires first: the victim
	ab.AddAddrs(p, as[1:4], time.Hour)
	ab.AddAddrs(p, as[4:5], peerstore.ConnectedAddrTTL) // not counted
	ab.AddAddrs(p, as[5:6], time.Hour)
	pt.AssertAddressesEqual(t, as[1:], ab.Addrs(p))
}

func TestTotalCapDropsNewUnconnected(t *testing.T) {
	ab := newBook(t, newstore.WithMaxUnconnectedAddrs(3))
	_, p1 := newPeer(t)
	_, p2 := newPeer(t)
	as := addrs(t, 6, 2000)
	ab.AddAddrs(p1, as[:3], time.Hour)
	ab.AddAddrs(p2, as[3:4], time.Hour)
	require.Empty(t, ab.Addrs(p2), "over the total cap a new unconnected address is dropped")
	ab.AddAddrs(p2, as[4:5], peerstore.ConnectedAddrTTL)
	pt.AssertAddressesEqual(t, as[4:5], ab.Addrs(p2))
	// Freeing room lets addresses in again.
	ab.ClearAddrs(p1)
	ab.AddAddrs(p2, as[5:6], time.Hour)
	pt.AssertAddressesEqual(t, as[4:6], ab.Addrs(p2))
}

func TestHostilePeerCannotGrowMemory(t *testing.T) {
	ab := newBook(t)
	_, p := newPeer(t)
	for i := 0; i < 10*newstore.DefaultMaxAddrsPerPeer; i++ {
		ab.AddAddrs(p, addrs(t, 1, 10000+i), time.Hour)
	}
	require.Len(t, ab.Addrs(p), newstore.DefaultMaxAddrsPerPeer)
}

func TestRecordCap(t *testing.T) {
	ab := newBook(t, newstore.WithMaxSignedRecords(1))
	priv1, p1 := newPeer(t)
	priv2, p2 := newPeer(t)
	ok, err := ab.ConsumePeerRecord(sealRecord(t, priv1, p1, 1, addrs(t, 1, 3000)), time.Hour)
	require.NoError(t, err)
	require.True(t, ok)
	_, err = ab.ConsumePeerRecord(sealRecord(t, priv2, p2, 1, addrs(t, 1, 3001)), time.Hour)
	require.ErrorIs(t, err, newstore.ErrTooManyRecords)
	// A newer record of the peer already held is still taken.
	ok, err = ab.ConsumePeerRecord(sealRecord(t, priv1, p1, 2, addrs(t, 1, 3002)), time.Hour)
	require.NoError(t, err)
	require.True(t, ok)
	// Once p1's addresses are gone so is its record, and room is made.
	ab.ClearAddrs(p1)
	require.Nil(t, ab.GetPeerRecord(p1))
	ok, err = ab.ConsumePeerRecord(sealRecord(t, priv2, p2, 1, addrs(t, 1, 3001)), time.Hour)
	require.NoError(t, err)
	require.True(t, ok)
}

func TestRecordOfAnotherPeerRefused(t *testing.T) {
	ab := newBook(t)
	priv, _ := newPeer(t)
	_, other := newPeer(t)
	env := sealRecord(t, priv, other, 1, addrs(t, 1, 4000))
	ok, err := ab.ConsumePeerRecord(env, time.Hour)
	require.Error(t, err)
	require.False(t, ok)
	require.Empty(t, ab.Addrs(other))
}

func TestPubKeys(t *testing.T) {
	ab := newBook(t)
	priv, p := newPeer(t)
	_, other := newPeer(t)

	// Ed25519 IDs inline the key: it is there without being added.
	require.True(t, priv.GetPublic().Equals(ab.PubKey(p)))
	require.Empty(t, ab.PeersWithKeys())

	require.Error(t, ab.AddPubKey(other, priv.GetPublic()), "a key of another peer is refused")
	require.NoError(t, ab.AddPubKey(p, priv.GetPublic()))
	require.Equal(t, peer.IDSlice{p}, ab.PeersWithKeys())

	// A key the ID does not inline (RSA) is stored.
	rsaPriv, _, err := crypto.GenerateRSAKeyPair(2048, rand.Reader)
	require.NoError(t, err)
	rsaID, err := peer.IDFromPrivateKey(rsaPriv)
	require.NoError(t, err)
	require.Nil(t, ab.PubKey(rsaID))
	require.NoError(t, ab.AddPubKey(rsaID, rsaPriv.GetPublic()))
	require.True(t, rsaPriv.GetPublic().Equals(ab.PubKey(rsaID)))

	ab.RemovePeer(rsaID)
	require.Nil(t, ab.PubKey(rsaID))
}

func TestGCDropsExpired(t *testing.T) {
	clk := mockclock.NewMock()
	ab := newBook(t, newstore.WithClock(clk))
	priv, p := newPeer(t)
	_, err := ab.ConsumePeerRecord(sealRecord(t, priv, p, 1, addrs(t, 2, 5000)), time.Minute)
	require.NoError(t, err)
	require.Len(t, ab.PeersWithAddrs(), 1)
	clk.Add(2 * time.Minute)
	require.Empty(t, ab.Addrs(p))
	require.Nil(t, ab.GetPeerRecord(p))
	ab.GC()
	require.Empty(t, ab.PeersWithAddrs())
	require.Empty(t, ab.Peers())
}

func TestAddrStreamSeesNewAddrs(t *testing.T) {
	ab := newBook(t)
	_, p := newPeer(t)
	as := addrs(t, 3, 6000)
	ab.AddAddrs(p, as[:1], time.Hour)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	ch := ab.AddrStream(ctx, p)
	ab.AddAddrs(p, as[1:], time.Hour)
	var got []ma.Multiaddr
	for len(got) < 3 {
		got = append(got, <-ch)
	}
	pt.AssertAddressesEqual(t, as, got)
}

func TestBadOptions(t *testing.T) {
	_, err := newstore.New(newstore.WithClock(nil))
	require.Error(t, err)
	_, err = newstore.New(newstore.WithMaxSignedRecords(-1))
	require.Error(t, err)
	_, err = newstore.New(newstore.WithGCInterval(0))
	require.Error(t, err)
}

// A newer signed record takes away the addresses its peer no longer
// advertises, unless they are connected: go-libp2p's behaviour since v0.49
// (libp2p/go-libp2p#3487), kept on every supported version. On v0.48,
// whose suite still expects the old merge, this is the test of it (see
// internal/suiteversion).
func TestNewerRecordDropsUnadvertisedAddrs(t *testing.T) {
	ab := newBook(t)
	priv, id := newPeer(t)
	old, kept, connected := addrs(t, 2, 100), addrs(t, 2, 200), addrs(t, 1, 300)
	ok, err := ab.ConsumePeerRecord(sealRecord(t, priv, id, 1, append(append([]ma.Multiaddr{}, old...), kept...)), time.Hour)
	require.NoError(t, err)
	require.True(t, ok)
	ab.AddAddrs(id, connected, peerstore.ConnectedAddrTTL)

	ok, err = ab.ConsumePeerRecord(sealRecord(t, priv, id, 2, kept), time.Hour)
	require.NoError(t, err)
	require.True(t, ok)
	require.ElementsMatch(t, append(append([]ma.Multiaddr{}, kept...), connected...), ab.Addrs(id),
		"the old record's other addresses are gone, the connected one stays")
}
