package protocols

import (
	"slices"
	"sync"
	"sync/atomic"
	"time"

	"github.com/libp2p/go-libp2p/core/network"
	"github.com/libp2p/go-libp2p/core/peer"
	"github.com/libp2p/go-libp2p/core/protocol"
	"github.com/pstoremigrate/pstoremigrate/newstore"
	"github.com/pstoremigrate/pstoremigrate/newstore/internal/background"
)

const (
	// DefaultGracePeriod is how long a peer's protocols are kept after its
	// last connection closed; the same as go-libp2p's pstoremanager.
	DefaultGracePeriod = time.Minute
	// DefaultMaxProtocolsPerConn is how many protocols a connection keeps.
	// go-libp2p's pstoremem refuses outright a peer that advertises more
	// than 128 (its protobook's default cap), so no peer that works with
	// upstream today advertises more, and honest peers advertise tens.
	// A longer list keeps its first 128 and the rest is counted as dropped
	// without being looked at.
	DefaultMaxProtocolsPerConn = 128
	// DefaultSweepInterval is how often peers past their grace period are
	// freed, at most: the interval is half the grace period when that is
	// shorter (as go-libp2p's pstoremanager sweeps), so a disconnected
	// peer's set is gone by grace + grace/2 at the latest, whatever the
	// grace. Queries never answer with it past the grace in any case.
	DefaultSweepInterval = 10 * time.Second
	// DefaultMaxRetainedPeers is how many disconnected peers may keep their
	// set within the grace period; past it the longest-disconnected go first,
	// so churn (or a peer-ID-cycling attacker) cannot grow the store.
	DefaultMaxRetainedPeers = 100_000

	// DefaultMaxBytesPerPeer is the byte budget of one peer's live
	// connections: the protocols of all of them, each entry charged its
	// length plus EntryOverhead. A real peer advertises tens of protocols,
	// under 2 KiB with the overhead counted, on a handful of connections
	// (the resource manager allows 8 by default); 64 KiB is 32 such sets,
	// and keeps a peer that advertises a thousand 40-byte protocols on each
	// of its connections at about one connection's worth.
	DefaultMaxBytesPerPeer = 64 << 10
	// DefaultMaxRetainedBytesPerPeer is the budget of the set a peer keeps
	// for its grace period once its last connection closed: three times the
	// largest honest set, so a disconnected peer costs kilobytes whatever it
	// advertised while connected.
	DefaultMaxRetainedBytesPerPeer = 6 << 10
	// DefaultMaxRetainedBytes is the budget of every retained set together.
	// At about 1.5 KiB for an honest peer it holds twenty thousand peers
	// disconnected within one grace period, more churn than a busy node sees
	// in a minute; past it the longest-disconnected go first.
	DefaultMaxRetainedBytes = 32 << 20

	// EntryOverhead is what each protocol entry is charged on top of its
	// length: the handle in the connection's set and the union, the
	// union's index slots, the supporting index's entry and, for a protocol
	// no one else advertises, the interning table's.
	EntryOverhead = 64
)

// handle is an interned protocol ID: 8 bytes, compared by pointer.
type handle = *protoEntry

// Store keeps the protocols of each live connection. It is safe for
// concurrent use; build one with New.
type Store struct {
	// sweeper holds the store's clock and frees peers past their grace
	// period.
	sweeper *background.Sweeper
	// sweepInterval is WithSweepInterval's, 0 to follow the grace period.
	sweepInterval           time.Duration
	grace                   time.Duration
	maxPerConn              int
	maxRetained             int
	maxBytesPerPeer         int
	maxRetainedBytesPerPeer int
	maxRetainedBytes        int

	mu sync.RWMutex
	// peers holds every peer with live connections or a retained set. A
	// connection is found through its peer (peerState.conn): no map of
	// connections is kept, which would cost every identification and
	// close two more map operations.
	peers map[peer.ID]*peerState
	// table interns the protocols and, once indexed, indexes the per-peer
	// unions, so PeersSupporting does not scan every peer: for each
	// protocol, the peers whose union has it. A slice, not a set:
	// appending costs far less than inserting into a large hash table, and
	// the union's pos makes removal O(1).
	table map[protocol.ID]*protoEntry
	// indexing is set when the first PeersSupporting starts building the
	// index, indexed once it is built: from then on every change keeps it
	// in step. Until then no event pays for it: the index is a fifth of
	// what an identification costs, in time and in memory per peer, and a
	// store may never be asked (compat/peerstore's is not: the legacy
	// Peerstore has no such question). The build goes over the peers in
	// batches (see buildIndex); a peer is in the index once its
	// peerState.indexed is set, which every peer created while indexing
	// is from the start.
	indexing, indexed bool
	// indexMu serialises builds of the index.
	indexMu sync.Mutex
	// spare are entries an event created for protocols no set took (left
	// out for a bound), kept for the next event's new protocols: a peer
	// over its budget sends a thousand at a time, all dropped, and
	// allocating an entry for each cost more than the rest of the event.
	// At most maxPerConn; the sweeper lets them go.
	spare []*protoEntry
	// lastList is the last identification's list as resolveListLocked
	// resolved it (at most smallSet handles); the sweeper lets it go.
	lastList []handle
	// lastShared is lastList for unions to share (sharedLastLocked), nil
	// until one does.
	lastShared []handle
	// removed holds, per peer, what identify pushes removed and did not add
	// again, so that a late identification event cannot bring it back (see
	// Identified); at most maxPerConn per peer, all forgotten when full. It
	// is here rather than in peerState because few peers ever need it.
	removed map[*peerState]map[protocol.ID]struct{}
	// peak* are the most entries each map held since it was last rebuilt:
	// Go maps never shrink, so the sweeper rebuilds one that has emptied
	// out.
	peakPeers, peakTable, peakRemoved int
	// retained lists the peers kept after their last connection, in the
	// order they lost it, which with one grace period is expiry order too.
	// Entries go stale when the peer reconnects or is dropped; retainedCount
	// counts the live ones, retainedBytes their charge.
	retained      []retainedRef
	retainedCount int
	retainedBytes int

	// dropped counts the protocols left out for being over a bound.
	dropped atomic.Uint64

	// tracer exports metrics (WithMetricsTracer); untrack stops it reading
	// the store.
	tracer  *newstore.MetricsTracer
	untrack func()

	// feeds are the event-bus subscriptions Attach started.
	feeds background.Feeds
}

