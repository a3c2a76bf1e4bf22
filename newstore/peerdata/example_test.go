package peerdata_test

import (
	"errors"
	"fmt"
	"time"

	"github.com/benbjohnson/clock"
	"github.com/libp2p/go-libp2p/core/peer"

	"github.com/pstoremigrate/pstoremigrate/newstore/peerdata"
)

// scoreKey is unexported, so no other package can collide with it.
type scoreKey struct{}

func Example() {
	mock := clock.NewMock()
	s := peerdata.New(peerdata.WithClock(mock))
	defer s.Close()

	p := peer.ID("example-peer")
	s.Connected(p) // Subscribe(h.EventBus()) does this from events
	_ = s.Put(p, scoreKey{}, 0.7, 10*time.Minute)

	s.Disconnected(p)
	mock.Add(9 * time.Minute)
	v, _ := s.Get(p, scoreKey{})
	fmt.Println("after 9 minutes:", v)

	mock.Add(time.Minute)
	_, err := s.Get(p, scoreKey{})
	fmt.Println("after 10 minutes:", errors.Is(err, peerdata.ErrNotFound))
	// Output:
	// after 9 minutes: 0.7
	// after 10 minutes: true
}
