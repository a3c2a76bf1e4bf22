package protocols

import (
	"errors"
	"fmt"
	"io"

	"github.com/libp2p/go-libp2p/core/event"
	"github.com/libp2p/go-libp2p/core/network"
	"github.com/libp2p/go-libp2p/p2p/host/eventbus"
)

// Attach feeds the store from a host: identify events from bus, connection
// closes from n's notifiee. Connections identified before Attach are not in
// any event; feed them with Identified if they are known some other way.
//
// Closing the returned io.Closer, or the Store, ends the subscription, the
// notifiee and the goroutine.
func (s *Store) Attach(bus event.Bus, n network.Network) (io.Closer, error) {
	if bus == nil || n == nil {
		return nil, errors.New("protocols: attach: nil event bus or network")
	}
	sub, err := bus.Subscribe(
		[]any{new(event.EvtPeerIdentificationCompleted), new(event.EvtPeerProtocolsUpdated)},
		eventbus.Name("protocols"),
	)
	if err != nil {
		return nil, fmt.Errorf("protocols: subscribe to identify events: %w", err)
	}
	notifiee := &network.NotifyBundle{DisconnectedF: func(_ network.Network, c network.Conn) { s.ConnClosed(c) }}
	// Hooked before the feed starts, so a closing store always finds the
	// notifiee to unhook.
	n.Notify(notifiee)
	feed, err := s.feeds.Start(sub, s.Consume, func() { n.StopNotify(notifiee) })
	if err != nil {
		return nil, fmt.Errorf("protocols: attach: %w", err)
	}
	return feed, nil
}

// Consume applies one event: EvtPeerIdentificationCompleted or
// EvtPeerProtocolsUpdated; anything else is ignored. Attach calls it; code
// that runs its own subscription calls it to keep one order of events.
func (s *Store) Consume(e any) {
	switch ev := e.(type) {
	case event.EvtPeerIdentificationCompleted:
		s.Identified(ev.Conn, ev.Protocols)
	case event.EvtPeerProtocolsUpdated:
		s.Updated(ev.Peer, ev.Added, ev.Removed)
	}
}
