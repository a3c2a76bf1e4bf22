package newstore

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"math"
	"slices"
	"sync"
	"time"

	"github.com/libp2p/go-libp2p/core/crypto"
	"github.com/libp2p/go-libp2p/core/peer"
	"github.com/libp2p/go-libp2p/core/peerstore"
	"github.com/libp2p/go-libp2p/core/record"
	ma "github.com/multiformats/go-multiaddr"

	"github.com/pstoremigrate/pstoremigrate/newstore/internal/background"
)

// ErrTooManyRecords is returned by ConsumePeerRecord when the record cap is
// reached and the record belongs to a peer that has none yet.
var ErrTooManyRecords = errors.New("newstore: too many signed peer records")

// AddrBook is the minimal peer store: addresses with TTLs, public keys and
// certified peer records, and nothing else. It implements
// peerstore.AddrBook and peerstore.CertifiedAddrBook with upstream
// pstoremem's semantics, so it can stand in for them.
//
// Memory is spent only where the dial path needs it: an address is one
// small slot in its peer's slice (no per-address map entry, no expiry heap),
// a public key that the peer ID inlines is not stored at all, and a
// certified record is kept serialized rather than as a parsed envelope.
type AddrBook struct {
	cfg config

	mu         sync.RWMutex
	peers      map[peer.ID]*peerState
	unconnAddr int // addresses with a TTL below ConnectedAddrTTL, expired or not
	records    int
	// listed holds the peers that have addresses, in no order, so that
	// PeersWithAddrs copies a slice instead of walking the map; a peer's
	// slot field is its index here plus one.
	listed []peer.ID

	subs *addrSubs

	// online holds the peers the book knows to be connected (see Attach);
	// their AfterDisconnect addresses do not expire. onlineHigh is the most
	// it held since it was last rebuilt, to give back a crowd's memory.
	online     map[peer.ID]struct{}
	onlineHigh int
	// syncMu orders connectedness updates (see syncConnectedness).
	syncMu sync.Mutex
	feeds  background.Feeds

	cancel  context.CancelFunc
	done    chan struct{}
	closed  sync.Once
	untrack func()
	// counters are the tracer's counters for this book, resolved at New:
	// a drop or an eviction costs one atomic add, no lookup.
	counters bookCounters
}

var (
	_ peerstore.AddrBook          = (*AddrBook)(nil)
	_ peerstore.CertifiedAddrBook = (*AddrBook)(nil)
)

type peerState struct {
	addrs []addrEntry
	// record is the marshalled envelope of the peer's certified record.
	record    []byte
	recordSeq uint64
	// extra holds what few peers have, so that the many do not pay for it.
	extra *peerExtra
	// hasKey says whether a public key was added (it may be inlined in
	// the ID, and then is not stored).
	hasKey bool
	// slot is the peer's index in AddrBook.listed plus one; 0 when it
	// has no addresses and is not listed. It fits beside the bools.
	slot int32
	// seqUnknown marks a record restored from a snapshot whose sequence
	// number has not been read yet: restore does not parse records, the
	// next ConsumePeerRecord of that peer does.
	seqUnknown bool
}

// peerExtra is the rare part of a peer's state.
type peerExtra struct {
	// pending holds restored addresses not parsed yet; any use of the peer
	// parses them into addrs first (see materializeLocked).
	pending []pendingAddr
	// pubKey is a key the peer ID does not inline (RSA, ECDSA).
	pubKey crypto.PubKey
}

func (ps *peerState) pendingAddrs() []pendingAddr {
	if ps.extra == nil {
		return nil
	}
	return ps.extra.pending
}

func (ps *peerState) key() crypto.PubKey {
	if ps.extra == nil {
		return nil
	}
	return ps.extra.pubKey
}

func (ps *peerState) setPending(pending []pendingAddr) {
	if ps.extra == nil {
		if pending == nil {
			return
		}
		ps.extra = &peerExtra{}
	}
	ps.extra.pending = pending
	ps.dropEmptyExtra()
}

