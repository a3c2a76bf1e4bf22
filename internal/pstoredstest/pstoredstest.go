// Package pstoredstest is compat/pstoreds' behaviour on a datastore backend,
// as a suite: the library runs it on an in-memory datastore, the interop
// module on go-ds-leveldb and go-ds-pebble on disk (the library does not
// require those modules). Upstream's own suites are part of it. It is not
// for production use.
package pstoredstest

import (
	"context"
	"fmt"
	"io"
	"testing"
	"time"

	mockclock "github.com/benbjohnson/clock"
	ds "github.com/ipfs/go-datastore"
	"github.com/ipfs/go-datastore/query"
	"github.com/libp2p/go-libp2p"
	ic "github.com/libp2p/go-libp2p/core/crypto"
	"github.com/libp2p/go-libp2p/core/event"
	"github.com/libp2p/go-libp2p/core/host"
	"github.com/libp2p/go-libp2p/core/peer"
	pstore "github.com/libp2p/go-libp2p/core/peerstore"
	"github.com/libp2p/go-libp2p/core/record"
	pt "github.com/libp2p/go-libp2p/p2p/host/peerstore/test"
	ma "github.com/multiformats/go-multiaddr"
	"github.com/stretchr/testify/require"

	"github.com/pstoremigrate/pstoremigrate/compat/pstoreds"
	"github.com/pstoremigrate/pstoremigrate/compat/pstoreds/legacy"
	"github.com/pstoremigrate/pstoremigrate/internal/legacytest"
)

// Run runs every test of the suite on each backend, as subtests named
// after the test and the backend.
func Run(t *testing.T, backends []legacytest.Backend) {
	tests := []struct {
		name string
		run  func(*testing.T, legacytest.Backend)
	}{
		{"UpstreamPeerstoreSuite", upstreamPeerstoreSuite},
		{"UpstreamAddrBookSuite", upstreamAddrBookSuite},
		{"UpstreamKeyBookSuite", upstreamKeyBookSuite},
		{"CloseReopenRestoresAddrsKeysAndRecords", closeReopenRestores},
		{"PrivateKeysAreNeverWritten", privateKeysAreNeverWritten},
		{"OpenMigratesWhatUpstreamPstoredsWrote", openMigratesUpstream},
		{"HostRestartKeepsPeers", hostRestartKeepsPeers},
		{"UpstreamAddrBookSuiteOnSeparateBook", upstreamAddrBookSuiteOnSeparateBook},
		{"UpstreamKeyBookSuiteOnSeparateBook", upstreamKeyBookSuiteOnSeparateBook},
		{"UpstreamPeerstoreSuiteOnAssembledBooks", upstreamPeerstoreSuiteOnAssembledBooks},
		{"UpstreamProtoStoreLimitsOnAssembledBooks", upstreamProtoStoreLimitsOnAssembledBooks},
		{"AssembledBooksKeepAddrsAndKeys", assembledBooksKeepAddrsAndKeys},
		{"SeparateBooksMigrateUpstream", separateBooksMigrateUpstream},
	}
	for _, tc := range tests {
		for _, b := range backends {
			t.Run(tc.name+"/"+b.Name, func(t *testing.T) { tc.run(t, b) })
		}
	}
}

// openFresh opens a store with open on a fresh datastore of backend b; the
// returned func closes both. Upstream's suites use peer IDs such as
// peer.ID("testpeer") that are not multihashes: real peers never have them,
// and the final save leaves them out of the snapshot (with a warning) while
// saving every other peer.
func openFresh[S io.Closer](t testing.TB, b legacytest.Backend, open func(context.Context, ds.Batching) (S, error)) (S, func()) {
	d := b.Open(t, t.TempDir())
	s, err := open(context.Background(), d)
	require.NoError(t, err)
	return s, func() {
		require.NoError(t, s.Close())
		require.NoError(t, d.Close())
	}
}

// suiteOpen opens a Peerstore with opts for upstream's suites.
func suiteOpen(t testing.TB, b legacytest.Backend, opts pstoreds.Options) (*pstoreds.Peerstore, func()) {
	return openFresh(t, b, func(ctx context.Context, d ds.Batching) (*pstoreds.Peerstore, error) {
		return pstoreds.NewPeerstore(ctx, d, opts)
	})
}

// The suites are called as upstream pstoreds' ds_test.go does.

func upstreamPeerstoreSuite(t *testing.T, b legacytest.Backend) {
	pt.TestPeerstore(t, func() (pstore.Peerstore, func()) {
		return suiteOpen(t, b, pstoreds.DefaultOpts())
	})
}

func upstreamAddrBookSuite(t *testing.T, b legacytest.Backend) {
	opts := pstoreds.DefaultOpts()
	opts.MaxAddrsPerPeer = 0
	clk := mockclock.NewMock()
	opts.Clock = clk
	pt.TestAddrBook(t, func() (pstore.AddrBook, func()) {
		return suiteOpen(t, b, opts)
	}, clk)
}

