package newstore_test

import (
	"bytes"
	"crypto/rand"
	"errors"
	"testing"
	"time"

	mockclock "github.com/benbjohnson/clock"
	"github.com/libp2p/go-libp2p/core/crypto"
	"github.com/libp2p/go-libp2p/core/peer"
	"github.com/libp2p/go-libp2p/core/peerstore"
	pt "github.com/libp2p/go-libp2p/p2p/host/peerstore/test"
	"github.com/stretchr/testify/require"

	"github.com/pstoremigrate/pstoremigrate/newstore"
)

func snapshotBytes(t testing.TB, ab *newstore.AddrBook) []byte {
	t.Helper()
	var buf bytes.Buffer
	require.NoError(t, ab.Snapshot(&buf))
	return buf.Bytes()
}

func TestAddrBookSnapshotRoundTrip(t *testing.T) {
	clk := mockclock.NewMock()
	clk.Set(time.Date(2026, 11, 24, 0, 0, 0, 0, time.UTC))
	src := newBook(t, newstore.WithClock(clk))

	priv, withRecord := newPeer(t)
	_, permanent := newPeer(t)
	_, connected := newPeer(t)
	_, expiring := newPeer(t)
	rsaPriv, _, err := crypto.GenerateRSAKeyPair(2048, rand.Reader)
	require.NoError(t, err)
	rsaID, err := peer.IDFromPrivateKey(rsaPriv)
	require.NoError(t, err)

	recAddrs := addrs(t, 3, 100)
	env := sealRecord(t, priv, withRecord, 7, recAddrs)
	ok, err := src.ConsumePeerRecord(env, time.Hour)
	require.NoError(t, err)
	require.True(t, ok)
	require.NoError(t, src.AddPubKey(withRecord, priv.GetPublic()))
	src.AddAddrs(permanent, addrs(t, 2, 200), peerstore.PermanentAddrTTL)
	src.AddAddrs(connected, addrs(t, 2, 300), peerstore.ConnectedAddrTTL)
	src.AddAddrs(expiring, addrs(t, 1, 400), time.Minute)
	src.AddAddrs(expiring, addrs(t, 1, 401), 2*time.Hour)
	require.NoError(t, src.AddPubKey(rsaID, rsaPriv.GetPublic()))

	snap := snapshotBytes(t, src)

	// Restart 30 minutes later: the one-minute address is gone.
	clk.Add(30 * time.Minute)
	dst := newBook(t, newstore.WithClock(clk))
	require.NoError(t, dst.Restore(bytes.NewReader(snap)))

	pt.AssertAddressesEqual(t, recAddrs, dst.Addrs(withRecord))
	got := dst.GetPeerRecord(withRecord)
	require.NotNil(t, got)
	require.True(t, env.Equal(got))
	require.True(t, priv.GetPublic().Equals(dst.PubKey(withRecord)))
	require.True(t, rsaPriv.GetPublic().Equals(dst.PubKey(rsaID)))
	require.ElementsMatch(t, peer.IDSlice{withRecord, rsaID}, dst.PeersWithKeys())
	pt.AssertAddressesEqual(t, addrs(t, 1, 401), dst.Addrs(expiring))

	// The restored record still orders records: an older one is refused, a
	// newer one takes away the addresses it no longer lists.
	ok, err = dst.ConsumePeerRecord(sealRecord(t, priv, withRecord, 6, recAddrs), time.Hour)
	require.NoError(t, err)
	require.False(t, ok, "a record older than the restored one must be refused")
	ok, err = dst.ConsumePeerRecord(sealRecord(t, priv, withRecord, 8, recAddrs[:1]), time.Hour)
	require.NoError(t, err)
	require.True(t, ok)
	pt.AssertAddressesEqual(t, recAddrs[:1], dst.Addrs(withRecord))

	// Permanent stays permanent; connected gets a finite TTL.
	clk.Add(24 * 365 * time.Hour)
	pt.AssertAddressesEqual(t, addrs(t, 2, 200), dst.Addrs(permanent))
	require.Empty(t, dst.Addrs(connected))
}