type retainedRef struct {
	ps    *peerState
	until int64
}

type connState struct {
	conn network.Conn
	ps   *peerState
	// set is what the peer advertised on conn. While conn is its peer's
	// only connection and the peer never had two, set is the peer's union
	// as well (see peerState.union).
	set protoSet
}

// peerState is one peer's. Every connected peer has one, so it is kept to
// 64 bytes, allocated with its first connection (peerWithConn): the rarely
// needed parts live elsewhere (Store.removed, protoSet.aux).
type peerState struct {
	id peer.ID
	// conns are the peer's live identified connections.
	conns []*connState
	// union is what PeerProtocols answers: the union over conns, or, once
	// conns is empty, the last union until retainedUntil. It is the only
	// connection's own set until the peer has a second one; from then on
	// it is a set of its own that counts, per protocol, the connections
	// advertising it (counted), so a connection's change costs O(change).
	union *protoSet
	// retainedUntil is the UnixNano instant the retained union dies; 0 while
	// the peer has live connections.
	retainedUntil int64
	// bytes is the peer's charge against its budget: the entries of its
	// connections' sets while it has any, of its retained union after. The
	// budget options keep it within int32.
	bytes   int32
	counted bool
	// sharedList tells that the union's list is one other peers' unions
	// use too (sharedSetLocked): it is copied before it changes.
	sharedList bool
	// indexed tells that ps is in the supporting index (see
	// Store.indexing).
	indexed bool
}

// peerWithConn is a peer allocated with its first connection and the
// slice slot that lists it: nearly every peer has one connection, and one
// allocation serves what would otherwise take three, on every peer of a
// churning host. The connection's part stays with the peer when that
// connection closes (see ConnClosed, which empties it).
type peerWithConn struct {
	ps    peerState
	cs    connState
	conns [1]*connState
}

func newPeerWithConn(p peer.ID) (*peerState, *connState) {
	r := &peerWithConn{}
	r.ps.id = p
	r.ps.conns = r.conns[:0]
	return &r.ps, &r.cs
}

// New returns a Store with its sweeper running; Close stops it.
func New(opts ...Option) *Store {
	s := &Store{
		sweeper:                 background.NewSweeper(DefaultSweepInterval),
		grace:                   DefaultGracePeriod,
		maxPerConn:              DefaultMaxProtocolsPerConn,
		maxRetained:             DefaultMaxRetainedPeers,
		maxBytesPerPeer:         DefaultMaxBytesPerPeer,
		maxRetainedBytesPerPeer: DefaultMaxRetainedBytesPerPeer,
		maxRetainedBytes:        DefaultMaxRetainedBytes,
		peers:                   make(map[peer.ID]*peerState),
		table:                   make(map[protocol.ID]*protoEntry),
		removed:                 make(map[*peerState]map[protocol.ID]struct{}),
	}
	for _, o := range opts {
		o(s)
	}
	if s.sweepInterval > 0 {
		s.sweeper.SetInterval(s.sweepInterval)
	} else {
		s.sweeper.SetInterval(background.IntervalFor(s.grace, DefaultSweepInterval))
	}
	s.sweeper.Start(s.sweep)
	return s
}

// Dropped returns how many protocols the store left out since it was built
// for being over a bound: a connection's cap, a peer's byte budget, the
// budget of a retained set or of all of them.
func (s *Store) Dropped() uint64 { return s.dropped.Load() }

// Reasons the store drops protocols for, as the metrics tracer labels them.
const (
	dropMaxPerConn              = "max_protocols_per_conn"
	dropMaxBytesPerPeer         = "max_bytes_per_peer"
	dropMaxRetainedBytesPerPeer = "max_retained_bytes_per_peer"
	dropMaxRetainedBytes        = "max_retained_bytes"
	dropRetainedPeerEvicted     = "retained_peer_evicted"
)

// drop counts n protocols left out for reason, in Dropped and the tracer.
func (s *Store) drop(reason string, n int) {
	if n <= 0 {
		return
	}
	s.dropped.Add(uint64(n))
	s.tracer.Dropped(newstore.StoreProtocols, reason, n)
}

