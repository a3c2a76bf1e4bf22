package peerstore

import (
	"fmt"
	"math/rand/v2"
	"runtime"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/benbjohnson/clock"
	"github.com/libp2p/go-libp2p/core/event"
	"github.com/libp2p/go-libp2p/core/network"
	"github.com/libp2p/go-libp2p/core/peer"
	"github.com/libp2p/go-libp2p/core/peerstore"
	"github.com/libp2p/go-libp2p/core/protocol"
	"github.com/libp2p/go-libp2p/p2p/host/eventbus"
	"github.com/libp2p/go-libp2p/p2p/host/peerstore/pstoremem"
	"github.com/libp2p/go-libp2p/p2p/host/pstoremanager"

	"github.com/pstoremigrate/pstoremigrate/internal/measure"
)

// The churn benchmarks drive both worlds with the same events on an
// in-process bus, as a host's swarm and identify emit them:
//
//   - upstream: pstoremem, written by a subscriber doing what identify does
//     (SetProtocols, Put "ProtocolVersion" and "AgentVersion"), and
//     pstoremanager dropping peers a grace period after disconnect;
//   - compat: the state's tracker (newstore/peerdata, newstore/protocols)
//     fed by the same events, conn closes from the notifiee.
//
// Addresses and keys are left out of both: they live in the host's store in
// either world. BenchmarkChurn's peers all send kubo's list, which the
// protocols store shares between consecutive peers; BenchmarkChurnMixed's
// come from several implementations in a random order, where it mostly
// cannot. Run side by side:
//
//	go test -run '^$' -bench 'Churn|ConnectedPeer' -benchtime 1x ./compat/peerstore/   (heap)
//	go test -run '^$' -bench 'Churn' ./compat/peerstore/                               (CPU)

const benchPeers = 10_000

// benchProtocols is what a typical kubo peer advertises.
var benchProtocols = []string{
	"/ipfs/id/1.0.0", "/ipfs/id/push/1.0.0", "/ipfs/ping/1.0.0", "/libp2p/circuit/relay/0.2.0/stop",
	"/libp2p/circuit/relay/0.2.0/hop", "/ipfs/kad/1.0.0", "/ipfs/bitswap/1.2.0", "/ipfs/bitswap/1.1.0",
	"/ipfs/bitswap/1.0.0", "/ipfs/bitswap", "/meshsub/1.1.0", "/meshsub/1.0.0", "/floodsub/1.0.0",
	"/ipfs/lan/kad/1.0.0", "/x/", "/libp2p/autonat/1.0.0", "/libp2p/autonat/2/dial-request",
	"/libp2p/autonat/2/dial-back", "/libp2p/dcutr", "/ipfs/bitswap/1.2.0/x",
}

// benchConn stands for the swarm's connection object, which exists in both
// worlds alike.
type benchConn struct {
	network.Conn
	peer   peer.ID
	closed atomic.Bool
}

func (c *benchConn) RemotePeer() peer.ID { return c.peer }
func (c *benchConn) IsClosed() bool      { return c.closed.Load() }

// benchNet answers pstoremanager's one question to the network.
type benchNet struct{ network.Network }

func (benchNet) Connectedness(peer.ID) network.Connectedness { return network.NotConnected }

// makeConns builds the swarm's connection objects for n peers. They exist
// in both worlds alike, so the benchmarks build them before measuring.
func makeConns(n, offset int) []*benchConn {
	out := make([]*benchConn, n)
	for i := range out {
		out[i] = &benchConn{peer: peer.ID(fmt.Sprintf("12D3KooWbenchpeer%040d", offset+i))}
	}
	return out
}

// benchSoftware is what one kind of peer sends in identify.
type benchSoftware struct {
	agent, protocolVersion string
	protocols              []string
}

var kubo = benchSoftware{"kubo/0.30.0/", "ipfs/0.1.0", benchProtocols}

