package pstoreds_test

import (
	"context"
	"fmt"
	"io"
	"runtime"
	"testing"
	"time"

	mockclock "github.com/benbjohnson/clock"
	ds "github.com/ipfs/go-datastore"
	"github.com/ipfs/go-datastore/query"
	dssync "github.com/ipfs/go-datastore/sync"
	ic "github.com/libp2p/go-libp2p/core/crypto"
	"github.com/libp2p/go-libp2p/core/peer"
	pstore "github.com/libp2p/go-libp2p/core/peerstore"
	"github.com/libp2p/go-libp2p/core/record"
	ma "github.com/multiformats/go-multiaddr"
	"github.com/stretchr/testify/require"
	"go.uber.org/goleak"

	"github.com/pstoremigrate/pstoremigrate/compat/pstoreds"
	"github.com/pstoremigrate/pstoremigrate/internal/pstoredstest"
)

// mapStore is upstream ds_test.go's mapDBStore: an in-memory datastore,
// made safe for concurrent use. Upstream's suites run on the separate books
// in TestSuite (internal/pstoredstest), on this and on disk.
func mapStore() ds.Batching { return dssync.MutexWrap(ds.NewMapDatastore()) }

// verifyNoLeaks checks, at the end of a test, that everything the books
// started has stopped.
func verifyNoLeaks(t *testing.T) {
	opt := goleak.IgnoreCurrent()
	t.Cleanup(func() { goleak.VerifyNone(t, opt) })
}

type keyedPeer struct {
	id    peer.ID
	priv  ic.PrivKey
	addrs []ma.Multiaddr
	env   *record.Envelope
}

// newKeyedPeer makes a peer with a real key pair (RSA: a key its ID does
// not inline, so only a stored key brings it back), two addresses and a
// signed record of the second.
func newKeyedPeer(t *testing.T, i int) keyedPeer {
	priv, pub, err := ic.GenerateKeyPair(ic.RSA, 2048)
	require.NoError(t, err)
	id, err := peer.IDFromPublicKey(pub)
	require.NoError(t, err)
	addrs := []ma.Multiaddr{
		ma.StringCast(fmt.Sprintf("/ip4/10.0.0.%d/tcp/4001", i)),
		ma.StringCast(fmt.Sprintf("/ip4/10.0.1.%d/udp/4001/quic-v1", i)),
	}
	env, err := record.Seal(peer.PeerRecordFromAddrInfo(peer.AddrInfo{ID: id, Addrs: addrs[1:]}), priv)
	require.NoError(t, err)
	return keyedPeer{id: id, priv: priv, addrs: addrs, env: env}
}

// fill stores p's addresses, keys (the private one too) and record.
func fill(t *testing.T, ps pstore.Peerstore, p keyedPeer) {
	require.NoError(t, ps.AddPubKey(p.id, p.priv.GetPublic()))
	require.NoError(t, ps.AddPrivKey(p.id, p.priv))
	ps.AddAddr(p.id, p.addrs[0], pstore.PermanentAddrTTL)
	cab, ok := pstore.GetCertifiedAddrBook(ps)
	require.True(t, ok)
	accepted, err := cab.ConsumePeerRecord(p.env, time.Hour)
	require.NoError(t, err)
	require.True(t, accepted)
}

