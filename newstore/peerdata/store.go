package peerdata

import (
	"errors"
	"fmt"
	"reflect"
	"sync"
	"sync/atomic"
	"time"

	"github.com/libp2p/go-libp2p/core/peer"
	"github.com/pstoremigrate/pstoremigrate/newstore"
	"github.com/pstoremigrate/pstoremigrate/newstore/internal/background"
)

// Default bounds of a Store.
const (
	// DefaultMaxPeers is how many peers may hold data at once.
	DefaultMaxPeers = 100_000
	// DefaultMaxEntriesPerPeer is how many values one peer may hold.
	DefaultMaxEntriesPerPeer = 64
	// DefaultSweepInterval is how often expired values are freed. It does not
	// change when values expire: an expired value never answers a Get.
	DefaultSweepInterval = 10 * time.Second
	// DefaultMaxBytesPerPeer is how many bytes one peer's values may take,
	// as the store counts them (see the package doc). What protocols keep
	// per peer (an agent version, a score, a latency) is tens to hundreds
	// of bytes; 64 KiB leaves room for a legacy protocol set of a thousand
	// entries written through Put, and no more.
	DefaultMaxBytesPerPeer = 64 << 10
	// DefaultMaxRetainedBytes is how many bytes the values of disconnected
	// peers may take together. Past it the peers disconnected longest lose
	// their values first, so churning identities cannot grow the store past
	// it within a TTL. 64 MiB is a hundred thousand peers at 640 bytes.
	DefaultMaxRetainedBytes = 64 << 20
	// EntryOverhead is what each value is charged on top of its key's and
	// its own size: the entry's slot in its peer's slice.
	EntryOverhead = 64
)

var (
	// ErrNotFound is returned by Get when the peer holds no live value for
	// the key.
	ErrNotFound = errors.New("peerdata: no value for this peer and key")
	// ErrInvalidKey is returned for a key that is nil or not comparable.
	ErrInvalidKey = errors.New("peerdata: invalid key")
	// ErrNotConnected is returned by a Put with a zero ttlAfterDisconnect
	// for a peer that is not connected: the value would be dropped at once.
	ErrNotConnected = errors.New("peerdata: peer not connected and ttlAfterDisconnect is 0")
	// ErrTooManyPeers is returned by a Put that would make one more peer
	// hold data than the store's cap allows.
	ErrTooManyPeers = errors.New("peerdata: too many peers hold data")
	// ErrTooManyEntries is returned by a Put that would give a peer more
	// values than the store's per-peer cap allows.
	ErrTooManyEntries = errors.New("peerdata: too many values for this peer")
	// ErrTooManyBytes is returned by a Put that would make a peer's values
	// take more bytes than the store's per-peer budget allows.
	ErrTooManyBytes = errors.New("peerdata: values for this peer over the byte budget")
)

// Store holds values per peer and drops them a chosen time after the peer
// disconnects. It is safe for concurrent use. The zero value is not usable:
// build one with New.
type Store struct {
	// sweeper holds the store's clock and frees expired values.
	sweeper          *background.Sweeper
	maxPeers         int
	maxEntries       int
	maxBytesPerPeer  int
	maxRetainedBytes int

	mu    sync.Mutex
	peers map[peer.ID]*peerState
	// withData counts the peers in peers that hold at least one value: the
	// number the peer cap applies to.
	withData int
	// nextExpiry is at or before the earliest instant a value of a
	// disconnected peer expires (0: none pending). A Put at the peer cap
	// sweeps only once it has passed, so a full store refuses in O(1)
	// instead of scanning every peer on every Put.
	nextExpiry int64
	// peakPeers is the most entries peers held since it was last rebuilt:
	// Go maps never shrink, so the sweeper rebuilds one that emptied out.
	peakPeers int
	// disconnected lists the peers not connected that hold values, in the
	// order they got there; an entry is stale once its peer reconnects or
	// is dropped (seq differs). retainedBytes is what their values take.
	disconnected  []disconnectedRef
	seq           uint64
	retainedBytes int
	// dropped counts the values dropped to keep retainedBytes in budget.
	dropped atomic.Uint64

	// persist holds the keys whose values snapshots save (Persist).
	persist persistence

	// tracer exports metrics (WithMetricsTracer); untrack stops it reading
	// the store.
	tracer  *newstore.MetricsTracer
	untrack func()

	// feeds are the event-bus subscriptions Subscribe started.
	feeds background.Feeds
}

type disconnectedRef struct {
	p   peer.ID
	ps  *peerState
	seq uint64
}