// mixedSoftware is a public network's mix as a kubo node sees it: peers
// of several implementations and versions, each sending its own list.
var mixedSoftware = []benchSoftware{
	kubo,
	{"kubo/0.29.0/3f0947b", "ipfs/0.1.0", benchProtocols[:len(benchProtocols)-3]},
	{"lotus-1.30.0+mainnet+git.2e12a0b", "ipfs/0.1.0", []string{
		"/ipfs/id/1.0.0", "/ipfs/id/push/1.0.0", "/ipfs/ping/1.0.0", "/fil/hello/1.0.0",
		"/fil/chain/xchg/0.0.1", "/meshsub/1.1.0", "/meshsub/1.0.0", "/floodsub/1.0.0",
		"/fil/kad/testnetnet/kad/1.0.0", "/libp2p/autonat/1.0.0", "/libp2p/circuit/relay/0.2.0/stop",
	}},
	{"helia/5.1.0 js-libp2p/2.3.0 UserAgent=node", "ipfs/0.1.0", []string{
		"/ipfs/id/1.0.0", "/ipfs/id/push/1.0.0", "/ipfs/ping/1.0.0", "/ipfs/bitswap/1.2.0",
		"/ipfs/bitswap/1.1.0", "/ipfs/bitswap/1.0.0", "/ipfs/kad/1.0.0", "/libp2p/autonat/1.0.0",
		"/libp2p/circuit/relay/0.2.0/stop", "/libp2p/dcutr", "/webrtc-signaling/0.0.1",
	}},
	{"rust-libp2p/0.45.0", "ipfs/0.1.0", []string{
		"/ipfs/id/1.0.0", "/ipfs/id/push/1.0.0", "/ipfs/ping/1.0.0", "/ipfs/kad/1.0.0",
		"/meshsub/1.1.0", "/meshsub/1.0.0",
	}},
}

// identifiedEvent is what identify emits for c from a kubo peer, with fresh
// strings as identify parses them from the wire.
func identifiedEvent(c *benchConn) event.EvtPeerIdentificationCompleted {
	return kubo.identifiedEvent(c)
}

func (sw benchSoftware) identifiedEvent(c *benchConn) event.EvtPeerIdentificationCompleted {
	protos := make([]protocol.ID, len(sw.protocols))
	for j, s := range sw.protocols {
		protos[j] = protocol.ID(strings.Clone(s))
	}
	return event.EvtPeerIdentificationCompleted{
		Peer: c.peer, Conn: c, Protocols: protos,
		AgentVersion: strings.Clone(sw.agent), ProtocolVersion: strings.Clone(sw.protocolVersion),
	}
}

// world is one side of the comparison.
type world interface {
	// connClosed is the swarm's notifiee call for a closed conn.
	connClosed(c network.Conn)
	// sync waits until every event emitted so far has been handled.
	sync()
	close()
}

type churnDriver struct {
	bus       event.Bus
	connected event.Emitter
	identify  event.Emitter
	barrier   event.Emitter
	w         world
}

func newDriver(b *testing.B, mk func(bus event.Bus) world) *churnDriver {
	bus := eventbus.NewBus()
	d := &churnDriver{bus: bus}
	var err error
	if d.connected, err = bus.Emitter(new(event.EvtPeerConnectednessChanged)); err != nil {
		b.Fatal(err)
	}
	if d.identify, err = bus.Emitter(new(event.EvtPeerIdentificationCompleted)); err != nil {
		b.Fatal(err)
	}
	if d.barrier, err = bus.Emitter(new(barrierEvent)); err != nil {
		b.Fatal(err)
	}
	d.w = mk(bus)
	return d
}

func (d *churnDriver) up(ev event.EvtPeerIdentificationCompleted) {
	_ = d.connected.Emit(event.EvtPeerConnectednessChanged{Peer: ev.Peer, Connectedness: network.Connected})
	_ = d.identify.Emit(ev)
}

func (d *churnDriver) down(c *benchConn) {
	c.closed.Store(true)
	d.w.connClosed(c)
	_ = d.connected.Emit(event.EvtPeerConnectednessChanged{Peer: c.peer, Connectedness: network.NotConnected})
}

