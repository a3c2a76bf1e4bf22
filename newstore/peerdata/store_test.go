package peerdata

import (
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/benbjohnson/clock"
	"github.com/libp2p/go-libp2p/core/event"
	"github.com/libp2p/go-libp2p/core/network"
	"github.com/libp2p/go-libp2p/core/peer"
	"github.com/libp2p/go-libp2p/p2p/host/eventbus"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.uber.org/goleak"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

type scoreKey struct{}
type otherKey struct{}

const (
	peerA = peer.ID("peer-a")
	peerB = peer.ID("peer-b")
)

func newMockStore(t *testing.T, opts ...Option) (*Store, *clock.Mock) {
	t.Helper()
	mock := clock.NewMock()
	s := New(append([]Option{WithClock(mock)}, opts...)...)
	t.Cleanup(func() { require.NoError(t, s.Close()) })
	return s, mock
}

func TestValueLivesTTLAfterDisconnect(t *testing.T) {
	s, mock := newMockStore(t)
	s.Connected(peerA)
	require.NoError(t, s.Put(peerA, scoreKey{}, 7, time.Minute))

	// While connected nothing expires, however long.
	mock.Add(time.Hour)
	v, err := s.Get(peerA, scoreKey{})
	require.NoError(t, err)
	assert.Equal(t, 7, v)

	s.Disconnected(peerA)
	mock.Add(59 * time.Second)
	v, err = s.Get(peerA, scoreKey{})
	require.NoError(t, err, "value must survive within its TTL")
	assert.Equal(t, 7, v)

	mock.Add(time.Second)
	_, err = s.Get(peerA, scoreKey{})
	require.ErrorIs(t, err, ErrNotFound)
	assert.Empty(t, s.Peers())
}

func TestZeroTTLDroppedAtDisconnectOthersKept(t *testing.T) {
	s, _ := newMockStore(t)
	s.Connected(peerA)
	require.NoError(t, s.Put(peerA, scoreKey{}, "short", 0))
	require.NoError(t, s.Put(peerA, otherKey{}, "long", time.Minute))

	s.Disconnected(peerA)
	_, err := s.Get(peerA, scoreKey{})
	require.ErrorIs(t, err, ErrNotFound)
	v, err := s.Get(peerA, otherKey{})
	require.NoError(t, err)
	assert.Equal(t, "long", v)
}

func TestReconnectInTimeKeepsDataAndRestartsClock(t *testing.T) {
	s, mock := newMockStore(t)
	s.Connected(peerA)
	require.NoError(t, s.Put(peerA, scoreKey{}, 1, time.Minute))
	s.Disconnected(peerA)
	mock.Add(50 * time.Second)
	s.Connected(peerA)
	mock.Add(time.Hour)
	s.Disconnected(peerA)
	mock.Add(50 * time.Second) // 100s after the first disconnect, 50s after the second
	v, err := s.Get(peerA, scoreKey{})
	require.NoError(t, err)
	assert.Equal(t, 1, v)
}

func TestReconnectAfterExpiryDoesNotRevive(t *testing.T) {
	s, mock := newMockStore(t, WithSweepInterval(time.Hour)) // no sweep in between
	s.Connected(peerA)
	require.NoError(t, s.Put(peerA, scoreKey{}, 1, time.Minute))
	s.Disconnected(peerA)
	mock.Add(2 * time.Minute)
	s.Connected(peerA)
	_, err := s.Get(peerA, scoreKey{})
	require.ErrorIs(t, err, ErrNotFound)
}

func TestPutForPeerNotConnected(t *testing.T) {
	s, mock := newMockStore(t)

	err := s.Put(peerA, scoreKey{}, 1, 0)
	require.ErrorIs(t, err, ErrNotConnected)
	assert.Contains(t, err.Error(), peerA.String())

	require.NoError(t, s.Put(peerA, scoreKey{}, 1, time.Minute))
	mock.Add(30 * time.Second)
	_, err = s.Get(peerA, scoreKey{})
	require.NoError(t, err)
	mock.Add(30 * time.Second)
	_, err = s.Get(peerA, scoreKey{})
	require.ErrorIs(t, err, ErrNotFound)

	// Put before a dial: the connection that follows keeps the value.
	require.NoError(t, s.Put(peerB, scoreKey{}, 2, time.Minute))
	s.Connected(peerB)
	mock.Add(time.Hour)
	v, err := s.Get(peerB, scoreKey{})
	require.NoError(t, err)
	assert.Equal(t, 2, v)
}

type namedString string

type holder struct{ v any }

func TestKeysCompareLikeContextKeys(t *testing.T) {
	s, _ := newMockStore(t)
	s.Connected(peerA)
	require.NoError(t, s.Put(peerA, "k", "plain string", 0))
	require.NoError(t, s.Put(peerA, namedString("k"), "named string", 0))
	require.NoError(t, s.Put(peerA, holder{v: 1}, "struct", 0))

	v, err := s.Get(peerA, "k")
	require.NoError(t, err)
	assert.Equal(t, "plain string", v)
	v, err = s.Get(peerA, namedString("k"))
	require.NoError(t, err)
	assert.Equal(t, "named string", v, "keys of different types must not collide")
	v, err = s.Get(peerA, holder{v: 1})
	require.NoError(t, err)
	assert.Equal(t, "struct", v)
	_, err = s.Get(peerB, "k")
	require.ErrorIs(t, err, ErrNotFound, "values are per peer")
}

func TestInvalidKeysAreErrorsNotPanics(t *testing.T) {
	s, _ := newMockStore(t)
	s.Connected(peerA)
	require.NoError(t, s.Put(peerA, holder{v: 1}, "kept", 0))
	bad := []any{
		nil,
		[]byte("k"),
		map[string]int{},
		func() {},
		holder{v: []int{1}}, // comparable type, non-comparable dynamic value
		[1]any{[]int{1}},
	}
	for _, k := range bad {
		t.Run(fmt.Sprintf("%T", k), func(t *testing.T) {
			require.NotPanics(t, func() {
				require.ErrorIs(t, s.Put(peerA, k, 1, time.Minute), ErrInvalidKey)
				_, err := s.Get(peerA, k)
				require.ErrorIs(t, err, ErrInvalidKey)
				require.ErrorIs(t, s.Delete(peerA, k), ErrInvalidKey)
			})
		})
	}
	require.Error(t, s.Put(peerA, scoreKey{}, 1, -time.Second), "negative TTL")
}

func TestCapsAreErrorsNotGrowth(t *testing.T) {
	s, mock := newMockStore(t, WithMaxPeers(2), WithMaxEntriesPerPeer(2))
	for _, p := range []peer.ID{peerA, peerB, "peer-c"} {
		s.Connected(p)
	}
	require.NoError(t, s.Put(peerA, 1, "a1", time.Minute))
	require.NoError(t, s.Put(peerA, 2, "a2", time.Minute))
	require.ErrorIs(t, s.Put(peerA, 3, "a3", time.Minute), ErrTooManyEntries)
	require.NoError(t, s.Put(peerA, 2, "a2'", time.Minute), "replacing a value never hits a cap")

	require.NoError(t, s.Put(peerB, 1, "b1", 0))
	err := s.Put("peer-c", 1, "c1", time.Minute)
	require.ErrorIs(t, err, ErrTooManyPeers)
	assert.Equal(t, fmt.Sprintf("put for peer %s: %v (cap 2)", peer.ID("peer-c"), ErrTooManyPeers), err.Error(),
		"the error names the peer and the cap")

	// Expired data stops counting against the cap.
	s.Disconnected(peerA)
	mock.Add(time.Minute)
	require.NoError(t, s.Put("peer-c", 1, "c1", time.Minute))
	assert.ElementsMatch(t, []peer.ID{peerB, "peer-c"}, s.Peers())

	// Removing a peer's data frees its slot too.
	s.RemovePeer(peerB)
	require.NoError(t, s.Put(peerA, 1, "a1", time.Minute))
}

func TestDeleteAndRemovePeer(t *testing.T) {
	s, _ := newMockStore(t)
	s.Connected(peerA)
	require.NoError(t, s.Put(peerA, 1, "one", 0))
	require.NoError(t, s.Put(peerA, 2, "two", 0))
	require.NoError(t, s.Delete(peerA, 1))
	_, err := s.Get(peerA, 1)
	require.ErrorIs(t, err, ErrNotFound)
	v, err := s.Get(peerA, 2)
	require.NoError(t, err)
	assert.Equal(t, "two", v)

	s.RemovePeer(peerA)
	_, err = s.Get(peerA, 2)
	require.ErrorIs(t, err, ErrNotFound)
	// RemovePeer drops data, not connectedness: a TTL-0 Put still works.
	require.NoError(t, s.Put(peerA, 3, "three", 0))
}

func TestSweepFreesExpiredPeers(t *testing.T) {
	s, mock := newMockStore(t, WithSweepInterval(time.Second))
	for i := range 100 {
		p := peer.ID(fmt.Sprint("p", i))
		s.Connected(p)
		require.NoError(t, s.Put(p, scoreKey{}, i, time.Second))
		s.Disconnected(p)
	}
	s.Connected(peerA)
	require.NoError(t, s.Put(peerA, scoreKey{}, "stays", time.Second))
	mock.Add(2 * time.Second) // fires the sweeper's ticker
	require.Eventually(t, func() bool {
		s.mu.Lock()
		defer s.mu.Unlock()
		return len(s.peers) == 1 && s.withData == 1
	}, 10*time.Second, time.Millisecond, "sweeper must free expired peers")
}

func TestSubscribeFollowsConnectednessEvents(t *testing.T) {
	bus := eventbus.NewBus()
	em, err := bus.Emitter(new(event.EvtPeerConnectednessChanged))
	require.NoError(t, err)
	defer em.Close()

	s, mock := newMockStore(t)
	sub, err := s.Subscribe(bus)
	require.NoError(t, err)

	require.NoError(t, em.Emit(event.EvtPeerConnectednessChanged{Peer: peerA, Connectedness: network.Connected}))
	require.Eventually(t, func() bool { return s.Put(peerA, scoreKey{}, 1, 0) == nil },
		10*time.Second, time.Millisecond, "a TTL-0 Put works once the peer is connected")

	require.NoError(t, em.Emit(event.EvtPeerConnectednessChanged{Peer: peerA, Connectedness: network.NotConnected}))
	require.Eventually(t, func() bool {
		_, err := s.Get(peerA, scoreKey{})
		return err == ErrNotFound
	}, 10*time.Second, time.Millisecond, "a TTL-0 value is dropped at disconnect")

	// Limited counts as connected.
	require.NoError(t, em.Emit(event.EvtPeerConnectednessChanged{Peer: peerB, Connectedness: network.Limited}))
	require.Eventually(t, func() bool { return s.Put(peerB, scoreKey{}, 1, 0) == nil },
		10*time.Second, time.Millisecond)
	mock.Add(time.Hour)
	_, err = s.Get(peerB, scoreKey{})
	require.NoError(t, err)

	require.NoError(t, sub.Close())
	require.NoError(t, sub.Close(), "Close is idempotent")
}

func TestCloseEndsSubscriptions(t *testing.T) {
	bus := eventbus.NewBus()
	s := New()
	_, err := s.Subscribe(bus)
	require.NoError(t, err)
	require.NoError(t, s.Close())
	require.NoError(t, s.Close())
	_, err = s.Subscribe(bus)
	require.Error(t, err, "a closed store takes no new subscription")
	// goleak in TestMain proves the goroutines ended.
}

func TestConcurrentUse(t *testing.T) {
	s, mock := newMockStore(t, WithSweepInterval(50*time.Millisecond))
	var wg sync.WaitGroup
	for w := range 4 {
		wg.Go(func() {
			for i := range 200 {
				p := peer.ID(fmt.Sprint("p", (w*7+i)%20))
				switch i % 5 {
				case 0:
					s.Connected(p)
				case 1:
					_ = s.Put(p, i%3, i, time.Second)
				case 2:
					_, _ = s.Get(p, i%3)
				case 3:
					s.Disconnected(p)
				case 4:
					mock.Add(100 * time.Millisecond)
				}
			}
		})
	}
	wg.Wait()
	// Every live value belongs to a peer Peers reports.
	for _, p := range s.Peers() {
		s.mu.Lock()
		n := len(s.peers[p].entries)
		s.mu.Unlock()
		assert.Positive(t, n)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	n := 0
	for _, ps := range s.peers {
		if len(ps.entries) > 0 {
			n++
		}
	}
	assert.Equal(t, n, s.withData, "peer count used by the cap stays exact")
}

func TestByteBudgetPerPeerIsAnErrorThatChangesNothing(t *testing.T) {
	s, _ := newMockStore(t, WithMaxBytesPerPeer(1024))
	s.Connected(peerA)
	require.NoError(t, s.Put(peerA, scoreKey{}, "small", time.Minute))
	err := s.Put(peerA, otherKey{}, strings.Repeat("x", 2000), time.Minute)
	require.ErrorIs(t, err, ErrTooManyBytes)
	require.ErrorIs(t, s.Put(peerA, scoreKey{}, strings.Repeat("x", 2000), time.Minute), ErrTooManyBytes,
		"replacing a value is held to the budget too")
	v, err := s.Get(peerA, scoreKey{})
	require.NoError(t, err)
	assert.Equal(t, "small", v, "the refused Put left the honest value alone")
	require.NoError(t, s.Put(peerA, otherKey{}, strings.Repeat("x", 500), time.Minute))
}

// pair is a value whose strings its type's size does not show.
type pair struct{ a, b string }

func (p pair) PeerDataSize() int { return 32 + len(p.a) + len(p.b) }

func TestSizerIsChargedWhatItSays(t *testing.T) {
	s, _ := newMockStore(t, WithMaxBytesPerPeer(1024))
	s.Connected(peerA)
	big := pair{a: strings.Repeat("x", 600), b: strings.Repeat("y", 600)}
	require.ErrorIs(t, s.Put(peerA, scoreKey{}, big, time.Minute), ErrTooManyBytes,
		"a 32-byte struct holding 1,200 bytes of strings is charged the strings")
	require.NoError(t, s.Put(peerA, scoreKey{}, pair{a: "kubo/0.30.0/", b: "ipfs/0.1.0"}, time.Minute))
	s.mu.Lock()
	defer s.mu.Unlock()
	assert.Equal(t, sizeOf(scoreKey{})+32+22+EntryOverhead, s.peers[peerA].bytes)
}

func TestRetainedBytesDropLongestDisconnectedFirst(t *testing.T) {
	val := strings.Repeat("v", 400)
	per := sizeOf(scoreKey{}) + sizeOf(val) + EntryOverhead
	s, mock := newMockStore(t, WithMaxRetainedBytes(2*per), WithSweepInterval(time.Hour))
	for _, p := range []peer.ID{"p1", "p2", "p3"} {
		s.Connected(p)
		require.NoError(t, s.Put(p, scoreKey{}, val, time.Hour))
		s.Disconnected(p)
		mock.Add(time.Second)
	}
	_, err := s.Get("p1", scoreKey{})
	require.ErrorIs(t, err, ErrNotFound, "the longest-disconnected peer lost its values")
	for _, p := range []peer.ID{"p2", "p3"} {
		_, err := s.Get(p, scoreKey{})
		require.NoError(t, err)
	}
	assert.Equal(t, uint64(1), s.Dropped())

	// A peer that reconnects stops counting; its old place in line is stale.
	s.Connected("p2")
	require.NoError(t, s.Put("p4", scoreKey{}, val, time.Hour)) // not connected: counts at once
	_, err = s.Get("p3", scoreKey{})
	require.NoError(t, err)
	s.mu.Lock()
	assert.Equal(t, 2*per, s.retainedBytes)
	s.mu.Unlock()
}

func TestMemoryComesBackAfterChurn(t *testing.T) {
	s, mock := newMockStore(t, WithSweepInterval(time.Hour))
	for i := range 3000 {
		p := peer.ID(fmt.Sprint("churn", i))
		s.Connected(p)
		require.NoError(t, s.Put(p, scoreKey{}, strings.Repeat("v", 100), time.Minute))
		s.Disconnected(p)
	}
	mock.Add(time.Minute)
	s.sweep()
	s.mu.Lock()
	defer s.mu.Unlock()
	assert.Empty(t, s.peers)
	assert.Zero(t, s.peakPeers, "the emptied map was rebuilt")
	assert.Zero(t, s.retainedBytes)
	assert.Empty(t, s.disconnected)
}

// With WithSweepIntervalFor(grace), a value put with a TTL of grace leaves
// memory by grace + grace/2 after the disconnect at the latest, wherever the
// disconnect falls between two sweeps.
func TestSweepIntervalForFreesByGraceAndAHalf(t *testing.T) {
	for _, grace := range []time.Duration{time.Second, 10 * time.Second, time.Minute} {
		for _, phase := range []float64{0.01, 0.49, 0.99} {
			t.Run(fmt.Sprint(grace, "/", phase), func(t *testing.T) {
				s, mock := newMockStore(t, WithSweepIntervalFor(grace))
				mock.Add(time.Duration(phase * float64(grace/2)))
				s.Connected(peerA)
				require.NoError(t, s.Put(peerA, "k", "v", grace))
				s.Disconnected(peerA)
				step := grace / 20
				for elapsed := time.Duration(0); elapsed < grace+grace/2; elapsed += step {
					mock.Add(step)
				}
				require.Eventually(t, func() bool {
					s.mu.Lock()
					defer s.mu.Unlock()
					return len(s.peers) == 0
				}, 5*time.Second, time.Millisecond, "the value is still in memory at grace + grace/2")
			})
		}
	}
}
