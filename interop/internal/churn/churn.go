// Package churn runs the hostile churn workload against a legacy store and
// samples, as it goes, the heap and the CPU time the store takes: the time
// series behind the README's picture (cmd/churnplot) and
// BenchmarkHostileChurn (interop/peerstore).
//
// The workload: a host keeps Config.Connected peers connected; every cycle,
// the peer connected longest disconnects for good and a new one connects
// and is identified, as go-libp2p's swarm and identify report it on the
// host's event bus. Every new peer is hostile, within what go-libp2p's
// identify lets through (ten 8 KiB messages): it advertises Config.Protocols
// unique protocols of Config.ProtocolLen bytes and a 7.9 KB agent version.
// Two shapes are defined: Wide, the 1,024 40-byte protocols of the
// hostile-peer benchmarks of compat/peerstore, and Long, 128 protocols of
// 512 bytes, the most pstoremem accepts. Cycles run at Config.Rate per
// second, in real time, so that the grace periods after disconnect
// (Config.Grace, the same in both worlds) pass as on a node.
//
// Two worlds are fed the same events:
//   - Upstream: go-libp2p's pstoremem, written by a subscriber doing what
//     identify does (SetProtocols, Put "ProtocolVersion" and
//     "AgentVersion"), and pstoremanager removing each peer its grace
//     period after disconnect. pstoremem refuses a protocol set of more
//     than 128 (identify logs the error), so it keeps the agent version and
//     no protocols of a hostile peer;
//   - Compat: this repository's compat/peerstore state (peerstore.New on
//     the host), which learns the same facts from the same events into
//     newstore's bounded per-connection and per-peer stores.
package churn

import (
	"errors"
	"fmt"
	"runtime"
	"strconv"
	"strings"
	"time"

	"github.com/libp2p/go-libp2p/core/event"
	"github.com/libp2p/go-libp2p/core/network"
	"github.com/libp2p/go-libp2p/core/peer"
	"github.com/libp2p/go-libp2p/core/peerstore"
	"github.com/libp2p/go-libp2p/core/protocol"
	"github.com/libp2p/go-libp2p/p2p/host/eventbus"
	upstream "github.com/libp2p/go-libp2p/p2p/host/peerstore/pstoremem"
	"github.com/libp2p/go-libp2p/p2p/host/pstoremanager"

	compat "github.com/pstoremigrate/pstoremigrate/compat/peerstore"
	"github.com/pstoremigrate/pstoremigrate/compat/pstoremem"
	"github.com/pstoremigrate/pstoremigrate/internal/measure"
)

// HostileAgentLen is the agent version a hostile peer sends: what fits in
// one of identify's 8 KiB messages beside the rest.
const HostileAgentLen = 7900

// Config is one run of the workload.
type Config struct {
	// Connected is how many peers stay connected.
	Connected int
	// Cycles is how many peers churn through after the first Connected.
	Cycles int
	// Rate is how many cycles run per second.
	Rate float64
	// Grace is how long both worlds keep a peer's data after it
	// disconnected.
	Grace time.Duration
	// SampleEvery is how many cycles pass between samples.
	SampleEvery int
	// Protocols and ProtocolLen are what each new peer advertises:
	// Protocols unique protocols of ProtocolLen bytes (at least 16).
	Protocols, ProtocolLen int
}

// Shapes of hostile peers.
const (
	// WideProtocols of WideProtocolLen bytes: compat/peerstore's hostile
	// benchmarks (identify's cap on the list, 1,024 entries). pstoremem
	// refuses a set of more than 128 (identify logs the error): it keeps
	// the agent version and no protocols.
	WideProtocols, WideProtocolLen = 1024, 40
	// LongProtocols of LongProtocolLen bytes: the most pstoremem keeps of
	// one peer (128 protocols), 64 KiB in all.
	LongProtocols, LongProtocolLen = 128, 512
)

// DefaultConfig is the README picture's run, without the shape (see
// Config.With): 100 hostile peers connected, 100 new ones a second for 30 s,
// a 10 s grace period, a sample every half second.
var DefaultConfig = Config{Connected: 100, Cycles: 3000, Rate: 100, Grace: 10 * time.Second, SampleEvery: 50}

func (c Config) validate() error {
	if c.Connected < 1 || c.Cycles < 1 || c.Rate <= 0 || c.Grace <= 0 || c.SampleEvery < 1 || c.Protocols < 1 || c.ProtocolLen < 16 {
		return fmt.Errorf("churn: invalid config %+v: every field must be positive, ProtocolLen at least 16", c)
	}
	return nil
}

