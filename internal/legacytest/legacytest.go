// Package legacytest fills datastores the way go-libp2p's deprecated
// pstoreds did, with upstream's own pstoreds, for the tests and benchmarks
// of compat/pstoreds, its legacy reader, the data commands and the interop
// module. It lives at the root's internal/, not under compat/internal, so
// that the other modules of this repository may import it. It imports no
// datastore backend: the library does not require any. It is not for
// production use.
package legacytest

import (
	"context"
	"fmt"
	"sync"
	"testing"
	"time"

	mockclock "github.com/benbjohnson/clock"
	ds "github.com/ipfs/go-datastore"
	dssync "github.com/ipfs/go-datastore/sync"
	ic "github.com/libp2p/go-libp2p/core/crypto"
	"github.com/libp2p/go-libp2p/core/peer"
	"github.com/libp2p/go-libp2p/core/protocol"
	"github.com/libp2p/go-libp2p/core/record"
	"github.com/libp2p/go-libp2p/p2p/host/peerstore/pstoreds"
	b32 "github.com/multiformats/go-base32"
	ma "github.com/multiformats/go-multiaddr"
	"github.com/stretchr/testify/require"
	"go.uber.org/goleak"
)

// Backend opens a datastore "in dir": opening the same dir again after a
// Close gives back what was written, as a disk does.
type Backend struct {
	Name string
	Open func(t testing.TB, dir string) ds.Batching
}

// Memory keeps each dir's datastore in memory for the life of the test
// binary. The library's tests use it; the interop module runs the on-disk
// backends (go-ds-leveldb, go-ds-pebble), whose modules the library does not
// require.
var Memory = Backend{Name: "memory", Open: openMemory}

// Backends are the datastores the library's tests fill and reopen.
var Backends = []Backend{Memory}

var memoryDirs sync.Map // dir -> ds.Batching

func openMemory(_ testing.TB, dir string) ds.Batching {
	d, _ := memoryDirs.LoadOrStore(dir, dssync.MutexWrap(ds.NewMapDatastore()))
	return d.(ds.Batching)
}

// Protocols is the set of protocols each filled peer advertises.
var Protocols = []protocol.ID{"/ipfs/id/1.0.0", "/ipfs/kad/1.0.0", "/meshsub/1.1.0", "/ipfs/ping/1.0.0"}

// AgentVersion is what each filled peer's metadata says it runs.
const AgentVersion = "legacy-node/1.0"

// Peer is what Fill stored about one peer.
type Peer struct {
	ID   peer.ID
	Priv ic.PrivKey
	// Live are the addresses still valid when Fill returns (TTL of a day
	// or permanent); Expired were given a TTL that ended an hour ago.
	Live, Expired []ma.Multiaddr
	// RecordAddrs are the addresses of the signed record stored for it.
	RecordAddrs []ma.Multiaddr
	Record      *record.Envelope
}

// Fill stores n peers into d with upstream's pstoreds, each with live and
// expired addresses, a public and a private key, a signed record, protocols
// and an agent version, then closes the pstoreds (not d).
func Fill(t testing.TB, d ds.Batching, n int) []Peer {
	ctx := context.Background()
	opts := pstoreds.DefaultOpts()
	// Written "two hours ago", so that a one-hour TTL has since expired.
	clk := mockclock.NewMock()
	clk.Set(time.Now().Add(-2 * time.Hour))
	opts.Clock = clk
	opts.GCPurgeInterval = 0
	ps, err := pstoreds.NewPeerstore(ctx, d, opts)
	require.NoError(t, err)
	defer func() { require.NoError(t, ps.Close()) }()

	out := make([]Peer, n)
	for i := range out {
		priv, pub, err := ic.GenerateEd25519Key(nil)
		require.NoError(t, err)
		id, err := peer.IDFromPublicKey(pub)
		require.NoError(t, err)
		p := Peer{ID: id, Priv: priv}
		for j := range 3 {
			p.Live = append(p.Live, ma.StringCast(fmt.Sprintf("/ip4/10.%d.%d.%d/tcp/4001", i>>8&255, i&255, j)))
		}
		p.Expired = []ma.Multiaddr{ma.StringCast(fmt.Sprintf("/ip4/192.0.%d.%d/tcp/4001", i>>8&255, i&255))}
		p.RecordAddrs = []ma.Multiaddr{ma.StringCast(fmt.Sprintf("/ip4/172.16.%d.%d/udp/4001/quic-v1", i>>8&255, i&255))}

		require.NoError(t, ps.AddPubKey(id, pub))
		require.NoError(t, ps.AddPrivKey(id, priv))
		ps.AddAddrs(id, p.Live[:2], 26*time.Hour)
		ps.AddAddr(id, p.Live[2], 1<<62) // effectively permanent, not a connected TTL
		ps.AddAddrs(id, p.Expired, time.Hour)

		rec := peer.PeerRecordFromAddrInfo(peer.AddrInfo{ID: id, Addrs: p.RecordAddrs})
		env, err := record.Seal(rec, priv)
		require.NoError(t, err)
		ok, err := ps.ConsumePeerRecord(env, 26*time.Hour)
		require.NoError(t, err)
		require.True(t, ok)
		p.Record = env

		require.NoError(t, ps.SetProtocols(id, Protocols...))
		require.NoError(t, ps.Put(id, "AgentVersion", AgentVersion))
		out[i] = p
	}
	return out
}

// Corrupt writes entries of the legacy layout that do not decode, for the
// existing peer p, and returns how many it wrote.
func Corrupt(t testing.TB, d ds.Datastore, p peer.ID) int {
	ctx := context.Background()
	enc := b32.RawStdEncoding.EncodeToString([]byte(p))
	require.NoError(t, d.Put(ctx, ds.NewKey("/peers/metadata/"+enc+"/protocols"), []byte("not gob")))
	require.NoError(t, d.Put(ctx, ds.NewKey("/peers/metadata/"+enc+"/AgentVersion"), []byte{0xff, 0x00}))

	// A whole peer whose entries are all garbage.
	_, pub, err := ic.GenerateEd25519Key(nil)
	require.NoError(t, err)
	bad, err := peer.IDFromPublicKey(pub)
	require.NoError(t, err)
	benc := b32.RawStdEncoding.EncodeToString([]byte(bad))
	require.NoError(t, d.Put(ctx, ds.NewKey("/peers/addrs/"+benc), []byte{0x0a, 0xff, 0xff}))
	require.NoError(t, d.Put(ctx, ds.NewKey("/peers/keys/"+benc+"/pub"), []byte("not a key")))
	// A key that is not a peer ID at all.
	require.NoError(t, d.Put(ctx, ds.NewKey("/peers/addrs/NOTBASE32!"), []byte{}))
	return 5
}

// LeakOptions are the goleak exceptions for tests using these backends:
// upstream's logging goroutine, and goleveldb's pool drainer, which lingers
// for up to a second after its database is closed.
var LeakOptions = []goleak.Option{
	goleak.IgnoreTopFunction("github.com/libp2p/go-libp2p/gologshim/writer.(*MirrorWriter).logRoutine"),
	goleak.IgnoreTopFunction("go.opencensus.io/stats/view.(*worker).start"),
	goleak.IgnoreTopFunction("github.com/syndtr/goleveldb/leveldb.(*DB).mpoolDrain"),
}
