package protocols

import (
	"fmt"
	"math/rand/v2"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/libp2p/go-libp2p/core/peer"
	"github.com/libp2p/go-libp2p/core/protocol"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// hostileSet is n distinct 40-byte protocols no honest peer speaks.
func hostileSet(tag string, n int) []protocol.ID {
	out := make([]protocol.ID, n)
	for i := range out {
		out[i] = protocol.ID(fmt.Sprintf("/h/%s/%0*d", tag, 40-4-len(tag), i))
	}
	return out
}

// checkConsistent asserts what every operation must keep true: the counts,
// the byte charges and the index agree with the connections' sets.
func checkConsistent(t *testing.T, s *Store) {
	t.Helper()
	s.mu.RLock()
	defer s.mu.RUnlock()
	retainedBytes, retained := 0, 0
	refs := map[handle]int32{}
	for _, ps := range s.peers {
		require.NotNil(t, ps.union, "peer %s without a union", ps.id)
		if len(ps.conns) == 0 {
			retained++
			retainedBytes += int(ps.bytes)
			assert.LessOrEqual(t, int(ps.bytes), s.maxRetainedBytesPerPeer)
		} else {
			assert.LessOrEqual(t, int(ps.bytes), s.maxBytesPerPeer)
		}
		bytes := 0
		want := map[handle]int32{}
		for _, cs := range ps.conns {
			assert.Same(t, cs, ps.conn(cs.conn))
			assert.Same(t, ps, cs.ps)
			for _, h := range cs.set.list {
				want[h]++
				bytes += entryCost(h)
			}
		}
		if len(ps.conns) > 0 {
			assert.Equal(t, bytes, int(ps.bytes), "peer %s charge", ps.id)
			require.Len(t, ps.union.list, len(want), "union of %s", ps.id)
			if ps.counted {
				require.Len(t, ps.union.counts(), len(ps.union.list), "counts of %s", ps.id)
			} else {
				assert.Len(t, ps.conns, 1)
				assert.Same(t, &ps.conns[0].set, ps.union, "an uncounted peer's union is its connection's set")
				assert.Nil(t, ps.union.counts())
			}
			for i, h := range ps.union.list {
				if ps.counted {
					assert.Equal(t, want[h], ps.union.counts()[i], "count of %s", h.id)
				}
			}
		} else {
			assert.Nil(t, ps.union.counts(), "a retained union does not count")
		}
		for _, set := range append([]*protoSet{ps.union}, connSets(ps)...) {
			// The parts most sets do without are there only when needed.
			if set.aux != nil {
				assert.True(t, set.aux.at != nil || set.aux.count != nil, "an empty aux is dropped")
			}
			if set.aux != nil && set.aux.at != nil {
				assert.Len(t, set.aux.at, len(set.list))
			}
		}
		for i, h := range ps.union.list {
			assert.Equal(t, i, ps.union.find(h))
			refs[h]++
			if s.indexed {
				assert.Same(t, ps, h.supporter(int(ps.union.pos[i])), "set entry without an index entry")
			}
			assert.Same(t, h, s.table[h.id], "set entry not interned")
		}
		if !s.indexing {
			assert.Nil(t, ps.union.pos, "no index slots before the index is built")
		}
		if s.indexed {
			assert.True(t, ps.indexed, "peer %s left out of the index", ps.id)
		}
	}
	assert.Equal(t, retained, s.retainedCount)
	assert.Equal(t, retainedBytes, s.retainedBytes)
	assert.LessOrEqual(t, len(s.spare), s.maxPerConn)
	for _, h := range s.spare {
		assert.Zero(t, h.refs, "a spare entry is in no union")
		assert.Zero(t, h.supporters(), "a spare entry is in no index list")
		assert.Empty(t, h.id, "a spare entry keeps no peer's string")
	}
	for ps, removed := range s.removed {
		assert.Same(t, ps, s.peers[ps.id], "removals noted for a dropped peer")
		assert.LessOrEqual(t, len(removed), s.maxPerConn)
	}
	assert.Len(t, s.table, len(refs), "the table holds what the unions hold, nothing more")
	for id, h := range s.table {
		assert.Equal(t, id, h.id)
		assert.Equal(t, refs[h], h.refs, "unions holding %s", id)
		if !s.indexed {
			assert.Zero(t, h.supporters(), "no index list before the index is built")
			continue
		}
		assert.Equal(t, int(h.refs), h.supporters(), "index list of %s", id)
		for i := range h.supporters() {
			ps := h.supporter(i)
			assert.Same(t, ps, s.peers[ps.id], "index entry for a dropped peer")
			j := ps.union.find(h)
			require.GreaterOrEqual(t, j, 0, "index entry without a set entry")
			assert.Equal(t, int32(i), ps.union.pos[j])
		}
	}
}

func TestHostilePeerStaysWithinItsBudget(t *testing.T) {
	s, _ := newMockStore(t)
	honest := newConn(peerB)
	s.Identified(honest, []protocol.ID{kad, ping})
	var conns []*fakeConn
	for i := range 16 {
		c := newConn(peerA)
		conns = append(conns, c)
		s.Identified(c, append(hostileSet(fmt.Sprint(i), DefaultMaxProtocolsPerConn), kad))
	}
	checkConsistent(t, s)
	s.mu.RLock()
	charged := int(s.peers[peerA].bytes)
	s.mu.RUnlock()
	assert.LessOrEqual(t, charged, DefaultMaxBytesPerPeer)
	kept := 0
	for _, c := range conns {
		kept += len(s.ConnProtocols(c))
	}
	assert.Less(t, kept, 16*DefaultMaxProtocolsPerConn, "the budget holds fewer than the connections offered")
	assert.Equal(t, uint64(16*(DefaultMaxProtocolsPerConn+1)-kept), s.Dropped(), "all that is not kept is counted")
	assert.Contains(t, s.PeerProtocols(peerA), protocol.ID(hostileSet("0", 1)[0]), "the first connection's set is kept")
	assert.ElementsMatch(t, []peer.ID{peerB}, s.PeersSupporting(ping), "an honest peer is untouched")

	// A push that replaces one connection's set frees its budget for the new one.
	s.Updated(peerA, hostileSet("new", 100), hostileSet("0", DefaultMaxProtocolsPerConn))
	s.Identified(conns[0], hostileSet("new", 100))
	checkConsistent(t, s)
	assert.Contains(t, s.ConnProtocols(conns[0]), hostileSet("new", 1)[0])

	for _, c := range conns {
		s.ConnClosed(c)
	}
	checkConsistent(t, s)
	s.mu.RLock()
	charged = int(s.peers[peerA].bytes)
	s.mu.RUnlock()
	assert.LessOrEqual(t, charged, DefaultMaxRetainedBytesPerPeer, "a retained set is cut to its budget")
	assert.NotEmpty(t, s.PeerProtocols(peerA))
}

// What is over a connection's cap costs no entry: a push of new protocols
// to a full connection, or an identification longer than the cap, leaves
// the table and the spares as they were and counts every protocol left out;
// a removal is applied wherever it sits in a long list.
func TestOverTheCapCostsNoEntry(t *testing.T) {
	s, _ := newMockStore(t)
	c := newConn(peerA)
	full := hostileSet("a", DefaultMaxProtocolsPerConn)
	s.Identified(c, append(full, hostileSet("over", 1000)...))
	assert.Equal(t, uint64(1000), s.Dropped(), "the part over the cap is counted")
	require.Len(t, s.ConnProtocols(c), DefaultMaxProtocolsPerConn, "the first ones are kept")

	s.mu.RLock()
	table, spares := len(s.table), len(s.spare)
	s.mu.RUnlock()
	s.Updated(peerA, hostileSet("push", 50), nil)
	s.mu.RLock()
	assert.Equal(t, table, len(s.table), "no protocol of a push over the cap is interned")
	assert.Equal(t, spares, len(s.spare), "nor given an entry")
	s.mu.RUnlock()
	assert.Equal(t, uint64(1050), s.Dropped(), "and each is counted once")
	assert.ElementsMatch(t, full, s.ConnProtocols(c))

	// Removals far down a long list still apply, and make room.
	rm := append(hostileSet("never", 500), full[:10]...)
	s.Updated(peerA, hostileSet("push", 10), append(rm, full[:10]...))
	got := s.ConnProtocols(c)
	assert.Len(t, got, DefaultMaxProtocolsPerConn)
	assert.NotContains(t, got, full[0])
	assert.Contains(t, got, hostileSet("push", 10)[9])
	checkConsistent(t, s)
}

func TestRetainedBytesBudgetDropsLongestDisconnected(t *testing.T) {
	const per = 40 + EntryOverhead
	s, mock := newMockStore(t, WithMaxRetainedBytes(25*per), WithSweepInterval(time.Hour))
	for i := range 3 {
		c := newConn(peer.ID(fmt.Sprint("p", i)))
		s.Identified(c, hostileSet(fmt.Sprint(i), 10))
		s.ConnClosed(c)
		mock.Add(time.Second)
	}
	assert.Nil(t, s.PeerProtocols("p0"), "the longest-disconnected goes first")
	assert.Len(t, s.PeerProtocols("p1"), 10)
	assert.Len(t, s.PeerProtocols("p2"), 10)
	checkConsistent(t, s)
}

func TestOrdinaryPeersKeepEverything(t *testing.T) {
	// A peer with many connections, each advertising a large honest set,
	// loses nothing to the budgets.
	s, _ := newMockStore(t)
	honest := hostileSet("honest", 60)
	for range 8 {
		s.Identified(newConn(peerA), honest)
	}
	assert.Len(t, s.PeerProtocols(peerA), 60)
	assert.Zero(t, s.Dropped())
}

func TestRandomEventsKeepCountsAndIndexInStep(t *testing.T) {
	s, mock := newMockStore(t, WithMaxBytesPerPeer(40*(20+EntryOverhead)), WithMaxRetainedBytesPerPeer(12*(20+EntryOverhead)),
		WithMaxRetainedPeers(5), WithSweepInterval(time.Hour))
	rng := rand.New(rand.NewPCG(1, 2))
	pool := make([]protocol.ID, 80)
	for i := range pool {
		pool[i] = protocol.ID(fmt.Sprintf("/p/%016d", i)) // 19 bytes
	}
	pick := func(n int) []protocol.ID {
		out := make([]protocol.ID, rng.IntN(n))
		for i := range out {
			out[i] = pool[rng.IntN(len(pool))]
		}
		return out
	}
	var conns []*fakeConn
	// Half the identifications repeat an earlier list, in fresh strings, as
	// peers running the same software do.
	var lists [][]protocol.ID
	list := func() []protocol.ID {
		if len(lists) > 0 && rng.IntN(2) == 0 {
			old := lists[len(lists)-1] // as the last peer sent it: shared
			if rng.IntN(2) == 0 {
				old = lists[rng.IntN(len(lists))]
			}
			out := make([]protocol.ID, len(old))
			for i, id := range old {
				out[i] = protocol.ID(strings.Clone(string(id)))
			}
			return out
		}
		l := pick(24)
		lists = append(lists, l)
		return l
	}
	for step := range 800 {
		if step == 400 {
			// The first half runs without the supporting index, the second
			// with the index built from what the first half left.
			_ = s.PeersSupporting(pool[0])
			require.True(t, s.indexed)
		}
		p := peer.ID(fmt.Sprint("p", rng.IntN(8)))
		switch rng.IntN(7) {
		case 0, 1:
			c := newConn(p)
			conns = append(conns, c)
			if rng.IntN(2) == 0 {
				s.Identified(c, pick(50))
			} else {
				s.Identified(c, list())
			}
		case 2:
			if len(conns) > 0 {
				c := conns[rng.IntN(len(conns))]
				s.Identified(c, list())
			}
		case 3:
			s.Updated(p, pick(5), pick(5))
		case 4:
			if len(conns) > 0 {
				i := rng.IntN(len(conns))
				s.ConnClosed(conns[i])
				conns = append(conns[:i], conns[i+1:]...)
			}
		case 5:
			mock.Add(10 * time.Second)
			s.sweep()
		case 6:
			if rng.IntN(10) == 0 {
				s.RemovePeer(p)
			}
		}
		checkConsistent(t, s)
		if t.Failed() {
			return
		}
	}
}

func TestMemoryComesBackAfterChurn(t *testing.T) {
	s, mock := newMockStore(t, WithGracePeriod(time.Minute), WithSweepInterval(time.Hour))
	var conns []*fakeConn
	for i := range 1500 {
		p := peer.ID(fmt.Sprint("churn", i))
		c1, c2 := newConn(p), newConn(p)
		conns = append(conns, c1, c2)
		s.Identified(c1, hostileSet(fmt.Sprint(i), 40))
		s.Identified(c2, append(hostileSet(fmt.Sprint(i), 20), kad))
		s.Updated(p, []protocol.ID{ping}, []protocol.ID{kad})
	}
	for _, c := range conns {
		s.ConnClosed(c)
	}
	mock.Add(time.Minute)
	s.sweep()
	s.mu.RLock()
	defer s.mu.RUnlock()
	assert.Empty(t, s.peers)
	assert.Empty(t, s.table)
	assert.Nil(t, s.retained, "the drained queue lets its array go")
	assert.Zero(t, s.retainedBytes)
	assert.Zero(t, s.peakPeers, "the emptied peer map was rebuilt")
	assert.Zero(t, s.peakTable, "the emptied table was rebuilt")
	assert.Empty(t, s.removed, "the removals noted go with their peers")
}

func connSets(ps *peerState) []*protoSet {
	out := make([]*protoSet, len(ps.conns))
	for i, cs := range ps.conns {
		out[i] = &cs.set
	}
	return out
}

func TestIndexPastAChunkKeepsInStep(t *testing.T) {
	// A protocol most peers speak has a supporter list of several chunks:
	// peers leave from anywhere in it, join at its end, and cross chunk
	// boundaries both ways; positions must stay exact.
	s, mock := newMockStore(t, WithGracePeriod(time.Minute), WithSweepInterval(time.Hour))
	rng := rand.New(rand.NewPCG(3, 4))
	var conns []*fakeConn
	next := 0
	connect := func() {
		c := newConn(peer.ID(fmt.Sprint("many", next)))
		next++
		conns = append(conns, c)
		s.Identified(c, []protocol.ID{kad, ping})
	}
	for range 3*listChunk + 10 {
		connect()
	}
	checkConsistent(t, s)
	for round := range 6 {
		// Shrink across two chunk boundaries, then grow back past them.
		for range listChunk + listChunk/2 {
			i := rng.IntN(len(conns))
			s.ConnClosed(conns[i])
			conns = append(conns[:i], conns[i+1:]...)
		}
		mock.Add(time.Minute)
		s.sweep() // the retained peers go too
		checkConsistent(t, s)
		require.Len(t, s.PeersSupporting(kad), len(conns), "round %d", round)
		for range listChunk + listChunk/2 {
			connect()
		}
		checkConsistent(t, s)
		require.Len(t, s.PeersSupporting(kad), len(conns), "round %d", round)
	}
	for _, c := range conns {
		s.ConnClosed(c)
	}
	mock.Add(time.Minute)
	s.sweep()
	s.mu.RLock()
	defer s.mu.RUnlock()
	assert.Empty(t, s.table, "every list emptied, every entry freed")
}

func TestSupportingIndexBuiltOnFirstAsk(t *testing.T) {
	// A store nobody asks PeersSupporting keeps no index: events pay nothing
	// for it. The first ask builds it from every live and retained union,
	// and from then on events keep it in step.
	s, mock := newMockStore(t, WithGracePeriod(time.Minute), WithSweepInterval(time.Hour))
	live, counted, gone := newConn(peerA), newConn(peerB), newConn("gone")
	s.Identified(live, []protocol.ID{kad, ping})
	s.Identified(counted, []protocol.ID{kad})
	s.Identified(newConn(peerB), []protocol.ID{gossip})
	s.Identified(gone, []protocol.ID{kad, gossip})
	s.ConnClosed(gone) // retained
	checkConsistent(t, s)
	s.mu.RLock()
	require.False(t, s.indexed)
	for _, h := range s.table {
		assert.Zero(t, h.supporters(), "%s indexed before anyone asked", h.id)
	}
	s.mu.RUnlock()

	assert.ElementsMatch(t, []peer.ID{peerA, peerB, "gone"}, s.PeersSupporting(kad))
	assert.ElementsMatch(t, []peer.ID{peerB, "gone"}, s.PeersSupporting(gossip))
	assert.ElementsMatch(t, []peer.ID{peerA}, s.PeersSupporting(ping))
	checkConsistent(t, s)

	s.ConnClosed(counted)
	s.Updated(peerA, []protocol.ID{gossip}, []protocol.ID{kad})
	s.Identified(newConn("late"), []protocol.ID{kad})
	checkConsistent(t, s)
	assert.ElementsMatch(t, []peer.ID{"late", "gone"}, s.PeersSupporting(kad))
	assert.ElementsMatch(t, []peer.ID{peerA, peerB, "gone"}, s.PeersSupporting(gossip))
	mock.Add(time.Minute)
	s.sweep()
	checkConsistent(t, s)
	assert.ElementsMatch(t, []peer.ID{"late"}, s.PeersSupporting(kad), "the retained peer expired")
}

func TestSameListAsLastTakesOnlyLiveEntries(t *testing.T) {
	// An identification whose list equals the last one resolved takes its
	// handles without table lookups, but only while they are the table's:
	// an entry no union holds any more may have a successor for its ID, or
	// a new ID as a spare.
	s, _ := newMockStore(t, WithGracePeriod(0))
	a := newConn("a")
	s.Identified(a, []protocol.ID{kad, ping})
	s.ConnClosed(a)                                           // no grace: kad and ping leave every union
	s.Identified(newConn("c"), []protocol.ID{kad, kad, ping}) // a duplicate: not the last list
	checkConsistent(t, s)
	s.Identified(newConn("d"), []protocol.ID{kad, ping})
	checkConsistent(t, s)
	assert.ElementsMatch(t, []peer.ID{"c", "d"}, s.PeersSupporting(kad))

	// The same list again, as most peers send it: one entry per ID.
	for i := range 3 {
		s.Identified(newConn(peer.ID(fmt.Sprint("same", i))), []protocol.ID{kad, ping})
	}
	checkConsistent(t, s)
	assert.Len(t, s.PeersSupporting(ping), 5)
}

func TestPeersSendingTheSameListShareItUntilOneChanges(t *testing.T) {
	// Peers that send the list the last peer sent share one list: a change
	// to one peer's (a push, a second connection, a close, a retained cut)
	// must leave the others' as they were.
	for _, indexed := range []bool{false, true} {
		t.Run(fmt.Sprint("indexed=", indexed), func(t *testing.T) {
			s, mock := newMockStore(t, WithGracePeriod(time.Minute), WithSweepInterval(time.Hour),
				WithMaxRetainedBytesPerPeer(len(kad)+EntryOverhead))
			if indexed {
				_ = s.PeersSupporting(kad)
			}
			same := func() []protocol.ID {
				return []protocol.ID{protocol.ID(strings.Clone(string(kad))), protocol.ID(strings.Clone(string(ping)))}
			}
			c1, c2, c3 := newConn("p1"), newConn("p2"), newConn("p3")
			s.Identified(c1, same())
			s.Identified(c2, same())
			s.Identified(c3, same())
			s.mu.RLock()
			assert.True(t, s.peers["p2"].sharedList && s.peers["p3"].sharedList, "the same list is shared")
			s.mu.RUnlock()
			checkConsistent(t, s)

			s.Updated("p1", []protocol.ID{gossip}, []protocol.ID{ping})
			checkConsistent(t, s)
			s.Updated("p2", nil, []protocol.ID{kad})
			checkConsistent(t, s)
			assert.ElementsMatch(t, []protocol.ID{kad, gossip}, s.PeerProtocols("p1"))
			assert.ElementsMatch(t, []protocol.ID{ping}, s.PeerProtocols("p2"))
			assert.ElementsMatch(t, []protocol.ID{kad, ping}, s.PeerProtocols("p3"), "untouched by the others' pushes")

			c3b := newConn("p3")
			s.Identified(c3b, []protocol.ID{gossip}) // p3 counts now
			s.Identified(newConn("p4"), same())
			checkConsistent(t, s)
			s.ConnClosed(c3)
			checkConsistent(t, s)
			assert.ElementsMatch(t, []protocol.ID{gossip}, s.PeerProtocols("p3"))
			s.ConnClosed(c3b)
			c4 := newConn("p5")
			s.Identified(c4, same())
			s.ConnClosed(c4) // retained, cut to kad by the retained budget
			checkConsistent(t, s)
			assert.Equal(t, []protocol.ID{kad}, s.PeerProtocols("p5"))
			assert.ElementsMatch(t, []protocol.ID{kad, ping}, s.PeerProtocols("p4"), "untouched by the cut")
			s.Identified(newConn("p5"), same()) // replaces the retained set
			s.RemovePeer("p4")
			checkConsistent(t, s)
			assert.ElementsMatch(t, []protocol.ID{kad, ping}, s.PeerProtocols("p5"))
			mock.Add(time.Minute)
			s.sweep()
			checkConsistent(t, s)
		})
	}
}

func TestIndexBuiltWhileEventsGoOn(t *testing.T) {
	// The first PeersSupporting builds the index in batches, letting events
	// in between: peers that come, go and change meanwhile end up in it as
	// their sets are.
	s, mock := newMockStore(t, WithGracePeriod(time.Minute), WithSweepInterval(time.Hour))
	var conns []*fakeConn
	for i := range 8 * sweepBatch {
		c := newConn(peer.ID(fmt.Sprint("before", i)))
		conns = append(conns, c)
		s.Identified(c, []protocol.ID{kad, ping})
	}
	done := make(chan struct{})
	go func() {
		defer close(done)
		for i := range 4 * sweepBatch {
			c := newConn(peer.ID(fmt.Sprint("during", i)))
			s.Identified(c, []protocol.ID{kad, gossip})
			s.ConnClosed(conns[i])
			s.Updated(peer.ID(fmt.Sprint("before", len(conns)-1-i)), []protocol.ID{gossip}, []protocol.ID{kad})
			if i%sweepBatch == 0 {
				mock.Add(time.Minute)
				s.sweep()
			}
		}
	}()
	_ = s.PeersSupporting(kad)
	<-done
	checkConsistent(t, s)
	for _, proto := range []protocol.ID{kad, ping, gossip} {
		want := 0
		for _, p := range s.Peers() {
			if slices.Contains(s.PeerProtocols(p), proto) {
				want++
			}
		}
		assert.Len(t, s.PeersSupporting(proto), want, "supporters of %s", proto)
	}
}
