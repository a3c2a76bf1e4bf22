package newstore_test

import (
	"bytes"
	"fmt"
	"math/rand/v2"
	"testing"
	"time"

	mockclock "github.com/benbjohnson/clock"
	"github.com/libp2p/go-libp2p/core/crypto"
	"github.com/libp2p/go-libp2p/core/peer"
	"github.com/libp2p/go-libp2p/core/peerstore"
	pt "github.com/libp2p/go-libp2p/p2p/host/peerstore/test"
	ma "github.com/multiformats/go-multiaddr"
	"github.com/stretchr/testify/require"

	"github.com/pstoremigrate/pstoremigrate/newstore"
)

// A restored book parses its addresses lazily; whatever it is asked, it must
// answer as the book it was restored from. Both get the same random
// operations and are compared after each one.
func TestRestoredBookBehavesLikeOriginal(t *testing.T) {
	for seed := uint64(1); seed <= 5; seed++ {
		t.Run(fmt.Sprint("seed", seed), func(t *testing.T) { differential(t, seed) })
	}
}

func differential(t *testing.T, seed uint64) {
	rng := rand.New(rand.NewPCG(seed, seed))
	clk := mockclock.NewMock()
	clk.Set(time.Date(2026, 11, 24, 0, 0, 0, 0, time.UTC))
	opts := []newstore.Option{newstore.WithClock(clk), newstore.WithMaxAddrsPerPeer(6)}
	orig := newBook(t, opts...)

	const nPeers = 8
	privs := make([]crypto.PrivKey, nPeers)
	ids := make([]peer.ID, nPeers)
	for i := range ids {
		privs[i], ids[i] = newPeer(t)
	}
	pool := addrs(t, 24, 40000)
	pick := func() []ma.Multiaddr {
		out := make([]ma.Multiaddr, 1+rng.IntN(4))
		for i := range out {
			out[i] = pool[rng.IntN(len(pool))]
		}
		return out
	}
	ttls := []time.Duration{10 * time.Minute, time.Hour, 2 * time.Hour, peerstore.PermanentAddrTTL}
	seqs := make([]uint64, nPeers)

	type op func(b *newstore.AddrBook) error
	randomOp := func(restoredSide bool) (string, op) {
		i := rng.IntN(nPeers)
		p := ids[i]
		ttl := ttls[rng.IntN(len(ttls))]
		if restoredSide && rng.IntN(5) == 0 {
			ttl = peerstore.ConnectedAddrTTL
		}
		switch rng.IntN(9) {
		case 7:
			k := privs[i].GetPublic()
			return "AddPubKey", func(b *newstore.AddrBook) error { return b.AddPubKey(p, k) }
		case 8:
			return "RemovePeer", func(b *newstore.AddrBook) error { b.RemovePeer(p); return nil }
		case 0, 1:
			as := pick()
			return "AddAddrs", func(b *newstore.AddrBook) error { b.AddAddrs(p, as, ttl); return nil }
		case 2:
			as := pick()
			if rng.IntN(3) == 0 {
				ttl = -1
			}
			return "SetAddrs", func(b *newstore.AddrBook) error { b.SetAddrs(p, as, ttl); return nil }
		case 3:
			from, to := ttls[rng.IntN(len(ttls))], ttls[rng.IntN(len(ttls))]
			return "UpdateAddrs", func(b *newstore.AddrBook) error { b.UpdateAddrs(p, from, to); return nil }
		case 4:
			if rng.IntN(3) == 0 {
				return "ClearAddrs", func(b *newstore.AddrBook) error { b.ClearAddrs(p); return nil }
			}
			return "GC", func(b *newstore.AddrBook) error { b.GC(); return nil }
		default:
			seq := seqs[i] + 1
			if rng.IntN(4) == 0 && seqs[i] > 0 {
				seq = seqs[i] - 1 // an old record, to be refused
			} else {
				seqs[i] = seq
			}
			env := sealRecord(t, privs[i], p, seq, pick())
			return "ConsumePeerRecord", func(b *newstore.AddrBook) error {
				_, err := b.ConsumePeerRecord(env, ttl)
				return err
			}
		}
	}

	for range 60 {
		name, f := randomOp(false)
		require.NoError(t, f(orig))
		require.NoError(t, orig.CheckCounters(), name)
		if rng.IntN(6) == 0 {
			clk.Add(7 * time.Minute)
		}
	}
	var buf bytes.Buffer
	require.NoError(t, orig.Snapshot(&buf))
	restored := newBook(t, opts...)
	require.NoError(t, restored.Restore(bytes.NewReader(buf.Bytes())))

	same := func(step string) {
		t.Helper()
		require.ElementsMatch(t, orig.PeersWithAddrs(), restored.PeersWithAddrs(), step)
		for _, p := range ids {
			pt.AssertAddressesEqual(t, orig.Addrs(p), restored.Addrs(p))
			a, b := orig.GetPeerRecord(p), restored.GetPeerRecord(p)
			require.Equal(t, a == nil, b == nil, "%s: record of %s", step, p)
			if a != nil {
				require.True(t, a.Equal(b), "%s: record of %s", step, p)
			}
		}
	}
	// Compare some peers only after operations, so that operations meet
	// addresses that were never parsed.
	for step := range 200 {
		name, f := randomOp(true)
		e1, e2 := f(orig), f(restored)
		require.Equal(t, e1 == nil, e2 == nil, "step %d %s", step, name)
		require.NoError(t, orig.CheckCounters(), "step %d %s", step, name)
		require.NoError(t, restored.CheckCounters(), "step %d %s", step, name)
		if rng.IntN(8) == 0 {
			clk.Add(9 * time.Minute)
		}
		if step%25 == 24 {
			same(fmt.Sprintf("step %d %s", step, name))
		}
	}
	same("end")
}

// A book restored and saved again without ever parsing its addresses
// writes them back unchanged.
func TestResnapshotWithoutParsing(t *testing.T) {
	clk := mockclock.NewMock()
	src := recordBook(t, clk, 10, 4, 50000)
	first := snapshotBytes(t, src)
	mid := newBook(t, newstore.WithClock(clk))
	require.NoError(t, mid.Restore(bytes.NewReader(first)))
	dst := newBook(t, newstore.WithClock(clk))
	require.NoError(t, dst.Restore(bytes.NewReader(snapshotBytes(t, mid))))
	for _, p := range src.PeersWithAddrs() {
		pt.AssertAddressesEqual(t, src.Addrs(p), dst.Addrs(p))
		require.True(t, src.GetPeerRecord(p).Equal(dst.GetPeerRecord(p)))
	}
}
