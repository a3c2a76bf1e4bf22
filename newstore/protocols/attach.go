package protocols

import (
	"errors"
	"fmt"
	"io"
	"sync"

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
	a := &attachment{store: s, sub: sub, net: n, done: make(chan struct{})}
	a.notifiee = &network.NotifyBundle{DisconnectedF: func(_ network.Network, c network.Conn) { s.ConnClosed(c) }}

	s.mu.Lock()
	if s.closed {
		s.mu.Unlock()
		_ = sub.Close()
		return nil, errors.New("protocols: attach: store is closed")
	}
	s.attached[a] = struct{}{}
	s.mu.Unlock()

	n.Notify(a.notifiee)
	go func() {
		defer close(a.done)
		for e := range sub.Out() {
			s.Consume(e)
		}
	}()
	return a, nil
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

type attachment struct {
	store    *Store
	sub      event.Subscription
	net      network.Network
	notifiee network.Notifiee
	done     chan struct{}
	once     sync.Once
	err      error
}

// Close ends the subscription and the notifiee and waits for the goroutine.
func (a *attachment) Close() error {
	a.once.Do(func() {
		a.net.StopNotify(a.notifiee)
		a.err = a.sub.Close()
		<-a.done
		a.store.mu.Lock()
		delete(a.store.attached, a)
		a.store.mu.Unlock()
	})
	return a.err
}