// Sample is the state of a run after Cycle cycles.
type Sample struct {
	Cycle int
	// Elapsed is the time since the first cycle.
	Elapsed time.Duration
	// Heap is the live heap (after a collection) above what it was before
	// the world was opened: what the store and the host's connections and
	// bus hold.
	Heap int64
	// CPU is the CPU time the process spent since the first cycle, except
	// the driver's (its own thread: building and emitting the events) and
	// the sampling's forced collections: the store's work, its
	// subscriptions' and the collector's for it.
	CPU time.Duration
}

// World is one side of the comparison.
type World struct {
	Name string
	// Open starts the world's store on h, whose event bus and network the
	// driver feeds.
	open func(h *benchHost, grace time.Duration) (store, error)
}

// store is a world's store, opened on a host.
type store interface {
	// learned reports whether the store has handled p's identification
	// (the last write it makes for it); the driver waits for the last
	// identified peer's before a sample.
	learned(p peer.ID) bool
	close()
}

// Worlds are the two sides, upstream first.
var Worlds = []World{Upstream, Compat}

// Upstream is go-libp2p's pstoremem with pstoremanager, written as identify
// writes it.
var Upstream = World{Name: "upstream", open: func(h *benchHost, grace time.Duration) (store, error) {
	ps, err := upstream.NewPeerstore()
	if err != nil {
		return nil, err
	}
	mgr, err := pstoremanager.NewPeerstoreManager(ps, h.EventBus(), h.Network(), pstoremanager.WithGracePeriod(grace))
	if err != nil {
		_ = ps.Close()
		return nil, err
	}
	mgr.Start()
	sub, err := h.EventBus().Subscribe(new(event.EvtPeerIdentificationCompleted), eventbus.Name("identify-writes"), eventbus.BufSize(256))
	if err != nil {
		_ = mgr.Close()
		_ = ps.Close()
		return nil, err
	}
	done := make(chan struct{})
	go func() {
		defer close(done)
		for e := range sub.Out() {
			ev := e.(event.EvtPeerIdentificationCompleted)
			_ = ps.SetProtocols(ev.Peer, ev.Protocols...)
			_ = ps.Put(ev.Peer, "AgentVersion", ev.AgentVersion)
			_ = ps.Put(ev.Peer, "ProtocolVersion", ev.ProtocolVersion)
		}
	}()
	return &upstreamStore{ps: ps, mgr: mgr, sub: sub, done: done}, nil
}}

type upstreamStore struct {
	ps   peerstore.Peerstore
	mgr  *pstoremanager.PeerstoreManager
	sub  event.Subscription
	done chan struct{}
}

// learned looks for the last of identify's writes. (The protocols are not
// there: pstoremem refuses a set of more than 128, and keeps none.)
func (s *upstreamStore) learned(p peer.ID) bool {
	_, err := s.ps.Get(p, "ProtocolVersion")
	return err == nil
}

func (s *upstreamStore) close() {
	_ = s.sub.Close()
	<-s.done
	_ = s.mgr.Close()
	_ = s.ps.Close()
}

// Compat is compat/peerstore's state on the host (whose own store is
// compat/pstoremem, which keeps no protocols or metadata and is not
// written by this workload).
var Compat = World{Name: "compat", open: func(h *benchHost, grace time.Duration) (store, error) {
	v := compat.New(h, compat.WithGracePeriod(grace))
	if v == h.Peerstore() {
		return nil, errors.New("churn: compat/peerstore could not attach to the host's bus")
	}
	return &compatStore{h: h, v: v}, nil
}}

type compatStore struct {
	h *benchHost
	v peerstore.Peerstore
}

// learned looks for the protocols, which the state records last.
func (s *compatStore) learned(p peer.ID) bool {
	got, _ := s.v.GetProtocols(p)
	return len(got) > 0
}

func (s *compatStore) close() { compat.Release(s.h) }