// Books and a Peerstore opened on one datastore are views of one state:
// what one writes, the others see at once, and whichever closes last
// saves it all.
func TestBooksOnOneDatastoreShareOneState(t *testing.T) {
	for _, order := range []string{"KeyBook closed first", "AddrBook closed first"} {
		t.Run(order, func(t *testing.T) {
			verifyNoLeaks(t)
			ctx := context.Background()
			d := mapStore()
			ab, err := pstoreds.NewAddrBook(ctx, d, pstoreds.DefaultOpts())
			require.NoError(t, err)
			kb, err := pstoreds.NewKeyBook(ctx, d, pstoreds.DefaultOpts())
			require.NoError(t, err)
			ps, err := pstoreds.NewPeerstore(ctx, d, pstoreds.DefaultOpts())
			require.NoError(t, err)

			p, q := newKeyedPeer(t, 1), newKeyedPeer(t, 2)
			ab.AddAddr(p.id, p.addrs[0], time.Hour)
			require.NoError(t, kb.AddPubKey(p.id, p.priv.GetPublic()))
			ps.AddAddr(q.id, q.addrs[0], time.Hour)
			require.Equal(t, []ma.Multiaddr{p.addrs[0]}, ps.Addrs(p.id), "the Peerstore sees the AddrBook's address")
			require.True(t, ps.PubKey(p.id).Equals(p.priv.GetPublic()), "the Peerstore sees the KeyBook's key")
			require.Equal(t, []ma.Multiaddr{q.addrs[0]}, ab.Addrs(q.id), "the AddrBook sees the Peerstore's address")

			closers := []io.Closer{kb, ab, ps}
			if order == "AddrBook closed first" {
				closers = []io.Closer{ab, ps, kb}
			}
			for _, c := range closers {
				require.NoError(t, c.Close())
			}

			ps, err = pstoreds.NewPeerstore(ctx, d, pstoreds.DefaultOpts())
			require.NoError(t, err)
			defer ps.Close()
			require.Equal(t, []ma.Multiaddr{p.addrs[0]}, ps.Addrs(p.id))
			require.Equal(t, []ma.Multiaddr{q.addrs[0]}, ps.Addrs(q.id))
			require.True(t, ps.PubKey(p.id).Equals(p.priv.GetPublic()))
		})
	}
}

func TestKeyBookRemovePeerForgetsOnlyKeys(t *testing.T) {
	verifyNoLeaks(t)
	ctx := context.Background()
	ps, err := pstoredstest.Assemble(ctx, mapStore(), pstoreds.DefaultOpts())
	require.NoError(t, err)
	defer ps.Close()
	p := newKeyedPeer(t, 1)
	fill(t, ps, p)
	ps.KeyBook.RemovePeer(p.id)
	require.Nil(t, ps.PubKey(p.id))
	require.Nil(t, ps.PrivKey(p.id))
	require.NotContains(t, ps.PeersWithKeys(), p.id)
	require.ElementsMatch(t, p.addrs, ps.Addrs(p.id), "addresses stay")
	require.NotNil(t, ps.GetPeerRecord(p.id), "the record stays")
}

func TestOpeningWithOtherAddrBookOptionsIsAnError(t *testing.T) {
	verifyNoLeaks(t)
	ctx := context.Background()
	d := mapStore()
	opts := pstoreds.DefaultOpts()
	opts.Clock = mockclock.NewMock()
	ab, err := pstoreds.NewAddrBook(ctx, d, opts)
	require.NoError(t, err)
	defer ab.Close()
	p := peer.ID("peer-options")
	a := ma.StringCast("/ip4/1.2.3.4/tcp/1")
	ab.AddAddr(p, a, time.Hour)

	other := opts
	other.MaxAddrsPerPeer = 3
	_, err = pstoreds.NewAddrBook(ctx, d, other)
	require.ErrorContains(t, err, "MaxAddrsPerPeer")
	_, err = pstoreds.NewPeerstore(ctx, d, pstoreds.DefaultOpts())
	require.ErrorContains(t, err, "Clock")

	// Upstream's key and metadata books ignore their Options: so do ours.
	kb, err := pstoreds.NewKeyBook(ctx, d, pstoreds.Options{})
	require.NoError(t, err)
	require.NoError(t, kb.Close())
	require.Equal(t, []ma.Multiaddr{a}, ab.Addrs(p), "the refused opens changed nothing")
}