func (ps *peerState) setKey(k crypto.PubKey) {
	if ps.extra == nil {
		if k == nil {
			return
		}
		ps.extra = &peerExtra{}
	}
	ps.extra.pubKey = k
	ps.dropEmptyExtra()
}

func (ps *peerState) dropEmptyExtra() {
	if ps.extra.pending == nil && ps.extra.pubKey == nil {
		ps.extra = nil
	}
}

// addrEntry is one address. A negative ttl marks an address whose TTL, -ttl,
// counts from its peer's last disconnect (AddAddrsAfterDisconnect): its
// expiry is saturated while the peer is connected. The sign spares every
// address a flag.
type addrEntry struct {
	addr   ma.Multiaddr
	ttl    time.Duration
	expiry int64 // unix nanoseconds, saturated for permanent and connected TTLs
}

func (e addrEntry) connected() bool        { return connectedClass(e.ttl, e.expiry) }
func (e addrEntry) expired(now int64) bool { return now >= e.expiry }
func (e addrEntry) expiresAt() int64       { return e.expiry }

// pendingAddr is a restored address still in binary form.
type pendingAddr struct {
	raw    []byte
	ttl    time.Duration
	expiry int64
}

func (e pendingAddr) connected() bool        { return connectedClass(e.ttl, e.expiry) }
func (e pendingAddr) expired(now int64) bool { return now >= e.expiry }
func (e pendingAddr) expiresAt() int64       { return e.expiry }

// slot is what the cap and expiry rules need of an address, parsed or not.
type slot interface {
	connected() bool
	expired(now int64) bool
	expiresAt() int64
}

// evictionVictim counts the unconnected addresses of s and picks the one
// that expires first (-1 if none): the one a full peer gives up.
func evictionVictim[T slot](s []T) (unconnected, victim int) {
	victim = -1
	for i := range s {
		if s[i].connected() {
			continue
		}
		unconnected++
		if victim < 0 || s[i].expiresAt() < s[victim].expiresAt() {
			victim = i
		}
	}
	return unconnected, victim
}

func hasLive[T slot](s []T, now int64) bool {
	for i := range s {
		if !s[i].expired(now) {
			return true
		}
	}
	return false
}

func (ps *peerState) numAddrs() int { return len(ps.addrs) + len(ps.pendingAddrs()) }

// isConnectedTTL matches upstream: PermanentAddrTTL and ConnectedAddrTTL
// never expire and are not counted against the unconnected caps.
func isConnectedTTL(ttl time.Duration) bool { return ttl >= peerstore.ConnectedAddrTTL }

// connectedClass says whether an address with this ttl and expiry is outside
// the unconnected caps: permanent and connected TTLs, and AfterDisconnect
// addresses of a connected peer.
func connectedClass(ttl time.Duration, expiry int64) bool {
	return isConnectedTTL(ttl) || (ttl < 0 && expiry == math.MaxInt64)
}

// expiryAt adds ttl to now, saturating instead of overflowing.
func expiryAt(now int64, ttl time.Duration) int64 {
	if ttl > 0 && now > math.MaxInt64-int64(ttl) {
		return math.MaxInt64
	}
	return now + int64(ttl)
}

// New returns an empty AddrBook. It starts one goroutine, collecting expired
// addresses; Close stops it.
func New(opts ...Option) (*AddrBook, error) {
	cfg := defaultConfig()
	for _, opt := range opts {
		if err := opt(&cfg); err != nil {
			return nil, err
		}
	}
	ctx, cancel := context.WithCancel(context.Background())
	ab := &AddrBook{
		cfg:    cfg,
		peers:  make(map[peer.ID]*peerState),
		subs:   newAddrSubs(),
		cancel: cancel,
		done:   make(chan struct{}),
	}
	ab.untrack = cfg.tracer.Track(StoreAddrBook, ab.stats)
	ab.counters = cfg.tracer.bookCounters()
	go ab.collect(ctx)
	return ab, nil
}

// Close stops the collector and what Attach started. The book stays
// readable.
func (ab *AddrBook) Close() error {
	var err error
	ab.closed.Do(func() {
		err = ab.feeds.Close()
		ab.untrack()
		ab.cancel()
		<-ab.done
	})
	return err
}

