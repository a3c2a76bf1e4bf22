package background

import (
	"sync"
	"testing"
	"time"

	"github.com/benbjohnson/clock"
	"github.com/libp2p/go-libp2p/core/event"
	"github.com/libp2p/go-libp2p/core/peer"
	"github.com/libp2p/go-libp2p/p2p/host/eventbus"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.uber.org/goleak"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

// startCounting starts s with a sweep that reports each run on the returned
// channel.
func startCounting(s *Sweeper) <-chan struct{} {
	ran := make(chan struct{}, 16)
	s.Start(func() { ran <- struct{}{} })
	return ran
}

func TestSweeperSweepsEveryIntervalOnItsClock(t *testing.T) {
	mock := clock.NewMock()
	s := NewSweeper(time.Hour)
	s.SetClock(mock)
	s.SetInterval(10 * time.Second)
	ran := startCounting(s)
	defer s.Stop()

	assert.Same(t, mock, s.Clock, "the store reads time from the clock it was given")
	mock.Add(9 * time.Second)
	assert.Empty(t, ran, "no sweep before the interval")
	mock.Add(time.Second)
	<-ran // the tick at 10s sweeps
	mock.Add(10 * time.Second)
	<-ran
}

func TestSweeperKeepsDefaultsForUnusableSettings(t *testing.T) {
	mock := clock.NewMock()
	s := NewSweeper(10 * time.Second)
	s.SetClock(mock)
	s.SetClock(nil)
	s.SetInterval(0)
	s.SetInterval(-time.Second)
	ran := startCounting(s)
	defer s.Stop()

	assert.Same(t, mock, s.Clock, "a nil clock keeps the one set")
	mock.Add(10 * time.Second)
	<-ran // still the 10s interval: no busy loop, no panic on a zero ticker
}

func TestIntervalForFollowsTheGracePeriod(t *testing.T) {
	const def = 10 * time.Second
	assert.Equal(t, def, IntervalFor(time.Minute, def), "half a long grace is past the default")
	assert.Equal(t, 5*time.Second, IntervalFor(10*time.Second, def), "half a short one")
	assert.Equal(t, MinInterval, IntervalFor(time.Millisecond, def), "never a busy loop")
	assert.Equal(t, def, IntervalFor(0, def), "no grace: nothing is retained to sweep for")
}

func TestSweeperStopWaitsAndIsIdempotent(t *testing.T) {
	mock := clock.NewMock()
	s := NewSweeper(time.Second)
	s.SetClock(mock)
	entered := make(chan struct{})
	finished := false
	s.Start(func() {
		close(entered)
		<-s.stop // still sweeping when Stop is called
		finished = true
	})
	mock.Add(time.Second)
	<-entered
	s.Stop()
	assert.True(t, finished, "Stop returned while a sweep was running")
	s.Stop()
	// goleak in TestMain proves the goroutine ended.
}

func TestSweeperStopWithoutStart(t *testing.T) {
	s := NewSweeper(time.Second)
	s.Stop() // must not block: there is no goroutine to wait for
}

func emit(t *testing.T, bus event.Bus, evs ...event.EvtPeerConnectednessChanged) {
	t.Helper()
	em, err := bus.Emitter(new(event.EvtPeerConnectednessChanged))
	require.NoError(t, err)
	defer em.Close()
	for _, ev := range evs {
		require.NoError(t, em.Emit(ev))
	}
}

// recorder collects the peers of the events a feed handles.
type recorder struct {
	mu    sync.Mutex
	peers []peer.ID
}

func (r *recorder) handle(e any) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.peers = append(r.peers, e.(event.EvtPeerConnectednessChanged).Peer)
}

func (r *recorder) seen() []peer.ID {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]peer.ID(nil), r.peers...)
}

func TestFeedHandlesEventsInOrderUntilClosed(t *testing.T) {
	bus := eventbus.NewBus()
	sub, err := bus.Subscribe(new(event.EvtPeerConnectednessChanged))
	require.NoError(t, err)
	var feeds Feeds
	var r recorder
	unhooked := 0
	feed, err := feeds.Start(sub, r.handle, func() { unhooked++ })
	require.NoError(t, err)

	emit(t, bus, event.EvtPeerConnectednessChanged{Peer: "a"}, event.EvtPeerConnectednessChanged{Peer: "b"})
	require.Eventually(t, func() bool { return len(r.seen()) == 2 }, 10*time.Second, time.Millisecond)
	assert.Equal(t, []peer.ID{"a", "b"}, r.seen())

	require.NoError(t, feed.Close())
	require.NoError(t, feed.Close(), "Close is idempotent")
	assert.Equal(t, 1, unhooked, "unhook runs once")
	emit(t, bus, event.EvtPeerConnectednessChanged{Peer: "c"})
	assert.Equal(t, []peer.ID{"a", "b"}, r.seen(), "a closed feed handles nothing")

	feeds.mu.Lock()
	assert.Empty(t, feeds.open, "a feed closed on its own is forgotten")
	feeds.mu.Unlock()
	require.NoError(t, feeds.Close())
}

func TestFeedsCloseEndsAllAndRefusesNew(t *testing.T) {
	bus := eventbus.NewBus()
	var feeds Feeds
	unhooked := 0
	for range 3 {
		sub, err := bus.Subscribe(new(event.EvtPeerConnectednessChanged))
		require.NoError(t, err)
		_, err = feeds.Start(sub, func(any) {}, func() { unhooked++ })
		require.NoError(t, err)
	}
	require.NoError(t, feeds.Close())
	require.NoError(t, feeds.Close())
	assert.Equal(t, 3, unhooked, "closing the feeds closes every feed")

	sub, err := bus.Subscribe(new(event.EvtPeerConnectednessChanged))
	require.NoError(t, err)
	_, err = feeds.Start(sub, func(any) { t.Error("handled an event after close") }, func() { unhooked++ })
	require.ErrorIs(t, err, ErrClosed)
	assert.Equal(t, 4, unhooked, "a refused feed still unhooks what the caller hooked")
	emit(t, bus, event.EvtPeerConnectednessChanged{Peer: "a"}) // the refused sub is closed: nothing blocks
	// goleak in TestMain proves every goroutine ended.
}
