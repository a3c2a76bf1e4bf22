package protocols

import (
	"fmt"
	"runtime"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"
	"unsafe"
	"weak"

	"github.com/benbjohnson/clock"
	"github.com/libp2p/go-libp2p/core/event"
	"github.com/libp2p/go-libp2p/core/network"
	"github.com/libp2p/go-libp2p/core/peer"
	"github.com/libp2p/go-libp2p/core/protocol"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.uber.org/goleak"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

// fakeConn is the part of a network.Conn the store looks at.
type fakeConn struct {
	network.Conn // nil: calling anything else panics, which the test would show
	peer         peer.ID
	closed       atomic.Bool
}

func (c *fakeConn) RemotePeer() peer.ID { return c.peer }
func (c *fakeConn) IsClosed() bool      { return c.closed.Load() }

func newConn(p peer.ID) *fakeConn { return &fakeConn{peer: p} }

func newMockStore(t *testing.T, opts ...Option) (*Store, *clock.Mock) {
	t.Helper()
	mock := clock.NewMock()
	s := New(append([]Option{WithClock(mock)}, opts...)...)
	t.Cleanup(func() { require.NoError(t, s.Close()) })
	return s, mock
}

const (
	kad    = protocol.ID("/ipfs/kad/1.0.0")
	ping   = protocol.ID("/ipfs/ping/1.0.0")
	gossip = protocol.ID("/meshsub/1.1.0")
	peerA  = peer.ID("peer-a")
	peerB  = peer.ID("peer-b")
)

func TestPerConnectionAndPerPeer(t *testing.T) {
	s, _ := newMockStore(t)
	direct, relayed := newConn(peerA), newConn(peerA)
	s.Identified(direct, []protocol.ID{kad, ping})
	s.Identified(relayed, []protocol.ID{ping})

	assert.ElementsMatch(t, []protocol.ID{kad, ping}, s.ConnProtocols(direct))
	assert.Equal(t, []protocol.ID{ping}, s.ConnProtocols(relayed), "each connection keeps its own set")
	assert.ElementsMatch(t, []protocol.ID{kad, ping}, s.PeerProtocols(peerA), "per peer: union over live conns")
	assert.Equal(t, []protocol.ID{ping, kad}, s.Supports(peerA, gossip, ping, kad))
	assert.Equal(t, ping, s.FirstSupported(peerA, gossip, ping, kad))
	assert.Equal(t, protocol.ID(""), s.FirstSupported(peerA, gossip))
	assert.Equal(t, []peer.ID{peerA}, s.PeersSupporting(kad))
	assert.Empty(t, s.PeersSupporting(gossip))

	s.ConnClosed(direct)
	assert.Nil(t, s.ConnProtocols(direct))
	assert.Equal(t, []protocol.ID{ping}, s.PeerProtocols(peerA), "a closed conn's protocols leave the union")
	assert.Empty(t, s.PeersSupporting(kad))
}

func TestIdentifyReplacesAConnsSet(t *testing.T) {
	s, _ := newMockStore(t)
	c := newConn(peerA)
	s.Identified(c, []protocol.ID{kad, ping, kad})
	s.Identified(c, []protocol.ID{gossip})
	assert.Equal(t, []protocol.ID{gossip}, s.ConnProtocols(c))
	assert.Empty(t, s.PeersSupporting(kad))
	assert.Equal(t, []peer.ID{peerA}, s.PeersSupporting(gossip))
}

func TestStaleIdentifyPushDoesNotBringBackADroppedProtocol(t *testing.T) {
	// The order go-libp2p's identify can deliver two concurrent pushes in:
	// the older push's update, the newer push's update and identification,
	// then the older push's identification.
	s, _ := newMockStore(t)
	c := newConn(peerA)
	s.Identified(c, []protocol.ID{ping, kad})
	s.Consume(event.EvtPeerProtocolsUpdated{Peer: peerA, Added: []protocol.ID{gossip}})
	s.Consume(event.EvtPeerProtocolsUpdated{Peer: peerA, Removed: []protocol.ID{kad}})
	s.Consume(event.EvtPeerIdentificationCompleted{Peer: peerA, Conn: c, Protocols: []protocol.ID{ping, gossip}})
	s.Consume(event.EvtPeerIdentificationCompleted{Peer: peerA, Conn: c, Protocols: []protocol.ID{ping, kad, gossip}})
	assert.ElementsMatch(t, []protocol.ID{ping, gossip}, s.PeerProtocols(peerA))
	assert.Empty(t, s.PeersSupporting(kad))

	// A later push that adds it again is believed, update and event alike.
	s.Consume(event.EvtPeerProtocolsUpdated{Peer: peerA, Added: []protocol.ID{kad}})
	s.Consume(event.EvtPeerIdentificationCompleted{Peer: peerA, Conn: c, Protocols: []protocol.ID{ping, kad, gossip}})
	assert.ElementsMatch(t, []protocol.ID{ping, kad, gossip}, s.PeerProtocols(peerA))
}

func TestPushBeforeIdentifyCompletesIsNotLost(t *testing.T) {
	// A push can be handled while the connection's identify is in flight:
	// its update comes before the store knows the peer, its event after
	// the identify response that lacks the new protocol.
	s, _ := newMockStore(t)
	c := newConn(peerA)
	s.Consume(event.EvtPeerProtocolsUpdated{Peer: peerA, Added: []protocol.ID{kad}})
	s.Consume(event.EvtPeerIdentificationCompleted{Peer: peerA, Conn: c, Protocols: []protocol.ID{ping}})
	s.Consume(event.EvtPeerIdentificationCompleted{Peer: peerA, Conn: c, Protocols: []protocol.ID{ping, kad}})
	assert.ElementsMatch(t, []protocol.ID{ping, kad}, s.PeerProtocols(peerA))
}

func TestRemovedProtocolsNotedAreBounded(t *testing.T) {
	s, _ := newMockStore(t, WithMaxProtocolsPerConn(4))
	c := newConn(peerA)
	s.Identified(c, nil)
	for i := range 100 {
		p := protocol.ID(fmt.Sprint("/churn/", i))
		s.Updated(peerA, []protocol.ID{p}, nil)
		s.Updated(peerA, nil, []protocol.ID{p})
	}
	s.mu.RLock()
	defer s.mu.RUnlock()
	assert.LessOrEqual(t, len(s.removed[s.peers[peerA]]), 4)
}

func TestPushToAHostThatKeepsNoProtocolsStillRemoves(t *testing.T) {
	// A host whose peerstore drops protocol writes diffs every push
	// against nothing: the update lists all as added and none removed.
	s, _ := newMockStore(t)
	c := newConn(peerA)
	s.Identified(c, []protocol.ID{ping, kad})
	s.Consume(event.EvtPeerProtocolsUpdated{Peer: peerA, Added: []protocol.ID{ping, gossip}})
	s.Consume(event.EvtPeerIdentificationCompleted{Peer: peerA, Conn: c, Protocols: []protocol.ID{ping, gossip}})
	assert.ElementsMatch(t, []protocol.ID{ping, gossip}, s.PeerProtocols(peerA))
}

func TestUpdatedAppliesToEveryLiveConn(t *testing.T) {
	s, _ := newMockStore(t)
	c1, c2 := newConn(peerA), newConn(peerA)
	s.Identified(c1, []protocol.ID{kad, ping})
	s.Identified(c2, []protocol.ID{ping})
	s.Updated(peerA, []protocol.ID{gossip}, []protocol.ID{ping})
	assert.ElementsMatch(t, []protocol.ID{kad, gossip}, s.ConnProtocols(c1))
	assert.Equal(t, []protocol.ID{gossip}, s.ConnProtocols(c2))
	assert.Empty(t, s.PeersSupporting(ping))
	assert.Equal(t, []peer.ID{peerA}, s.PeersSupporting(gossip))

	s.Updated(peerB, []protocol.ID{gossip}, nil) // never identified: nothing to update
	assert.Nil(t, s.PeerProtocols(peerB))
}

func TestGracePeriodAfterLastConnection(t *testing.T) {
	s, mock := newMockStore(t, WithGracePeriod(time.Minute), WithSweepInterval(time.Hour))
	c := newConn(peerA)
	s.Identified(c, []protocol.ID{kad})
	s.ConnClosed(c)

	mock.Add(59 * time.Second)
	assert.Equal(t, []protocol.ID{kad}, s.PeerProtocols(peerA), "kept within the grace period")
	assert.Equal(t, []peer.ID{peerA}, s.PeersSupporting(kad))
	s.Updated(peerA, []protocol.ID{ping}, nil)
	assert.ElementsMatch(t, []protocol.ID{kad, ping}, s.PeerProtocols(peerA), "a push applies to the retained set")

	mock.Add(time.Second)
	assert.Nil(t, s.PeerProtocols(peerA))
	assert.Empty(t, s.PeersSupporting(kad))
	assert.Empty(t, s.Peers())
}

func TestNewConnectionReplacesRetainedSet(t *testing.T) {
	s, mock := newMockStore(t)
	old := newConn(peerA)
	s.Identified(old, []protocol.ID{kad})
	s.ConnClosed(old)
	mock.Add(10 * time.Second)

	fresh := newConn(peerA)
	s.Identified(fresh, []protocol.ID{ping})
	assert.Equal(t, []protocol.ID{ping}, s.PeerProtocols(peerA))
	assert.Empty(t, s.PeersSupporting(kad))

	mock.Add(time.Hour) // a live connection never expires
	assert.Equal(t, []protocol.ID{ping}, s.PeerProtocols(peerA))
}

func TestRetainedPeersCapped(t *testing.T) {
	s, mock := newMockStore(t, WithMaxRetainedPeers(2), WithSweepInterval(time.Hour))
	peers := []peer.ID{"p1", "p2", "p3"}
	for _, p := range peers {
		c := newConn(p)
		s.Identified(c, []protocol.ID{kad})
		s.ConnClosed(c)
		mock.Add(time.Second)
	}
	assert.Nil(t, s.PeerProtocols("p1"), "the longest-disconnected peer goes first")
	assert.ElementsMatch(t, []peer.ID{"p2", "p3"}, s.PeersSupporting(kad))

	// A peer that reconnects stops counting; its old queue entry is stale.
	s.Identified(newConn("p2"), []protocol.ID{ping})
	c4 := newConn("p4")
	s.Identified(c4, []protocol.ID{kad})
	s.ConnClosed(c4)
	assert.ElementsMatch(t, []peer.ID{"p3", "p4"}, s.PeersSupporting(kad))
	assert.Equal(t, []protocol.ID{ping}, s.PeerProtocols("p2"))
}

func TestSweepFreesExpiredPeers(t *testing.T) {
	s, mock := newMockStore(t, WithGracePeriod(time.Minute), WithSweepInterval(time.Minute))
	for i := range 50 {
		c := newConn(peer.ID(fmt.Sprint("p", i)))
		s.Identified(c, []protocol.ID{kad})
		s.ConnClosed(c)
	}
	live := newConn(peerA)
	s.Identified(live, []protocol.ID{kad})
	mock.Add(time.Minute) // fires the sweeper's ticker
	require.Eventually(t, func() bool {
		s.mu.RLock()
		defer s.mu.RUnlock()
		return len(s.peers) == 1 && s.retainedCount == 0 && s.table[kad].refs == 1
	}, 10*time.Second, time.Millisecond, "expired peers freed, the live one kept")
}

func TestZeroGraceDropsWithConnection(t *testing.T) {
	s, _ := newMockStore(t, WithGracePeriod(0))
	c := newConn(peerA)
	s.Identified(c, []protocol.ID{kad})
	s.ConnClosed(c)
	assert.Nil(t, s.PeerProtocols(peerA))
	assert.Empty(t, s.PeersSupporting(kad))
}

func TestClosedConnIgnoredAndSwept(t *testing.T) {
	s, mock := newMockStore(t, WithSweepInterval(time.Second), WithGracePeriod(0))
	late := newConn(peerA)
	late.closed.Store(true)
	s.Identified(late, []protocol.ID{kad}) // identify event after the close notification
	assert.Nil(t, s.PeerProtocols(peerA))

	missed := newConn(peerB)
	s.Identified(missed, []protocol.ID{kad})
	missed.closed.Store(true) // its Disconnected notification never came
	mock.Add(time.Second)
	require.Eventually(t, func() bool { return s.ConnProtocols(missed) == nil },
		10*time.Second, time.Millisecond, "the sweeper drops conns that closed")
}

func TestSweeperFindsEveryMissedCloseWhileEventsGoOn(t *testing.T) {
	// The sweeper looks at the connections a batch per hold of the lock,
	// while events add and remove connections between its holds: none that
	// closed unnoticed may escape it, none still open may be dropped.
	s, mock := newMockStore(t, WithSweepInterval(time.Hour), WithGracePeriod(0))
	var missed, open []*fakeConn
	for i := range 5 * sweepBatch {
		c := newConn(peer.ID(fmt.Sprint("p", i)))
		s.Identified(c, []protocol.ID{kad})
		if i%2 == 0 {
			missed = append(missed, c)
		} else {
			open = append(open, c)
		}
	}
	for _, c := range missed {
		c.closed.Store(true) // no Disconnected notification
	}
	var wg sync.WaitGroup
	wg.Go(func() {
		for i := range 4 * sweepBatch {
			c := newConn(peer.ID(fmt.Sprint("churn", i)))
			s.Identified(c, []protocol.ID{ping})
			s.ConnClosed(c)
		}
	})
	mock.Add(time.Second)
	s.sweep()
	wg.Wait()
	for _, c := range missed {
		require.False(t, s.HasConn(c), "a conn that closed unnoticed is dropped")
	}
	for _, c := range open {
		require.True(t, s.HasConn(c), "an open conn is kept")
	}
	assert.Len(t, s.PeersSupporting(kad), len(open))
	assert.Empty(t, s.PeersSupporting(ping))
}

func TestRemovePeer(t *testing.T) {
	s, _ := newMockStore(t)
	c := newConn(peerA)
	s.Identified(c, []protocol.ID{kad})
	s.Identified(newConn(peerB), []protocol.ID{kad})
	s.RemovePeer(peerA)
	assert.Nil(t, s.PeerProtocols(peerA))
	assert.Nil(t, s.ConnProtocols(c))
	assert.Equal(t, []peer.ID{peerB}, s.PeersSupporting(kad))
	s.ConnClosed(c) // a close after RemovePeer is harmless
}

func TestProtocolsPerConnCapped(t *testing.T) {
	s, _ := newMockStore(t, WithMaxProtocolsPerConn(3))
	c := newConn(peerA)
	many := make([]protocol.ID, 10)
	for i := range many {
		many[i] = protocol.ID(fmt.Sprint("/p/", i))
	}
	s.Identified(c, many)
	assert.Len(t, s.ConnProtocols(c), 3)
	s.Updated(peerA, many, nil)
	assert.Len(t, s.ConnProtocols(c), 3)
}

func TestInternedProtocolsShareStorage(t *testing.T) {
	s, _ := newMockStore(t)
	// Two distinct string allocations with the same content.
	a := protocol.ID(fmt.Sprint("/ipfs/", "kad/1.0.0"))
	b := protocol.ID(fmt.Sprint("/ipfs/", "kad/1.0.0"))
	s.Identified(newConn(peerA), []protocol.ID{a})
	s.Identified(newConn(peerB), []protocol.ID{b})
	pa, pb := s.PeerProtocols(peerA), s.PeerProtocols(peerB)
	require.Len(t, pa, 1)
	require.Len(t, pb, 1)
	assert.Same(t, unsafeData(pa[0]), unsafeData(pb[0]), "one copy of the string for every peer")
}

func TestConcurrentUse(t *testing.T) {
	s, mock := newMockStore(t, WithSweepInterval(100*time.Millisecond), WithGracePeriod(time.Second))
	var wg sync.WaitGroup
	for w := range 4 {
		wg.Go(func() {
			var conns []*fakeConn
			for i := range 300 {
				p := peer.ID(fmt.Sprint("p", (w+i)%10))
				switch i % 6 {
				case 0:
					c := newConn(p)
					conns = append(conns, c)
					s.Identified(c, []protocol.ID{kad, protocol.ID(fmt.Sprint("/x/", i%4))})
				case 1:
					s.Updated(p, []protocol.ID{gossip}, []protocol.ID{kad})
				case 2:
					_ = s.PeersSupporting(gossip)
					_ = s.Supports(p, kad, gossip)
				case 3:
					if len(conns) > 0 {
						s.ConnClosed(conns[0])
						conns = conns[1:]
					}
				case 4:
					mock.Add(300 * time.Millisecond)
				case 5:
					_ = s.PeerProtocols(p)
				}
			}
		})
	}
	wg.Wait()
	// The index agrees with the per-peer sets.
	for _, p := range s.Peers() {
		for _, proto := range s.PeerProtocols(p) {
			assert.Contains(t, s.PeersSupporting(proto), p)
		}
	}
	s.mu.RLock()
	defer s.mu.RUnlock()
	for _, h := range s.table {
		for i := range h.supporters() {
			ps := h.supporter(i)
			assert.Same(t, ps, s.peers[ps.id], "index entry for a dropped peer")
			j := ps.union.find(h)
			require.GreaterOrEqual(t, j, 0, "index entry without a set entry")
			assert.Equal(t, int32(i), ps.union.pos[j], "position kept in step")
		}
	}
	retained := 0
	for _, ps := range s.peers {
		if len(ps.conns) == 0 && ps.retainedUntil != 0 {
			retained++
		}
	}
	assert.Equal(t, retained, s.retainedCount, "retained count kept in step")
	for _, ps := range s.peers {
		for j, h := range ps.union.list {
			assert.Same(t, ps, h.supporter(int(ps.union.pos[j])), "set entry without an index entry")
		}
	}
}

func unsafeData(p protocol.ID) *byte { return unsafe.StringData(string(p)) }

// A disconnected peer's set leaves memory by grace + grace/2 at the latest,
// whatever the grace period and wherever the disconnect falls between two
// sweeps: the sweeper runs every half grace period when that is shorter than
// DefaultSweepInterval.
func TestRetainedSetFreedByGraceAndAHalf(t *testing.T) {
	for _, grace := range []time.Duration{time.Second, 10 * time.Second, DefaultGracePeriod} {
		for _, phase := range []float64{0.01, 0.49, 0.99} {
			t.Run(fmt.Sprint(grace, "/", phase), func(t *testing.T) {
				s, mock := newMockStore(t, WithGracePeriod(grace))
				// The disconnect falls at phase of a half grace period
				// after the sweeper started.
				mock.Add(time.Duration(phase * float64(grace/2)))
				c := newConn(peerA)
				s.Identified(c, []protocol.ID{kad})
				s.ConnClosed(c)
				step := grace / 20
				for elapsed := time.Duration(0); elapsed < grace+grace/2; elapsed += step {
					mock.Add(step)
				}
				require.Eventually(t, func() bool {
					s.mu.RLock()
					defer s.mu.RUnlock()
					return len(s.peers) == 0 && len(s.table) == 0
				}, 5*time.Second, time.Millisecond, "the set is still in memory at grace + grace/2")
			})
		}
	}
}

func TestClosedConnectionsAreNotKeptAlive(t *testing.T) {
	// A peer's first connection is allocated with the peer: when it closes
	// while another stays open, the store must let go of the connection
	// and of the protocols only it advertised.
	s, _ := newMockStore(t)
	first, second := newConn(peerA), newConn(peerA)
	own := protocol.ID(strings.Clone("/only/on/the/first/1.0.0"))
	s.Identified(first, []protocol.ID{kad, own})
	s.Identified(second, []protocol.ID{kad})
	firstGone, ownGone := weak.Make(first), weak.Make(unsafeData(own))
	first.closed.Store(true)
	s.ConnClosed(first)
	first, own = nil, ""
	runtime.GC()
	runtime.GC()
	assert.Nil(t, firstGone.Value(), "the closed connection is kept alive")
	assert.Nil(t, ownGone.Value(), "a protocol only the closed connection advertised is kept alive")
	assert.Equal(t, []protocol.ID{kad}, s.PeerProtocols(peerA))
	s.ConnClosed(second)
	assert.Equal(t, []protocol.ID{kad}, s.PeerProtocols(peerA), "retained")

	// The first connection closing last, after its peer counted a second
	// one: what the retained budget cuts is let go too.
	s, _ = newMockStore(t, WithMaxRetainedBytesPerPeer(len(kad)+EntryOverhead))
	first, second = newConn(peerA), newConn(peerA)
	cut := protocol.ID(strings.Clone("/cut/when/retained/1.0.0"))
	s.Identified(first, []protocol.ID{kad, cut})
	s.Identified(second, []protocol.ID{kad})
	cutGone := weak.Make(unsafeData(cut))
	s.ConnClosed(second)
	s.ConnClosed(first)
	cut = ""
	runtime.GC()
	runtime.GC()
	assert.Nil(t, cutGone.Value(), "a protocol the retained budget cut is kept alive")
	assert.Equal(t, []protocol.ID{kad}, s.PeerProtocols(peerA), "retained within its budget")
}