func (ab *AddrBook) now() int64 { return ab.cfg.clock.Now().UnixNano() }

func (ab *AddrBook) collect(ctx context.Context) {
	defer close(ab.done)
	t := time.NewTicker(ab.cfg.gcInterval)
	defer t.Stop()
	for {
		select {
		case <-t.C:
			ab.GC()
		case <-ctx.Done():
			return
		}
	}
}

// GC drops expired addresses now, and the records and peers left without
// any. It runs periodically on its own; calling it is only useful to bound
// memory at a chosen moment.
func (ab *AddrBook) GC() {
	now := ab.now()
	ab.mu.Lock()
	defer ab.mu.Unlock()
	for p, ps := range ab.peers {
		ab.dropExpiredLocked(ps, now)
		ab.tidyLocked(p, ps)
	}
}

func (ab *AddrBook) dropExpiredLocked(ps *peerState, now int64) {
	if pending := ps.pendingAddrs(); pending != nil {
		// Expiry needs no parsing: collect without it.
		kept := pending[:0]
		for _, e := range pending {
			if e.expired(now) {
				if !e.connected() {
					ab.unconnAddr--
				}
				continue
			}
			kept = append(kept, e)
		}
		clear(pending[len(kept):])
		if len(kept) == 0 {
			kept = nil
		}
		ps.setPending(kept)
	}
	kept := ps.addrs[:0]
	for _, e := range ps.addrs {
		if e.expired(now) {
			if !e.connected() {
				ab.unconnAddr--
			}
			continue
		}
		kept = append(kept, e)
	}
	clear(ps.addrs[len(kept):])
	ps.addrs = kept
}

// tidyLocked applies the invariants after a change: a record lives only as
// long as the peer has addresses, and a peer with nothing is forgotten.
func (ab *AddrBook) tidyLocked(p peer.ID, ps *peerState) {
	if ps.numAddrs() == 0 && ps.record != nil {
		ps.record, ps.recordSeq = nil, 0
		ab.records--
	}
	if len(ps.addrs) == 0 && cap(ps.addrs) > 0 {
		ps.addrs = nil
	}
	if ps.numAddrs() == 0 && !ps.hasKey {
		ab.unlistLocked(ps)
		delete(ab.peers, p)
		return
	}
	ab.accountLocked(p, ps)
}

// accountLocked keeps p, a peer in the map, listed if and only if it has
// addresses.
func (ab *AddrBook) accountLocked(p peer.ID, ps *peerState) {
	switch has := ps.numAddrs() > 0; {
	case has && ps.slot == 0:
		ab.listed = append(ab.listed, p)
		ps.slot = int32(len(ab.listed))
	case !has && ps.slot != 0:
		ab.unlistLocked(ps)
	}
}

// unlistLocked takes ps out of listed by moving the last peer into its slot.
func (ab *AddrBook) unlistLocked(ps *peerState) {
	if ps.slot == 0 {
		return
	}
	i, last := int(ps.slot-1), len(ab.listed)-1
	if i != last {
		moved := ab.listed[last]
		ab.listed[i] = moved
		ab.peers[moved].slot = int32(i + 1)
	}
	ab.listed[last] = ""
	ab.listed = ab.listed[:last]
	ps.slot = 0
	// Give back the memory of a crowd that left.
	if c := cap(ab.listed); c > 1024 && len(ab.listed) < c/4 {
		ab.listed = slices.Clone(ab.listed)
	}
}

// peerLocked returns p's state ready for use (restored addresses parsed),
// or nil.
func (ab *AddrBook) peerLocked(p peer.ID) *peerState {
	ps := ab.peers[p]
	if ps != nil && ps.pendingAddrs() != nil {
		ab.materializeLocked(p, ps)
	}
	return ps
}

// stateLocked is peerLocked that creates the state if p has none.
func (ab *AddrBook) stateLocked(p peer.ID) *peerState {
	ps := ab.peerLocked(p)
	if ps == nil {
		ps = &peerState{}
		ab.peers[p] = ps
	}
	return ps
}

