package pstoredstest

import (
	"context"
	"fmt"
	"io"
	"testing"
	"time"

	mockclock "github.com/benbjohnson/clock"
	ds "github.com/ipfs/go-datastore"
	ic "github.com/libp2p/go-libp2p/core/crypto"
	"github.com/libp2p/go-libp2p/core/peer"
	pstore "github.com/libp2p/go-libp2p/core/peerstore"
	upstream "github.com/libp2p/go-libp2p/p2p/host/peerstore"
	pt "github.com/libp2p/go-libp2p/p2p/host/peerstore/test"
	ma "github.com/multiformats/go-multiaddr"
	"github.com/stretchr/testify/require"

	"github.com/pstoremigrate/pstoremigrate/compat/pstoreds"
	"github.com/pstoremigrate/pstoremigrate/compat/pstoreds/legacy"
	"github.com/pstoremigrate/pstoremigrate/internal/legacytest"
)

// Assembled is a peerstore put together from pstoreds' separate books as
// upstream's pstoreds.NewPeerstore does (and as go-libp2p-peerstore's
// NewPeerstore(kb, ab, pb, md) did, which go-libp2p no longer has): the
// books embedded beside upstream's latency metrics
// (p2p/host/peerstore.NewMetrics), with Peers, PeerInfo, RemovePeer and
// Close of its own.
type Assembled struct {
	pstore.Metrics
	*pstoreds.KeyBook
	*pstoreds.AddrBook
	*pstoreds.ProtoBook
	*pstoreds.PeerMetadata
}

var (
	_ pstore.Peerstore         = (*Assembled)(nil)
	_ pstore.CertifiedAddrBook = (*Assembled)(nil)
)

// Assemble opens the four books on d in the order upstream's
// pstoreds.NewPeerstore does.
func Assemble(ctx context.Context, d ds.Batching, opts pstoreds.Options) (*Assembled, error) {
	ab, err := pstoreds.NewAddrBook(ctx, d, opts)
	if err != nil {
		return nil, err
	}
	kb, err := pstoreds.NewKeyBook(ctx, d, opts)
	if err != nil {
		ab.Close()
		return nil, err
	}
	md, err := pstoreds.NewPeerMetadata(ctx, d, opts)
	if err != nil {
		kb.Close()
		ab.Close()
		return nil, err
	}
	pb, err := pstoreds.NewProtoBook(md, pstoreds.WithMaxProtocols(opts.MaxProtocols))
	if err != nil {
		md.Close()
		kb.Close()
		ab.Close()
		return nil, err
	}
	return &Assembled{Metrics: upstream.NewMetrics(), KeyBook: kb, AddrBook: ab, ProtoBook: pb, PeerMetadata: md}, nil
}

// Peers returns the peers with keys or addresses.
func (ps *Assembled) Peers() peer.IDSlice {
	set := map[peer.ID]struct{}{}
	for _, p := range ps.PeersWithKeys() {
		set[p] = struct{}{}
	}
	for _, p := range ps.PeersWithAddrs() {
		set[p] = struct{}{}
	}
	out := make(peer.IDSlice, 0, len(set))
	for p := range set {
		out = append(out, p)
	}
	return out
}

// PeerInfo returns p's ID and addresses.
func (ps *Assembled) PeerInfo(p peer.ID) peer.AddrInfo {
	return peer.AddrInfo{ID: p, Addrs: ps.AddrBook.Addrs(p)}
}

// RemovePeer forgets all of p but its addresses, as upstream's.
func (ps *Assembled) RemovePeer(p peer.ID) {
	ps.KeyBook.RemovePeer(p)
	ps.ProtoBook.RemovePeer(p)
	ps.PeerMetadata.RemovePeer(p)
	ps.Metrics.RemovePeer(p)
}

// Close closes every book that is an io.Closer, as upstream's does.
func (ps *Assembled) Close() error {
	var errs []error
	for _, b := range []any{ps.KeyBook, ps.AddrBook, ps.ProtoBook, ps.PeerMetadata} {
		if c, ok := b.(io.Closer); ok {
			if err := c.Close(); err != nil {
				errs = append(errs, err)
			}
		}
	}
	if len(errs) > 0 {
		return fmt.Errorf("failed while closing peerstore; err(s): %q", errs)
	}
	return nil
}