// Run runs the workload on w and returns its samples, the first at cycle 0
// (the first Connected peers identified, nothing churned yet).
func Run(w World, cfg Config) ([]Sample, error) {
	if err := cfg.validate(); err != nil {
		return nil, err
	}
	// The driver's CPU time is told apart by its thread's clock.
	runtime.LockOSThread()
	defer runtime.UnlockOSThread()

	bus := eventbus.NewBus()
	hostStore, err := pstoremem.NewPeerstore()
	if err != nil {
		return nil, err
	}
	defer hostStore.Close()
	h := &benchHost{id: peerID(-1), bus: bus, ps: hostStore, net: newBenchNet()}
	connected, err := bus.Emitter(new(event.EvtPeerConnectednessChanged))
	if err != nil {
		return nil, err
	}
	defer connected.Close()
	identified, err := bus.Emitter(new(event.EvtPeerIdentificationCompleted))
	if err != nil {
		return nil, err
	}
	defer identified.Close()

	base := liveHeap()
	s, err := w.open(h, cfg.Grace)
	if err != nil {
		return nil, fmt.Errorf("churn: opening %s: %w", w.Name, err)
	}
	defer s.close()

	var live []*benchConn
	up := func(i int) error {
		c := &benchConn{peer: peerID(i)}
		h.net.open(c)
		live = append(live, c)
		if err := connected.Emit(event.EvtPeerConnectednessChanged{Peer: c.peer, Connectedness: network.Connected}); err != nil {
			return err
		}
		return identified.Emit(hostileIdentify(c, i, cfg.Protocols, cfg.ProtocolLen))
	}
	down := func() error {
		c := live[0]
		live[0] = nil
		live = live[1:]
		h.net.close(c)
		return connected.Emit(event.EvtPeerConnectednessChanged{Peer: c.peer, Connectedness: network.NotConnected})
	}
	for i := range cfg.Connected {
		if err := up(i); err != nil {
			return nil, err
		}
	}

	var (
		samples []Sample
		start   = time.Now()
		// spent is the CPU time counted so far; proc0 and drv0 are the
		// process's and the driver's clocks where counting resumed.
		spent       time.Duration
		proc0, drv0 = measure.ProcessCPU(), measure.ThreadCPU()
	)
	sample := func(cycle, last int) error {
		if err := waitFor(s, peerID(last)); err != nil {
			return err
		}
		spent += (measure.ProcessCPU() - proc0) - (measure.ThreadCPU() - drv0)
		heap := liveHeap() - base
		samples = append(samples, Sample{Cycle: cycle, Elapsed: time.Since(start), Heap: heap, CPU: spent})
		proc0, drv0 = measure.ProcessCPU(), measure.ThreadCPU()
		return nil
	}
	if err := sample(0, cfg.Connected-1); err != nil {
		return nil, err
	}
	// The clock starts with the churn.
	start = time.Now()
	samples[0].Elapsed = 0
	for i := 1; i <= cfg.Cycles; i++ {
		if wait := time.Until(start.Add(time.Duration(float64(i) / cfg.Rate * float64(time.Second)))); wait > 0 {
			time.Sleep(wait)
		}
		if err := down(); err != nil {
			return nil, err
		}
		if err := up(cfg.Connected + i - 1); err != nil {
			return nil, err
		}
		if i%cfg.SampleEvery == 0 || i == cfg.Cycles {
			if err := sample(i, cfg.Connected+i-1); err != nil {
				return nil, err
			}
		}
	}
	return samples, nil
}

// waitFor waits until s has learned p's identification, and with it every
// event emitted before (each world handles its events in order).
func waitFor(s store, p peer.ID) error {
	deadline := time.Now().Add(30 * time.Second)
	for !s.learned(p) {
		if time.Now().After(deadline) {
			return fmt.Errorf("churn: the store did not learn %s's identification within 30s", p)
		}
		time.Sleep(100 * time.Microsecond)
	}
	return nil
}

func peerID(i int) peer.ID { return peer.ID("churn-peer-" + strconv.Itoa(i)) }

// hostileIdentify is identify's event for a hostile peer's connection,
// with fresh strings as identify parses them from the wire.
func hostileIdentify(c *benchConn, i, n, size int) event.EvtPeerIdentificationCompleted {
	protos := make([]protocol.ID, n)
	prefix := "/h/" + strconv.Itoa(i) + "/"
	for j := range protos {
		num := strconv.Itoa(j)
		protos[j] = protocol.ID(prefix + strings.Repeat("0", max(size-len(prefix)-len(num), 0)) + num)
	}
	return event.EvtPeerIdentificationCompleted{
		Peer: c.peer, Conn: c, Protocols: protos,
		AgentVersion: strings.Repeat("a", HostileAgentLen), ProtocolVersion: "ipfs/0.1.0",
	}
}

// liveHeap is the heap in use once garbage is collected.
func liveHeap() int64 {
	runtime.GC()
	var m runtime.MemStats
	runtime.ReadMemStats(&m)
	return int64(m.HeapAlloc)
}