// materializeLocked parses p's restored addresses. One that does not parse,
// or names another peer, is dropped: the snapshot's checksums make that a
// snapshot written by something else than this package.
func (ab *AddrBook) materializeLocked(p peer.ID, ps *peerState) {
	ab.unconnAddr -= parsePending(p, ps)
	ab.accountLocked(p, ps)
}

// parsePending parses ps's restored addresses into ps.addrs and returns how
// many unconnected ones it dropped; it touches no book.
func parsePending(p peer.ID, ps *peerState) (droppedUnconn int) {
	pending := ps.pendingAddrs()
	ps.setPending(nil)
	if cap(ps.addrs)-len(ps.addrs) < len(pending) {
		ps.addrs = slices.Grow(ps.addrs, len(pending))
	}
	for _, e := range pending {
		m, err := ma.NewMultiaddrBytes(e.raw)
		var addr ma.Multiaddr
		ok := err == nil
		if ok {
			addr, ok = normalize(p, m)
		}
		if ok && findAddr(ps.addrs, addr) < 0 {
			ps.addrs = append(ps.addrs, addrEntry{addr: addr, ttl: e.ttl, expiry: e.expiry})
			continue
		}
		if !e.connected() {
			droppedUnconn++
		}
	}
	return droppedUnconn
}

// rlockPeer takes the read lock and returns p's state with its restored
// addresses parsed; parsing needs the write lock, taken only the first time.
func (ab *AddrBook) rlockPeer(p peer.ID) *peerState {
	ab.mu.RLock()
	ps := ab.peers[p]
	if ps == nil || ps.pendingAddrs() == nil {
		return ps
	}
	ab.mu.RUnlock()
	ab.mu.Lock()
	ab.peerLocked(p)
	ab.mu.Unlock()
	ab.mu.RLock()
	return ab.peers[p]
}

func findAddr(addrs []addrEntry, a ma.Multiaddr) int {
	for i := range addrs {
		if addrs[i].addr.Equal(a) {
			return i
		}
	}
	return -1
}

// normalize strips a /p2p/<id> suffix naming p; it rejects nil addresses and
// ones naming another peer, as upstream does.
func normalize(p peer.ID, a ma.Multiaddr) (ma.Multiaddr, bool) {
	if len(a) == 0 {
		return nil, false
	}
	addr, id := peer.SplitAddr(a)
	if len(addr) == 0 || (id != "" && id != p) {
		return nil, false
	}
	return addr, true
}

// AddAddr calls AddAddrs with one address.
func (ab *AddrBook) AddAddr(p peer.ID, addr ma.Multiaddr, ttl time.Duration) {
	ab.AddAddrs(p, []ma.Multiaddr{addr}, ttl)
}

// AddAddrs adds addresses that expire after ttl. It never shortens the TTL
// or the expiry of an address already known.
func (ab *AddrBook) AddAddrs(p peer.ID, addrs []ma.Multiaddr, ttl time.Duration) {
	if ttl <= 0 || len(addrs) == 0 {
		return
	}
	now := ab.now()
	ab.mu.Lock()
	defer ab.mu.Unlock()
	ab.addAddrsLocked(p, addrs, ttl, now)
}

func (ab *AddrBook) addAddrsLocked(p peer.ID, addrs []ma.Multiaddr, ttl time.Duration, now int64) {
	if ttl <= 0 {
		return
	}
	ab.addEntriesLocked(p, addrs, ttl, expiryAt(now, ttl))
}

// addEntriesLocked adds addrs with the internal ttl and expiry (see
// addrEntry), merging them into the addresses p already has.
func (ab *AddrBook) addEntriesLocked(p peer.ID, addrs []ma.Multiaddr, ttl time.Duration, exp int64) {
	if !connectedClass(ttl, exp) && ab.unconnAddr >= ab.cfg.maxUnconnectedAddrs {
		countAdd(ab.counters.unconnected, len(addrs))
		return
	}
	var ps *peerState
	for _, a := range addrs {
		addr, ok := normalize(p, a)
		if !ok {
			continue
		}
		if ps == nil {
			ps = ab.stateLocked(p)
			if len(ps.addrs) == 0 {
				ps.addrs = slices.Grow(ps.addrs, len(addrs))
			}
		}
		if i := findAddr(ps.addrs, addr); i >= 0 {
			e := &ps.addrs[i]
			wasConnected := e.connected()
			e.ttl, e.expiry = combine(e.ttl, e.expiry, ttl, exp)
			ab.recountLocked(wasConnected, e.connected())
			continue
		}
		ab.insertLocked(p, ps, addr, ttl, exp)
	}
	if ps != nil {
		ab.tidyLocked(p, ps)
	}
}

