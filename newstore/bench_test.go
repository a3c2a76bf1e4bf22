package newstore_test

import (
	"bytes"
	"fmt"
	"runtime"
	"sync"
	"testing"
	"time"

	"github.com/libp2p/go-libp2p/core/crypto"
	"github.com/libp2p/go-libp2p/core/peer"
	"github.com/libp2p/go-libp2p/core/peerstore"
	"github.com/libp2p/go-libp2p/core/record"
	"github.com/libp2p/go-libp2p/p2p/host/peerstore/pstoremem"
	ma "github.com/multiformats/go-multiaddr"

	"github.com/pstoremigrate/pstoremigrate/internal/measure"
	"github.com/pstoremigrate/pstoremigrate/newstore"
)

// The benchmarks run every operation on upstream pstoremem's address book
// and on ours, with the same inputs, in the same run:
//
//	go test -run='^$' -bench=. -benchmem ./newstore/
//
// and compare the sub-benchmarks pairwise (upstream/newstore).

// book is what both address books offer for these benchmarks.
type book interface {
	peerstore.AddrBook
	peerstore.CertifiedAddrBook
	Close() error
}

type keyedBook interface {
	book
	AddPubKey(peer.ID, crypto.PubKey) error
}

// upstreamBook is upstream's address book plus its key book, which is what
// holds the public keys in pstoremem.
type upstreamBook struct {
	book
	keys peerstore.KeyBook
}

func (u upstreamBook) AddPubKey(p peer.ID, k crypto.PubKey) error { return u.keys.AddPubKey(p, k) }

func implementations() []struct {
	name string
	make func(testing.TB) keyedBook
} {
	return []struct {
		name string
		make func(testing.TB) keyedBook
	}{
		{"upstream", func(tb testing.TB) keyedBook {
			return upstreamBook{book: pstoremem.NewAddrBook(), keys: pstoremem.NewKeyBook()}
		}},
		{"newstore", func(tb testing.TB) keyedBook {
			ab, err := newstore.New()
			if err != nil {
				tb.Fatal(err)
			}
			return ab
		}},
	}
}

// fixture is a peer as it arrives from the network: everything in wire
// form, parsed afresh for each store so that neither shares objects.
type fixture struct {
	id     peer.ID
	pub    []byte
	record []byte
	addrs  [][]byte
}

type parsed struct {
	id     peer.ID
	pub    crypto.PubKey
	env    *record.Envelope
	addrs  []ma.Multiaddr
	record *peer.PeerRecord
}

func (f *fixture) parse(tb testing.TB) parsed {
	out := parsed{id: f.id}
	var err error
	if out.pub, err = crypto.UnmarshalPublicKey(f.pub); err != nil {
		tb.Fatal(err)
	}
	if out.env, err = record.UnmarshalEnvelope(f.record); err != nil {
		tb.Fatal(err)
	}
	r, err := out.env.Record()
	if err != nil {
		tb.Fatal(err)
	}
	out.record = r.(*peer.PeerRecord)
	out.addrs = out.record.Addrs
	return out
}

var (
	fixturesMu sync.Mutex
	fixtures   []fixture
)

// makeFixtures returns n peers with 8 addresses, an Ed25519 key and a
// signed peer record each; generated once per process.
func makeFixtures(tb testing.TB, n int) []fixture {
	fixturesMu.Lock()
	defer fixturesMu.Unlock()
	for len(fixtures) < n {
		i := len(fixtures)
		priv, pub, err := crypto.GenerateEd25519Key(nil)
		if err != nil {
			tb.Fatal(err)
		}
		id, _ := peer.IDFromPublicKey(pub)
		as := make([]ma.Multiaddr, 8)
		for j := range as {
			switch j % 4 {
			case 0:
				as[j] = ma.StringCast(fmt.Sprintf("/ip4/10.%d.%d.%d/tcp/%d", i>>16&255, i>>8&255, i&255, 4001+j))
			case 1:
				as[j] = ma.StringCast(fmt.Sprintf("/ip4/10.%d.%d.%d/udp/%d/quic-v1", i>>16&255, i>>8&255, i&255, 4001+j))
			case 2:
				as[j] = ma.StringCast(fmt.Sprintf("/ip6/2001:db8::%x:%x/tcp/%d", i>>16, i&0xffff, 4001+j))
			default:
				as[j] = ma.StringCast(fmt.Sprintf("/ip6/2001:db8::%x:%x/udp/%d/quic-v1", i>>16, i&0xffff, 4001+j))
			}
		}
		env, err := record.Seal(&peer.PeerRecord{PeerID: id, Addrs: as, Seq: 1}, priv)
		if err != nil {
			tb.Fatal(err)
		}
		rawEnv, _ := env.Marshal()
		rawPub, _ := crypto.MarshalPublicKey(pub)
		f := fixture{id: id, pub: rawPub, record: rawEnv}
		for _, a := range as {
			f.addrs = append(f.addrs, a.Bytes())
		}
		fixtures = append(fixtures, f)
	}
	return fixtures[:n]
}

func parseAll(b *testing.B, fs []fixture) []parsed {
	out := make([]parsed, len(fs))
	for i := range fs {
		out[i] = fs[i].parse(b)
	}
	return out
}

