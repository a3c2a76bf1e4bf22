package peerstore

import (
	"context"
	"errors"
	"fmt"
	"io"
	"sync"
	"sync/atomic"
	"time"
	"unsafe"

	ic "github.com/libp2p/go-libp2p/core/crypto"
	"github.com/libp2p/go-libp2p/core/event"
	"github.com/libp2p/go-libp2p/core/host"
	"github.com/libp2p/go-libp2p/core/network"
	"github.com/libp2p/go-libp2p/core/peer"
	"github.com/libp2p/go-libp2p/core/peerstore"
	"github.com/libp2p/go-libp2p/core/protocol"
	"github.com/libp2p/go-libp2p/p2p/host/eventbus"
	"github.com/libp2p/go-libp2p/p2p/protocol/identify"
	"github.com/libp2p/go-libp2p/p2p/protocol/identify/pb"
	"github.com/libp2p/go-msgio/pbio"
	msmux "github.com/multiformats/go-multistream"
	"google.golang.org/protobuf/proto"

	"github.com/pstoremigrate/pstoremigrate/newstore/peerdata"
	"github.com/pstoremigrate/pstoremigrate/newstore/protocols"
)

const (
	// reidentifyTimeout bounds one identify request on an existing
	// connection, as go-libp2p's identify does by default.
	reidentifyTimeout = 30 * time.Second
	// reidentifyConcurrency bounds how many run at once when a state is
	// created on a host with many connections.
	reidentifyConcurrency = 8
	// barrierTimeout bounds how long a read waits for the event goroutine.
	barrierTimeout = 5 * time.Second
	// identifyMsgSize and identifyMaxParts are identify's own limits.
	identifyMsgSize  = 8 * 1024
	identifyMaxParts = 10
	// maxVersionBytes bounds the agent and the protocol version kept per
	// peer, each. Real ones are tens of bytes ("kubo/0.30.0/", "lotus-1.23.0+mainnet+git.abc");
	// identify lets a peer send nearly 8 KiB, which legacy stores kept for
	// every peer. A longer one is not kept (truncating would misreport it)
	// and is counted.
	maxVersionBytes = 256
)

// metaKey keeps Put/Get keys apart from the state's own keys in the peer
// data store.
type metaKey string

// versionsKey holds what the last identification said of the peer's agent
// and protocol version: one value for both, so an identification writes the
// peer data store once, not twice.
type versionsKey struct{}

// versions is versionsKey's value. A version longer than maxVersionBytes is
// not kept (has* false): Get answers ErrNotFound for it, as for one never
// sent.
type versions struct {
	agent, protocol       string
	hasAgent, hasProtocol bool
}

// PeerDataSize charges the strings too (peerdata.Sizer): the byte budgets
// would see only the struct's size.
func (v versions) PeerDataSize() int {
	return int(unsafe.Sizeof(v)) + len(v.agent) + len(v.protocol)
}

// get answers Get for "AgentVersion" and "ProtocolVersion".
func (v versions) get(key string) (string, bool) {
	switch key {
	case "AgentVersion":
		return v.agent, v.hasAgent
	case "ProtocolVersion":
		return v.protocol, v.hasProtocol
	}
	return "", false
}

// protocolsOverrideKey holds the protocol set written through a view
// (Add/Set/RemoveProtocols); the next identify event for the peer replaces it,
// as identify's SetProtocols replaces a legacy store's set.
type protocolsOverrideKey struct{}

// latencyKey holds the EWMA of latencies recorded through a view.
type latencyKey struct{}

// barrierEvent travels through the state's own subscription: once the event
// goroutine sees it, every event emitted before it has been handled.
// owner tells states apart: two can share a bus for a moment (a Release
// followed at once by New), and only the emitter's may close done.
type barrierEvent struct {
	owner any
	done  chan struct{}
}

// tracker is what the state learns from events, without the host wiring:
// the benchmarks drive it alone.
type tracker struct {
	grace  time.Duration
	data   *peerdata.Store
	protos *protocols.Store
	// droppedVersions counts agent and protocol versions not kept for being
	// longer than maxVersionBytes.
	droppedVersions atomic.Uint64
	// overridden is set once a view wrote a protocol set (see
	// protocolsOverrideKey); until then an identification has no such set
	// to drop, and skips the store call that would look for one.
	overridden atomic.Bool
	// versionWritten is set once a view wrote an "AgentVersion" or a
	// "ProtocolVersion"; likewise.
	versionWritten atomic.Bool
	// lastVersions holds the last versions value stored, boxed once (a
	// *any): identify events come from the event goroutine and from
	// reidentifyExisting's at once.
	lastVersions atomic.Value
}

// version answers Get(p, key) for "AgentVersion" and "ProtocolVersion":
// the value a view wrote last, which the next identification replaces, or
// the one identify gave.
func (t *tracker) version(p peer.ID, key string) (any, bool) {
	if t.versionWritten.Load() {
		if v, err := t.data.Get(p, metaKey(key)); err == nil {
			return v, true
		}
	}
	if v, err := t.data.Get(p, versionsKey{}); err == nil {
		if s, ok := v.(versions).get(key); ok {
			return s, true
		}
	}
	return nil, false
}