// insertLocked adds a new address to p, within the per-peer cap, and
// announces it to AddrStream subscribers.
func (ab *AddrBook) insertLocked(p peer.ID, ps *peerState, addr ma.Multiaddr, ttl time.Duration, exp int64) {
	connected := connectedClass(ttl, exp)
	if !ab.makeRoomLocked(ps, connected) {
		return
	}
	ps.addrs = append(ps.addrs, addrEntry{addr: addr, ttl: ttl, expiry: exp})
	if !connected {
		ab.unconnAddr++
	}
	ab.subs.broadcast(p, addr)
}

// recountLocked keeps the unconnected counter right when an address moves
// between the connected and the unconnected class.
func (ab *AddrBook) recountLocked(wasConnected, isConnected bool) {
	switch {
	case wasConnected && !isConnected:
		ab.unconnAddr++
	case !wasConnected && isConnected:
		ab.unconnAddr--
	}
}

// makeRoomLocked enforces the per-peer cap before a new address (of the
// connected class or not) is added: it evicts the unconnected address that
// expires first, and reports false when every address is held by a
// connection.
func (ab *AddrBook) makeRoomLocked(ps *peerState, connected bool) bool {
	if connected || ab.cfg.maxAddrsPerPeer <= 0 {
		return true
	}
	n, victim := evictionVictim(ps.addrs)
	if n < ab.cfg.maxAddrsPerPeer {
		return true
	}
	if victim < 0 {
		countAdd(ab.counters.perPeer, 1)
		return false
	}
	ab.removeAtLocked(ps, victim)
	countAdd(ab.counters.evicted, 1)
	return true
}

func (ab *AddrBook) removeAtLocked(ps *peerState, i int) {
	if !ps.addrs[i].connected() {
		ab.unconnAddr--
	}
	last := len(ps.addrs) - 1
	ps.addrs[i] = ps.addrs[last]
	ps.addrs[last] = addrEntry{}
	ps.addrs = ps.addrs[:last]
}

// SetAddr calls SetAddrs with one address.
func (ab *AddrBook) SetAddr(p peer.ID, addr ma.Multiaddr, ttl time.Duration) {
	ab.SetAddrs(p, []ma.Multiaddr{addr}, ttl)
}

// SetAddrs sets the TTL of addresses, replacing what they had; a TTL of 0 or
// less removes them.
func (ab *AddrBook) SetAddrs(p peer.ID, addrs []ma.Multiaddr, ttl time.Duration) {
	if len(addrs) == 0 {
		return
	}
	now := ab.now()
	exp := expiryAt(now, ttl)
	ab.mu.Lock()
	defer ab.mu.Unlock()
	ps := ab.peerLocked(p)
	for _, a := range addrs {
		addr, ok := normalize(p, a)
		if !ok {
			continue
		}
		var i = -1
		if ps != nil {
			i = findAddr(ps.addrs, addr)
		}
		if i >= 0 {
			e := &ps.addrs[i]
			switch {
			case ttl <= 0:
				ab.removeAtLocked(ps, i)
			case e.connected() && !isConnectedTTL(ttl) && ab.unconnAddr >= ab.cfg.maxUnconnectedAddrs:
				ab.removeAtLocked(ps, i)
			default:
				wasConnected := e.connected()
				e.addr, e.ttl, e.expiry = addr, ttl, exp
				ab.recountLocked(wasConnected, e.connected())
				ab.subs.broadcast(p, addr)
			}
			continue
		}
		if ttl <= 0 || (!isConnectedTTL(ttl) && ab.unconnAddr >= ab.cfg.maxUnconnectedAddrs) {
			continue
		}
		if ps == nil {
			ps = ab.stateLocked(p)
		}
		ab.insertLocked(p, ps, addr, ttl, exp)
	}
	if ps != nil {
		ab.tidyLocked(p, ps)
	}
}