// Identified records the set of protocols c's peer advertised on c, as
// EvtPeerIdentificationCompleted carries it. A connection already closed is
// ignored: its Disconnected notification may have come first. It costs time
// linear in the set and in c's previous one, however many connections the
// peer has; what is over the connection's cap or the peer's byte budget is
// left out (see Dropped).
//
// go-libp2p emits this event for every identify push too, after the push's
// EvtPeerProtocolsUpdated, but it handles pushes concurrently: the event of
// an older push can arrive after a newer push's and would bring back a
// protocol the newer one dropped. So a later event on a connection does not
// bring back what an update removed since (and no update added again); the
// updates carry removals in the order identify wrote them.
func (s *Store) Identified(c network.Conn, protos []protocol.ID) {
	if c == nil || c.IsClosed() {
		return
	}
	ids := s.dedupe(protos)
	p := c.RemotePeer()
	s.mu.Lock()
	defer s.mu.Unlock()
	var buf [smallSet]handle
	ps := s.peers[p]
	cs := ps.conn(c)
	if cs == nil {
		room := s.liveRoom(s.maxPerConn, s.maxBytesPerPeer)
		if ps != nil && len(ps.conns) > 0 {
			room.bytes -= int(ps.bytes) // a retained set is replaced, live ones stay
		}
		set, same := s.resolveListLocked(buf[:0], ids, &room)
		s.addConnLocked(c, p, ps, set, same)
		s.recycleLocked(set, lookup{})
		return
	}
	// A later event on c: see above.
	if removed := s.removed[ps]; len(removed) > 0 {
		kept := make([]protocol.ID, 0, len(ids)) // ids may be the caller's slice
		for _, id := range ids {
			if _, gone := removed[id]; !gone {
				kept = append(kept, id)
			}
		}
		ids = kept
	}
	// The new set replaces cs's: it may take cs's room.
	room := s.liveRoom(s.maxPerConn, s.maxBytesPerPeer-int(ps.bytes)+setCost(cs.set.list))
	set, _ := s.resolveListLocked(buf[:0], ids, &room)
	next := makeLookup(set)
	// From the end: removeAt moves the last entry, one already kept, into
	// the slot it frees.
	for i := len(cs.set.list) - 1; i >= 0; i-- {
		if !next.has(cs.set.list[i]) {
			s.connRemoveAtLocked(cs, i)
		}
	}
	for _, h := range set {
		s.connAddLocked(cs, h)
	}
	s.recycleLocked(set, lookup{})
}

// addConnLocked starts c's set, and p's state (ps, nil if p has none yet)
// if c is its first connection. set holds no duplicates.
//
// same tells that set is the last list resolved (see resolveListLocked):
// a first connection whose set is within bounds then shares its list with
// the other peers that sent the same.
func (s *Store) addConnLocked(c network.Conn, p peer.ID, ps *peerState, set []handle, same bool) {
	var cs *connState
	if ps == nil {
		ps, cs = newPeerWithConn(p)
		ps.indexed = s.indexing
		s.peers[p] = ps
		s.peakPeers = max(s.peakPeers, len(s.peers))
	} else {
		if len(ps.conns) == 0 && ps.union != nil {
			// The first live connection replaces what was retained.
			s.unretainLocked(ps)
			s.clearUnionLocked(ps)
		}
		cs = new(connState)
	}
	cs.conn, cs.ps = c, ps
	ps.conns = append(ps.conns, cs)
	first := len(ps.conns) == 1 && !ps.counted
	if len(set) > 0 && ps.indexed && first {
		cs.set.pos = make([]int32, 0, len(set))
	}
	if first && same && len(set) <= s.maxPerConn && setCost(set) <= s.maxBytesPerPeer {
		ps.union = &cs.set
		s.sharedSetLocked(ps, set)
		return
	}
	if len(set) > 0 {
		// Sized once: appending one by one would leave up to twice the
		// memory behind for the connection's lifetime.
		cs.set.list = make([]handle, 0, len(set))
	}
	switch {
	case first:
		ps.union = &cs.set
		s.firstSetLocked(ps, set)
		return
	case !ps.counted:
		s.countLocked(ps)
	}
	for _, h := range set {
		s.connAddLocked(cs, h)
	}
}

// firstSetLocked fills the union of ps, which has one connection and an
// empty union, with set (no duplicates): what connAddLocked would do for
// each entry, without looking for it in the set first, and with the set's
// lookup map, if it needs one, built once at the end. This is the path of
// nearly every identification: a peer's first connection.
func (s *Store) firstSetLocked(ps *peerState, set []handle) {
	u := ps.union
	for i, h := range set {
		if len(u.list) >= s.maxPerConn {
			s.drop(dropMaxPerConn, len(set)-i)
			break
		}
		cost := entryCost(h)
		if int(ps.bytes)+cost > s.maxBytesPerPeer {
			s.drop(dropMaxBytesPerPeer, 1)
			continue
		}
		ps.bytes += int32(cost)
		u.list = append(u.list, h)
		if ps.indexed {
			u.pos = append(u.pos, int32(h.supporters()))
			h.addSupporter(ps)
		}
		if h.refs++; h.refs == 1 {
			s.table[h.id] = h
		}
	}
	s.peakTable = max(s.peakTable, len(s.table))
	if len(u.list) > smallSet {
		u.index()
	}
}

// sharedSetLocked is firstSetLocked for a set that is lastList, within
// the peer's bounds: the union takes the shared copy of the list instead
// of a list of its own, and copies it only if it ever changes (ownList).
func (s *Store) sharedSetLocked(ps *peerState, set []handle) {
	u := ps.union
	u.list = s.sharedLastLocked()
	ps.sharedList = true
	for _, h := range set {
		ps.bytes += int32(entryCost(h))
		if ps.indexed {
			u.pos = append(u.pos, int32(h.supporters()))
			h.addSupporter(ps)
		}
		h.refs++ // > 0 already: resolveListLocked takes only live entries
	}
}

// countLocked gives ps a union of its own, with counts, when a second
// connection joins the one whose set was its union. Once counted, a peer
// stays so while it has connections: a connection that comes and goes costs
// only its own set.
func (s *Store) countLocked(ps *peerState) {
	first := ps.union
	u := &protoSet{list: first.list, pos: first.pos, aux: first.aux}
	u.startCounting()
	*first = protoSet{list: append([]handle(nil), first.list...)}
	if len(first.list) > smallSet {
		first.index()
	}
	ps.union, ps.counted = u, true
}

// connAddLocked adds h to cs's set unless it is there or over a bound.
func (s *Store) connAddLocked(cs *connState, h handle) {
	if cs.set.has(h) {
		return
	}
	ps := cs.ps
	cost := entryCost(h)
	if len(cs.set.list) >= s.maxPerConn {
		s.drop(dropMaxPerConn, 1)
		return
	}
	if int(ps.bytes)+cost > s.maxBytesPerPeer {
		s.drop(dropMaxBytesPerPeer, 1)
		return
	}
	ps.bytes += int32(cost)
	if !ps.counted {
		s.unionAddLocked(ps, h) // cs.set is the union
		return
	}
	cs.set.add(h)
	if j := ps.union.find(h); j >= 0 {
		ps.union.aux.count[j]++
		return
	}
	s.unionAddLocked(ps, h)
}

