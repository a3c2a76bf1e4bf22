package background

import (
	"errors"
	"sync"

	"github.com/libp2p/go-libp2p/core/event"
)

// ErrClosed is returned by Feeds.Start once the Feeds are closed: a closed
// store takes no new subscription.
var ErrClosed = errors.New("store is closed")

// Feeds are the event-bus subscriptions feeding one store. Closing them, as
// the store's Close does, ends every one. The zero value is ready to use.
type Feeds struct {
	mu     sync.Mutex
	open   map[*Feed]struct{}
	closed bool
}

// Start applies handle to each event of sub, in order, in one goroutine,
// until the returned Feed or f is closed. unhook, if not nil, runs first when
// the feed closes: it detaches whatever else feeds the store alongside sub
// (a network notifiee). Once f is closed, Start closes sub, runs unhook and
// returns ErrClosed.
func (f *Feeds) Start(sub event.Subscription, handle func(any), unhook func()) (*Feed, error) {
	fd := &Feed{feeds: f, sub: sub, unhook: unhook, done: make(chan struct{})}
	f.mu.Lock()
	if f.closed {
		f.mu.Unlock()
		if unhook != nil {
			unhook()
		}
		_ = sub.Close()
		return nil, ErrClosed
	}
	if f.open == nil {
		f.open = make(map[*Feed]struct{})
	}
	f.open[fd] = struct{}{}
	f.mu.Unlock()

	go func() {
		defer close(fd.done)
		for e := range sub.Out() {
			handle(e)
		}
	}()
	return fd, nil
}

// Close ends every open feed, waiting for their goroutines, and makes later
// Starts fail. Later calls return nil at once.
func (f *Feeds) Close() error {
	f.mu.Lock()
	if f.closed {
		f.mu.Unlock()
		return nil
	}
	f.closed = true
	open := make([]*Feed, 0, len(f.open))
	for fd := range f.open {
		open = append(open, fd)
	}
	f.mu.Unlock()

	var errs []error
	for _, fd := range open {
		errs = append(errs, fd.Close())
	}
	return errors.Join(errs...)
}

// Feed is one subscription started by Feeds.Start.
type Feed struct {
	feeds  *Feeds
	sub    event.Subscription
	unhook func()
	done   chan struct{}
	once   sync.Once
	err    error
}

// Close ends the subscription and waits for its goroutine, an event being
// handled included. Later calls return the first call's error.
func (fd *Feed) Close() error {
	fd.once.Do(func() {
		if fd.unhook != nil {
			fd.unhook()
		}
		fd.err = fd.sub.Close() // closes Out, which ends the goroutine
		<-fd.done
		fd.feeds.mu.Lock()
		delete(fd.feeds.open, fd)
		fd.feeds.mu.Unlock()
	})
	return fd.err
}
