package newstore

import (
	"context"
	"sync"

	"github.com/libp2p/go-libp2p/core/peer"
	ma "github.com/multiformats/go-multiaddr"
)

// addrSubs fans new addresses out to AddrStream subscribers.
type addrSubs struct {
	mu   sync.RWMutex
	subs map[peer.ID][]*addrSub
}

type addrSub struct {
	ctx context.Context
	in  chan ma.Multiaddr
}

func newAddrSubs() *addrSubs {
	return &addrSubs{subs: make(map[peer.ID][]*addrSub)}
}

// broadcast hands addr to every subscriber of p. It blocks until each has
// taken it or gone away, so no address is lost to a slow reader.
func (s *addrSubs) broadcast(p peer.ID, addr ma.Multiaddr) {
	s.mu.RLock()
	defer s.mu.RUnlock()
	for _, sub := range s.subs[p] {
		select {
		case sub.in <- addr:
		case <-sub.ctx.Done():
		}
	}
}

func (s *addrSubs) empty() bool {
	s.mu.RLock()
	defer s.mu.RUnlock()
	return len(s.subs) == 0
}

func (s *addrSubs) remove(p peer.ID, sub *addrSub) {
	s.mu.Lock()
	defer s.mu.Unlock()
	list := s.subs[p]
	for i, v := range list {
		if v == sub {
			list[i] = list[len(list)-1]
			list[len(list)-1] = nil
			list = list[:len(list)-1]
			break
		}
	}
	if len(list) == 0 {
		delete(s.subs, p)
	} else {
		s.subs[p] = list
	}
}

// subscribe returns a channel that yields initial (sorted as upstream does)
// and then every new address, each once, until ctx is done.
func (s *addrSubs) subscribe(ctx context.Context, p peer.ID, initial []ma.Multiaddr) <-chan ma.Multiaddr {
	sub := &addrSub{ctx: ctx, in: make(chan ma.Multiaddr)}
	s.mu.Lock()
	s.subs[p] = append(s.subs[p], sub)
	s.mu.Unlock()

	sortForDial(initial)
	out := make(chan ma.Multiaddr)
	go func(queue []ma.Multiaddr) {
		defer close(out)
		defer s.remove(p, sub)
		sent := make(map[string]struct{}, len(queue))
		for _, a := range queue {
			sent[string(a.Bytes())] = struct{}{}
		}
		for {
			var next ma.Multiaddr
			var send chan ma.Multiaddr
			if len(queue) > 0 {
				next, send = queue[0], out
			}
			select {
			case send <- next:
				queue = queue[1:]
			case a := <-sub.in:
				if _, dup := sent[string(a.Bytes())]; dup {
					continue
				}
				sent[string(a.Bytes())] = struct{}{}
				queue = append(queue, a)
			case <-ctx.Done():
				return
			}
		}
	}(initial)
	return out
}