type peerState struct {
	connected bool
	// bytes is what the values take, as sizeOf counts them.
	bytes int
	// seq is this peer's place in Store.disconnected, 0 while connected.
	seq uint64
	// entries is a slice, not a map: peers hold few values and a slice costs
	// a fraction of a map's memory per peer.
	entries []entry
}

// peerWithRoom is a peerState allocated with room for its first value:
// identify gives every peer one as it connects (compat/peerstore keeps the
// agent and protocol version as one value), and one allocation then serves
// what would otherwise take two (the state, then its first slice), on every
// peer of a churning host. A second value moves them all to a slice of
// their own.
type peerWithRoom struct {
	peerState
	room [1]entry
}

func newPeerState(connected bool) *peerState {
	r := &peerWithRoom{peerState: peerState{connected: connected}}
	r.entries = r.room[:0]
	return &r.peerState
}

// entry is one value. Every connected peer holds a few, so it keeps no
// more than it must: its charge is recomputed from key and val (size).
type entry struct {
	key, val any
	ttl      time.Duration
	// expires is the UnixNano instant the value dies, 0 while the peer is
	// connected.
	expires int64
}

// size is what e is charged against the byte budgets.
func (e *entry) size() int { return chargeOf(e.key, e.val) }

func chargeOf(key, val any) int { return sizeOf(key) + sizeOf(val) + EntryOverhead }

// New returns a Store with its bounds and a sweeper goroutine running; Close
// stops it.
func New(opts ...Option) *Store {
	s := &Store{
		sweeper:          background.NewSweeper(DefaultSweepInterval),
		persist:          persistence{budget: DefaultPersistBudget},
		maxPeers:         DefaultMaxPeers,
		maxEntries:       DefaultMaxEntriesPerPeer,
		maxBytesPerPeer:  DefaultMaxBytesPerPeer,
		maxRetainedBytes: DefaultMaxRetainedBytes,
		peers:            make(map[peer.ID]*peerState),
	}
	for _, o := range opts {
		o(s)
	}
	s.sweeper.Start(s.sweep)
	return s
}

// checkKey refuses what context.WithValue would panic on, plus values whose
// dynamic parts are not comparable (an interface field holding a slice),
// which would panic at the first ==.
func checkKey(key any) error {
	if key == nil {
		return fmt.Errorf("%w: nil", ErrInvalidKey)
	}
	t := reflect.TypeOf(key)
	if !t.Comparable() || (holdsInterface(t) && !reflect.ValueOf(key).Comparable()) {
		return fmt.Errorf("%w: a %T is not comparable", ErrInvalidKey, key)
	}
	return nil
}

// holdsInterfaceCache remembers holdsInterface per key type; programs use a
// handful of key types, so it stays small.
var holdsInterfaceCache sync.Map // reflect.Type -> bool

// holdsInterface reports whether values of t can carry an interface, whose
// dynamic value the type alone cannot vouch for. Most keys are strings or
// empty structs: for them the type check suffices and no value is walked.
func holdsInterface(t reflect.Type) bool {
	switch t.Kind() {
	case reflect.Interface:
		return true
	case reflect.Struct, reflect.Array:
		if t.Size() == 0 {
			return false // struct{} keys, the usual kind: no cache lookup
		}
	default:
		return false
	}
	if v, ok := holdsInterfaceCache.Load(t); ok {
		return v.(bool)
	}
	holds := false
	if t.Kind() == reflect.Array {
		holds = holdsInterface(t.Elem())
	}
	for i := 0; t.Kind() == reflect.Struct && i < t.NumField() && !holds; i++ {
		holds = holdsInterface(t.Field(i).Type)
	}
	holdsInterfaceCache.Store(t, holds)
	return holds
}

