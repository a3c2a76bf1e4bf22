package remember

import (
	"bytes"
	"math"
	"slices"
	"time"

	"github.com/libp2p/go-libp2p/core/peer"
	ma "github.com/multiformats/go-multiaddr"
)

// history is what the rememberer knows of one peer's connections.
type history struct {
	// connectedFor is the time spent connected over finished connections,
	// plus the credit a peer carries over from the saved state.
	connectedFor time.Duration
	// connectedSince is when the current connection started, zero when
	// the peer is not connected.
	connectedSince time.Time
	// lastSeen is when the peer was last connected.
	lastSeen time.Time
	// addrs and record come from the saved state; they outlive the
	// peerstore's copies, which expire while the node is down.
	addrs  []ma.Multiaddr
	record []byte
	// signed are the addresses in record, verified when it was received.
	signed []ma.Multiaddr
}

// candidate is one peer as the policy ranks it.
type candidate struct {
	id        peer.ID
	hist      history
	addrs     []ma.Multiaddr // dialable, already filtered
	record    []byte         // signed envelope, nil if none
	signed    []ma.Multiaddr // the addresses in record
	lastSeen  time.Time
	certified bool
}

// score is the connected time, halved for every half-life since the peer
// was last seen; a peer connected now is not discounted. A certified
// record doubles it: its addresses are signed by the peer itself, so no
// third party can have planted them, and they are the ones the peer
// listens on.
func (c *candidate) score(now time.Time, halfLife time.Duration) float64 {
	h := c.hist
	d := h.connectedFor
	var age time.Duration
	if !h.connectedSince.IsZero() {
		d += now.Sub(h.connectedSince)
	} else {
		age = max(now.Sub(h.lastSeen), 0)
	}
	s := float64(d) * math.Exp2(-float64(age)/float64(halfLife))
	if c.certified {
		s *= 2
	}
	return s
}

// rank orders candidates best first: score, then the more recently seen,
// then a certified record, then the peer ID so the result is stable.
func rank(cands []candidate, now time.Time, halfLife time.Duration) {
	type scored struct {
		c candidate
		s float64
	}
	ss := make([]scored, len(cands))
	for i, c := range cands {
		ss[i] = scored{c, c.score(now, halfLife)}
	}
	slices.SortStableFunc(ss, func(a, b scored) int {
		switch {
		case a.s != b.s:
			if a.s > b.s {
				return -1
			}
			return 1
		case !a.c.lastSeen.Equal(b.c.lastSeen):
			return b.c.lastSeen.Compare(a.c.lastSeen)
		case a.c.certified != b.c.certified:
			if a.c.certified {
				return -1
			}
			return 1
		default:
			return bytes.Compare([]byte(a.c.id), []byte(b.c.id))
		}
	})
	for i := range ss {
		cands[i] = ss[i].c
	}
}

// dialableAddrs keeps the addresses worth remembering: not relayed (a
// relay address depends on a relay that may be gone, and the relay itself
// is remembered if it is a good peer), without the trailing /p2p/<id>,
// without duplicates, at most maxAddrsPerPeer.
func dialableAddrs(sets ...[]ma.Multiaddr) []ma.Multiaddr {
	var out []ma.Multiaddr
	seen := make(map[string]bool)
	for _, set := range sets {
		for _, a := range set {
			if len(out) == maxAddrsPerPeer {
				return out
			}
			if len(a) == 0 || isRelayed(a) {
				continue
			}
			a, _ = peer.SplitAddr(a)
			if len(a) == 0 {
				continue
			}
			k := string(a.Bytes())
			if seen[k] {
				continue
			}
			seen[k] = true
			out = append(out, a)
		}
	}
	return out
}

func isRelayed(a ma.Multiaddr) bool {
	for _, c := range a {
		if c.Code() == ma.P_CIRCUIT {
			return true
		}
	}
	return false
}