const opPeers = 1000

// benchOp runs op on each implementation, cycling through opPeers peers,
// after setup has filled the book.
func benchOp(b *testing.B, setup func(keyedBook, []parsed), op func(*testing.B, keyedBook, *parsed)) {
	for _, impl := range implementations() {
		b.Run(impl.name, func(b *testing.B) {
			ps := parseAll(b, makeFixtures(b, opPeers))
			ab := impl.make(b)
			defer ab.Close()
			if setup != nil {
				setup(ab, ps)
			}
			b.ReportAllocs()
			b.ResetTimer()
			for i := 0; i < b.N; i++ {
				op(b, ab, &ps[i%len(ps)])
			}
		})
	}
}

func addAll(ttl time.Duration) func(keyedBook, []parsed) {
	return func(ab keyedBook, ps []parsed) {
		for i := range ps {
			ab.AddAddrs(ps[i].id, ps[i].addrs, ttl)
		}
	}
}

func BenchmarkAddAddrs(b *testing.B) {
	benchOp(b, nil, func(_ *testing.B, ab keyedBook, p *parsed) { ab.AddAddrs(p.id, p.addrs, time.Hour) })
}

func BenchmarkSetAddrs(b *testing.B) {
	benchOp(b, nil, func(_ *testing.B, ab keyedBook, p *parsed) { ab.SetAddrs(p.id, p.addrs, time.Hour) })
}

func BenchmarkUpdateAddrs(b *testing.B) {
	// Disconnect then reconnect, as the host does.
	benchOp(b, addAll(peerstore.ConnectedAddrTTL), func(_ *testing.B, ab keyedBook, p *parsed) {
		ab.UpdateAddrs(p.id, peerstore.ConnectedAddrTTL, peerstore.RecentlyConnectedAddrTTL)
		ab.UpdateAddrs(p.id, peerstore.RecentlyConnectedAddrTTL, peerstore.ConnectedAddrTTL)
	})
}

func BenchmarkAddrs(b *testing.B) {
	benchOp(b, addAll(time.Hour), func(b *testing.B, ab keyedBook, p *parsed) {
		if len(ab.Addrs(p.id)) != 8 {
			b.Fatal("lost addresses")
		}
	})
}

func BenchmarkConsumePeerRecord(b *testing.B) {
	benchOp(b, nil, func(b *testing.B, ab keyedBook, p *parsed) {
		if _, err := ab.ConsumePeerRecord(p.env, time.Hour); err != nil {
			b.Fatal(err)
		}
	})
}

const memPeers = 100_000

// fill stores every fixture the way a host does: addresses from identify,
// the public key, the signed record. Inputs are parsed per peer and dropped,
// as network input is, so what stays is what the store keeps.
func fill(b *testing.B, ab keyedBook, fs []fixture) {
	for i := range fs {
		p := fs[i].parse(b)
		ab.AddAddrs(p.id, p.addrs, time.Hour)
		if err := ab.AddPubKey(p.id, p.pub); err != nil {
			b.Fatal(err)
		}
		if _, err := ab.ConsumePeerRecord(p.env, time.Hour); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkHeapPerPeer reports the heap a store holds per peer at 100,000
// peers with 8 addresses, a public key and a signed record each.
func BenchmarkHeapPerPeer(b *testing.B) {
	fs := makeFixtures(b, memPeers)
	for _, impl := range implementations() {
		b.Run(impl.name, func(b *testing.B) {
			for i := 0; i < b.N; i++ {
				before := measure.HeapInUse()
				ab := impl.make(b)
				fill(b, ab, fs)
				after := measure.HeapInUse()
				b.ReportMetric(float64(after-before)/memPeers, "heapB/peer")
				runtime.KeepAlive(ab)
				ab.Close()
			}
		})
	}
}

// BenchmarkAddrBookSnapshot measures saving and restoring those 100,000 peers.
func BenchmarkAddrBookSnapshot(b *testing.B) {
	fs := makeFixtures(b, memPeers)
	ab, err := newstore.New()
	if err != nil {
		b.Fatal(err)
	}
	defer ab.Close()
	fill(b, ab, fs)
	var buf bytes.Buffer
	if err := ab.Snapshot(&buf); err != nil {
		b.Fatal(err)
	}
	size := buf.Len()
	b.Run("save", func(b *testing.B) {
		for i := 0; i < b.N; i++ {
			buf.Reset()
			if err := ab.Snapshot(&buf); err != nil {
				b.Fatal(err)
			}
		}
		b.ReportMetric(float64(size)/memPeers, "B/peer")
	})
	b.Run("restore", func(b *testing.B) {
		for i := 0; i < b.N; i++ {
			dst, err := newstore.New()
			if err != nil {
				b.Fatal(err)
			}
			if err := dst.Restore(bytes.NewReader(buf.Bytes())); err != nil {
				b.Fatal(err)
			}
			if n := len(dst.PeersWithAddrs()); n != memPeers {
				b.Fatalf("restored %d peers", n)
			}
			dst.Close()
		}
		b.ReportMetric(float64(size)/memPeers, "B/peer")
	})
}