func (d *churnDriver) close() {
	d.w.close()
	_ = d.connected.Close()
	_ = d.identify.Close()
	_ = d.barrier.Close()
}

// subscriberLoop runs handle for every event of a subscription to all the
// churn events plus barriers, until the subscription closes.
func subscriberLoop(bus event.Bus, handle func(any)) (event.Subscription, chan struct{}) {
	sub, err := bus.Subscribe([]any{
		new(event.EvtPeerConnectednessChanged), new(event.EvtPeerIdentificationCompleted), new(barrierEvent),
	}, eventbus.BufSize(256))
	if err != nil {
		panic(err) // a fresh in-process bus: cannot fail
	}
	done := make(chan struct{})
	go func() {
		defer close(done)
		for e := range sub.Out() {
			if b, ok := e.(barrierEvent); ok {
				close(b.done)
				continue
			}
			handle(e)
		}
	}()
	return sub, done
}

type upstreamWorld struct {
	ps      peerstore.Peerstore
	mgr     *pstoremanager.PeerstoreManager
	sub     event.Subscription
	done    chan struct{}
	barrier event.Emitter
}

func newUpstreamWorld(bus event.Bus) world {
	ps, err := pstoremem.NewPeerstore()
	if err != nil {
		panic(err)
	}
	mgr, err := pstoremanager.NewPeerstoreManager(ps, bus, benchNet{}, pstoremanager.WithGracePeriod(DefaultGracePeriod))
	if err != nil {
		panic(err)
	}
	mgr.Start()
	w := &upstreamWorld{ps: ps, mgr: mgr}
	// What identify writes into the host's peerstore.
	w.sub, w.done = subscriberLoop(bus, func(e any) {
		if ev, ok := e.(event.EvtPeerIdentificationCompleted); ok {
			_ = ps.SetProtocols(ev.Peer, ev.Protocols...)
			_ = ps.Put(ev.Peer, "ProtocolVersion", ev.ProtocolVersion)
			_ = ps.Put(ev.Peer, "AgentVersion", ev.AgentVersion)
		}
	})
	w.barrier, _ = bus.Emitter(new(barrierEvent))
	return w
}

func (w *upstreamWorld) connClosed(network.Conn) {}
func (w *upstreamWorld) sync()                   { emitBarrier(w.barrier) }
func (w *upstreamWorld) close() {
	_ = w.barrier.Close()
	_ = w.sub.Close()
	<-w.done
	_ = w.mgr.Close()
	_ = w.ps.Close()
}

type compatWorld struct {
	t       *tracker
	sub     event.Subscription
	done    chan struct{}
	barrier event.Emitter
}

func newCompatWorld(bus event.Bus) world {
	t := newTracker(config{grace: DefaultGracePeriod, clock: clock.New()})
	w := &compatWorld{t: t}
	w.sub, w.done = subscriberLoop(bus, t.consume)
	w.barrier, _ = bus.Emitter(new(barrierEvent))
	return w
}

func (w *compatWorld) connClosed(c network.Conn) { w.t.protos.ConnClosed(c) }
func (w *compatWorld) sync()                     { emitBarrier(w.barrier) }
func (w *compatWorld) close() {
	_ = w.barrier.Close()
	_ = w.sub.Close()
	<-w.done
	w.t.close()
}

func emitBarrier(em event.Emitter) {
	done := make(chan struct{})
	_ = em.Emit(barrierEvent{done: done})
	<-done
}

var worlds = []struct {
	name string
	mk   func(event.Bus) world
}{
	{"upstream", newUpstreamWorld},
	{"compat", newCompatWorld},
}

// BenchmarkConnectedPeerHeap: heap per connected, identified peer with
// 10,000 peers connected. The identify events are garbage once handled, as
// on a host: what a world keeps of them counts against it.
func BenchmarkConnectedPeerHeap(b *testing.B) {
	for _, w := range worlds {
		b.Run(w.name, func(b *testing.B) {
			var perPeer float64
			for range b.N {
				conns := makeConns(benchPeers, 0)
				before := measure.HeapInUse()
				d := newDriver(b, w.mk)
				for _, c := range conns {
					d.up(identifiedEvent(c))
				}
				d.w.sync()
				perPeer = float64(measure.HeapInUse()-before) / benchPeers
				runtime.KeepAlive(conns)
				d.close()
			}
			b.ReportMetric(perPeer, "heap-B/peer")
		})
	}
}