// Put stores val under key for p, replacing any value the key held. The value
// is dropped ttlAfterDisconnect after p disconnects (at disconnect for 0); for
// a peer that is not connected, ttlAfterDisconnect from now (see the package
// doc).
func (s *Store) Put(p peer.ID, key, val any, ttlAfterDisconnect time.Duration) error {
	if err := checkKey(key); err != nil {
		return err
	}
	if err := s.checkPersistable(key, val); err != nil {
		return err
	}
	if ttlAfterDisconnect < 0 {
		return fmt.Errorf("peerdata: put for peer %s: negative ttlAfterDisconnect %v", p, ttlAfterDisconnect)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	ps := s.peers[p]
	connected := ps != nil && ps.connected
	if !connected && ttlAfterDisconnect == 0 {
		return &putError{p: p, err: ErrNotConnected}
	}
	// Only values of a peer not connected expire: reading the clock costs
	// more than the rest of a connected peer's Put.
	var now, expires int64
	if !connected {
		now = s.sweeper.Clock.Now().UnixNano()
		expires = now + int64(ttlAfterDisconnect)
	}
	size := chargeOf(key, val)
	if ps != nil {
		s.pruneLocked(p, ps, now)
		ps = s.peers[p] // pruning may have dropped a disconnected peer
	}
	if ps != nil {
		for i := range ps.entries {
			if ps.entries[i].key == key {
				old := ps.entries[i].size()
				if ps.bytes-old+size > s.maxBytesPerPeer {
					s.tracer.Dropped(newstore.StorePeerData, "max_bytes_per_peer", 1)
					return &putError{p: p, err: ErrTooManyBytes, bound: "budget", n: s.maxBytesPerPeer, unit: " bytes"}
				}
				s.chargeLocked(ps, size-old)
				ps.entries[i] = entry{key: key, val: val, ttl: ttlAfterDisconnect, expires: expires}
				s.noteExpiryLocked(expires)
				s.evictLocked(ps)
				return nil
			}
		}
		if len(ps.entries) >= s.maxEntries {
			s.tracer.Dropped(newstore.StorePeerData, "max_entries_per_peer", 1)
			return &putError{p: p, err: ErrTooManyEntries, bound: "cap", n: s.maxEntries}
		}
	}
	if (ps == nil && size > s.maxBytesPerPeer) || (ps != nil && ps.bytes+size > s.maxBytesPerPeer) {
		s.tracer.Dropped(newstore.StorePeerData, "max_bytes_per_peer", 1)
		return &putError{p: p, err: ErrTooManyBytes, bound: "budget", n: s.maxBytesPerPeer, unit: " bytes"}
	}
	if ps == nil || len(ps.entries) == 0 {
		if s.withData >= s.maxPeers {
			if now == 0 {
				now = s.sweeper.Clock.Now().UnixNano()
			}
			if s.nextExpiry != 0 && now >= s.nextExpiry {
				s.sweepLocked(now)
			}
			if s.withData >= s.maxPeers {
				s.tracer.Dropped(newstore.StorePeerData, "max_peers", 1)
				return &putError{p: p, err: ErrTooManyPeers, bound: "cap", n: s.maxPeers}
			}
		}
		if ps == nil {
			ps = newPeerState(false)
			s.peers[p] = ps
			s.peakPeers = max(s.peakPeers, len(s.peers))
		}
		s.withData++
		if !ps.connected {
			s.enqueueLocked(p, ps)
		}
	}
	if ps.entries == nil {
		// A peer that once held more values than its room: room for two,
		// as growing from one would allocate twice.
		ps.entries = make([]entry, 0, 2)
	}
	ps.entries = append(ps.entries, entry{key: key, val: val, ttl: ttlAfterDisconnect, expires: expires})
	s.chargeLocked(ps, size)
	s.noteExpiryLocked(expires)
	s.evictLocked(ps)
	return nil
}

// chargeLocked adds delta to ps's bytes, and to the retained total while
// ps is not connected.
func (s *Store) chargeLocked(ps *peerState, delta int) {
	ps.bytes += delta
	if !ps.connected {
		s.retainedBytes += delta
	}
}

// enqueueLocked puts p, not connected and about to hold values, at the end
// of the disconnected queue.
func (s *Store) enqueueLocked(p peer.ID, ps *peerState) {
	s.seq++
	ps.seq = s.seq
	s.disconnected = append(s.disconnected, disconnectedRef{p: p, ps: ps, seq: s.seq})
}

// evictLocked drops the values of the peers disconnected longest until the
// retained values are within budget again; keep, whose value was just
// written, goes last.
func (s *Store) evictLocked(keep *peerState) {
	for s.retainedBytes > s.maxRetainedBytes && len(s.disconnected) > 0 {
		r := s.disconnected[0]
		if r.ps == keep && s.isQueuedLocked(r) {
			return // only what was just written is left over: let it expire
		}
		s.disconnected[0] = disconnectedRef{}
		s.disconnected = s.disconnected[1:]
		if s.isQueuedLocked(r) {
			n := len(r.ps.entries)
			s.dropped.Add(uint64(n))
			s.tracer.Dropped(newstore.StorePeerData, "max_retained_bytes", n)
			s.tracer.Evicted(newstore.StorePeerData, n)
			s.dropValuesLocked(r.p, r.ps)
		}
	}
	if len(s.disconnected) == 0 {
		s.disconnected = nil
	}
}

func (s *Store) isQueuedLocked(r disconnectedRef) bool {
	return s.peers[r.p] == r.ps && !r.ps.connected && r.ps.seq == r.seq
}

// dropValuesLocked drops every value of p.
func (s *Store) dropValuesLocked(p peer.ID, ps *peerState) {
	if len(ps.entries) == 0 {
		return
	}
	clear(ps.entries)
	ps.entries = ps.entries[:0]
	s.chargeLocked(ps, -ps.bytes)
	s.afterShrinkLocked(p, ps)
}

// Dropped returns how many values the store dropped before their time to
// keep disconnected peers' values within their byte budget.
func (s *Store) Dropped() uint64 { return s.dropped.Load() }

// Sizer is a value that tells the byte budgets what it holds, where its
// type's size would miss it: a struct of strings, say.
type Sizer interface {
	// PeerDataSize is the bytes the value takes, what it points to
	// included; it must not change while the value is stored.
	PeerDataSize() int
}

// sizeOf is what a key or value is charged: the bytes of a string or a byte
// slice, what a Sizer says, the size of anything else's type. Memory a value
// points to is not seen otherwise; callers that store large pointed-to
// values bound them themselves.
func sizeOf(v any) int {
	switch v := v.(type) {
	case nil:
		return 0
	case string:
		return 16 + len(v)
	case []byte:
		return 24 + cap(v)
	case Sizer:
		return v.PeerDataSize()
	}
	return int(reflect.TypeOf(v).Size())
}

// noteExpiryLocked keeps nextExpiry at or before a new expiry.
func (s *Store) noteExpiryLocked(expires int64) {
	if expires != 0 && (s.nextExpiry == 0 || expires < s.nextExpiry) {
		s.nextExpiry = expires
	}
}

// Get returns the live value stored under key for p, or ErrNotFound.
func (s *Store) Get(p peer.ID, key any) (any, error) {
	if err := checkKey(key); err != nil {
		return nil, err
	}
	now := s.sweeper.Clock.Now().UnixNano()
	s.mu.Lock()
	defer s.mu.Unlock()
	ps := s.peers[p]
	if ps == nil {
		return nil, ErrNotFound
	}
	for _, e := range ps.entries {
		if e.key == key {
			if e.expires != 0 && e.expires <= now {
				return nil, ErrNotFound
			}
			return e.val, nil
		}
	}
	return nil, ErrNotFound
}

// Delete drops the value stored under key for p, if any.
func (s *Store) Delete(p peer.ID, key any) error {
	if err := checkKey(key); err != nil {
		return err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	ps := s.peers[p]
	if ps == nil {
		return nil
	}
	for i := range ps.entries {
		if ps.entries[i].key == key {
			s.chargeLocked(ps, -ps.entries[i].size())
			ps.entries = deleteAt(ps.entries, i)
			s.afterShrinkLocked(p, ps)
			return nil
		}
	}
	return nil
}

// RemovePeer drops every value of p at once.
func (s *Store) RemovePeer(p peer.ID) {
	s.mu.Lock()
	defer s.mu.Unlock()
	ps := s.peers[p]
	if ps == nil || len(ps.entries) == 0 {
		return
	}
	s.dropValuesLocked(p, ps)
}

// Peers returns the peers that hold at least one live value.
func (s *Store) Peers() []peer.ID {
	now := s.sweeper.Clock.Now().UnixNano()
	s.mu.Lock()
	defer s.mu.Unlock()
	out := make([]peer.ID, 0, s.withData)
	for p, ps := range s.peers {
		for _, e := range ps.entries {
			if e.expires == 0 || e.expires > now {
				out = append(out, p)
				break
			}
		}
	}
	return out
}

// Connected records that p is connected: its values stop expiring until the
// next Disconnected. Subscribe calls it from connectedness events; call it
// directly for peers connected before the subscription.
func (s *Store) Connected(p peer.ID) {
	s.mu.Lock()
	defer s.mu.Unlock()
	ps := s.peers[p]
	if ps == nil {
		s.peers[p] = newPeerState(true)
		s.peakPeers = max(s.peakPeers, len(s.peers))
		return
	}
	if ps.connected {
		return
	}
	// Values that already expired stay dead: a reconnect only saves values
	// still within their TTL.
	s.pruneLocked(p, ps, s.sweeper.Clock.Now().UnixNano())
	s.retainedBytes -= ps.bytes
	ps.connected, ps.seq = true, 0
	for i := range ps.entries {
		ps.entries[i].expires = 0
	}
}

// Disconnected records that p is no longer connected: each of its values now
// lives its ttlAfterDisconnect.
func (s *Store) Disconnected(p peer.ID) {
	now := s.sweeper.Clock.Now().UnixNano()
	s.mu.Lock()
	defer s.mu.Unlock()
	ps := s.peers[p]
	if ps == nil || !ps.connected {
		return
	}
	ps.connected = false
	if len(ps.entries) == 0 {
		delete(s.peers, p)
		return
	}
	kept := ps.entries[:0]
	for _, e := range ps.entries {
		if e.ttl == 0 {
			ps.bytes -= e.size()
			continue
		}
		e.expires = now + int64(e.ttl)
		s.noteExpiryLocked(e.expires)
		kept = append(kept, e)
	}
	clear(ps.entries[len(kept):]) // let dropped values be collected
	ps.entries = kept
	s.afterShrinkLocked(p, ps)
	if len(ps.entries) > 0 {
		s.retainedBytes += ps.bytes
		s.enqueueLocked(p, ps)
		s.evictLocked(nil)
	}
}

// Close stops the sweeper and every subscription. The store still answers
// afterwards, with expiry checked on access, but nothing feeds it.
func (s *Store) Close() error {
	err := s.feeds.Close()
	s.sweeper.Stop()
	s.stopTracking()
	return err
}

func (s *Store) sweep() {
	now := s.sweeper.Clock.Now().UnixNano()
	s.mu.Lock()
	defer s.mu.Unlock()
	s.sweepLocked(now)
}

func (s *Store) sweepLocked(now int64) {
	s.nextExpiry = 0
	for p, ps := range s.peers {
		if ps.connected {
			continue
		}
		s.pruneLocked(p, ps, now)
		for _, e := range ps.entries {
			s.noteExpiryLocked(e.expires)
		}
	}
	// Stale queue entries are dropped once they outnumber the live ones;
	// a map that emptied out is rebuilt to give its buckets back.
	live := 0
	for _, r := range s.disconnected {
		if s.isQueuedLocked(r) {
			live++
		}
	}
	if len(s.disconnected) > 2*live+64 {
		kept := make([]disconnectedRef, 0, live)
		for _, r := range s.disconnected {
			if s.isQueuedLocked(r) {
				kept = append(kept, r)
			}
		}
		s.disconnected = kept
	}
	if s.peakPeers > 1024 && 4*len(s.peers) < s.peakPeers {
		peers := make(map[peer.ID]*peerState, len(s.peers))
		for p, ps := range s.peers {
			peers[p] = ps
		}
		s.peers, s.peakPeers = peers, len(peers)
	}
}

// pruneLocked drops p's expired values, and p itself when nothing is left.
func (s *Store) pruneLocked(p peer.ID, ps *peerState, now int64) {
	if ps.connected {
		return
	}
	kept := ps.entries[:0]
	for _, e := range ps.entries {
		if e.expires != 0 && e.expires <= now {
			s.chargeLocked(ps, -e.size())
			continue
		}
		kept = append(kept, e)
	}
	if len(kept) == len(ps.entries) {
		return
	}
	clear(ps.entries[len(kept):])
	ps.entries = kept
	s.afterShrinkLocked(p, ps)
}

// afterShrinkLocked keeps withData and the map right once p lost values.
func (s *Store) afterShrinkLocked(p peer.ID, ps *peerState) {
	if len(ps.entries) > 0 {
		return
	}
	if cap(ps.entries) > len(peerWithRoom{}.room) {
		ps.entries = nil // let a grown slice go; the room is the state's own
	} else {
		ps.entries = ps.entries[:0]
	}
	s.withData--
	if !ps.connected {
		delete(s.peers, p)
	}
}

func deleteAt(es []entry, i int) []entry {
	copy(es[i:], es[i+1:])
	es[len(es)-1] = entry{}
	return es[:len(es)-1]
}

// putError is a Put refused for a bound or a disconnected peer. Its text is
// built when asked for: a peer cycling identities past a cap makes every Put
// fail, and callers that only count failures (compat/peerstore) should not
// pay for a base58 peer ID and a formatted message each time.
type putError struct {
	p     peer.ID
	err   error
	bound string // "cap" or "budget", "" for none
	n     int
	unit  string
}

func (e *putError) Error() string {
	if e.bound == "" {
		return fmt.Sprintf("put for peer %s: %v", e.p, e.err)
	}
	return fmt.Sprintf("put for peer %s: %v (%s %d%s)", e.p, e.err, e.bound, e.n, e.unit)
}

func (e *putError) Unwrap() error { return e.err }