// connRemoveAtLocked removes the entry at slot i of cs's set.
func (s *Store) connRemoveAtLocked(cs *connState, i int) {
	ps := cs.ps
	h := cs.set.list[i]
	ps.bytes -= int32(entryCost(h))
	if !ps.counted {
		s.unionRemoveAtLocked(ps, i) // cs.set is the union
		return
	}
	cs.set.removeAt(i)
	j := ps.union.find(h)
	if count := ps.union.aux.count; count[j] > 1 {
		count[j]--
	} else {
		s.unionRemoveAtLocked(ps, j)
	}
}

// unionAddLocked adds h, which it lacks, to ps's union and to the index.
func (s *Store) unionAddLocked(ps *peerState, h handle) {
	ps.ownList()
	u := ps.union
	u.add(h)
	if ps.indexed {
		u.pos = append(u.pos, int32(h.supporters()))
		h.addSupporter(ps)
	}
	if ps.counted {
		u.aux.count = append(u.aux.count, 1)
	}
	if h.refs++; h.refs == 1 {
		s.table[h.id] = h
		s.peakTable = max(s.peakTable, len(s.table))
	}
}

// unionRemoveAtLocked removes the entry at slot i of ps's union, and ps
// from the index.
func (s *Store) unionRemoveAtLocked(ps *peerState, i int) {
	ps.ownList()
	u := ps.union
	h := u.list[i]
	if ps.indexed {
		s.unindexLocked(h, u.pos[i])
	}
	u.removeAt(i)
	if h.refs--; h.refs == 0 {
		delete(s.table, h.id)
	}
}

// unindexLocked removes the entry at i from h's list, moving the last entry
// into its place.
func (s *Store) unindexLocked(h handle, i int32) {
	last := h.supporters() - 1
	if moved := h.supporter(last); int(i) != last {
		h.setSupporter(int(i), moved)
		moved.union.pos[moved.union.find(h)] = i
	}
	h.removeLastSupporter()
}

// buildIndex builds the supporting index, which no event kept before: one
// pass over the peers, a batch of them per hold of the lock, as the
// sweeper goes, so that events wait no longer than a batch. Peers created
// meanwhile are indexed from the start (Store.indexing); the range goes on
// over the map between holds, as Go allows a map to change under a range
// (a peer removed meanwhile is not produced; should the map be rebuilt, the
// range ends on the old one, which held every peer not indexed).
func (s *Store) buildIndex() {
	s.indexMu.Lock()
	defer s.indexMu.Unlock()
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.indexed {
		return
	}
	s.indexing = true
	n := 0
	for _, ps := range s.peers {
		if n++; n%sweepBatch == 0 {
			s.mu.Unlock()
			s.mu.Lock()
		}
		s.indexPeerLocked(ps)
	}
	s.indexed = true
}

// indexPeerLocked puts ps, not indexed yet, in the index.
func (s *Store) indexPeerLocked(ps *peerState) {
	if ps.indexed {
		return
	}
	ps.indexed = true
	u := ps.union
	if u == nil || len(u.list) == 0 {
		return
	}
	u.pos = make([]int32, len(u.list))
	for i, h := range u.list {
		u.pos[i] = int32(h.supporters())
		h.addSupporter(ps)
	}
}

// clearUnionLocked empties ps's union and takes ps out of the index.
func (s *Store) clearUnionLocked(ps *peerState) {
	u := ps.union
	if u == nil {
		return
	}
	if ps.sharedList {
		// Nothing is written into a list other peers use: it is let go.
		for i, h := range u.list {
			if ps.indexed {
				s.unindexLocked(h, u.pos[i])
			}
			if h.refs--; h.refs == 0 {
				delete(s.table, h.id)
			}
		}
		u.list, u.pos, ps.sharedList = nil, nil, false
	}
	for i := len(u.list) - 1; i >= 0; i-- {
		s.unionRemoveAtLocked(ps, i)
	}
	ps.union, ps.counted, ps.bytes = nil, false, 0
}

// Updated applies an identify push (EvtPeerProtocolsUpdated) to every live
// connection of p, or to p's retained set if it has none. It costs time
// linear in the change times the peer's connections, never in the sets.
func (s *Store) Updated(p peer.ID, added, removed []protocol.ID) {
	if len(added) == 0 && len(removed) == 0 {
		return
	}
	addIDs := s.dedupe(added)
	// Removals are neither cut nor deduplicated: what they name may sit
	// anywhere in a long list, and they cost a lookup each, no entry.
	rmIDs := removed
	s.mu.Lock()
	defer s.mu.Unlock()
	ps := s.peers[p]
	if ps == nil {
		return // nothing identified on this peer yet: the identify event will carry the set
	}
	var addBuf, rmBuf [smallSet]handle
	rm := s.resolveLocked(rmBuf[:0], rmIDs, nil) // what no set has needs no removing
	add := s.resolveLocked(addBuf[:0], addIDs, s.updateRoomLocked(ps, rm))
	rmSet := makeLookup(rm)
	s.noteRemovedLocked(ps, add, rm)
	defer func() {
		// An entry both added and removed is recycled once, with rm.
		s.recycleLocked(add, rmSet)
		s.recycleLocked(rm, lookup{})
	}()
	if len(ps.conns) == 0 {
		s.updateRetainedLocked(ps, add, rm, rmSet)
		return
	}
	for _, h := range rm {
		if !ps.union.has(h) {
			continue
		}
		for _, cs := range ps.conns {
			if i := cs.set.find(h); i >= 0 {
				s.connRemoveAtLocked(cs, i)
			}
		}
	}
	for _, h := range add {
		if rmSet.has(h) {
			continue
		}
		for _, cs := range ps.conns {
			s.connAddLocked(cs, h)
		}
	}
}