// BenchmarkChurn: with 10,000 peers connected, each op disconnects the
// longest-connected peer for good and connects and identifies a new one.
// ns/op, B/op and allocs/op are per churn cycle (events built beforehand);
// heap-B/peer is the heap at the end over the peers held: the connected ones
// plus those disconnected within the grace period (a minute, in both worlds).
func BenchmarkChurn(b *testing.B) {
	benchmarkChurn(b, func() benchSoftware { return kubo })
}

// BenchmarkChurnMixed is BenchmarkChurn with peers of mixedSoftware arriving
// in a random order, so consecutive peers rarely send the same list.
func BenchmarkChurnMixed(b *testing.B) {
	rng := rand.New(rand.NewPCG(1, 2))
	benchmarkChurn(b, func() benchSoftware { return mixedSoftware[rng.IntN(len(mixedSoftware))] })
}

func benchmarkChurn(b *testing.B, software func() benchSoftware) {
	for _, w := range worlds {
		b.Run(w.name, func(b *testing.B) {
			conns := makeConns(benchPeers+b.N, 0)
			before := measure.HeapInUse()
			events := make([]event.EvtPeerIdentificationCompleted, len(conns))
			for i, c := range conns {
				events[i] = software().identifiedEvent(c)
			}
			d := newDriver(b, w.mk)
			defer d.close()
			for _, ev := range events[:benchPeers] {
				d.up(ev)
			}
			d.w.sync()
			b.ReportAllocs()
			cpu0 := measure.ProcessCPU()
			b.ResetTimer()
			for i := range b.N {
				d.down(conns[i])
				d.up(events[benchPeers+i])
			}
			d.w.sync()
			b.StopTimer()
			// CPU time of the whole process (handlers, GC), which a loaded
			// machine disturbs less than wall time.
			b.ReportMetric(float64(measure.ProcessCPU()-cpu0)/float64(b.N), "cpu-ns/op")
			events = nil // garbage on a host once handled
			held := benchPeers + b.N
			b.ReportMetric(float64(measure.HeapInUse()-before)/float64(held), "heap-B/peer")
			runtime.KeepAlive(conns)
		})
	}
}

// BenchmarkSupportsProtocols: the query legacy code makes most (NewStream,
// kad-dht), with 10,000 peers identified: upstream pstoremem against the
// per-connection store, each asked the same questions.
func BenchmarkSupportsProtocols(b *testing.B) {
	conns := makeConns(benchPeers, 0)
	asked := []protocol.ID{"/not/spoken/1.0.0", "/ipfs/kad/1.0.0", "/meshsub/1.1.0"}

	b.Run("upstream", func(b *testing.B) {
		ps, err := pstoremem.NewPeerstore()
		if err != nil {
			b.Fatal(err)
		}
		defer ps.Close()
		for _, c := range conns {
			ev := identifiedEvent(c)
			_ = ps.SetProtocols(ev.Peer, ev.Protocols...)
		}
		b.ReportAllocs()
		b.ResetTimer()
		for i := range b.N {
			if got, _ := ps.SupportsProtocols(conns[i%benchPeers].peer, asked...); len(got) != 2 {
				b.Fatalf("got %v", got)
			}
		}
	})
	b.Run("compat", func(b *testing.B) {
		t := newTracker(config{grace: DefaultGracePeriod, clock: clock.New()})
		defer t.close()
		for _, c := range conns {
			ev := identifiedEvent(c)
			t.protos.Identified(ev.Conn, ev.Protocols)
		}
		b.ReportAllocs()
		b.ResetTimer()
		for i := range b.N {
			if got := t.protos.Supports(conns[i%benchPeers].peer, asked...); len(got) != 2 {
				b.Fatalf("got %v", got)
			}
		}
	})
}
