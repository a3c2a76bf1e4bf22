package newstore

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"math"
	"slices"
	"time"

	"github.com/libp2p/go-libp2p/core/crypto"
	"github.com/libp2p/go-libp2p/core/peer"
	"github.com/libp2p/go-libp2p/core/peerstore"
	logging "github.com/libp2p/go-libp2p/gologshim"
)

var log = logging.Logger("newstore")

// snapshotBatch is how many peers Snapshot copies per hold of the read lock:
// writers wait for one batch, never for the whole (disk-bound) write.
const snapshotBatch = 512

// RestoredConnectedAddrTTL (peerstore.RecentlyConnectedAddrTTL) is the TTL a restored address gets when it was
// held by a connection at snapshot time: connections do not survive a
// restart, and the host gives the addresses of a peer it just lost the
// same TTL.
const RestoredConnectedAddrTTL = 15 * time.Minute

// Snapshot writes the book to w in the snapshot format. Each peer is
// captured consistently; peers changed while the snapshot is written are
// captured as they were when their batch was read. Private keys are never
// part of it: the book has none. Expired addresses are left out, and so is
// a peer the format cannot hold (its ID is not a valid multihash), with a
// warning in the log.
func (ab *AddrBook) Snapshot(w io.Writer) error {
	return ab.snapshot(w, nil)
}

// snapshot writes the book, then what more writes, before the trailer.
func (ab *AddrBook) snapshot(w io.Writer, more func(*SnapshotWriter) error) error {
	now := ab.cfg.clock.Now()
	sw, err := NewSnapshotWriter(w, now)
	if err != nil {
		return fmt.Errorf("newstore: snapshot: %w", err)
	}
	ab.mu.RLock()
	ids := make([]peer.ID, 0, len(ab.peers))
	for p := range ab.peers {
		ids = append(ids, p)
	}
	ab.mu.RUnlock()

	entries := make([]PeerEntry, 0, snapshotBatch)
	// The batch's addresses share one reused slice: a snapshot allocates
	// per batch, not per peer.
	var arena []AddrEntry
	skipped := 0
	nowNanos := now.UnixNano()
	for start := 0; start < len(ids); start += snapshotBatch {
		batch := ids[start:min(start+snapshotBatch, len(ids))]
		entries, arena = entries[:0], arena[:0]
		ab.mu.RLock()
		for _, p := range batch {
			if ps := ab.peers[p]; ps != nil {
				var e PeerEntry
				e, arena = entryOf(p, ps, nowNanos, arena)
				entries = append(entries, e)
			}
		}
		ab.mu.RUnlock()
		for i := range entries {
			if len(entries[i].Addrs) == 0 && entries[i].PubKey == nil {
				continue
			}
			if err := sw.WritePeer(&entries[i]); err != nil {
				if sw.err != nil {
					return fmt.Errorf("newstore: snapshot: peer %s: %w", entries[i].ID, err)
				}
				// An entry the format cannot hold (a peer ID that is not a
				// multihash, as test suites make up) is left out rather
				// than costing every other peer its snapshot.
				skipped++
				log.Warn("snapshot: peer left out", "peer", entries[i].ID, "err", err)
			}
		}
	}
	if more != nil {
		if err := more(sw); err != nil {
			return fmt.Errorf("newstore: snapshot: %w", err)
		}
	}
	if err := sw.Close(); err != nil {
		return fmt.Errorf("newstore: snapshot: %w", err)
	}
	if skipped > 0 {
		log.Warn("snapshot: peers left out", "count", skipped)
	}
	return nil
}

// entryOf builds p's entry, its addresses appended to arena.
func entryOf(p peer.ID, ps *peerState, now int64, arena []AddrEntry) (PeerEntry, []AddrEntry) {
	e := PeerEntry{ID: p}
	if ps.hasKey {
		if ps.key() != nil {
			e.PubKey, _ = crypto.MarshalPublicKey(ps.key())
		} else if inline, ok := inlinedDigest(p); ok {
			e.PubKey = []byte(inline)
		}
	}
	live := 0
	for i := range ps.addrs {
		if !ps.addrs[i].expired(now) {
			live++
		}
	}
	for i := range ps.pendingAddrs() {
		if !ps.pendingAddrs()[i].expired(now) {
			live++
		}
	}
	live = min(live, MaxSnapshotAddrsPerPeer)
	if live > 0 {
		start := len(arena)
		arena = slices.Grow(arena, live)
		e.Addrs = arena[start : start : start+live]
		for i := range ps.addrs {
			a := &ps.addrs[i]
			if a.expired(now) || len(e.Addrs) == live {
				continue
			}
			e.Addrs = append(e.Addrs, snapshotAddr(AddrEntry{Addr: a.addr}, a.ttl, a.expiry))
		}
		// Addresses never parsed since a restore go out as they came in.
		for i := range ps.pendingAddrs() {
			a := &ps.pendingAddrs()[i]
			if a.expired(now) || len(e.Addrs) == live {
				continue
			}
			e.Addrs = append(e.Addrs, snapshotAddr(AddrEntry{raw: a.raw}, a.ttl, a.expiry))
		}
		// A record is meaningless without addresses: it goes with them.
		e.Record = ps.record
	}
	return e, arena[:len(arena)+len(e.Addrs)]
}