// As upstream ds_test.go's TestDsAddrBook: a mock clock and the per-peer cap
// off (the suite adds more addresses than it). Upstream runs it with and
// without a cache; CacheSize means nothing here, so once.
func upstreamAddrBookSuiteOnSeparateBook(t *testing.T, b legacytest.Backend) {
	opts := pstoreds.DefaultOpts()
	opts.GCPurgeInterval = time.Second
	opts.MaxAddrsPerPeer = 0
	clk := mockclock.NewMock()
	opts.Clock = clk
	pt.TestAddrBook(t, func() (pstore.AddrBook, func()) {
		return openFresh(t, b, func(ctx context.Context, d ds.Batching) (*pstoreds.AddrBook, error) {
			return pstoreds.NewAddrBook(ctx, d, opts)
		})
	}, clk)
}

func upstreamKeyBookSuiteOnSeparateBook(t *testing.T, b legacytest.Backend) {
	pt.TestKeyBook(t, func() (pstore.KeyBook, func()) {
		return openFresh(t, b, func(ctx context.Context, d ds.Batching) (*pstoreds.KeyBook, error) {
			return pstoreds.NewKeyBook(ctx, d, pstoreds.DefaultOpts())
		})
	})
}

func upstreamPeerstoreSuiteOnAssembledBooks(t *testing.T, b legacytest.Backend) {
	pt.TestPeerstore(t, func() (pstore.Peerstore, func()) {
		return openFresh(t, b, func(ctx context.Context, d ds.Batching) (pstore.Peerstore, error) {
			return Assemble(ctx, d, pstoreds.DefaultOpts())
		})
	})
}

func upstreamProtoStoreLimitsOnAssembledBooks(t *testing.T, b legacytest.Backend) {
	const limit = 10
	opts := pstoreds.DefaultOpts()
	opts.MaxProtocols = limit
	d := b.Open(t, t.TempDir())
	defer func() { require.NoError(t, d.Close()) }()
	ps, err := Assemble(context.Background(), d, opts)
	require.NoError(t, err)
	defer func() { require.NoError(t, ps.Close()) }()
	pt.TestPeerstoreProtoStoreLimits(t, ps, limit)
}

// fillKeyed stores, for each of n peers with a real key pair (RSA: a key
// its ID does not inline, so only a stored key brings it back), two
// addresses, both keys and a signed record, and returns the peers.
func fillKeyed(t *testing.T, ps pstore.Peerstore, n int) []testPeer {
	t.Helper()
	peers := make([]testPeer, n)
	for i := range peers {
		p := newTestPeer(t, i+1, ic.RSA)
		require.NoError(t, ps.AddPubKey(p.id, p.priv.GetPublic()))
		require.NoError(t, ps.AddPrivKey(p.id, p.priv))
		ps.AddAddr(p.id, p.addrs[0], pstore.PermanentAddrTTL)
		cab, ok := pstore.GetCertifiedAddrBook(ps)
		require.True(t, ok)
		accepted, err := cab.ConsumePeerRecord(p.env, time.Hour)
		require.NoError(t, err)
		require.True(t, accepted)
		peers[i] = p
	}
	return peers
}

// privKeyBytes returns the byte strings of p's private key that must never
// reach a datastore: its raw form (for RSA the PKCS#1 DER) and its
// marshalled form.
func privKeyBytes(t testing.TB, p testPeer) [][]byte {
	raw, err := p.priv.Raw()
	require.NoError(t, err)
	marshalled, err := ic.MarshalPrivateKey(p.priv)
	require.NoError(t, err)
	return [][]byte{raw, marshalled}
}

