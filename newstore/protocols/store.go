package protocols

import (
	"slices"
	"sync"
	"time"
	"unique"

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
	// DefaultMaxProtocolsPerConn is how many protocols a connection keeps;
	// go-libp2p's identify truncates at the same number.
	DefaultMaxProtocolsPerConn = 1024
	// DefaultSweepInterval is how often peers past their grace period are
	// freed. Queries never answer with them in any case.
	DefaultSweepInterval = 10 * time.Second
	// DefaultMaxRetainedPeers is how many disconnected peers may keep their
	// set within the grace period; past it the longest-disconnected go first,
	// so churn (or a peer-ID-cycling attacker) cannot grow the store.
	DefaultMaxRetainedPeers = 100_000
)

// emptySet tells a peer known to advertise nothing from an unknown one.
var emptySet = []handle{}

// handle is an interned protocol ID: 8 bytes, compared by pointer.
type handle = unique.Handle[protocol.ID]

// Store keeps the protocols of each live connection. It is safe for
// concurrent use; build one with New.
type Store struct {
	// sweeper holds the store's clock and frees peers past their grace
	// period.
	sweeper     *background.Sweeper
	grace       time.Duration
	maxPerConn  int
	maxRetained int

	mu    sync.RWMutex
	conns map[network.Conn]*connState
	peers map[peer.ID]*peerState
	// supporting indexes the per-peer unions, so PeersSupporting does not
	// scan every peer: for each protocol, the peers whose union has it. A
	// slice, not a set: appending costs far less than inserting into a large
	// hash table, and peerState.pos makes removal O(1).
	supporting map[handle][]*peerState
	// retained lists the peers kept after their last connection, in the
	// order they lost it, which with one grace period is expiry order too.
	// Entries go stale when the peer reconnects or is dropped; retainedCount
	// counts the live ones.
	retained      []retainedRef
	retainedCount int

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
	peer   peer.ID
	protos []handle
}

type peerState struct {
	id peer.ID
	// conns are the peer's live identified connections.
	conns []network.Conn
	// union is what PeerProtocols answers: the union over conns, or, once
	// conns is empty, the last union until retainedUntil.
	union []handle
	// pos[i] is this peer's index in supporting[union[i]].
	pos []int32
	// retainedUntil is the UnixNano instant the retained union dies; 0 while
	// the peer has live connections.
	retainedUntil int64
	// removed holds what identify pushes removed and did not add again,
	// so that a late identification event cannot bring it back (see
	// Identified); at most maxPerConn, the oldest forgotten first.
	removed []handle
}

// New returns a Store with its sweeper running; Close stops it.
func New(opts ...Option) *Store {
	s := &Store{
		sweeper:     background.NewSweeper(DefaultSweepInterval),
		grace:       DefaultGracePeriod,
		maxPerConn:  DefaultMaxProtocolsPerConn,
		maxRetained: DefaultMaxRetainedPeers,
		conns:       make(map[network.Conn]*connState),
		peers:       make(map[peer.ID]*peerState),
		supporting:  make(map[handle][]*peerState),
	}
	for _, o := range opts {
		o(s)
	}
	s.sweeper.Start(s.sweep)
	return s
}

// Identified records the set of protocols c's peer advertised on c, as
// EvtPeerIdentificationCompleted carries it. A connection already closed is
// ignored: its Disconnected notification may have come first.
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
	set := s.intern(nil, protos)
	p := c.RemotePeer()
	s.mu.Lock()
	defer s.mu.Unlock()
	cs := s.conns[c]
	if cs != nil {
		// A later event on c: see above.
		if removed := s.peers[p].removed; len(removed) > 0 {
			set = s.apply(set, nil, removed)
		}
	} else {
		cs = &connState{peer: p}
		s.conns[c] = cs
		ps := s.peers[p]
		if ps == nil {
			ps = &peerState{id: p}
			s.peers[p] = ps
		}
		if len(ps.conns) == 0 && ps.retainedUntil != 0 {
			// The first live connection replaces what was retained.
			ps.retainedUntil = 0
			s.retainedCount--
		}
		ps.conns = append(ps.conns, c)
	}
	cs.protos = set
	s.recomputeLocked(p, s.peers[p])
}

// Updated applies an identify push (EvtPeerProtocolsUpdated) to every live
// connection of p, or to p's retained set if it has none.
func (s *Store) Updated(p peer.ID, added, removed []protocol.ID) {
	if len(added) == 0 && len(removed) == 0 {
		return
	}
	add := s.intern(nil, added)
	rm := s.intern(nil, removed)
	s.mu.Lock()
	defer s.mu.Unlock()
	ps := s.peers[p]
	if ps == nil {
		return // nothing identified on this peer yet: the identify event will carry the set
	}
	s.noteRemovedLocked(ps, add, rm)
	if len(ps.conns) == 0 {
		s.setUnionLocked(ps, s.apply(ps.union, add, rm))
		return
	}
	for _, c := range ps.conns {
		cs := s.conns[c]
		cs.protos = s.apply(cs.protos, add, rm)
	}
	s.recomputeLocked(p, ps)
}