// snapshotAddr fills in e's TTL and expiry from the internal ttl and expiry
// (see addrEntry).
func snapshotAddr(e AddrEntry, ttl time.Duration, expiry int64) AddrEntry {
	e.TTL, e.Expires = ttl, expiryTime(expiry)
	if ttl < 0 {
		e.TTL, e.AfterDisconnect = -ttl, true
	}
	return e
}

func expiryTime(nanos int64) time.Time {
	if nanos == math.MaxInt64 {
		return time.Time{}
	}
	return time.Unix(0, nanos)
}

// ErrInvalidEntry wraps what Restore finds wrong in a well-formed snapshot:
// a key or record that does not belong to its peer.
var ErrInvalidEntry = errors.New("invalid snapshot entry")

// Restore reads a snapshot from r into the book.
//
// The whole snapshot is decoded and checked before anything changes: a
// corrupt, truncated or foreign snapshot returns an error (a *SnapshotError
// for the encoding, ErrInvalidEntry for content that does not belong to its
// peer) and leaves the book exactly as it was. Decoding goes straight into
// the book's own representation, so no second copy of the state is built.
//
// Expired addresses are dropped. Permanent addresses stay permanent; an
// address that a connection held gets RestoredConnectedAddrTTL from now,
// since the connection did not survive. Caps apply as to any write.
//
// Restoring into a non-empty book merges, with the rules of the live
// methods: an address keeps the longer of its two TTLs and expiries (as
// AddAddrs), a record replaces the held one only if its sequence number is
// not lower (as ConsumePeerRecord), and a public key is added.
// Records are restored as the bytes they were stored as, not re-parsed nor
// re-verified: they were verified when first consumed and the snapshot's
// checksums guard the bytes since; the next ConsumePeerRecord of that peer
// reads the restored one's sequence number.
func (ab *AddrBook) Restore(r io.Reader) error {
	_, err := ab.restore(r)
	return err
}

// restore is Restore that also returns the snapshot's per-peer data, read
// and verified with the rest before the book changed.
func (ab *AddrBook) restore(r io.Reader) ([]DataEntry, error) {
	sr, err := NewSnapshotReader(r)
	if err == nil {
		err = sr.Expect(KindAddrBook)
	}
	if err != nil {
		return nil, fmt.Errorf("newstore: restore: %w", err)
	}
	staged := &AddrBook{cfg: ab.cfg, peers: make(map[peer.ID]*peerState), subs: newAddrSubs()}
	now := ab.now()
	for {
		e, err := sr.nextUnparsed()
		if err == io.EOF {
			break
		}
		if err != nil {
			return nil, fmt.Errorf("newstore: restore: %w", err)
		}
		if err := staged.stageEntry(e, now); err != nil {
			return nil, fmt.Errorf("newstore: restore: peer %s: %w", e.ID, err)
		}
	}
	ab.mu.Lock()
	defer ab.mu.Unlock()
	if len(ab.peers) == 0 && ab.subs.empty() {
		ab.peers, ab.unconnAddr, ab.records, ab.listed = staged.peers, staged.unconnAddr, staged.records, staged.listed
	} else {
		for p, ps := range staged.peers {
			ab.mergeLocked(p, ps, now)
		}
	}
	// Restored AfterDisconnect addresses count down as if their peers had
	// just disconnected; the peers already connected hold them again.
	for p := range ab.online {
		if _, ok := staged.peers[p]; ok {
			ab.holdLocked(p, now)
		}
	}
	return sr.Data(), nil
}

// stageEntry validates e and adds it to a book no one else sees yet.
func (ab *AddrBook) stageEntry(e *PeerEntry, now int64) error {
	if err := e.ID.Validate(); err != nil {
		return fmt.Errorf("%w: peer ID: %v", ErrInvalidEntry, err)
	}
	if _, dup := ab.peers[e.ID]; dup {
		return fmt.Errorf("%w: peer appears twice", ErrInvalidEntry)
	}
	ps := &peerState{}
	if len(e.PubKey) > 0 {
		k, err := restoredKey(e.ID, e.PubKey)
		if err != nil {
			return err
		}
		ps.hasKey = true
		ps.setKey(k)
	}
	for _, a := range e.Addrs {
		ttl, exp, ok := restoredTTL(a, now)
		if !ok || slices.ContainsFunc(ps.pendingAddrs(), func(p pendingAddr) bool { return bytes.Equal(p.raw, a.raw) }) {
			continue
		}
		if !isConnectedTTL(ttl) {
			if ab.unconnAddr >= ab.cfg.maxUnconnectedAddrs {
				continue
			}
			if n, victim := evictionVictim(ps.pendingAddrs()); ab.cfg.maxAddrsPerPeer > 0 && n >= ab.cfg.maxAddrsPerPeer {
				ps.setPending(slices.Delete(ps.pendingAddrs(), victim, victim+1))
				ab.unconnAddr--
			}
			ab.unconnAddr++
		}
		ps.setPending(append(ps.pendingAddrs(), pendingAddr{raw: a.raw, ttl: ttl, expiry: exp}))
	}
	if len(e.Record) > 0 && len(ps.pendingAddrs()) > 0 && ab.records < ab.cfg.maxSignedRecords {
		ps.record, ps.seqUnknown = e.Record, true
		ab.records++
	}
	if len(ps.pendingAddrs()) > 0 || ps.hasKey {
		ab.peers[e.ID] = ps
		ab.accountLocked(e.ID, ps)
	}
	return nil
}