// dropOverride forgets the protocol set views wrote for p, which an
// identification or a push replaces.
func (t *tracker) dropOverride(p peer.ID) {
	if t.overridden.Load() {
		_ = t.data.Delete(p, protocolsOverrideKey{})
	}
}

func newTracker(cfg config) *tracker {
	return &tracker{
		grace: cfg.grace,
		// Both stores sweep every half grace period when that is shorter
		// than their default: what a peer left is gone by grace + grace/2.
		data:   peerdata.New(peerdata.WithClock(cfg.clock), peerdata.WithSweepIntervalFor(cfg.grace)),
		protos: protocols.New(protocols.WithClock(cfg.clock), protocols.WithGracePeriod(cfg.grace)),
	}
}

// consume applies one host event.
func (t *tracker) consume(e any) {
	switch ev := e.(type) {
	case event.EvtPeerConnectednessChanged:
		switch ev.Connectedness {
		case network.Connected, network.Limited:
			t.data.Connected(ev.Peer)
		default:
			t.data.Disconnected(ev.Peer)
		}
	case event.EvtPeerIdentificationCompleted:
		t.identified(ev.Conn, ev.Peer, ev.Protocols, ev.AgentVersion, ev.ProtocolVersion)
	case event.EvtPeerProtocolsUpdated:
		t.protos.Updated(ev.Peer, ev.Added, ev.Removed)
		t.dropOverride(ev.Peer)
	}
}

func (t *tracker) identified(c network.Conn, p peer.ID, protos []protocol.ID, agent, protoVersion string) {
	// identify emits an event for every push, and a push's event can come
	// after its connection closed: it must not give the peer's data a new
	// lifetime from now, past the grace period of the disconnect.
	if c == nil || c.IsClosed() {
		return
	}
	t.dropOverride(p)
	t.putVersions(p, agent, protoVersion)
	// Last: a reader takes a known connection as an event fully handled
	// (see hasUnseenConn), so the data must be in place first.
	t.protos.Identified(c, protos)
}

// putVersions keeps the agent and protocol version, each within
// maxVersionBytes; a longer one drops what the peer sent before, which it
// no longer claims. What a view wrote for either goes: identify replaces
// it, as it overwrites a legacy store's.
func (t *tracker) putVersions(p peer.ID, agent, protoVersion string) {
	if t.versionWritten.Load() {
		_ = t.data.Delete(p, metaKey("AgentVersion"))
		_ = t.data.Delete(p, metaKey("ProtocolVersion"))
	}
	v := versions{
		agent: agent, hasAgent: len(agent) <= maxVersionBytes,
		protocol: protoVersion, hasProtocol: len(protoVersion) <= maxVersionBytes,
	}
	if !v.hasAgent {
		v.agent = ""
		t.droppedVersions.Add(1)
	}
	if !v.hasProtocol {
		v.protocol = ""
		t.droppedVersions.Add(1)
	}
	if !v.hasAgent && !v.hasProtocol {
		_ = t.data.Delete(p, versionsKey{})
		return
	}
	// Peers running the same software send the same versions: they share
	// one boxed value (a versions is never changed once stored).
	box, _ := t.lastVersions.Load().(*any)
	if box == nil || (*box).(versions) != v {
		box = new(any)
		*box = v
		t.lastVersions.Store(box)
	}
	// Errors here are the store's caps: the versions are not worth more
	// than what the caps allow.
	_ = t.data.Put(p, versionsKey{}, *box, t.grace)
}

func (t *tracker) close() {
	_ = t.data.Close()
	_ = t.protos.Close()
}

// state is what every view of one host shares.
type state struct {
	*tracker
	host   host.Host
	legacy peerstore.Peerstore

	sub      event.Subscription
	barrier  event.Emitter
	notifiee network.Notifiee

	keysMu   sync.RWMutex
	privKeys map[peer.ID]ic.PrivKey
	latMu    sync.Mutex // serialises latency read-modify-writes
	// protoEditMu serialises Add/Set/RemoveProtocols read-modify-writes.
	protoEditMu sync.Mutex

	ctx    context.Context
	cancel context.CancelFunc
	wg     sync.WaitGroup
	once   sync.Once
	// closed is closed once the state has been torn down.
	closed chan struct{}
}

