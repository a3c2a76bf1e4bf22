package peerstore

import (
	"fmt"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/benbjohnson/clock"
	"github.com/libp2p/go-libp2p/core/event"
	"github.com/libp2p/go-libp2p/core/peer"
	"github.com/libp2p/go-libp2p/core/peerstore"
	"github.com/libp2p/go-libp2p/core/protocol"
	"github.com/libp2p/go-libp2p/p2p/host/peerstore/pstoremem"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/pstoremigrate/pstoremigrate/internal/measure"
)

// A hostile peer, as the issue that set the budgets measured one: on every
// connection it advertises 1,024 unique 40-byte protocols and a 7.9 KB agent
// version. A connection keeps the first protocols.DefaultMaxProtocolsPerConn
// (128, upstream pstoremem's cap) and counts the rest without looking at
// them. Run side by side with upstream pstoremem, fed
// what identify writes into it:
//
//	go test -run '^$' -bench 'Hostile' -benchtime 1x ./compat/peerstore/   (heap, once)
//	go test -run '^$' -bench 'HostilePush' ./compat/peerstore/             (CPU)

const (
	hostileProtocols = 1024
	hostileAgentLen  = 7900
)

// hostileSet is n distinct 40-byte protocols, fresh strings as identify
// parses them from the wire.
func hostileSet(tag string, n int) []protocol.ID {
	out := make([]protocol.ID, n)
	for i := range out {
		out[i] = protocol.ID(fmt.Sprintf("/h/%s/%0*d", tag, 40-4-len(tag), i))
	}
	return out
}

func hostileEvent(c *benchConn, tag string) event.EvtPeerIdentificationCompleted {
	return event.EvtPeerIdentificationCompleted{
		Peer: c.peer, Conn: c, Protocols: hostileSet(tag, hostileProtocols),
		AgentVersion: strings.Repeat("a", hostileAgentLen), ProtocolVersion: "ipfs/0.1.0",
	}
}

// identifyWrites is what go-libp2p's identify writes into a legacy store
// for one identification.
func identifyWrites(ps peerstore.Peerstore, ev event.EvtPeerIdentificationCompleted) {
	_ = ps.SetProtocols(ev.Peer, ev.Protocols...)
	_ = ps.Put(ev.Peer, "ProtocolVersion", ev.ProtocolVersion)
	_ = ps.Put(ev.Peer, "AgentVersion", ev.AgentVersion)
}

func newUpstreamStore(b *testing.B) peerstore.Peerstore {
	ps, err := pstoremem.NewPeerstore()
	if err != nil {
		b.Fatal(err)
	}
	return ps
}

// BenchmarkHostilePush: one identify push from a peer with k connections,
// each identified with 1,024 protocols of its own. A push on one connection
// replaces its set with another 1,024: identify emits the update (what it
// added and removed) and the connection's identification. The goal is a
// cost at k=16 within 4x of k=1.
func BenchmarkHostilePush(b *testing.B) {
	for _, k := range []int{1, 16} {
		conns := makeConns(1, 0)
		p := conns[0].peer
		pc := make([]*benchConn, k)
		sets := make([][2]event.EvtPeerIdentificationCompleted, k)
		for i := range pc {
			pc[i] = &benchConn{peer: p}
			sets[i] = [2]event.EvtPeerIdentificationCompleted{
				hostileEvent(pc[i], fmt.Sprint(i, "a")), hostileEvent(pc[i], fmt.Sprint(i, "b")),
			}
		}
		b.Run(fmt.Sprintf("upstream/conns=%d", k), func(b *testing.B) {
			ps := newUpstreamStore(b)
			defer ps.Close()
			for i := range pc {
				identifyWrites(ps, sets[i][0])
			}
			b.ResetTimer()
			for n := range b.N {
				identifyWrites(ps, sets[n%k][(n/k+1)%2])
			}
		})
		b.Run(fmt.Sprintf("compat/conns=%d", k), func(b *testing.B) {
			t := newTracker(config{grace: DefaultGracePeriod, clock: clock.New()})
			defer t.close()
			for i := range pc {
				t.consume(sets[i][0])
			}
			b.ResetTimer()
			for n := range b.N {
				c, next := n%k, (n/k+1)%2
				t.consume(event.EvtPeerProtocolsUpdated{
					Peer: p, Added: sets[c][next].Protocols, Removed: sets[c][1-next].Protocols,
				})
				t.consume(sets[c][next])
			}
			b.StopTimer()
			b.ReportMetric(float64(t.protos.Dropped())/float64(b.N), "dropped/op")
		})
	}
}

const hostilePeers = 200