// updateRetainedLocked applies a push to a retained union, within the
// retained budgets.
func (s *Store) updateRetainedLocked(ps *peerState, add, rm []handle, rmSet lookup) {
	for _, h := range rm {
		if i := ps.union.find(h); i >= 0 {
			ps.bytes -= int32(entryCost(h))
			s.retainedBytes -= entryCost(h)
			s.unionRemoveAtLocked(ps, i)
		}
	}
	for _, h := range add {
		if rmSet.has(h) || ps.union.has(h) {
			continue
		}
		cost := entryCost(h)
		switch {
		case len(ps.union.list) >= s.maxPerConn:
			s.drop(dropMaxPerConn, 1)
			continue
		case int(ps.bytes)+cost > s.maxRetainedBytesPerPeer:
			s.drop(dropMaxRetainedBytesPerPeer, 1)
			continue
		case s.retainedBytes+cost > s.maxRetainedBytes:
			s.drop(dropMaxRetainedBytes, 1)
			continue
		}
		ps.bytes += int32(cost)
		s.retainedBytes += cost
		s.unionAddLocked(ps, h)
	}
}

// noteRemovedLocked keeps s.removed[ps]: what rm takes from the peer's set
// is noted, what add gives back is not any more.
func (s *Store) noteRemovedLocked(ps *peerState, add, rm []handle) {
	removed := s.removed[ps]
	if removed != nil {
		for _, h := range add {
			delete(removed, h.id)
		}
	}
	for _, h := range rm {
		if !ps.union.has(h) {
			continue
		}
		if removed == nil || len(removed) >= s.maxPerConn {
			// Forgetting every older removal at once keeps this O(1)
			// amortized; a late event older than maxPerConn removals is
			// not worth a queue.
			removed = make(map[protocol.ID]struct{})
			s.removed[ps] = removed
			s.peakRemoved = max(s.peakRemoved, len(s.removed))
		}
		removed[h.id] = struct{}{}
	}
}

// ConnClosed forgets c. When it was its peer's last live connection, the
// peer's set is retained for the grace period, within the retained budgets.
// It costs time linear in c's set.
func (s *Store) ConnClosed(c network.Conn) {
	p := c.RemotePeer()
	// Read before the lock, which events on the peer's other connections
	// and identifications wait for.
	until := s.sweeper.Clock.Now().Add(s.grace).UnixNano()
	s.mu.Lock()
	defer s.mu.Unlock()
	ps := s.peers[p]
	cs := ps.conn(c)
	if cs == nil {
		return
	}
	ps.conns = removeConn(ps.conns, cs)
	if len(ps.conns) > 0 {
		// ps is counted: a peer with two connections always is.
		for i := len(cs.set.list) - 1; i >= 0; i-- {
			s.connRemoveAtLocked(cs, i)
		}
		// cs may live on inside its peer's allocation (peerWithConn):
		// it must keep neither the connection nor its set's array.
		*cs = connState{}
		return
	}
	if cap(ps.conns) > 1 {
		ps.conns = nil // a grown slice goes; the first slot is the peer's own
	}
	if ps.union == &cs.set {
		// cs.set is kept as the retained set: it must not keep the
		// connection alive.
		cs.conn = nil
	} else {
		// The union is the peer's own (counted); cs may live on inside
		// its peer's allocation and must keep nothing.
		*cs = connState{}
	}
	if s.grace <= 0 {
		s.dropPeerLocked(ps)
		return
	}
	s.retainLocked(ps, until)
}

// conn is ps's live connection c, nil if there is none (or no ps). The
// scan is over the peer's own connections, a handful (the resource
// manager's default allows 8), the same removeConn makes at a close.
func (ps *peerState) conn(c network.Conn) *connState {
	if ps == nil {
		return nil
	}
	for _, cs := range ps.conns {
		if cs.conn == c {
			return cs
		}
	}
	return nil
}

func removeConn(conns []*connState, cs *connState) []*connState {
	for i, x := range conns {
		if x == cs {
			conns[i] = conns[len(conns)-1]
			conns[len(conns)-1] = nil
			return conns[:len(conns)-1]
		}
	}
	return conns
}

// retainLocked keeps ps's union, which lost its last connection, for the
// grace period (until, UnixNano): cut to the per-peer retained budget,
// stripped of what only live connections need, and within the budgets of
// all retained peers.
func (s *Store) retainLocked(ps *peerState, until int64) {
	// The last connection's set (in a connState nothing else refers to any
	// more), or the counted union: kept where it is, not copied.
	u := ps.union
	u.stopCounting()
	ps.counted = false
	// ps.bytes is what the last connection's set, now the union, is
	// charged: a set within the budget, nearly every one, is kept whole.
	bytes, keep := int(ps.bytes), len(u.list)
	if bytes > s.maxRetainedBytesPerPeer {
		bytes, keep = 0, 0
		for _, h := range u.list {
			if bytes+entryCost(h) > s.maxRetainedBytesPerPeer {
				break
			}
			bytes += entryCost(h)
			keep++
		}
	}
	if cut := len(u.list) - keep; cut > 0 {
		s.drop(dropMaxRetainedBytesPerPeer, cut)
		for i := len(u.list) - 1; i >= keep; i-- {
			s.unionRemoveAtLocked(ps, i)
		}
	}
	if cap(u.list) > len(u.list) {
		u.compact()
	}
	ps.bytes = int32(bytes)
	ps.retainedUntil = until
	s.retained = append(s.retained, retainedRef{ps: ps, until: until})
	s.retainedCount++
	s.retainedBytes += bytes
	for s.retainedCount > s.maxRetained || s.retainedBytes > s.maxRetainedBytes {
		s.dropOldestRetainedLocked()
	}
}

