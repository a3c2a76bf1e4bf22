package peerdata

import (
	"fmt"
	"io"

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
	feed, err := s.feeds.Start(sub, s.connectedness, nil)
	if err != nil {
		return nil, fmt.Errorf("peerdata: subscribe: %w", err)
	}
	return feed, nil
}

// connectedness applies one EvtPeerConnectednessChanged; anything else is
// ignored.
func (s *Store) connectedness(e any) {
	ev, ok := e.(event.EvtPeerConnectednessChanged)
	if !ok {
		return
	}
	switch ev.Connectedness {
	case network.Connected, network.Limited:
		s.Connected(ev.Peer)
	default:
		s.Disconnected(ev.Peer)
	}
}