func newState(h host.Host, cfg config) (*state, error) {
	s := &state{
		tracker:  newTracker(cfg),
		host:     h,
		legacy:   h.Peerstore(),
		privKeys: make(map[peer.ID]ic.PrivKey),
		closed:   make(chan struct{}),
	}
	s.ctx, s.cancel = context.WithCancel(context.Background())

	// One subscription for every event, so they are handled in the order
	// they were emitted (a push's Updated before its Completed).
	sub, err := h.EventBus().Subscribe([]any{
		new(event.EvtPeerConnectednessChanged),
		new(event.EvtPeerIdentificationCompleted),
		new(event.EvtPeerProtocolsUpdated),
		new(barrierEvent),
	}, eventbus.Name("compat-peerstore"), eventbus.BufSize(256))
	if err != nil {
		s.tracker.close()
		return nil, fmt.Errorf("compat/peerstore: subscribe to host events: %w", err)
	}
	s.sub = sub
	s.barrier, err = h.EventBus().Emitter(new(barrierEvent))
	if err != nil {
		_ = sub.Close()
		s.tracker.close()
		return nil, fmt.Errorf("compat/peerstore: event emitter: %w", err)
	}
	s.notifiee = &network.NotifyBundle{DisconnectedF: func(_ network.Network, c network.Conn) { s.protos.ConnClosed(c) }}
	h.Network().Notify(s.notifiee)

	s.wg.Add(1)
	go s.handleEvents()

	// Peers connected before the subscription are in no event.
	for _, p := range h.Network().Peers() {
		s.data.Connected(p)
	}
	s.reidentifyExisting()
	return s, nil
}

func (s *state) handleEvents() {
	defer s.wg.Done()
	for e := range s.sub.Out() {
		if b, ok := e.(barrierEvent); ok {
			if b.owner == s {
				close(b.done)
			}
			continue
		}
		s.consume(e)
	}
}

// catchUp waits until the event goroutine has handled every event emitted so
// far, or barrierTimeout, or the state closes.
func (s *state) catchUp() {
	done := make(chan struct{})
	if err := s.barrier.Emit(barrierEvent{owner: s, done: done}); err != nil {
		return
	}
	t := time.NewTimer(barrierTimeout)
	defer t.Stop()
	select {
	case <-done:
	case <-t.C:
	case <-s.ctx.Done():
	}
}

// reidentifyExisting learns the connections identified before the state
// existed, where h.Peerstore() cannot tell their protocols.
func (s *state) reidentifyExisting() {
	sem := make(chan struct{}, reidentifyConcurrency)
	var todo []network.Conn
	for _, c := range s.host.Network().Conns() {
		if known, err := s.legacy.GetProtocols(c.RemotePeer()); err == nil && len(known) > 0 {
			continue
		}
		todo = append(todo, c)
	}
	if len(todo) == 0 {
		return
	}
	s.wg.Add(1)
	go func() {
		defer s.wg.Done()
		var wg sync.WaitGroup
		for _, c := range todo {
			select {
			case sem <- struct{}{}:
			case <-s.ctx.Done():
				wg.Wait()
				return
			}
			wg.Go(func() {
				defer func() { <-sem }()
				mes, err := requestIdentify(s.ctx, c)
				if err != nil {
					return // the connection closed, or the peer does not speak identify: nothing to learn
				}
				s.identified(c, c.RemotePeer(), protocol.ConvertFromStrings(mes.Protocols), mes.GetAgentVersion(), mes.GetProtocolVersion())
			})
		}
		wg.Wait()
	}()
}

// requestIdentify runs the identify request protocol on c and returns the
// peer's answer, merged from its parts as go-libp2p's identify does.
func requestIdentify(ctx context.Context, c network.Conn) (*pb.Identify, error) {
	ctx, cancel := context.WithTimeout(ctx, reidentifyTimeout)
	defer cancel()
	st, err := c.NewStream(network.WithAllowLimitedConn(ctx, "compat-peerstore"))
	if err != nil {
		return nil, fmt.Errorf("open identify stream: %w", err)
	}
	stop := context.AfterFunc(ctx, func() { _ = st.Reset() })
	defer stop()
	if deadline, ok := ctx.Deadline(); ok {
		_ = st.SetDeadline(deadline)
	}
	if err := msmux.SelectProtoOrFail(protocol.ID(identify.ID), st); err != nil {
		_ = st.Reset()
		return nil, fmt.Errorf("negotiate identify: %w", err)
	}
	_ = st.SetProtocol(identify.ID)
	r := pbio.NewDelimitedReader(st, identifyMsgSize)
	final := new(pb.Identify)
	for range identifyMaxParts {
		part := new(pb.Identify)
		err := r.ReadMsg(part)
		if errors.Is(err, io.EOF) {
			_ = st.Close()
			return final, nil
		}
		if err != nil {
			_ = st.Reset()
			return nil, fmt.Errorf("read identify message: %w", err)
		}
		proto.Merge(final, part)
	}
	_ = st.Reset()
	return nil, errors.New("identify answer in too many parts")
}

// close tears the state down once: subscription, notifiee, goroutines,
// stores.
func (s *state) close() {
	s.once.Do(func() {
		s.cancel()
		s.host.Network().StopNotify(s.notifiee)
		_ = s.barrier.Close()
		_ = s.sub.Close() // closes Out: handleEvents returns
		s.wg.Wait()
		s.tracker.close()
		close(s.closed)
	})
}
