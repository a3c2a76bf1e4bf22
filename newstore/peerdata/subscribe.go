package peerdata

import (
	"fmt"
	"io"
	"sync"

	"github.com/libp2p/go-libp2p/core/event"
	"github.com/libp2p/go-libp2p/core/network"
	"github.com/libp2p/go-libp2p/p2p/host/eventbus"
)

// Subscribe feeds the store from bus's EvtPeerConnectednessChanged events:
// Connected and Limited count as connected, anything else as disconnected.
// Peers already connected when it is called are not in any event: pass them
// to Connected (for example from h.Network().Peers()) after subscribing.
//
// Closing the returned io.Closer, or the Store, ends the subscription and its
// goroutine.
func (s *Store) Subscribe(bus event.Bus) (io.Closer, error) {
	sub, err := bus.Subscribe(new(event.EvtPeerConnectednessChanged), eventbus.Name("peerdata"))
	if err != nil {
		return nil, fmt.Errorf("peerdata: subscribe to connectedness events: %w", err)
	}
	ps := &subscription{store: s, sub: sub, done: make(chan struct{})}
	s.mu.Lock()
	if s.closed {
		s.mu.Unlock()
		_ = sub.Close()
		return nil, fmt.Errorf("peerdata: subscribe: store is closed")
	}
	s.subs[ps] = struct{}{}
	s.mu.Unlock()

	go func() {
		defer close(ps.done)
		for e := range sub.Out() {
			ev, ok := e.(event.EvtPeerConnectednessChanged)
			if !ok {
				continue
			}
			switch ev.Connectedness {
			case network.Connected, network.Limited:
				s.Connected(ev.Peer)
			default:
				s.Disconnected(ev.Peer)
			}
		}
	}()
	return ps, nil
}

type subscription struct {
	store *Store
	sub   event.Subscription
	done  chan struct{}
	once  sync.Once
	err   error
}

// Close ends the subscription and waits for its goroutine.
func (ps *subscription) Close() error {
	ps.once.Do(func() {
		ps.err = ps.sub.Close() // closes Out, which ends the goroutine
		<-ps.done
		ps.store.mu.Lock()
		delete(ps.store.subs, ps)
		ps.store.mu.Unlock()
	})
	return ps.err
}