// A key book dropped without Close (upstream's has none) still releases the
// datastore's state, saving it: reopening with other options then works
// and finds the key.
func TestUnclosedKeyBookIsReleasedWhenUnreachable(t *testing.T) {
	verifyNoLeaks(t)
	ctx := context.Background()
	d := mapStore()
	p := newKeyedPeer(t, 1)
	func() {
		kb, err := pstoreds.NewKeyBook(ctx, d, pstoreds.DefaultOpts())
		require.NoError(t, err)
		require.NoError(t, kb.AddPubKey(p.id, p.priv.GetPublic()))
	}()

	other := pstoreds.DefaultOpts()
	other.MaxAddrsPerPeer = 3
	var ab *pstoreds.AddrBook
	require.Eventually(t, func() bool {
		runtime.GC()
		var err error
		ab, err = pstoreds.NewAddrBook(ctx, d, other)
		return err == nil
	}, 10*time.Second, 10*time.Millisecond, "the key book's state was never released")
	defer ab.Close()
	kb, err := pstoreds.NewKeyBook(ctx, d, other)
	require.NoError(t, err)
	defer kb.Close()
	require.True(t, kb.PubKey(p.id).Equals(p.priv.GetPublic()), "the released state was saved")
}

// NewKeyBook and NewPeerMetadata take a ds.Datastore, as upstream's do: one
// that cannot batch works too.
func TestKeyBookOnADatastoreThatDoesNotBatch(t *testing.T) {
	verifyNoLeaks(t)
	ctx := context.Background()
	d := plainStore{dssync.MutexWrap(ds.NewMapDatastore())}
	p := newKeyedPeer(t, 1)
	kb, err := pstoreds.NewKeyBook(ctx, d, pstoreds.DefaultOpts())
	require.NoError(t, err)
	md, err := pstoreds.NewPeerMetadata(ctx, d, pstoreds.DefaultOpts())
	require.NoError(t, err)
	require.NoError(t, kb.AddPubKey(p.id, p.priv.GetPublic()))
	require.NoError(t, md.Put(p.id, "AgentVersion", "test/1.0"))
	require.NoError(t, md.Close())
	require.NoError(t, kb.Close())

	kb, err = pstoreds.NewKeyBook(ctx, d, pstoreds.DefaultOpts())
	require.NoError(t, err)
	defer kb.Close()
	require.True(t, kb.PubKey(p.id).Equals(p.priv.GetPublic()))
}

// plainStore hides the Batch method of the datastore it wraps.
type plainStore struct{ d ds.Batching }

func (s plainStore) Get(ctx context.Context, k ds.Key) ([]byte, error) { return s.d.Get(ctx, k) }
func (s plainStore) Has(ctx context.Context, k ds.Key) (bool, error)   { return s.d.Has(ctx, k) }
func (s plainStore) GetSize(ctx context.Context, k ds.Key) (int, error) {
	return s.d.GetSize(ctx, k)
}
func (s plainStore) Query(ctx context.Context, q query.Query) (query.Results, error) {
	return s.d.Query(ctx, q)
}
func (s plainStore) Put(ctx context.Context, k ds.Key, v []byte) error { return s.d.Put(ctx, k, v) }
func (s plainStore) Delete(ctx context.Context, k ds.Key) error        { return s.d.Delete(ctx, k) }
func (s plainStore) Sync(ctx context.Context, k ds.Key) error          { return s.d.Sync(ctx, k) }
func (s plainStore) Close() error                                      { return s.d.Close() }

func TestProtoBookOnOurMetadataStartsWithTheStatesProtocols(t *testing.T) {
	verifyNoLeaks(t)
	ctx := context.Background()
	d := mapStore()
	ps, err := pstoreds.NewPeerstore(ctx, d, pstoreds.DefaultOpts())
	require.NoError(t, err)
	defer ps.Close()
	p := peer.ID("peer-protos")
	require.NoError(t, ps.SetProtocols(p, "/a/1", "/b/1", "/c/1"))

	md, err := pstoreds.NewPeerMetadata(ctx, d, pstoreds.DefaultOpts())
	require.NoError(t, err)
	defer md.Close()
	pb, err := pstoreds.NewProtoBook(md, pstoreds.WithMaxProtocols(2))
	require.NoError(t, err)
	got, err := pb.GetProtocols(p)
	require.NoError(t, err)
	require.Len(t, got, 2, "no more than the book's cap")
	require.ErrorContains(t, pb.AddProtocols(p, "/d/1"), "too many protocols")
}