func TestRestoredConnectedAddrsExpire(t *testing.T) {
	// The constant mirrors upstream's variable, which cannot be a constant.
	require.Equal(t, peerstore.RecentlyConnectedAddrTTL, newstore.RestoredConnectedAddrTTL)
	clk := mockclock.NewMock()
	src := newBook(t, newstore.WithClock(clk))
	_, p := newPeer(t)
	src.AddAddrs(p, addrs(t, 2, 500), peerstore.ConnectedAddrTTL)
	snap := snapshotBytes(t, src)

	dst := newBook(t, newstore.WithClock(clk))
	require.NoError(t, dst.Restore(bytes.NewReader(snap)))
	// The restored address is unconnected now: UpdateAddrs with the
	// connected TTL must not find it, the recently-connected one must.
	dst.UpdateAddrs(p, peerstore.ConnectedAddrTTL, 0)
	require.Len(t, dst.Addrs(p), 2)
	clk.Add(newstore.RestoredConnectedAddrTTL - time.Second)
	require.Len(t, dst.Addrs(p), 2)
	clk.Add(2 * time.Second)
	require.Empty(t, dst.Addrs(p))
}

func TestRestoreMergesIntoNonEmptyBook(t *testing.T) {
	clk := mockclock.NewMock()
	priv, p := newPeer(t)
	old := sealRecord(t, priv, p, 1, addrs(t, 2, 600))
	newer := sealRecord(t, priv, p, 2, addrs(t, 1, 600))

	src := newBook(t, newstore.WithClock(clk))
	_, err := src.ConsumePeerRecord(old, time.Hour)
	require.NoError(t, err)
	snap := snapshotBytes(t, src)

	dst := newBook(t, newstore.WithClock(clk))
	_, err = dst.ConsumePeerRecord(newer, 2*time.Hour)
	require.NoError(t, err)
	_, other := newPeer(t)
	dst.AddAddrs(other, addrs(t, 1, 700), time.Hour)

	require.NoError(t, dst.Restore(bytes.NewReader(snap)))
	// The newer record wins; the restored address joins with its own TTL.
	require.True(t, newer.Equal(dst.GetPeerRecord(p)))
	pt.AssertAddressesEqual(t, addrs(t, 2, 600), dst.Addrs(p))
	pt.AssertAddressesEqual(t, addrs(t, 1, 700), dst.Addrs(other))
	// The address restored from the older record belongs to no current
	// record, so a third record does not take it away; the one listed by
	// the current record goes as upstream's ConsumePeerRecord drops it.
	third := sealRecord(t, priv, p, 3, addrs(t, 1, 800))
	_, err = dst.ConsumePeerRecord(third, time.Hour)
	require.NoError(t, err)
	pt.AssertAddressesEqual(t, append(addrs(t, 1, 601), addrs(t, 1, 800)...), dst.Addrs(p))
}

func TestBadSnapshotLeavesBookUnchanged(t *testing.T) {
	clk := mockclock.NewMock()
	src := recordBook(t, clk, 20, 3, 1000)
	good := snapshotBytes(t, src)

	dst := newBook(t, newstore.WithClock(clk))
	_, keep := newPeer(t)
	dst.AddAddrs(keep, addrs(t, 2, 9000), time.Hour)
	before := snapshotBytes(t, dst)

	flipped := bytes.Clone(good)
	flipped[len(flipped)/2] ^= 0x40
	future := bytes.Clone(good)
	future[8] = 99 // the version varint follows the 8-byte magic
	cases := map[string]struct {
		in   []byte
		want error
	}{
		"truncated":   {good[:len(good)*2/3], newstore.ErrTruncated},
		"bit flipped": {flipped, newstore.ErrChecksum},
		"wrong magic": {append([]byte("NOTASNAP"), good[8:]...), newstore.ErrBadMagic},
		"future":      {future, newstore.ErrUnsupportedVersion},
		"empty":       {nil, newstore.ErrTruncated},
	}
	for name, c := range cases {
		t.Run(name, func(t *testing.T) {
			err := dst.Restore(bytes.NewReader(c.in))
			require.Error(t, err)
			var se *newstore.SnapshotError
			require.True(t, errors.As(err, &se), "want a *SnapshotError, got %v", err)
			require.ErrorIs(t, err, c.want)
			require.Equal(t, before, snapshotBytes(t, dst), "a failed restore must not change the book")
		})
	}
	require.NoError(t, dst.Restore(bytes.NewReader(good)))
	require.Len(t, dst.PeersWithAddrs(), 21)
}

