package newstore

import (
	"errors"
	"fmt"
	"io"
	"math"
	"time"

	"github.com/libp2p/go-libp2p/core/event"
	"github.com/libp2p/go-libp2p/core/network"
	"github.com/libp2p/go-libp2p/core/peer"
	"github.com/libp2p/go-libp2p/p2p/host/eventbus"
	ma "github.com/multiformats/go-multiaddr"
)

// AddAddrAfterDisconnect calls AddAddrsAfterDisconnect with one address.
func (ab *AddrBook) AddAddrAfterDisconnect(p peer.ID, addr ma.Multiaddr, ttlAfterDisconnect time.Duration) {
	ab.AddAddrsAfterDisconnect(p, []ma.Multiaddr{addr}, ttlAfterDisconnect)
}

// AddAddrsAfterDisconnect adds addresses of p that live while p is connected
// and for ttlAfterDisconnect after its last connection closes; a reconnect
// before then keeps them, and their clock starts again at the next
// disconnect. It is what AddAddrs callers mean when they hope a TTL will
// "start after disconnect", without ConnectedAddrTTL tricks. The book learns
// connectedness from Attach.
//
// For a peer that is not connected, the addresses live ttlAfterDisconnect
// from now, as if it had just disconnected (or for the whole next connection
// if it connects first).
//
// Permanent stays permanent: PermanentAddrTTL and ConnectedAddrTTL (and any
// TTL at or above ConnectedAddrTTL) are added as by AddAddrs, and an address
// already held with one of them keeps it. An address already known with a
// finite TTL starts counting from disconnect, never expiring sooner than it
// would have. While p is connected its AfterDisconnect addresses are outside
// the unconnected caps, so they are never the ones evicted; from the
// disconnect they count against them like any other.
func (ab *AddrBook) AddAddrsAfterDisconnect(p peer.ID, addrs []ma.Multiaddr, ttlAfterDisconnect time.Duration) {
	if ttlAfterDisconnect <= 0 || len(addrs) == 0 {
		return
	}
	if isConnectedTTL(ttlAfterDisconnect) {
		ab.AddAddrs(p, addrs, ttlAfterDisconnect)
		return
	}
	now := ab.now()
	ab.mu.Lock()
	defer ab.mu.Unlock()
	exp := expiryAt(now, ttlAfterDisconnect)
	if _, ok := ab.online[p]; ok {
		exp = math.MaxInt64
	}
	ab.addEntriesLocked(p, addrs, -ttlAfterDisconnect, exp)
}

// combine merges a known address (ttl, exp) with a new one (nttl, nexp),
// both in the internal form (see addrEntry), never shortening its life.
// The longer of the TTLs wins where one is permanent or connected;
// otherwise an AfterDisconnect side makes the result AfterDisconnect with
// the longer of the TTLs after disconnect.
func combine(ttl time.Duration, exp int64, nttl time.Duration, nexp int64) (time.Duration, int64) {
	exp = max(exp, nexp)
	switch {
	case isConnectedTTL(ttl) || isConnectedTTL(nttl) || (ttl > 0 && nttl > 0):
		return max(ttl, nttl), exp
	case ttl < 0 && nttl < 0:
		return min(ttl, nttl), exp // the longer TTL after disconnect
	case ttl < 0:
		return ttl, exp
	default:
		return nttl, exp
	}
}

// Attach feeds the book the connectedness of n's peers: the
// EvtPeerConnectednessChanged events of bus, and the peers n is connected to
// now. A peer counts as connected while n reports it Connected or Limited.
// Only AddAddrsAfterDisconnect addresses depend on it.
//
// Closing the returned io.Closer, or the book, ends the subscription and its
// goroutine.
func (ab *AddrBook) Attach(bus event.Bus, n network.Network) (io.Closer, error) {
	if bus == nil || n == nil {
		return nil, errors.New("newstore: attach: nil event bus or network")
	}
	sub, err := bus.Subscribe(new(event.EvtPeerConnectednessChanged), eventbus.Name("newstore"))
	if err != nil {
		return nil, fmt.Errorf("newstore: attach: subscribe to connectedness events: %w", err)
	}
	feed, err := ab.feeds.Start(sub, func(e any) {
		if ev, ok := e.(event.EvtPeerConnectednessChanged); ok {
			ab.syncConnectedness(n, ev.Peer)
		}
	}, nil)
	if err != nil {
		return nil, fmt.Errorf("newstore: attach: %w", err)
	}
	// Subscribed first, so a peer that connects now is in an event if it
	// is not in this list.
	for _, p := range n.Peers() {
		ab.syncConnectedness(n, p)
	}
	return feed, nil
}