func upstreamKeyBookSuite(t *testing.T, b legacytest.Backend) {
	pt.TestKeyBook(t, func() (pstore.KeyBook, func()) {
		return suiteOpen(t, b, pstoreds.DefaultOpts())
	})
}

type testPeer struct {
	id    peer.ID
	priv  ic.PrivKey
	addrs []ma.Multiaddr
	env   *record.Envelope
}

func newTestPeer(t *testing.T, i int, keyType int) testPeer {
	priv, pub, err := ic.GenerateKeyPair(keyType, 2048)
	require.NoError(t, err)
	id, err := peer.IDFromPublicKey(pub)
	require.NoError(t, err)
	addrs := []ma.Multiaddr{
		ma.StringCast(fmt.Sprintf("/ip4/10.0.0.%d/tcp/4001", i)),
		ma.StringCast(fmt.Sprintf("/ip4/10.0.1.%d/udp/4001/quic-v1", i)),
	}
	env, err := record.Seal(peer.PeerRecordFromAddrInfo(peer.AddrInfo{ID: id, Addrs: addrs[1:]}), priv)
	require.NoError(t, err)
	return testPeer{id: id, priv: priv, addrs: addrs, env: env}
}

// reopen closes ps and its datastore d, as a node does at shutdown, and
// opens the datastore in dir again with a new store, closed at cleanup.
func reopen(t *testing.T, b legacytest.Backend, dir string, ps *pstoreds.Peerstore, d ds.Batching) *pstoreds.Peerstore {
	t.Helper()
	require.NoError(t, ps.Close())
	require.NoError(t, d.Close())
	d = b.Open(t, dir)
	ps, err := pstoreds.NewPeerstore(context.Background(), d, pstoreds.DefaultOpts())
	require.NoError(t, err)
	t.Cleanup(func() {
		require.NoError(t, ps.Close())
		require.NoError(t, d.Close())
	})
	return ps
}

func closeReopenRestores(t *testing.T, b legacytest.Backend) {
	ctx := context.Background()
	dir := t.TempDir()
	d := b.Open(t, dir)
	ps, err := pstoreds.NewPeerstore(ctx, d, pstoreds.DefaultOpts())
	require.NoError(t, err)

	// An RSA peer, whose key must be stored, and an Ed25519 one, whose key
	// the ID inlines.
	peers := []testPeer{newTestPeer(t, 1, ic.RSA), newTestPeer(t, 2, ic.Ed25519)}
	for _, p := range peers {
		require.NoError(t, ps.AddPubKey(p.id, p.priv.GetPublic()))
		require.NoError(t, ps.AddPrivKey(p.id, p.priv))
		ps.AddAddr(p.id, p.addrs[0], time.Hour)
		ps.AddAddr(p.id, p.addrs[0], pstore.PermanentAddrTTL)
		ok, err := ps.ConsumePeerRecord(p.env, time.Hour)
		require.NoError(t, err)
		require.True(t, ok)
	}
	ps = reopen(t, b, dir, ps, d)
	require.False(t, ps.MigrationReport().Imported)
	for _, p := range peers {
		require.ElementsMatch(t, p.addrs, ps.Addrs(p.id))
		require.True(t, ps.PubKey(p.id).Equals(p.priv.GetPublic()))
		require.Contains(t, ps.PeersWithKeys(), p.id)
		require.Nil(t, ps.PrivKey(p.id), "private keys do not survive a restart")
		env := ps.GetPeerRecord(p.id)
		require.NotNil(t, env)
		require.True(t, env.Equal(p.env))
	}
}

func privateKeysAreNeverWritten(t *testing.T, b legacytest.Backend) {
	ctx := context.Background()
	d := b.Open(t, t.TempDir())
	defer func() { require.NoError(t, d.Close()) }()
	ps, err := pstoreds.NewPeerstore(ctx, d, pstoreds.DefaultOpts())
	require.NoError(t, err)
	p := newTestPeer(t, 1, ic.Ed25519)
	require.NoError(t, ps.AddPrivKey(p.id, p.priv))
	require.NoError(t, ps.AddPubKey(p.id, p.priv.GetPublic()))
	ps.AddAddrs(p.id, p.addrs, time.Hour)
	require.NoError(t, ps.Save(ctx))
	require.NoError(t, ps.Close())

	raw, err := p.priv.Raw()
	require.NoError(t, err)
	marshalled, err := ic.MarshalPrivateKey(p.priv)
	require.NoError(t, err)
	entries := AllEntries(t, d)
	require.NotEmpty(t, entries, "the store was persisted")
	for _, e := range entries {
		// An Ed25519 private key's first 32 bytes are its seed.
		require.NotContains(t, string(e.Value), string(raw[:32]), "value of %s", e.Key)
		require.NotContains(t, string(e.Value), string(marshalled), "value of %s", e.Key)
		require.NotContains(t, e.Key, "priv")
	}
}

// AllEntries lists every key and value of d.
func AllEntries(t testing.TB, d ds.Read) []query.Entry {
	t.Helper()
	res, err := d.Query(context.Background(), query.Query{})
	require.NoError(t, err)
	all, err := res.Rest()
	require.NoError(t, err)
	return all
}