// noteRemovedLocked keeps ps.removed: what rm takes from the peer's set is
// noted, what add gives back is not any more.
func (s *Store) noteRemovedLocked(ps *peerState, add, rm []handle) {
	if len(ps.removed) > 0 && len(add) > 0 {
		ps.removed = s.apply(ps.removed, nil, add)
	}
	for _, h := range rm {
		if !contains(ps.union, h) || contains(ps.removed, h) {
			continue
		}
		if len(ps.removed) >= s.maxPerConn {
			ps.removed = slices.Delete(ps.removed, 0, 1)
		}
		ps.removed = append(ps.removed, h)
	}
}

// ConnClosed forgets c. When it was its peer's last live connection, the
// peer's set is retained for the grace period.
func (s *Store) ConnClosed(c network.Conn) {
	s.mu.Lock()
	defer s.mu.Unlock()
	cs := s.conns[c]
	if cs == nil {
		return
	}
	delete(s.conns, c)
	ps := s.peers[cs.peer]
	for i, pc := range ps.conns {
		if pc == c {
			ps.conns[i] = ps.conns[len(ps.conns)-1]
			ps.conns[len(ps.conns)-1] = nil
			ps.conns = ps.conns[:len(ps.conns)-1]
			break
		}
	}
	if len(ps.conns) > 0 {
		s.recomputeLocked(cs.peer, ps)
		return
	}
	ps.conns = nil
	if s.grace <= 0 {
		s.dropPeerLocked(cs.peer, ps)
		return
	}
	until := s.sweeper.Clock.Now().Add(s.grace).UnixNano()
	ps.retainedUntil = until
	s.retained = append(s.retained, retainedRef{ps: ps, until: until})
	s.retainedCount++
	for s.retainedCount > s.maxRetained {
		s.dropOldestRetainedLocked()
	}
}

// live tells whether r still stands for a retained peer.
func (s *Store) live(r retainedRef) bool {
	return s.peers[r.ps.id] == r.ps && len(r.ps.conns) == 0 && r.ps.retainedUntil == r.until
}

// dropOldestRetainedLocked drops the peer that has been retained longest.
func (s *Store) dropOldestRetainedLocked() {
	for len(s.retained) > 0 {
		r := s.retained[0]
		s.retained[0] = retainedRef{}
		s.retained = s.retained[1:]
		if s.live(r) {
			s.dropPeerLocked(r.ps.id, r.ps)
			s.tracer.Evicted(newstore.StoreProtocols, 1)
			return
		}
	}
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
	for _, c := range ps.conns {
		delete(s.conns, c)
	}
	s.dropPeerLocked(p, ps)
}

// ConnProtocols returns the protocols c's peer advertised on c, nil if c is
// not a live identified connection.
func (s *Store) ConnProtocols(c network.Conn) []protocol.ID {
	s.mu.RLock()
	defer s.mu.RUnlock()
	cs := s.conns[c]
	if cs == nil {
		return nil
	}
	return values(cs.protos)
}

// HasConn tells whether c is a live connection the store has a set for.
func (s *Store) HasConn(c network.Conn) bool {
	s.mu.RLock()
	defer s.mu.RUnlock()
	return s.conns[c] != nil
}

// PeerProtocols returns the union of the protocols p advertised on its live
// connections, or within the grace period after the last one closed.
func (s *Store) PeerProtocols(p peer.ID) []protocol.ID {
	now := s.sweeper.Clock.Now().UnixNano()
	s.mu.RLock()
	defer s.mu.RUnlock()
	return values(s.unionLocked(p, now))
}