// syncConnectedness sets what the book believes of p to what n says now.
// Reading n rather than trusting an event's payload, with syncMu held
// across the read and the update, makes the seeding in Attach and the event
// feed commute: whichever runs last reads the latest state, and a change
// after it emits another event.
func (ab *AddrBook) syncConnectedness(n network.Network, p peer.ID) {
	ab.syncMu.Lock()
	defer ab.syncMu.Unlock()
	c := n.Connectedness(p)
	if c == network.Connected || c == network.Limited {
		ab.setConnected(p)
	} else {
		ab.setDisconnected(p)
	}
}

// IsConnected reports whether the book counts p as connected (see Attach).
func (ab *AddrBook) IsConnected(p peer.ID) bool {
	ab.mu.RLock()
	defer ab.mu.RUnlock()
	_, ok := ab.online[p]
	return ok
}

func (ab *AddrBook) setConnected(p peer.ID) {
	now := ab.now()
	ab.mu.Lock()
	defer ab.mu.Unlock()
	if _, ok := ab.online[p]; ok {
		return
	}
	if ab.online == nil {
		ab.online = make(map[peer.ID]struct{})
	}
	ab.online[p] = struct{}{}
	ab.onlineHigh = max(ab.onlineHigh, len(ab.online))
	ab.holdLocked(p, now)
}

func (ab *AddrBook) setDisconnected(p peer.ID) {
	now := ab.now()
	ab.mu.Lock()
	defer ab.mu.Unlock()
	if _, ok := ab.online[p]; !ok {
		return
	}
	delete(ab.online, p)
	// Go maps never shrink: rebuild the set once the crowd that grew it
	// has left.
	if ab.onlineHigh > 1024 && len(ab.online) < ab.onlineHigh/4 {
		rebuilt := make(map[peer.ID]struct{}, len(ab.online))
		for q := range ab.online {
			rebuilt[q] = struct{}{}
		}
		ab.online, ab.onlineHigh = rebuilt, len(rebuilt)
	}
	ab.releaseLocked(p, now)
}

// holdLocked stops the clocks of p's live AfterDisconnect addresses; an
// expired one stays expired.
func (ab *AddrBook) holdLocked(p peer.ID, now int64) {
	ps := ab.peerLocked(p)
	if ps == nil {
		return
	}
	for i := range ps.addrs {
		e := &ps.addrs[i]
		if e.ttl >= 0 || e.expired(now) || e.expiry == math.MaxInt64 {
			continue
		}
		e.expiry = math.MaxInt64
		ab.unconnAddr--
	}
	ab.accountLocked(p, ps)
}

// releaseLocked starts the clocks of p's AfterDisconnect addresses: each now
// expires its TTL from now and counts against the unconnected caps, which
// it may find full.
func (ab *AddrBook) releaseLocked(p peer.ID, now int64) {
	ps := ab.peerLocked(p)
	if ps == nil {
		return
	}
	for i := 0; i < len(ps.addrs); {
		e := &ps.addrs[i]
		if e.ttl >= 0 || e.expiry != math.MaxInt64 {
			i++
			continue
		}
		if ab.unconnAddr >= ab.cfg.maxUnconnectedAddrs {
			// Still of the connected class: removing it leaves the
			// count alone.
			ab.removeAtLocked(ps, i) // moves the last entry to i: look at i again
			countAdd(ab.counters.unconnected, 1)
			continue
		}
		e.expiry = expiryAt(now, -e.ttl)
		ab.unconnAddr++
		i++
	}
	if limit := ab.cfg.maxAddrsPerPeer; limit > 0 {
		for {
			n, victim := evictionVictim(ps.addrs)
			if n <= limit || victim < 0 {
				break
			}
			ab.removeAtLocked(ps, victim)
			countAdd(ab.counters.evicted, 1)
		}
	}
	ab.tidyLocked(p, ps)
}