func openMigratesUpstream(t *testing.T, b legacytest.Backend) {
	ctx := context.Background()
	dir := t.TempDir()
	d := b.Open(t, dir)
	filled := legacytest.Fill(t, d, 20)
	nbad := legacytest.Corrupt(t, d, filled[0].ID)
	n, err := legacy.CountPrivKeys(ctx, d)
	require.NoError(t, err)
	require.Equal(t, len(filled), n)

	ps, err := pstoreds.NewPeerstore(ctx, d, pstoreds.DefaultOpts())
	require.NoError(t, err)
	r := ps.MigrationReport()
	require.True(t, r.Imported)
	require.Equal(t, len(filled), r.Peers)
	require.Equal(t, len(filled), r.Records)
	require.Equal(t, len(filled)-1, r.Protocols, "the corrupted peer's protocols did not decode")
	require.Equal(t, len(filled)*(len(filled[0].Live)+len(filled[0].RecordAddrs)), r.Addrs)
	require.Equal(t, len(filled), r.PrivKeysDeleted)
	require.Equal(t, nbad, r.Skipped)
	require.Len(t, r.Errors, nbad)

	n, err = legacy.CountPrivKeys(ctx, d)
	require.NoError(t, err)
	require.Zero(t, n, "private keys are deleted")
	for _, f := range filled {
		want := append(append([]ma.Multiaddr{}, f.Live...), f.RecordAddrs...)
		require.ElementsMatch(t, want, ps.Addrs(f.ID), "unexpired addresses only")
		require.True(t, ps.PubKey(f.ID).Equals(f.Priv.GetPublic()))
		require.Contains(t, ps.PeersWithKeys(), f.ID)
		require.Nil(t, ps.PrivKey(f.ID))
		env := ps.GetPeerRecord(f.ID)
		require.NotNil(t, env)
		require.True(t, env.Equal(f.Record))
		if f.ID != filled[0].ID {
			protos, err := ps.GetProtocols(f.ID)
			require.NoError(t, err)
			require.ElementsMatch(t, legacytest.Protocols, protos)
			av, err := ps.Get(f.ID, "AgentVersion")
			require.NoError(t, err)
			require.Equal(t, legacytest.AgentVersion, av)
		}
	}
	// Reopened: the import is not repeated, the snapshot has it all.
	ps = reopen(t, b, dir, ps, d)
	r = ps.MigrationReport()
	require.False(t, r.Imported)
	require.Zero(t, r.PrivKeysDeleted)
	for _, f := range filled {
		want := append(append([]ma.Multiaddr{}, f.Live...), f.RecordAddrs...)
		require.ElementsMatch(t, want, ps.Addrs(f.ID))
		require.NotNil(t, ps.GetPeerRecord(f.ID))
	}
}

// A host restarted on the same datastore finds the peers it knew, and its
// private key was never written.
func hostRestartKeepsPeers(t *testing.T, b legacytest.Backend) {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	dir := t.TempDir()
	d := b.Open(t, dir)
	ps, err := pstoreds.NewPeerstore(ctx, d, pstoreds.DefaultOpts())
	require.NoError(t, err)
	priv, _, err := ic.GenerateEd25519Key(nil)
	require.NoError(t, err)
	h1 := loopbackHost(t, libp2p.Identity(priv), libp2p.Peerstore(ps))
	h2 := loopbackHost(t)
	defer h2.Close()

	sub, err := h1.EventBus().Subscribe(new(event.EvtPeerIdentificationCompleted))
	require.NoError(t, err)
	require.NoError(t, h1.Connect(ctx, peer.AddrInfo{ID: h2.ID(), Addrs: h2.Addrs()}))
	select {
	case <-sub.Out():
	case <-ctx.Done():
		t.Fatal("identify did not complete")
	}
	sub.Close()
	require.NotNil(t, ps.PrivKey(h1.ID()), "the host keeps its key in the peerstore")
	av, err := ps.Get(h2.ID(), "AgentVersion")
	require.NoError(t, err)
	require.NotEmpty(t, av)
	want := h2.Addrs()
	require.NoError(t, h1.Close()) // closes ps: the last save
	require.NoError(t, d.Close())

	d = b.Open(t, dir)
	defer d.Close()
	raw, err := priv.Raw()
	require.NoError(t, err)
	for _, e := range AllEntries(t, d) {
		require.NotContains(t, string(e.Value), string(raw[:32]), "value of %s", e.Key)
	}
	ps, err = pstoreds.NewPeerstore(ctx, d, pstoreds.DefaultOpts())
	require.NoError(t, err)
	defer ps.Close()
	require.Subset(t, ps.Addrs(h2.ID()), want)
	require.NotNil(t, ps.PubKey(h2.ID()))
}

func loopbackHost(t *testing.T, opts ...libp2p.Option) host.Host {
	h, err := libp2p.New(append([]libp2p.Option{
		libp2p.ListenAddrStrings("/ip4/127.0.0.1/tcp/0"),
		libp2p.DisableRelay(),
	}, opts...)...)
	require.NoError(t, err)
	return h
}