// unretainLocked takes ps out of the retained count and budget.
func (s *Store) unretainLocked(ps *peerState) {
	if len(ps.conns) == 0 && ps.retainedUntil != 0 {
		s.retainedCount--
		s.retainedBytes -= int(ps.bytes)
	}
	ps.retainedUntil = 0 // makes any queue entry stale
}

// live tells whether r still stands for a retained peer.
func (s *Store) live(r retainedRef) bool {
	return s.peers[r.ps.id] == r.ps && len(r.ps.conns) == 0 && r.ps.retainedUntil == r.until
}

// dropOldestRetainedLocked drops the peer that has been retained longest.
func (s *Store) dropOldestRetainedLocked() {
	for len(s.retained) > 0 {
		r := s.popRetainedLocked()
		if s.live(r) {
			s.drop(dropRetainedPeerEvicted, len(r.ps.union.list))
			s.dropPeerLocked(r.ps)
			s.tracer.Evicted(newstore.StoreProtocols, 1)
			return
		}
	}
}

func (s *Store) popRetainedLocked() retainedRef {
	r := s.retained[0]
	s.retained[0] = retainedRef{}
	s.retained = s.retained[1:]
	if len(s.retained) == 0 {
		s.retained = nil // the drained backing array goes with it
	}
	return r
}

// RemovePeer forgets everything about p, its live connections' sets
// included; the next identify on one of them tells them again.
func (s *Store) RemovePeer(p peer.ID) {
	s.mu.Lock()
	defer s.mu.Unlock()
	ps := s.peers[p]
	if ps == nil {
		return
	}
	s.dropPeerLocked(ps)
}

// ConnProtocols returns the protocols c's peer advertised on c, nil if c is
// not a live identified connection.
func (s *Store) ConnProtocols(c network.Conn) []protocol.ID {
	p := c.RemotePeer()
	s.mu.RLock()
	defer s.mu.RUnlock()
	cs := s.peers[p].conn(c)
	if cs == nil {
		return nil
	}
	return values(cs.set.list)
}

// HasConn tells whether c is a live connection the store has a set for.
func (s *Store) HasConn(c network.Conn) bool {
	p := c.RemotePeer()
	s.mu.RLock()
	defer s.mu.RUnlock()
	return s.peers[p].conn(c) != nil
}

// PeerProtocols returns the union of the protocols p advertised on its live
// connections, or within the grace period after the last one closed.
func (s *Store) PeerProtocols(p peer.ID) []protocol.ID {
	now := s.sweeper.Clock.Now().UnixNano()
	s.mu.RLock()
	defer s.mu.RUnlock()
	u := s.unionLocked(p, now)
	if u == nil {
		return nil
	}
	if len(u.list) == 0 {
		return []protocol.ID{} // identified, advertising nothing: not unknown
	}
	return values(u.list)
}

// Supports returns those of protos that p supports, in the order given.
func (s *Store) Supports(p peer.ID, protos ...protocol.ID) []protocol.ID {
	now := s.sweeper.Clock.Now().UnixNano()
	s.mu.RLock()
	defer s.mu.RUnlock()
	u := s.unionLocked(p, now)
	if u == nil {
		return nil
	}
	var out []protocol.ID
	for _, want := range protos {
		if h := s.table[want]; h != nil && u.has(h) {
			out = append(out, want)
		}
	}
	return out
}

// FirstSupported returns the first of protos that p supports, "" if none.
func (s *Store) FirstSupported(p peer.ID, protos ...protocol.ID) protocol.ID {
	now := s.sweeper.Clock.Now().UnixNano()
	s.mu.RLock()
	defer s.mu.RUnlock()
	u := s.unionLocked(p, now)
	if u == nil {
		return ""
	}
	for _, want := range protos {
		if h := s.table[want]; h != nil && u.has(h) {
			return want
		}
	}
	return ""
}

// PeersSupporting returns the peers whose set (see PeerProtocols) includes
// proto. The first call builds the supporting index (see the package doc),
// in time linear in every set the store holds, in batches that let events
// in; later calls cost the protocol's peers.
func (s *Store) PeersSupporting(proto protocol.ID) []peer.ID {
	now := s.sweeper.Clock.Now().UnixNano()
	s.mu.RLock()
	if !s.indexed {
		s.mu.RUnlock()
		s.buildIndex()
		s.mu.RLock()
	}
	defer s.mu.RUnlock()
	h := s.table[proto]
	if h == nil {
		return []peer.ID{}
	}
	out := make([]peer.ID, 0, h.supporters())
	for i := range h.supporters() {
		if ps := h.supporter(i); len(ps.conns) > 0 || ps.retainedUntil > now {
			out = append(out, ps.id)
		}
	}
	return out
}

// Peers returns the peers that have a set: live identified connections, or a
// retained set within the grace period.
func (s *Store) Peers() []peer.ID {
	now := s.sweeper.Clock.Now().UnixNano()
	s.mu.RLock()
	defer s.mu.RUnlock()
	out := make([]peer.ID, 0, len(s.peers))
	for p, ps := range s.peers {
		if len(ps.conns) > 0 || ps.retainedUntil > now {
			out = append(out, p)
		}
	}
	return out
}

// Close stops the sweeper and every attachment.
func (s *Store) Close() error {
	err := s.feeds.Close()
	s.sweeper.Stop()
	s.stopTracking()
	return err
}

// unionLocked is p's live set, nil when p has none or its grace ran out.
func (s *Store) unionLocked(p peer.ID, now int64) *protoSet {
	ps := s.peers[p]
	if ps == nil || ps.union == nil {
		return nil
	}
	if len(ps.conns) == 0 && ps.retainedUntil <= now {
		return nil
	}
	return ps.union
}

func (s *Store) dropPeerLocked(ps *peerState) {
	s.unretainLocked(ps)
	s.clearUnionLocked(ps)
	ps.conns = nil
	delete(s.peers, ps.id)
	delete(s.removed, ps)
}