// restoredTTL maps a snapshot address to the internal TTL and expiry (see
// addrEntry) it gets now, or reports that it has expired. An AfterDisconnect
// address of a peer connected at snapshot time counts from now, as if the
// peer had just disconnected: the connection did not survive the restart.
func restoredTTL(a AddrEntry, now int64) (time.Duration, int64, bool) {
	if a.AfterDisconnect {
		if a.TTL <= 0 {
			return 0, 0, false
		}
		exp := expiryAt(now, a.TTL)
		if !a.Expires.IsZero() {
			exp = a.Expires.UnixNano()
		}
		if exp <= now {
			return 0, 0, false
		}
		return -a.TTL, exp, true
	}
	switch {
	case a.TTL == peerstore.PermanentAddrTTL:
		return a.TTL, math.MaxInt64, true
	case a.TTL == peerstore.ConnectedAddrTTL:
		return RestoredConnectedAddrTTL, expiryAt(now, RestoredConnectedAddrTTL), true
	case a.TTL <= 0 || a.Expires.IsZero():
		return 0, 0, false
	}
	exp := a.Expires.UnixNano()
	if exp <= now {
		return 0, 0, false
	}
	return a.TTL, exp, true
}

// restoredKey checks that raw is the public key of p. It returns nil for a
// key the ID inlines, which the book does not store; comparing bytes with
// the inlined key spares parsing it, the case of nearly every peer.
func restoredKey(p peer.ID, raw []byte) (crypto.PubKey, error) {
	if inline, ok := inlinedDigest(p); ok {
		if inline != string(raw) {
			return nil, fmt.Errorf("%w: public key does not match the peer ID", ErrInvalidEntry)
		}
		return nil, nil
	}
	k, err := crypto.UnmarshalPublicKey(raw)
	if err != nil {
		return nil, fmt.Errorf("%w: public key: %v", ErrInvalidEntry, err)
	}
	if !p.MatchesPublicKey(k) {
		return nil, fmt.Errorf("%w: public key does not match the peer ID", ErrInvalidEntry)
	}
	return k, nil
}

// mergeLocked folds a restored peer into a live book.
func (ab *AddrBook) mergeLocked(p peer.ID, in *peerState, now int64) {
	// Merging compares addresses, so both sides are parsed; the staged
	// book's counters are discarded with it.
	parsePending(p, in)
	ps := ab.stateLocked(p)
	if in.hasKey && !ps.hasKey {
		ps.hasKey = true
		ps.setKey(in.key())
	}
	for _, a := range in.addrs {
		if i := findAddr(ps.addrs, a.addr); i >= 0 {
			e := &ps.addrs[i]
			wasConnected := e.connected()
			e.ttl, e.expiry = combine(e.ttl, e.expiry, a.ttl, a.expiry)
			ab.recountLocked(wasConnected, e.connected())
			continue
		}
		if !a.connected() && ab.unconnAddr >= ab.cfg.maxUnconnectedAddrs {
			continue
		}
		if !ab.makeRoomLocked(ps, a.connected()) {
			continue
		}
		ps.addrs = append(ps.addrs, a)
		if !a.connected() {
			ab.unconnAddr++
		}
		ab.subs.broadcast(p, a.addr)
	}
	if in.record != nil && len(ps.addrs) > 0 {
		switch {
		case ps.record == nil && ab.records < ab.cfg.maxSignedRecords:
			ps.record, ps.recordSeq, ps.seqUnknown = in.record, 0, true
			ab.records++
		case ps.record != nil && newerRecord(p, in.record, ps):
			ps.record, ps.recordSeq, ps.seqUnknown = in.record, 0, true
		}
	}
	ab.tidyLocked(p, ps)
}

// newerRecord reports whether the restored record raw is at least as new as
// the one ps holds; an unreadable record loses.
func newerRecord(p peer.ID, raw []byte, ps *peerState) bool {
	seq, _, ok := parseRecord(p, raw)
	if !ok {
		return false
	}
	held := ps.recordSeq
	if ps.seqUnknown {
		s, _, ok := parseRecord(p, ps.record)
		if !ok {
			return true
		}
		held = s
	}
	return seq >= held
}
