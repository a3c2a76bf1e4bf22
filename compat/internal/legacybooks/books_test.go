package legacybooks

import (
	"fmt"
	"strings"
	"testing"
	"time"

	ic "github.com/libp2p/go-libp2p/core/crypto"
	"github.com/libp2p/go-libp2p/core/peer"
	pstore "github.com/libp2p/go-libp2p/core/peerstore"
	"github.com/libp2p/go-libp2p/core/protocol"
	"github.com/stretchr/testify/require"
)

func TestProtoBookCapAndOrder(t *testing.T) {
	pb := NewProtoBook(3)
	p := peer.ID("peer")
	require.NoError(t, pb.SetProtocols(p, "/a", "/b", "/a"))
	got, err := pb.GetProtocols(p)
	require.NoError(t, err)
	require.ElementsMatch(t, []protocol.ID{"/a", "/b"}, got, "duplicates are stored once")

	require.ErrorIs(t, pb.AddProtocols(p, "/c", "/d"), ErrTooManyProtocols)
	require.NoError(t, pb.AddProtocols(p, "/c"))
	require.ErrorIs(t, pb.SetProtocols(p, "/1", "/2", "/3", "/4"), ErrTooManyProtocols)
	got, _ = pb.GetProtocols(p)
	require.ElementsMatch(t, []protocol.ID{"/a", "/b", "/c"}, got, "a refused write changes nothing")

	sup, err := pb.SupportsProtocols(p, "/c", "/x", "/a")
	require.NoError(t, err)
	require.Equal(t, []protocol.ID{"/c", "/a"}, sup, "in the order asked")

	require.NoError(t, pb.RemoveProtocols(p, "/a", "/b", "/c"))
	require.Empty(t, pb.Peers(), "a peer without protocols is forgotten")
	require.Zero(t, NewProtoBook(0).MaxProtocols()-DefaultMaxProtocols)
}

func TestProtoBookSharesProtocolStrings(t *testing.T) {
	pb := NewProtoBook(0)
	// Two peers advertise the same protocol, each from its own buffer
	// (as decoded from the wire).
	a := protocol.ID(strings.Clone("/shared/1.0.0"))
	b := protocol.ID(strings.Clone("/shared/1.0.0"))
	require.NoError(t, pb.SetProtocols("p1", a))
	require.NoError(t, pb.SetProtocols("p2", b))
	ga, _ := pb.GetProtocols("p1")
	gb, _ := pb.GetProtocols("p2")
	require.Equal(t, ga, gb)
	require.Same(t, unsafeData(ga[0]), unsafeData(gb[0]), "one copy of the string for both peers")
}

func TestMetadataBounds(t *testing.T) {
	m := NewMetadata()
	p := peer.ID("peer")
	_, err := m.Get(p, "AgentVersion")
	require.ErrorIs(t, err, pstore.ErrNotFound)

	require.NoError(t, m.Put(p, "AgentVersion", "go-libp2p/0.51"))
	v, err := m.Get(p, "AgentVersion")
	require.NoError(t, err)
	require.Equal(t, "go-libp2p/0.51", v)
	require.NoError(t, m.Put(p, "AgentVersion", "go-libp2p/0.52"))
	v, _ = m.Get(p, "AgentVersion")
	require.Equal(t, "go-libp2p/0.52", v, "a Put replaces")

	err = m.Put(p, "AgentVersion", strings.Repeat("x", MaxMetadataValueLen+1))
	require.ErrorContains(t, err, "longer than")
	v, _ = m.Get(p, "AgentVersion")
	require.Equal(t, "go-libp2p/0.52", v, "a refused value leaves the old one")
	require.Error(t, m.Put(p, "blob", make([]byte, MaxMetadataValueLen+1)))
	require.Error(t, m.Put(p, strings.Repeat("k", MaxMetadataKeyLen+1), 1))

	// A peer that keeps inventing keys hits the cap; others are unaffected.
	var i int
	for i = 0; i < 10*MaxMetadataKeysPerPeer; i++ {
		if err := m.Put(p, fmt.Sprintf("key-%d", i), i); err != nil {
			require.ErrorContains(t, err, "keys allowed")
			break
		}
	}
	require.Equal(t, MaxMetadataKeysPerPeer-1, i, "AgentVersion took one slot")
	require.NoError(t, m.Put(p, "key-0", "replacing an existing key is allowed"))
	require.NoError(t, m.Put("other", "key-0", 0))

	m.RemovePeer(p)
	_, err = m.Get(p, "key-0")
	require.ErrorIs(t, err, pstore.ErrNotFound)
}

func TestMetricsEWMA(t *testing.T) {
	m := NewMetrics()
	p := peer.ID("peer")
	require.Zero(t, m.LatencyEWMA(p))
	m.RecordLatency(p, 100*time.Millisecond)
	require.Equal(t, 100*time.Millisecond, m.LatencyEWMA(p), "the first sample is the average")
	m.RecordLatency(p, 200*time.Millisecond)
	require.Equal(t, 110*time.Millisecond, m.LatencyEWMA(p), "0.9*100ms + 0.1*200ms")
	m.RemovePeer(p)
	require.Zero(t, m.LatencyEWMA(p))
}

func TestPrivKeysCheckTheKeyMatches(t *testing.T) {
	k := NewPrivKeys()
	sk, _, err := ic.GenerateEd25519Key(nil)
	require.NoError(t, err)
	other, _, err := ic.GenerateEd25519Key(nil)
	require.NoError(t, err)
	id, err := peer.IDFromPrivateKey(sk)
	require.NoError(t, err)
	require.Error(t, k.AddPrivKey(id, nil))
	require.Error(t, k.AddPrivKey(id, other))
	require.NoError(t, k.AddPrivKey(id, sk))
	require.True(t, k.PrivKey(id).Equals(sk))
	require.Equal(t, peer.IDSlice{id}, k.Peers())
}

// Identify, the DHT and application code use the books from many
// goroutines at once; -race checks the locking.
func TestConcurrentUse(t *testing.T) {
	pb, m, lat := NewProtoBook(8), NewMetadata(), NewMetrics()
	done := make(chan struct{})
	for g := range 4 {
		go func() {
			defer func() { done <- struct{}{} }()
			for i := range 500 {
				p := peer.ID(fmt.Sprintf("peer-%d", i%17))
				_ = pb.SetProtocols(p, "/a", protocol.ID(fmt.Sprintf("/g/%d", g)))
				_ = pb.AddProtocols(p, "/b")
				_, _ = pb.GetProtocols(p)
				_, _ = pb.SupportsProtocols(p, "/a", "/b")
				_ = m.Put(p, "AgentVersion", "x")
				_, _ = m.Get(p, "AgentVersion")
				lat.RecordLatency(p, time.Millisecond)
				_ = lat.LatencyEWMA(p)
				if i%50 == 0 {
					pb.RemovePeer(p)
					m.RemovePeer(p)
					lat.RemovePeer(p)
				}
			}
		}()
	}
	for range 4 {
		<-done
	}
	for _, p := range pb.Peers() {
		got, err := pb.GetProtocols(p)
		require.NoError(t, err)
		require.LessOrEqual(t, len(got), 8, "the cap holds under concurrency")
	}
}