// sweepBatch is how much the sweeper does per hold of the lock, so that an
// event never waits on more than that.
const sweepBatch = 256

func (s *Store) sweep() {
	now := s.sweeper.Clock.Now().UnixNano()
	// Expiry order is queue order: stop at the first live entry still in
	// its grace period.
	for more := true; more; {
		s.mu.Lock()
		more = false
		for n := 0; len(s.retained) > 0; n++ {
			if n == sweepBatch {
				more = true
				break
			}
			r := s.retained[0]
			if s.live(r) && r.until > now {
				break
			}
			s.popRetainedLocked()
			if s.live(r) {
				s.dropPeerLocked(r.ps)
			}
		}
		s.mu.Unlock()
	}
	s.mu.Lock()
	// Stale entries behind a live one wait for their turn; compact when
	// they outnumber the live ones.
	if len(s.retained) > 2*s.retainedCount+64 {
		kept := make([]retainedRef, 0, s.retainedCount)
		for _, r := range s.retained {
			if s.live(r) {
				kept = append(kept, r)
			}
		}
		s.retained = kept
	}
	s.shrinkMapsLocked()
	s.spare = nil
	s.lastList, s.lastShared = nil, nil
	s.mu.Unlock()

	// A Disconnected notification can be missed (a conn that closed while an
	// attachment was being set up); closed conns must not live forever.
	// One batch of peers per hold of the lock: the range goes on over the
	// map between holds, as Go allows a map to change under a range (a
	// peer removed meanwhile is not produced, one added may wait for the
	// next sweep). Should the map be rebuilt meanwhile, the range ends on
	// the old one, and ConnClosed ignores a conn the store has dropped.
	var closed []network.Conn
	s.mu.RLock()
	n := 0
	for _, ps := range s.peers {
		if n++; n%sweepBatch == 0 {
			s.mu.RUnlock()
			s.mu.RLock()
		}
		for _, cs := range ps.conns {
			if cs.conn.IsClosed() {
				closed = append(closed, cs.conn)
			}
		}
	}
	s.mu.RUnlock()
	for _, c := range closed {
		s.ConnClosed(c)
	}
}

// shrinkMapsLocked rebuilds the maps that hold a quarter or less of what
// they once held: Go maps keep their buckets however many entries leave, so
// after a burst of peers the memory would stay. Rebuilding costs the live
// entries, a quarter of the removals that made it due.
func (s *Store) shrinkMapsLocked() {
	const floor = 1024
	if s.peakPeers > floor && 4*len(s.peers) < s.peakPeers {
		s.peers = rebuilt(s.peers)
		s.peakPeers = len(s.peers)
	}
	if s.peakTable > floor && 4*len(s.table) < s.peakTable {
		s.table = rebuilt(s.table)
		s.peakTable = len(s.table)
	}
	if s.peakRemoved > floor && 4*len(s.removed) < s.peakRemoved {
		s.removed = rebuilt(s.removed)
		s.peakRemoved = len(s.removed)
	}
}

// rebuilt copies m into a map sized for what it holds now (maps.Clone
// keeps the source's size).
func rebuilt[K comparable, V any](m map[K]V) map[K]V {
	out := make(map[K]V, len(m))
	for k, v := range m {
		out[k] = v
	}
	return out
}

// dedupe returns at most maxPerConn of protos and no more than a peer's
// byte budget (the rest counted as dropped), without duplicates if there are
// more than smallSet of them. It runs before the lock is taken. A list of
// smallSet or fewer, what honest peers send, is returned as it is (callers
// never write to it): resolveLocked drops its duplicates by comparing
// handles, which costs less than comparing strings.
func (s *Store) dedupe(protos []protocol.ID) []protocol.ID {
	if len(protos) == 0 {
		return nil
	}
	if len(protos) > s.maxPerConn {
		s.drop(dropMaxPerConn, len(protos)-s.maxPerConn)
		protos = protos[:s.maxPerConn]
	}
	// No set may hold more than a peer's budget: what lies past it is
	// dropped before anything is paid for it.
	budget := 0
	for i, p := range protos {
		if budget += len(p) + EntryOverhead; budget > s.maxBytesPerPeer {
			s.drop(dropMaxBytesPerPeer, len(protos)-i)
			protos = protos[:i]
			break
		}
	}
	if len(protos) <= smallSet {
		return protos
	}
	out := make([]protocol.ID, 0, len(protos))
	seen := make(map[protocol.ID]struct{}, len(protos))
	for _, p := range protos {
		if _, dup := seen[p]; !dup {
			seen[p] = struct{}{}
			out = append(out, p)
		}
	}
	return out
}

// newRoom bounds the new entries (protocols no set has) an event may
// create: a new entry goes into no set that is full, so what is past the
// room is counted as dropped without an entry being made for it.
type newRoom struct {
	n, bytes         int    // entries and bytes that may still be created
	nReason, bReason string // why one past each is dropped
}

func (s *Store) liveRoom(n, bytes int) newRoom {
	return newRoom{n: n, bytes: bytes, nReason: dropMaxPerConn, bReason: dropMaxBytesPerPeer}
}

// updateRoomLocked is the room of a push to ps that removes rm: no more new
// entries than the emptiest set of ps has room for once rm is gone, no more
// bytes than the peer's budget has left then (an upper bound: what the push
// adds that some set already has takes room too).
func (s *Store) updateRoomLocked(ps *peerState, rm []handle) *newRoom {
	freed := setCost(rm)
	if len(ps.conns) == 0 {
		if ps.union == nil {
			return &newRoom{}
		}
		room := newRoom{
			n:       s.maxPerConn - len(ps.union.list) + len(rm),
			bytes:   s.maxRetainedBytesPerPeer - int(ps.bytes) + freed,
			nReason: dropMaxPerConn, bReason: dropMaxRetainedBytesPerPeer,
		}
		if all := s.maxRetainedBytes - s.retainedBytes + freed; all < room.bytes {
			room.bytes, room.bReason = all, dropMaxRetainedBytes
		}
		return &room
	}
	emptiest := s.maxPerConn
	for _, cs := range ps.conns {
		emptiest = min(emptiest, len(cs.set.list))
	}
	room := s.liveRoom(s.maxPerConn-emptiest+len(rm), s.maxBytesPerPeer-int(ps.bytes)+freed*len(ps.conns))
	return &room
}

