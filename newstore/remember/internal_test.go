package remember

import (
	"bytes"
	"context"
	"crypto/rand"
	"path/filepath"
	"testing"
	"time"

	"github.com/libp2p/go-libp2p"
	"github.com/libp2p/go-libp2p/core/crypto"
	"github.com/libp2p/go-libp2p/core/host"
	"github.com/libp2p/go-libp2p/core/peer"
	"github.com/libp2p/go-libp2p/core/record"
	"github.com/libp2p/go-libp2p/p2p/transport/tcp"
	ma "github.com/multiformats/go-multiaddr"
	"github.com/stretchr/testify/require"
	"go.uber.org/goleak"

	"github.com/pstoremigrate/pstoremigrate/newstore"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

type identity struct {
	id  peer.ID
	key crypto.PrivKey
}

func newIdentity(t testing.TB) identity {
	t.Helper()
	k, _, err := crypto.GenerateEd25519Key(rand.Reader)
	require.NoError(t, err)
	id, err := peer.IDFromPrivateKey(k)
	require.NoError(t, err)
	return identity{id, k}
}

// signedRecord is what identify would hand over for id at addrs, signed
// with signer's key.
func signedRecord(t testing.TB, id peer.ID, signer crypto.PrivKey, addrs ...ma.Multiaddr) []byte {
	t.Helper()
	env, err := record.Seal(peer.PeerRecordFromAddrInfo(peer.AddrInfo{ID: id, Addrs: addrs}), signer)
	require.NoError(t, err)
	raw, err := env.Marshal()
	require.NoError(t, err)
	return raw
}

// attached starts a rememberer on a loopback host that listens nowhere
// else and dials nobody (nothing is saved yet).
func attached(t testing.TB, opts ...Option) (host.Host, *Rememberer) {
	t.Helper()
	h, err := libp2p.New(
		libp2p.ListenAddrStrings("/ip4/127.0.0.1/tcp/0"),
		libp2p.Transport(tcp.NewTCPTransport),
		libp2p.DisableRelay(),
		libp2p.DisableMetrics(),
	)
	require.NoError(t, err)
	t.Cleanup(func() { _ = h.Close() })
	opts = append([]Option{WithFile(filepath.Join(t.TempDir(), "peers"))}, opts...)
	r, err := Attach(h, opts...)
	require.NoError(t, err)
	t.Cleanup(func() { _ = r.Close() })
	_, err = r.Rejoined(context.Background())
	require.NoError(t, err)
	return h, r
}

func TestChooseSkipsSelfAndRelayOnlyPeers(t *testing.T) {
	h, r := attached(t)
	relay := newIdentity(t)
	circuit := ma.StringCast("/ip4/10.0.0.1/tcp/4001/p2p/" + relay.id.String() + "/p2p-circuit")
	direct := ma.StringCast("/ip4/10.0.0.2/tcp/4001")

	relayOnly, mixed := newIdentity(t), newIdentity(t)
	h.Peerstore().AddAddr(relayOnly.id, circuit, time.Hour)
	h.Peerstore().AddAddrs(mixed.id, []ma.Multiaddr{circuit, direct}, time.Hour)
	h.Peerstore().AddAddr(h.ID(), direct, time.Hour)
	now := time.Now()
	for _, p := range []peer.ID{relayOnly.id, mixed.id, h.ID()} {
		r.observe(p, true, now)
	}

	got := r.Remembered()
	require.Equal(t, []peer.AddrInfo{{ID: mixed.id, Addrs: []ma.Multiaddr{direct}}}, got,
		"a relay-only peer and our own ID are not remembered; relay addresses are dropped")
}

func TestHistoryFollowsConnections(t *testing.T) {
	_, r := attached(t)
	p := newIdentity(t).id
	t0 := time.Date(2026, 1, 2, 12, 0, 0, 0, time.UTC)
	r.observe(p, true, t0)
	r.observe(p, true, t0.Add(time.Minute)) // still the same connection
	r.observe(p, false, t0.Add(10*time.Minute))
	r.observe(p, true, t0.Add(20*time.Minute))
	r.observe(p, false, t0.Add(25*time.Minute))

	r.mu.Lock()
	defer r.mu.Unlock()
	h := r.peers[p]
	require.NotNil(t, h)
	require.Equal(t, 15*time.Minute, h.connectedFor)
	require.True(t, h.connectedSince.IsZero())
	require.Equal(t, t0.Add(25*time.Minute), h.lastSeen)
	require.NotContains(t, r.peers, newIdentity(t).id, "a disconnection of an unknown peer adds nothing")
}

func TestHistoriesAreBounded(t *testing.T) {
	_, r := attached(t, WithMaxPeers(1))
	limit := r.trackLimit()
	t0 := time.Date(2026, 1, 2, 12, 0, 0, 0, time.UTC)
	for i := range 3 * limit {
		p := newIdentity(t).id
		r.observe(p, true, t0)
		r.observe(p, false, t0.Add(time.Duration(i+1)*time.Second))
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	require.LessOrEqual(t, len(r.peers), 2*limit)
}

func TestRestoreVerifiesRecordsAndKeepsOrder(t *testing.T) {
	h, r := attached(t)
	taken := time.Now().Add(-time.Hour).Truncate(time.Second)
	seen := taken.Add(-10 * time.Minute)
	addr := func(s string) []newstore.AddrEntry {
		return []newstore.AddrEntry{{Addr: ma.StringCast(s), TTL: savedAddrTTL, Expires: seen.Add(savedAddrTTL)}}
	}
	honest, forger, victim, relayed := newIdentity(t), newIdentity(t), newIdentity(t), newIdentity(t)
	honestAddr := ma.StringCast("/ip4/10.0.0.3/tcp/4001")
	entries := []*newstore.PeerEntry{
		// The victim's entry carries a record the forger signed about
		// the victim: it must not count as certified.
		{ID: victim.id, Addrs: addr("/ip4/10.0.0.1/tcp/4001"), Record: signedRecord(t, victim.id, forger.key)},
		{ID: honest.id, Addrs: addr("/ip4/10.0.0.2/tcp/4001"), Record: signedRecord(t, honest.id, honest.key, honestAddr)},
		{ID: relayed.id, Addrs: addr("/ip4/10.0.0.9/tcp/4001/p2p/" + forger.id.String() + "/p2p-circuit")},
		{ID: h.ID(), Addrs: addr("/ip4/10.0.0.4/tcp/4001")},
	}
	var buf bytes.Buffer
	sw, err := newstore.NewSnapshotWriterOfKind(&buf, newstore.KindRememberedPeers, taken)
	require.NoError(t, err)
	for _, e := range entries {
		require.NoError(t, sw.WritePeer(e))
	}
	require.NoError(t, sw.Close())

	require.NoError(t, savedSet{r}.Restore(&buf))
	r.mu.Lock()
	defer r.mu.Unlock()
	require.Equal(t, []peer.ID{victim.id, honest.id}, []peer.ID{r.loaded[0].ID, r.loaded[1].ID},
		"saved order kept; relay-only and own entries dropped")
	require.Len(t, r.loaded, 2)
	require.Nil(t, r.peers[victim.id].record, "a record signed by another key is dropped")
	require.NotNil(t, r.peers[honest.id].record)
	require.Contains(t, addrStrings(r.loaded[1].Addrs), honestAddr.String(), "the signed addresses are dialed too")
	require.True(t, r.peers[honest.id].lastSeen.Equal(seen), "last seen survives the restart")
	require.Equal(t, r.cfg.halfLife, r.peers[honest.id].connectedFor, "a loaded peer carries one half-life of credit")
}

func TestRestoreRefusesAnAddressBookSnapshot(t *testing.T) {
	_, r := attached(t)
	p := newIdentity(t)
	var buf bytes.Buffer
	sw, err := newstore.NewSnapshotWriter(&buf, time.Now()) // an address book's
	require.NoError(t, err)
	require.NoError(t, sw.WritePeer(&newstore.PeerEntry{ID: p.id, Addrs: []newstore.AddrEntry{{Addr: ma.StringCast("/ip4/10.0.0.1/tcp/1"), TTL: time.Hour, Expires: time.Now()}}}))
	require.NoError(t, sw.Close())

	err = savedSet{r}.Restore(bytes.NewReader(buf.Bytes()))
	require.ErrorIs(t, err, newstore.ErrWrongKind)
	require.ErrorContains(t, err, "address book, not remembered peers")
	r.mu.Lock()
	defer r.mu.Unlock()
	require.Empty(t, r.loaded, "nothing loaded from the wrong kind")
}

func TestRestoreLeavesStateUnchangedOnCorruption(t *testing.T) {
	_, r := attached(t)
	p := newIdentity(t)
	var buf bytes.Buffer
	sw, err := newstore.NewSnapshotWriterOfKind(&buf, newstore.KindRememberedPeers, time.Now())
	require.NoError(t, err)
	require.NoError(t, sw.WritePeer(&newstore.PeerEntry{ID: p.id, Addrs: []newstore.AddrEntry{{Addr: ma.StringCast("/ip4/10.0.0.1/tcp/1"), TTL: time.Hour, Expires: time.Now()}}}))
	require.NoError(t, sw.Close())
	cut := buf.Bytes()[:buf.Len()-2]

	err = savedSet{r}.Restore(bytes.NewReader(cut))
	require.ErrorIs(t, err, newstore.ErrTruncated)
	r.mu.Lock()
	defer r.mu.Unlock()
	require.Empty(t, r.loaded)
	require.NotContains(t, r.peers, p.id, "an entry read before the damage is not used")
}

// A snapshot written with records (whose addresses are not repeated) reads
// back to the same peers, addresses and last-seen times.
func TestSnapshotRoundTrip(t *testing.T) {
	h, r := attached(t)
	ident := newIdentity(t)
	signed := []ma.Multiaddr{ma.StringCast("/ip4/203.0.113.1/tcp/4001"), ma.StringCast("/ip4/203.0.113.1/udp/4001/quic-v1")}
	unsigned := ma.StringCast("/ip4/198.51.100.1/tcp/4001")
	env, err := record.Seal(peer.PeerRecordFromAddrInfo(peer.AddrInfo{ID: ident.id, Addrs: signed}), ident.key)
	require.NoError(t, err)
	plain := newIdentity(t)

	seen := time.Now().Add(-time.Hour).Truncate(time.Millisecond)
	h.Peerstore().AddAddrs(ident.id, append([]ma.Multiaddr{unsigned}, signed...), time.Hour)
	h.Peerstore().AddAddr(plain.id, unsigned, time.Hour)
	r.observe(ident.id, true, seen.Add(-time.Hour))
	r.observeRecord(ident.id, env)
	r.observe(ident.id, false, seen)
	r.observe(plain.id, true, seen.Add(-time.Minute))
	r.observe(plain.id, false, seen)

	var buf bytes.Buffer
	require.NoError(t, savedSet{r}.Snapshot(&buf))

	_, r2 := attached(t)
	require.NoError(t, savedSet{r2}.Restore(&buf))
	r2.mu.Lock()
	defer r2.mu.Unlock()
	require.Equal(t, []peer.ID{ident.id, plain.id}, []peer.ID{r2.loaded[0].ID, r2.loaded[1].ID}, "best first")
	require.ElementsMatch(t, []string{unsigned.String(), signed[0].String(), signed[1].String()}, addrStrings(r2.loaded[0].Addrs))
	require.Equal(t, []string{unsigned.String()}, addrStrings(r2.loaded[1].Addrs))
	require.NotNil(t, r2.peers[ident.id].record)
	require.Nil(t, r2.peers[plain.id].record)
	for _, p := range []peer.ID{ident.id, plain.id} {
		require.True(t, r2.peers[p].lastSeen.Equal(seen), "last seen of %s survives", p)
	}
}

// A state saved with a larger limit (or a hostile one) is read to the end
// for its checksums but only its best maxPeers entries are used.
func TestRestoreKeepsAtMostMaxPeers(t *testing.T) {
	_, r := attached(t, WithMaxPeers(2))
	var buf bytes.Buffer
	sw, err := newstore.NewSnapshotWriterOfKind(&buf, newstore.KindRememberedPeers, time.Now())
	require.NoError(t, err)
	var want []peer.ID
	for i := range 5 {
		p := newIdentity(t)
		if i < 2 {
			want = append(want, p.id)
		}
		require.NoError(t, sw.WritePeer(&newstore.PeerEntry{ID: p.id, Addrs: []newstore.AddrEntry{
			{Addr: ma.StringCast("/ip4/10.0.0.1/tcp/4001"), TTL: savedAddrTTL, Expires: time.Now()},
		}}))
	}
	require.NoError(t, sw.Close())
	require.NoError(t, savedSet{r}.Restore(&buf))
	r.mu.Lock()
	defer r.mu.Unlock()
	require.Equal(t, want, []peer.ID{r.loaded[0].ID, r.loaded[1].ID})
	require.Len(t, r.loaded, 2)
	require.Len(t, r.peers, 2)
}

// FuzzRestore feeds Restore arbitrary bytes: it never panics, and whatever
// it loads is a valid, dialable, bounded set.
func FuzzRestore(f *testing.F) {
	var good bytes.Buffer
	sw, err := newstore.NewSnapshotWriterOfKind(&good, newstore.KindRememberedPeers, time.Now())
	require.NoError(f, err)
	ident := newIdentity(f)
	addr := ma.StringCast("/ip4/10.0.0.1/tcp/4001")
	require.NoError(f, sw.WritePeer(&newstore.PeerEntry{
		ID:     ident.id,
		Addrs:  []newstore.AddrEntry{{Addr: addr, TTL: savedAddrTTL, Expires: time.Now()}},
		Record: signedRecord(f, ident.id, ident.key, addr),
	}))
	require.NoError(f, sw.Close())
	f.Add(good.Bytes())
	f.Add([]byte{})
	f.Add([]byte("\x89PSNAP\r\n"))

	_, r := attached(f, WithMaxPeers(4))
	f.Fuzz(func(t *testing.T, data []byte) {
		r.mu.Lock()
		r.loaded = nil
		r.mu.Unlock()
		if err := (savedSet{r}).Restore(bytes.NewReader(data)); err != nil {
			r.mu.Lock()
			defer r.mu.Unlock()
			require.Empty(t, r.loaded, "a failed restore loads nothing")
			return
		}
		r.mu.Lock()
		defer r.mu.Unlock()
		require.LessOrEqual(t, len(r.loaded), 4)
		for _, ai := range r.loaded {
			require.NoError(t, ai.ID.Validate())
			require.NotEmpty(t, ai.Addrs)
			require.LessOrEqual(t, len(ai.Addrs), maxAddrsPerPeer)
			for _, a := range ai.Addrs {
				require.False(t, isRelayed(a))
			}
		}
	})
}