// requireRestored checks what must survive a close and reopen (addresses,
// the public key, the record) and what must not (the private key).
func requireRestored(t *testing.T, ps pstore.Peerstore, peers []testPeer) {
	t.Helper()
	for _, p := range peers {
		require.ElementsMatch(t, p.addrs, ps.Addrs(p.id))
		pk := ps.PubKey(p.id)
		require.NotNil(t, pk)
		require.True(t, pk.Equals(p.priv.GetPublic()))
		require.Contains(t, ps.PeersWithKeys(), p.id)
		require.Nil(t, ps.PrivKey(p.id), "a private key does not survive a restart")
		cab, ok := pstore.GetCertifiedAddrBook(ps)
		require.True(t, ok)
		env := cab.GetPeerRecord(p.id)
		require.NotNil(t, env)
		require.True(t, env.Equal(p.env))
	}
}

// WriteAssembled opens assembled books on a datastore of b in dir, stores
// peers with both keys in them, and closes books and datastore. It returns
// the byte strings of the private keys, which must be in no entry and no
// file of dir; those of the public keys, which the books save (so a scan
// that finds them can find key material); and a check that reopens dir and
// requires everything but the private keys back.
func WriteAssembled(t *testing.T, b legacytest.Backend, dir string) (secrets, publics [][]byte, requireRestoredAfterReopen func()) {
	t.Helper()
	ctx := context.Background()
	d := b.Open(t, dir)
	ps, err := Assemble(ctx, d, pstoreds.DefaultOpts())
	require.NoError(t, err)
	peers := fillKeyed(t, ps, 2)
	require.NoError(t, ps.Close())
	require.NoError(t, d.Close())
	for _, p := range peers {
		secrets = append(secrets, privKeyBytes(t, p)...)
		pub, err := p.priv.GetPublic().Raw()
		require.NoError(t, err)
		publics = append(publics, pub)
	}
	return secrets, publics, func() {
		t.Helper()
		d := b.Open(t, dir)
		defer func() { require.NoError(t, d.Close()) }()
		ps, err := Assemble(ctx, d, pstoreds.DefaultOpts())
		require.NoError(t, err)
		defer func() { require.NoError(t, ps.Close()) }()
		requireRestored(t, ps, peers)
	}
}

// An assembled store keeps addresses, public keys and records across a
// close and a reopen of the datastore, and no entry of the datastore holds
// a private key.
func assembledBooksKeepAddrsAndKeys(t *testing.T, b legacytest.Backend) {
	dir := t.TempDir()
	secrets, _, requireRestoredAfterReopen := WriteAssembled(t, b, dir)
	d := b.Open(t, dir)
	entries := AllEntries(t, d)
	require.NoError(t, d.Close())
	require.NotEmpty(t, entries, "the books were saved")
	for _, e := range entries {
		require.NotContains(t, e.Key, "priv")
		for _, secret := range secrets {
			require.NotContains(t, string(e.Value), string(secret), "value of %s", e.Key)
		}
	}
	requireRestoredAfterReopen()
}

// Separate books opened on what upstream pstoreds wrote import it, and
// delete the private keys it wrote, as NewPeerstore does.
func separateBooksMigrateUpstream(t *testing.T, b legacytest.Backend) {
	ctx := context.Background()
	d := b.Open(t, t.TempDir())
	defer func() { require.NoError(t, d.Close()) }()
	filled := legacytest.Fill(t, d, 5)

	ps, err := Assemble(ctx, d, pstoreds.DefaultOpts())
	require.NoError(t, err)
	defer func() { require.NoError(t, ps.Close()) }()
	n, err := legacy.CountPrivKeys(ctx, d)
	require.NoError(t, err)
	require.Zero(t, n, "private keys are deleted")
	for _, f := range filled {
		want := append(append([]ma.Multiaddr{}, f.Live...), f.RecordAddrs...)
		require.ElementsMatch(t, want, ps.Addrs(f.ID), "unexpired addresses only")
		require.True(t, ps.PubKey(f.ID).Equals(f.Priv.GetPublic()))
		require.Nil(t, ps.PrivKey(f.ID))
		require.True(t, ps.GetPeerRecord(f.ID).Equal(f.Record))
		protos, err := ps.GetProtocols(f.ID)
		require.NoError(t, err)
		require.ElementsMatch(t, legacytest.Protocols, protos)
		av, err := ps.Get(f.ID, "AgentVersion")
		require.NoError(t, err)
		require.Equal(t, legacytest.AgentVersion, av)
	}
}