// BenchmarkHostileRetained: heap per hostile peer disconnected within the
// grace period (upstream keeps everything until pstoremanager removes the
// peer). The goal is at most 16 KiB a peer.
func BenchmarkHostileRetained(b *testing.B) {
	b.Run("upstream", func(b *testing.B) {
		for range b.N {
			conns := makeConns(hostilePeers, 0)
			before := measure.HeapInUse()
			ps := newUpstreamStore(b)
			for i, c := range conns {
				identifyWrites(ps, hostileEvent(c, fmt.Sprint(i)))
			}
			b.ReportMetric(float64(measure.HeapInUse()-before)/hostilePeers, "retained-B/peer")
			_ = ps.Close()
		}
	})
	b.Run("compat", func(b *testing.B) {
		for range b.N {
			conns := makeConns(hostilePeers, 0)
			before := measure.HeapInUse()
			t := newTracker(config{grace: DefaultGracePeriod, clock: clock.New()})
			for i, c := range conns {
				t.consume(event.EvtPeerConnectednessChanged{Peer: c.peer, Connectedness: 1})
				t.consume(hostileEvent(c, fmt.Sprint(i)))
				c.closed.Store(true)
				t.protos.ConnClosed(c)
				t.consume(event.EvtPeerConnectednessChanged{Peer: c.peer})
			}
			require.Len(b, t.protos.Peers(), hostilePeers, "retained within the grace period")
			b.ReportMetric(float64(measure.HeapInUse()-before)/hostilePeers, "retained-B/peer")
			t.close()
		}
	})
}

// BenchmarkHostileHeapAfterGrace: the heap left once hostile peers churned
// through and their grace period passed, against the heap before them. The
// goal is at most 1 MiB. Upstream removes the peers (pstoremanager's
// RemovePeer after the grace period) in the same run.
func BenchmarkHostileHeapAfterGrace(b *testing.B) {
	const churned = 2000
	b.Run("upstream", func(b *testing.B) {
		for range b.N {
			ps := newUpstreamStore(b)
			conns := makeConns(churned, 0)
			before := measure.HeapInUse()
			for i, c := range conns {
				identifyWrites(ps, hostileEvent(c, fmt.Sprint(i)))
			}
			for _, c := range conns {
				ps.RemovePeer(c.peer)
			}
			b.ReportMetric(float64(int64(measure.HeapInUse())-int64(before)), "left-B")
			_ = ps.Close()
		}
	})
	b.Run("compat", func(b *testing.B) {
		for range b.N {
			mock := clock.NewMock()
			t := newTracker(config{grace: DefaultGracePeriod, clock: mock})
			conns := makeConns(churned, 0)
			before := measure.HeapInUse()
			for i, c := range conns {
				t.consume(event.EvtPeerConnectednessChanged{Peer: c.peer, Connectedness: 1})
				t.consume(hostileEvent(c, fmt.Sprint(i)))
				c.closed.Store(true)
				t.protos.ConnClosed(c)
				t.consume(event.EvtPeerConnectednessChanged{Peer: c.peer})
			}
			// Tick by tick, so each of the sweepers' ticks is seen: past
			// the grace period, then one more sweep that rebuilds the
			// emptied maps.
			for range (DefaultGracePeriod + 30*time.Second) / (10 * time.Second) {
				mock.Add(10 * time.Second)
				time.Sleep(20 * time.Millisecond)
			}
			b.ReportMetric(float64(int64(settledHeap())-int64(before)), "left-B")
			runtime.KeepAlive(conns)
			t.close()
		}
	})
}

func TestHostileIdentifyIsBounded(t *testing.T) {
	tr := newTracker(config{grace: DefaultGracePeriod, clock: clock.New()})
	defer tr.close()
	honest, hostile := makeConns(1, 0)[0], makeConns(1, 1)[0]
	tr.consume(event.EvtPeerConnectednessChanged{Peer: honest.peer, Connectedness: 1})
	tr.consume(event.EvtPeerConnectednessChanged{Peer: hostile.peer, Connectedness: 1})
	tr.consume(identifiedEvent(honest))
	conns := []*benchConn{hostile}
	for range 7 {
		conns = append(conns, &benchConn{peer: hostile.peer})
	}
	for i, c := range conns {
		tr.consume(hostileEvent(c, fmt.Sprint(i)))
	}

	_, ok := tr.version(hostile.peer, "AgentVersion")
	require.False(t, ok, "a 7.9 KB agent version is not kept")
	v, ok := tr.version(hostile.peer, "ProtocolVersion")
	require.True(t, ok, "the honest part of the same identify is")
	assert.Equal(t, "ipfs/0.1.0", v)
	assert.Equal(t, uint64(8), tr.droppedVersions.Load())
	assert.Positive(t, tr.protos.Dropped(), "protocols over the peer's budget are counted")
	assert.Len(t, tr.protos.PeerProtocols(honest.peer), len(benchProtocols), "the honest peer keeps everything")
	v, ok = tr.version(honest.peer, "AgentVersion")
	require.True(t, ok)
	assert.Equal(t, "kubo/0.30.0/", v)
}

var _ = peer.ID("")

// settledHeap is the heap once the runtime has run the cleanups that free
// interned strings nobody refers to (package unique frees its table's
// entries from cleanup functions, which run after a collection).
func settledHeap() uint64 {
	for range 4 {
		runtime.GC()
		time.Sleep(10 * time.Millisecond)
	}
	return measure.HeapInUse()
}