// UpdateAddrs gives the addresses of p whose TTL is oldTTL the TTL newTTL; a
// newTTL of 0 removes them.
func (ab *AddrBook) UpdateAddrs(p peer.ID, oldTTL time.Duration, newTTL time.Duration) {
	now := ab.now()
	exp := expiryAt(now, newTTL)
	ab.mu.Lock()
	defer ab.mu.Unlock()
	ps := ab.peerLocked(p)
	if ps == nil {
		return
	}
	for i := 0; i < len(ps.addrs); {
		e := &ps.addrs[i]
		if e.ttl != oldTTL || e.ttl < 0 {
			i++
			continue
		}
		if newTTL == 0 || (isConnectedTTL(oldTTL) && !isConnectedTTL(newTTL) && ab.unconnAddr >= ab.cfg.maxUnconnectedAddrs) {
			ab.removeAtLocked(ps, i) // moves the last entry to i: look at i again
			continue
		}
		wasConnected := e.connected()
		e.ttl, e.expiry = newTTL, exp
		ab.recountLocked(wasConnected, e.connected())
		i++
	}
	ab.tidyLocked(p, ps)
}

// Addrs returns the unexpired addresses of p.
func (ab *AddrBook) Addrs(p peer.ID) []ma.Multiaddr {
	now := ab.now()
	ps := ab.rlockPeer(p)
	defer ab.mu.RUnlock()
	if ps == nil {
		return nil
	}
	out := make([]ma.Multiaddr, 0, len(ps.addrs))
	for i := range ps.addrs {
		if !ps.addrs[i].expired(now) {
			out = append(out, ps.addrs[i].addr)
		}
	}
	return out
}

// ClearAddrs removes every address of p, and with them its record.
func (ab *AddrBook) ClearAddrs(p peer.ID) {
	ab.mu.Lock()
	defer ab.mu.Unlock()
	ps := ab.peerLocked(p)
	if ps == nil {
		return
	}
	n, _ := evictionVictim(ps.addrs)
	ab.unconnAddr -= n
	ps.addrs = nil
	ab.tidyLocked(p, ps)
}

// PeersWithAddrs returns the peers that have addresses (expired ones not yet
// collected included, as upstream).
func (ab *AddrBook) PeersWithAddrs() peer.IDSlice {
	ab.mu.RLock()
	defer ab.mu.RUnlock()
	out := make(peer.IDSlice, len(ab.listed))
	copy(out, ab.listed)
	return out
}

// AddrStream returns a channel that yields the addresses of p known now and
// every new one, until ctx is done.
func (ab *AddrBook) AddrStream(ctx context.Context, p peer.ID) <-chan ma.Multiaddr {
	ps := ab.rlockPeer(p)
	var initial []ma.Multiaddr
	if ps != nil {
		initial = make([]ma.Multiaddr, 0, len(ps.addrs))
		for i := range ps.addrs {
			initial = append(initial, ps.addrs[i].addr)
		}
	}
	// Subscribing under the read lock means no address added after the
	// initial read can be missed.
	ch := ab.subs.subscribe(ctx, p, initial)
	ab.mu.RUnlock()
	return ch
}

// ConsumePeerRecord stores a certified peer record and adds its addresses
// with ttl. A record older (lower sequence number) than the one held is
// ignored (false, nil); an equal one refreshes the TTLs. The addresses of
// the previous record that the new one no longer lists are dropped, unless a
// connection holds them.
func (ab *AddrBook) ConsumePeerRecord(env *record.Envelope, ttl time.Duration) (bool, error) {
	if env == nil {
		return false, errors.New("newstore: ConsumePeerRecord: nil envelope")
	}
	r, err := env.Record()
	if err != nil {
		return false, fmt.Errorf("newstore: ConsumePeerRecord: %w", err)
	}
	rec, ok := r.(*peer.PeerRecord)
	if !ok {
		return false, fmt.Errorf("newstore: ConsumePeerRecord: envelope holds a %T, not a peer record", r)
	}
	if _, ok := keyMatches(rec.PeerID, env.PublicKey); !ok {
		return false, errors.New("newstore: ConsumePeerRecord: signing key does not match the record's peer ID")
	}
	raw, err := env.Marshal()
	if err != nil {
		return false, fmt.Errorf("newstore: ConsumePeerRecord: marshal envelope: %w", err)
	}
	now := ab.now()
	ab.mu.Lock()
	defer ab.mu.Unlock()
	return ab.storeRecordLocked(rec.PeerID, raw, rec.Seq, rec.Addrs, ttl, now)
}