// Supports returns those of protos that p supports, in the order given.
func (s *Store) Supports(p peer.ID, protos ...protocol.ID) []protocol.ID {
	now := s.sweeper.Clock.Now().UnixNano()
	s.mu.RLock()
	defer s.mu.RUnlock()
	union := s.unionLocked(p, now)
	var out []protocol.ID
	for _, want := range protos {
		if contains(union, unique.Make(want)) {
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
	union := s.unionLocked(p, now)
	for _, want := range protos {
		if contains(union, unique.Make(want)) {
			return want
		}
	}
	return ""
}

// PeersSupporting returns the peers whose set (see PeerProtocols) includes
// proto.
func (s *Store) PeersSupporting(proto protocol.ID) []peer.ID {
	now := s.sweeper.Clock.Now().UnixNano()
	h := unique.Make(proto)
	s.mu.RLock()
	defer s.mu.RUnlock()
	list := s.supporting[h]
	out := make([]peer.ID, 0, len(list))
	for _, ps := range list {
		if len(ps.conns) > 0 || ps.retainedUntil > now {
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
func (s *Store) unionLocked(p peer.ID, now int64) []handle {
	ps := s.peers[p]
	if ps == nil {
		return nil
	}
	if len(ps.conns) == 0 && ps.retainedUntil <= now {
		return nil
	}
	if ps.union == nil {
		return emptySet
	}
	return ps.union
}

// recomputeLocked sets p's union from its live connections.
func (s *Store) recomputeLocked(p peer.ID, ps *peerState) {
	var union []handle
	switch len(ps.conns) {
	case 0:
	case 1:
		union = s.conns[ps.conns[0]].protos // sets are never mutated in place: sharing is safe
	default:
		for _, c := range ps.conns {
			for _, h := range s.conns[c].protos {
				if !contains(union, h) {
					union = append(union, h)
				}
			}
		}
	}
	s.setUnionLocked(ps, union)
}

// setUnionLocked replaces p's union and keeps the supporting index in step.
func (s *Store) setUnionLocked(ps *peerState, union []handle) {
	for i, h := range ps.union {
		if !contains(union, h) {
			s.unindexLocked(h, ps.pos[i])
		}
	}
	var pos []int32
	if len(union) > 0 {
		pos = make([]int32, len(union))
	}
	for i, h := range union {
		if j := index(ps.union, h); j >= 0 {
			pos[i] = ps.pos[j]
			continue
		}
		list := s.supporting[h]
		pos[i] = int32(len(list))
		s.supporting[h] = append(list, ps)
	}
	ps.union, ps.pos = union, pos
}

// unindexLocked removes the entry at i from h's list, moving the last entry
// into its place.
func (s *Store) unindexLocked(h handle, i int32) {
	list := s.supporting[h]
	last := len(list) - 1
	if moved := list[last]; int(i) != last {
		list[i] = moved
		moved.pos[index(moved.union, h)] = i
	}
	list[last] = nil
	if last == 0 {
		delete(s.supporting, h)
		return
	}
	s.supporting[h] = list[:last]
}

func (s *Store) dropPeerLocked(p peer.ID, ps *peerState) {
	if len(ps.conns) == 0 && ps.retainedUntil != 0 {
		s.retainedCount--
	}
	ps.retainedUntil = 0 // makes any queue entry stale
	s.setUnionLocked(ps, nil)
	delete(s.peers, p)
}

func (s *Store) sweep() {
	now := s.sweeper.Clock.Now().UnixNano()
	s.mu.Lock()
	// Expiry order is queue order: stop at the first live entry still in
	// its grace period.
	for len(s.retained) > 0 {
		r := s.retained[0]
		if s.live(r) && r.until > now {
			break
		}
		s.retained[0] = retainedRef{}
		s.retained = s.retained[1:]
		if s.live(r) {
			s.dropPeerLocked(r.ps.id, r.ps)
		}
	}
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
	// A Disconnected notification can be missed (a conn that closed while an
	// attachment was being set up); closed conns must not live forever.
	var closed []network.Conn
	for c := range s.conns {
		if c.IsClosed() {
			closed = append(closed, c)
		}
	}
	s.mu.Unlock()
	for _, c := range closed {
		s.ConnClosed(c)
	}
}

// intern appends the handles of protos to dst, without duplicates and at
// most maxPerConn of them.
func (s *Store) intern(dst []handle, protos []protocol.ID) []handle {
	if len(protos) > s.maxPerConn {
		s.tracer.Dropped(newstore.StoreProtocols, "max_protocols_per_conn", len(protos)-s.maxPerConn)
		protos = protos[:s.maxPerConn]
	}
	if dst == nil && len(protos) > 0 {
		dst = make([]handle, 0, len(protos))
	}
	for _, p := range protos {
		h := unique.Make(p)
		if !contains(dst, h) {
			dst = append(dst, h)
		}
	}
	return dst
}

// apply returns a new set: set plus add minus rm, never mutating set.
func (s *Store) apply(set, add, rm []handle) []handle {
	out := make([]handle, 0, len(set)+len(add))
	for _, h := range set {
		if !contains(rm, h) {
			out = append(out, h)
		}
	}
	for _, h := range add {
		if len(out) >= s.maxPerConn {
			break
		}
		if !contains(out, h) && !contains(rm, h) {
			out = append(out, h)
		}
	}
	return out
}

func contains(set []handle, h handle) bool { return index(set, h) >= 0 }

func index(set []handle, h handle) int {
	for i, x := range set {
		if x == h {
			return i
		}
	}
	return -1
}

func values(set []handle) []protocol.ID {
	if set == nil {
		return nil
	}
	out := make([]protocol.ID, len(set))
	for i, h := range set {
		out[i] = h.Value()
	}
	return out
}