// resolveLocked appends to dst the entries of ids, as dedupe returned
// them: the interned one of a protocol some union has, or, within room, a
// new entry that joins the table when a union takes it; a new one past the
// room is counted as dropped. With a nil room, protocols no set has are
// left out. Duplicates, which dedupe leaves in a short list, are dropped
// here. Callers pass a buffer for smallSet entries on their stack, so an
// honest event allocates nothing for it.
func (s *Store) resolveLocked(dst []handle, ids []protocol.ID, room *newRoom) []handle {
	if room != nil {
		dst = slices.Grow(dst, len(ids))
	}
	short := len(ids) <= smallSet
	start := len(dst)
	for _, id := range ids {
		h := s.table[id]
		switch {
		case h != nil:
			if short && slices.Contains(dst[start:], h) {
				continue
			}
		case room == nil:
			continue
		default:
			// A new entry is the one of its ID not in the table (no
			// union holds it yet): compare strings with those only.
			if short && slices.ContainsFunc(dst[start:], func(x handle) bool { return x.refs == 0 && x.id == id }) {
				continue
			}
			cost := len(id) + EntryOverhead
			switch {
			case room.n <= 0:
				s.drop(room.nReason, 1)
				continue
			case cost > room.bytes:
				s.drop(room.bReason, 1)
				continue
			}
			room.n--
			room.bytes -= cost
			h = s.newEntryLocked(id)
		}
		dst = append(dst, h)
	}
	return dst
}

// resolveListLocked is resolveLocked for an identification's list. Peers
// that run the same software advertise the same list in the same order, so
// the last list resolved is kept (lastList): a list equal to it, entry by
// entry, takes its handles without a table lookup for each protocol.
func (s *Store) resolveListLocked(dst []handle, ids []protocol.ID, room *newRoom) ([]handle, bool) {
	if last := s.lastList; len(last) == len(ids) && len(ids) > 0 {
		same := true
		for i, h := range last {
			// refs > 0: h is still the table's entry for its ID.
			if h.refs == 0 || h.id != ids[i] {
				same = false
				break
			}
		}
		if same {
			return append(dst, last...), true
		}
	}
	start := len(dst)
	dst = s.resolveLocked(dst, ids, room)
	if set := dst[start:]; len(set) == len(ids) && len(set) <= smallSet {
		// Nothing dropped or merged: the list resolves to set. New
		// entries are not kept in lastList until a union holds them
		// (refs > 0 above).
		prev := s.lastList
		s.lastList = append(prev[:0], set...)
		if len(prev) > len(set) {
			clear(prev[len(set):]) // what the old list held past the new one
		}
		s.lastShared = nil
	}
	return dst, false
}

// sharedLastLocked is lastList as a list unions may share: its capacity is
// its length, so that an append to it makes a copy.
func (s *Store) sharedLastLocked() []handle {
	if s.lastShared == nil {
		s.lastShared = make([]handle, len(s.lastList))
		copy(s.lastShared, s.lastList)
	}
	return s.lastShared
}

// ownList gives ps's union a list of its own before it changes (see
// peerState.sharedList).
func (ps *peerState) ownList() {
	if ps.sharedList {
		ps.union.list = slices.Clone(ps.union.list)
		ps.sharedList = false
	}
}

// setCost is what the entries of set are charged.
func setCost(set []handle) int {
	n := 0
	for _, h := range set {
		n += entryCost(h)
	}
	return n
}

// newEntryLocked returns an entry for id, which no set has: a spare one if
// there is.
func (s *Store) newEntryLocked(id protocol.ID) handle {
	if n := len(s.spare); n > 0 {
		h := s.spare[n-1]
		s.spare[n-1] = nil
		s.spare = s.spare[:n-1]
		h.id = id
		return h
	}
	return &protoEntry{id: id}
}

// recycleLocked keeps as spares the entries of set, as resolveLocked
// returned it, but those in skip, that no set holds (any
// more): an entry no union has is in no set, and in no table.
func (s *Store) recycleLocked(set []handle, skip lookup) {
	for _, h := range set {
		if len(s.spare) >= s.maxPerConn {
			return
		}
		// An entry already made spare (id "") is not made spare twice: a
		// list of removals may name it more than once.
		if h.refs == 0 && h.id != "" && !skip.has(h) {
			h.id = "" // the string is the peer's: let it go
			s.spare = append(s.spare, h)
		}
	}
}

// lookup answers membership in a list of handles: by scanning a small one,
// through a map for a large one.
type lookup struct {
	list []handle
	m    map[handle]struct{}
}

func makeLookup(list []handle) lookup {
	l := lookup{list: list}
	if len(list) > smallSet {
		l.m = make(map[handle]struct{}, len(list))
		for _, h := range list {
			l.m[h] = struct{}{}
		}
	}
	return l
}

func (l lookup) has(h handle) bool {
	if l.m != nil {
		_, ok := l.m[h]
		return ok
	}
	return slices.Contains(l.list, h)
}

// entryCost is what one protocol entry is charged against a budget.
func entryCost(h handle) int { return len(h.id) + EntryOverhead }

func values(set []handle) []protocol.ID {
	if set == nil {
		return nil
	}
	out := make([]protocol.ID, len(set))
	for i, h := range set {
		out[i] = h.id
	}
	return out
}