func TestRestoreRefusesForeignKey(t *testing.T) {
	_, p := newPeer(t)
	other, _ := newPeer(t)
	raw, err := crypto.MarshalPublicKey(other.GetPublic())
	require.NoError(t, err)
	var buf bytes.Buffer
	sw, err := newstore.NewSnapshotWriter(&buf, time.Now())
	require.NoError(t, err)
	require.NoError(t, sw.WritePeer(&newstore.PeerEntry{ID: p, PubKey: raw}))
	require.NoError(t, sw.Close())

	dst := newBook(t)
	err = dst.Restore(&buf)
	require.ErrorIs(t, err, newstore.ErrInvalidEntry)
	require.Empty(t, dst.Peers())
}

func TestRestoreAppliesCaps(t *testing.T) {
	src := newBook(t, newstore.WithMaxAddrsPerPeer(0))
	_, p := newPeer(t)
	src.AddAddrs(p, addrs(t, 100, 20000), time.Hour)
	snap := snapshotBytes(t, src)
	dst := newBook(t, newstore.WithMaxAddrsPerPeer(10))
	require.NoError(t, dst.Restore(bytes.NewReader(snap)))
	require.Len(t, dst.Addrs(p), 10)
}

// A peer the format cannot hold costs only itself its place in the
// snapshot: upstream's test suites, for one, make up IDs like "testpeer".
func TestSnapshotLeavesOutInvalidPeerIDs(t *testing.T) {
	src := newBook(t)
	_, good := newPeer(t)
	src.AddAddrs(good, addrs(t, 1, 60000), time.Hour)
	src.AddAddrs(peer.ID("testpeer"), addrs(t, 1, 60001), time.Hour)
	snap := snapshotBytes(t, src)
	dst := newBook(t)
	require.NoError(t, dst.Restore(bytes.NewReader(snap)))
	require.Equal(t, peer.IDSlice{good}, dst.PeersWithAddrs())
}

// recordBook returns a book holding n peers, each with a certified record of
// perPeer addresses, numbered from base.
func recordBook(t *testing.T, clk *mockclock.Mock, n, perPeer, base int) *newstore.AddrBook {
	t.Helper()
	ab := newBook(t, newstore.WithClock(clk))
	for i := 0; i < n; i++ {
		priv, p := newPeer(t)
		_, err := ab.ConsumePeerRecord(sealRecord(t, priv, p, 1, addrs(t, perPeer, base+10*i)), time.Hour)
		require.NoError(t, err)
	}
	return ab
}

func TestRestoreRefusesAnotherKindOfSnapshot(t *testing.T) {
	_, p := newPeer(t)
	var buf bytes.Buffer
	sw, err := newstore.NewSnapshotWriterOfKind(&buf, newstore.KindRememberedPeers, time.Now())
	require.NoError(t, err)
	require.NoError(t, sw.WritePeer(&newstore.PeerEntry{ID: p, Addrs: []newstore.AddrEntry{
		{Addr: addrs(t, 1, 7)[0], TTL: time.Hour, Expires: time.Now().Add(time.Hour)},
	}}))
	require.NoError(t, sw.Close())

	dst := newBook(t)
	err = dst.Restore(bytes.NewReader(buf.Bytes()))
	require.ErrorIs(t, err, newstore.ErrWrongKind)
	require.ErrorContains(t, err, "remembered peers, not address book")
	require.Empty(t, dst.PeersWithAddrs(), "nothing restored from the wrong kind")
}
