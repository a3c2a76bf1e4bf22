package peerstore

import (
	"reflect"
	"sync"
	"sync/atomic"
	"time"

	"github.com/benbjohnson/clock"
	"github.com/libp2p/go-libp2p/core/host"
	"github.com/libp2p/go-libp2p/core/network"
	"github.com/libp2p/go-libp2p/core/peerstore"
)

// DefaultGracePeriod is how long what a state learned about a peer outlives
// the peer's last connection: the same as go-libp2p's pstoremanager, so a
// host's legacy store and its views forget a peer at the same time.
const DefaultGracePeriod = time.Minute

// Option configures the state New creates for a host. Options given to a New
// that finds the host's state already created are ignored.
type Option func(*config)

type config struct {
	grace time.Duration
	clock clock.Clock
}

// WithGracePeriod sets how long protocols, metadata and latency are kept
// after a peer's last connection closed (DefaultGracePeriod by default).
// d <= 0 keeps the default: a Put through a view for a peer that is not
// connected needs a period to live.
func WithGracePeriod(d time.Duration) Option {
	return func(c *config) {
		if d > 0 {
			c.grace = d
		}
	}
}

// WithClock sets the clock grace periods are measured with; tests pass a
// clock.Mock.
func WithClock(cl clock.Clock) Option {
	return func(c *config) {
		if cl != nil {
			c.clock = cl
		}
	}
}

// closer is what go-libp2p's swarm offers to tell that it closed.
type closer interface {
	Done() <-chan struct{}
}

var registry = struct {
	sync.Mutex
	states map[network.Network]*state
	// hosts lists, per state, the hosts whose view is in views, so that
	// releasing the state drops them.
	hosts map[*state][]host.Host
}{states: make(map[network.Network]*state), hosts: make(map[*state][]host.Host)}

// views holds, per host, the value New returned for it while the host's
// state lives: code that calls New(h) per message (what the analyzer's fix
// writes in place of h.Peerstore()) pays one lock-free map read, no lock
// and no allocation. A view holds nothing of its own, so one per host is
// as good as one per call.
var views sync.Map // host.Host -> *cachedView

// lastView is the view New returned last: most processes run one host,
// and comparing two interface values is cheaper than hashing one.
var lastView atomic.Pointer[cachedView]

type cachedView struct {
	host  host.Host
	ps    peerstore.Peerstore // a *view or *certifiedView
	state *state
}

// New returns the legacy Peerstore interface for h, backed by the state all
// views of h share (see the package doc). The result also implements
// peerstore.CertifiedAddrBook when h.Peerstore() does.
//
// If the state cannot subscribe to h's event bus (a closed bus), the view
// answers from h.Peerstore() alone.
func New(h host.Host, opts ...Option) peerstore.Peerstore {
	if c := lastView.Load(); c != nil && c.host == h {
		return c.ps
	}
	cacheable := h != nil && reflect.TypeOf(h).Comparable() // a sync.Map key must be
	if cacheable {
		if c, ok := views.Load(h); ok {
			cv := c.(*cachedView)
			lastView.Store(cv)
			// A release that dropped the view meanwhile must not leave it
			// in lastView: it clears lastView after views, so one of the
			// two sees the other.
			if _, still := views.Load(h); !still {
				lastView.CompareAndSwap(cv, nil)
			}
			return cv.ps
		}
	}
	s := stateFor(h, opts)
	if s == nil {
		return h.Peerstore()
	}
	var ps peerstore.Peerstore
	v := &view{host: h, legacy: h.Peerstore(), state: s}
	if cab, ok := peerstore.GetCertifiedAddrBook(h.Peerstore()); ok {
		ps = &certifiedView{view: v, cab: cab}
	} else {
		ps = v
	}
	if cacheable {
		registry.Lock()
		// Only while the state is still the host's: a release that ran
		// since stateFor must not leave a view of a torn-down state behind.
		if registry.states[h.Network()] == s {
			c, loaded := views.LoadOrStore(h, &cachedView{host: h, ps: ps, state: s})
			if !loaded {
				registry.hosts[s] = append(registry.hosts[s], h)
			}
			ps = c.(*cachedView).ps
			lastView.Store(c.(*cachedView))
		}
		registry.Unlock()
	}
	return ps
}

func stateFor(h host.Host, opts []Option) *state {
	key := h.Network()
	registry.Lock()
	defer registry.Unlock()
	if s := registry.states[key]; s != nil {
		return s
	}
	cfg := config{grace: DefaultGracePeriod, clock: clock.New()}
	for _, o := range opts {
		o(&cfg)
	}
	s, err := newState(h, cfg)
	if err != nil {
		return nil
	}
	registry.states[key] = s
	if c, ok := key.(closer); ok {
		done := c.Done()
		go func() {
			select {
			case <-done:
				release(key, s)
			case <-s.closed: // Released by hand
			}
		}()
	}
	return s
}

// Release tears down the state of h's views now: its subscription, notifiee
// and goroutines. It is only needed for a host whose network does not expose
// Done (go-libp2p's swarm does, and the state is released when it closes).
// Views of h keep answering afterwards, from what was learned and from
// h.Peerstore(); a later New starts a fresh state.
func Release(h host.Host) {
	key := h.Network()
	registry.Lock()
	s := registry.states[key]
	registry.Unlock()
	if s != nil {
		release(key, s)
	}
}

func release(key network.Network, s *state) {
	registry.Lock()
	if registry.states[key] == s {
		delete(registry.states, key)
	}
	for _, h := range registry.hosts[s] {
		if c, ok := views.Load(h); ok && c.(*cachedView).state == s {
			views.CompareAndDelete(h, c)
		}
	}
	if c := lastView.Load(); c != nil && c.state == s {
		lastView.CompareAndSwap(c, nil)
	}
	delete(registry.hosts, s)
	registry.Unlock()
	s.close()
}
