package newstore

import (
	"bytes"
	"context"
	"sort"

	"github.com/libp2p/go-libp2p/core/peer"
	ma "github.com/multiformats/go-multiaddr"
	mafmt "github.com/multiformats/go-multiaddr-fmt"
	manet "github.com/multiformats/go-multiaddr/net"
)

// AddrSubManager fans addresses out to per-peer subscribers, as upstream
// pstoremem's AddrSubManager does, for address books other than this one:
// it is what feeds AddrBook.AddrStream.
//
// BroadcastAddr blocks until every subscriber of the peer has taken the
// address or had its context cancelled, so a subscriber misses nothing;
// a stream yields each address once, and ends (its channel closed) when
// its context is done.
type AddrSubManager struct {
	subs *addrSubs
}

// NewAddrSubManager returns a manager with no subscribers.
func NewAddrSubManager() *AddrSubManager {
	return &AddrSubManager{subs: newAddrSubs()}
}

// BroadcastAddr hands addr to every subscriber of p.
func (m *AddrSubManager) BroadcastAddr(p peer.ID, addr ma.Multiaddr) {
	m.subs.broadcast(p, addr)
}

// AddrStream subscribes to p's addresses: the channel yields initial first,
// in upstream's dial order (see sortForDial), then each address broadcast
// for p that it has not yielded yet, until ctx is done. It sorts initial in
// place, as upstream does.
func (m *AddrSubManager) AddrStream(ctx context.Context, p peer.ID, initial []ma.Multiaddr) <-chan ma.Multiaddr {
	return m.subs.subscribe(ctx, p, initial)
}

// sortForDial orders addrs as upstream pstoremem does before streaming
// them: loopback first, then those that cost no file descriptor (anything
// but TCP), then TCP, the rest by descending bytes. The comparison is
// upstream's own, kept as is (it is not a strict order for every input), so
// that a stream yields what upstream's would.
func sortForDial(addrs []ma.Multiaddr) {
	sort.Sort(dialOrder(addrs))
}

type dialOrder []ma.Multiaddr

func (d dialOrder) Len() int      { return len(d) }
func (d dialOrder) Swap(i, j int) { d[i], d[j] = d[j], d[i] }

func (d dialOrder) Less(i, j int) bool {
	a, b := d[i], d[j]
	lba, lbb := manet.IsIPLoopback(a), manet.IsIPLoopback(b)
	if lba && !lbb {
		return true
	}
	fda, fdb := mafmt.TCP.Matches(a), mafmt.TCP.Matches(b)
	if !fda {
		return fdb
	}
	if !fdb {
		return false
	}
	if lbb {
		return false
	}
	return bytes.Compare(a.Bytes(), b.Bytes()) > 0
}