func (ab *AddrBook) storeRecordLocked(p peer.ID, raw []byte, seq uint64, addrs []ma.Multiaddr, ttl time.Duration, now int64) (bool, error) {
	ps := ab.peerLocked(p)
	had := ps != nil && ps.record != nil
	var prevAddrs []ma.Multiaddr
	if had && !bytes.Equal(ps.record, raw) {
		// Only a different record can take addresses away; the common
		// case, identify pushing the same record again, skips the parse.
		prevSeq, as, ok := parseRecord(p, ps.record)
		switch {
		case ok && ps.seqUnknown:
			ps.recordSeq, ps.seqUnknown = prevSeq, false
			prevAddrs = as
		case ok:
			prevAddrs = as
		default:
			ps.recordSeq, ps.seqUnknown = 0, false // unreadable: any record replaces it
		}
	}
	if had && ps.recordSeq > seq {
		return false, nil
	}
	if !had && ab.records >= ab.cfg.maxSignedRecords {
		countAdd(ab.counters.records, 1)
		return false, ErrTooManyRecords
	}
	if ps == nil {
		ps = ab.stateLocked(p)
	}
	if had {
		ab.forgetAddrsLocked(ps, prevAddrs, addrs)
	} else {
		ab.records++
	}
	ps.record, ps.recordSeq, ps.seqUnknown = raw, seq, false
	ab.addAddrsLocked(p, addrs, ttl, now)
	ab.tidyLocked(p, ps)
	return true, nil
}

// parseRecord reads the sequence number and addresses of a stored record.
func parseRecord(p peer.ID, raw []byte) (uint64, []ma.Multiaddr, bool) {
	env, err := record.UnmarshalEnvelope(raw)
	if err != nil {
		return 0, nil, false
	}
	r, err := env.Record()
	if err != nil {
		return 0, nil, false
	}
	rec, ok := r.(*peer.PeerRecord)
	if !ok || rec.PeerID != p {
		return 0, nil, false
	}
	return rec.Seq, rec.Addrs, true
}

// forgetAddrsLocked drops the addresses the previous record listed and the
// next one does not, keeping those a connection holds, as upstream does.
func (ab *AddrBook) forgetAddrsLocked(ps *peerState, prev, next []ma.Multiaddr) {
	for _, a := range prev {
		if containsAddr(next, a) {
			continue
		}
		if i := findAddr(ps.addrs, a); i >= 0 && !ps.addrs[i].connected() {
			ab.removeAtLocked(ps, i)
		}
	}
}

func containsAddr(list []ma.Multiaddr, a ma.Multiaddr) bool {
	for _, b := range list {
		if b.Equal(a) {
			return true
		}
	}
	return false
}

// GetPeerRecord returns the certified record of p, or nil when there is none
// or p has no unexpired address left.
func (ab *AddrBook) GetPeerRecord(p peer.ID) *record.Envelope {
	now := ab.now()
	ab.mu.RLock()
	ps := ab.peers[p]
	var raw []byte
	if ps != nil && ps.record != nil && (hasLive(ps.addrs, now) || hasLive(ps.pendingAddrs(), now)) {
		raw = ps.record
	}
	ab.mu.RUnlock()
	if raw == nil {
		return nil
	}
	// The bytes were marshalled from a verified envelope, so they parse.
	env, err := record.UnmarshalEnvelope(raw)
	if err != nil {
		return nil
	}
	return env
}
