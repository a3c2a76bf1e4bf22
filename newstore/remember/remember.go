package remember

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	"github.com/libp2p/go-libp2p/core/event"
	"github.com/libp2p/go-libp2p/core/host"
	"github.com/libp2p/go-libp2p/core/network"
	"github.com/libp2p/go-libp2p/core/peer"
	"github.com/libp2p/go-libp2p/core/peerstore"
	"github.com/libp2p/go-libp2p/core/record"
	"github.com/libp2p/go-libp2p/gologshim"
	"github.com/libp2p/go-libp2p/p2p/host/eventbus"
	ma "github.com/multiformats/go-multiaddr"

	"github.com/pstoremigrate/pstoremigrate/newstore"
)

// savedAddrTTL is the TTL written with remembered addresses: what the
// peerstore gives a peer's addresses after it disconnects. Expires is
// lastSeen+savedAddrTTL, which is how the last-seen time survives a
// restart; Restore does not drop expired addresses, since a remembered
// peer is worth a dial however long the node was down.
var savedAddrTTL = peerstore.RecentlyConnectedAddrTTL

// loadTimeout bounds reading the saved state, so that a stuck datastore
// cannot hang Attach; a few kilobytes never take that long otherwise.
const loadTimeout = time.Minute

// RejoinResult is what happened when the host rejoined the network at
// start.
type RejoinResult struct {
	// LoadErr says why the saved peers could not be used, nil if they
	// were. It wraps newstore.ErrNoSnapshot on a first start, or the
	// snapshot error (newstore.ErrChecksum, ...) if the state was corrupt.
	LoadErr error
	// Remembered is how many peers the saved state held.
	Remembered int
	// BootstrapDialed and BootstrapAnswered count the bootstrap peers
	// dialed before the deadline and those that answered.
	BootstrapDialed, BootstrapAnswered int
	// Dialed is how many remembered peers were dialed before the
	// deadline: zero in DialIfBootstrapFails mode when a bootstrap peer
	// answered, less than Remembered when the deadline came first.
	Dialed int
	// Answered is how many remembered peers were connected when the
	// dials ended, including those already connected.
	Answered int
	// FirstAnswer is the time from Attach to the first remembered peer
	// that answered, zero if none did.
	FirstAnswer time.Duration
	// Took is the time from Attach to the end of the dials.
	Took time.Duration
}

// Rememberer remembers a host's best peers across restarts. It is created
// by Attach and stopped by Close.
type Rememberer struct {
	h   host.Host
	cfg config
	log *slog.Logger

	mu    sync.Mutex
	peers map[peer.ID]*history
	// loaded are the saved peers, best first, as Restore read them.
	loaded []peer.AddrInfo

	sub       event.Subscription
	persister *newstore.Persister

	ctx    context.Context
	cancel context.CancelFunc
	wg     sync.WaitGroup

	rejoined chan struct{}
	result   RejoinResult

	closeOnce sync.Once
	closeErr  error
}

// Attach starts remembering h's peers: it loads the peers saved by a
// previous run, starts dialing them in the background (see DialMode and
// Rejoined), tracks h's connections from its event bus, and saves its
// choice periodically and on Close. A missing or unreadable saved state is
// not an error: the host starts without remembered peers and the reason is
// logged and reported in RejoinResult.LoadErr.
//
// One of WithFile, WithDatastore or WithSink is required. Close the
// Rememberer before the host, so the final save sees the host's peers.
func Attach(h host.Host, opts ...Option) (*Rememberer, error) {
	start := time.Now()
	if h == nil {
		return nil, errors.New("remember: host is nil")
	}
	cfg := config{
		maxPeers:        DefaultMaxPeers,
		saveInterval:    DefaultSaveInterval,
		dialConcurrency: DefaultDialConcurrency,
		dialTimeout:     DefaultDialTimeout,
		mode:            DialAlways,
		halfLife:        DefaultHalfLife,
	}
	for _, o := range opts {
		if err := o(&cfg); err != nil {
			return nil, fmt.Errorf("remember: %w", err)
		}
	}
	if cfg.sink == nil {
		return nil, errors.New("remember: nowhere to save peers: use WithFile, WithDatastore or WithSink")
	}
	if cfg.logger == nil {
		cfg.logger = gologshim.Logger("remember")
	}

	// Subscribe before looking at the current connections so that no
	// change falls between the two.
	sub, err := h.EventBus().Subscribe([]any{
		new(event.EvtPeerConnectednessChanged),
		// Identify hands over the peer's signed record in this event and,
		// in go-libp2p v0.51, does not put it in the peerstore.
		new(event.EvtPeerIdentificationCompleted),
	}, eventbus.Name("remember"))
	if err != nil {
		return nil, fmt.Errorf("remember: subscribing to connectedness and identify events: %w", err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	r := &Rememberer{
		h:        h,
		cfg:      cfg,
		log:      cfg.logger,
		peers:    make(map[peer.ID]*history),
		sub:      sub,
		ctx:      ctx,
		cancel:   cancel,
		rejoined: make(chan struct{}),
	}
	for _, p := range h.Network().Peers() {
		if h.Network().Connectedness(p) == network.Connected {
			r.observe(p, true, start)
		}
	}
	r.wg.Add(1)
	go r.track()

	r.persister = newstore.NewPersister(savedSet{r}, cfg.sink,
		newstore.WithInterval(cfg.saveInterval),
		newstore.WithErrorHandler(func(err error) {
			r.log.Warn("saving remembered peers failed", "err", err)
		}))
	loadCtx, loadCancel := context.WithTimeout(ctx, loadTimeout)
	loadErr := r.persister.Load(loadCtx)
	loadCancel()
	switch {
	case loadErr == nil:
	case errors.Is(loadErr, newstore.ErrNoSnapshot):
		r.log.Info("no remembered peers saved yet, starting without them", "err", loadErr)
	default:
		r.log.Warn("saved peers are unreadable, starting without them", "err", loadErr)
	}
	r.persister.Start()

	r.wg.Add(1)
	go r.rejoin(start, loadErr)
	return r, nil
}

// Rejoined waits for the dials started by Attach and returns what they
// did.
func (r *Rememberer) Rejoined(ctx context.Context) (RejoinResult, error) {
	select {
	case <-r.rejoined:
		return r.result, nil
	case <-ctx.Done():
		return RejoinResult{}, ctx.Err()
	}
}

// Remembered returns the peers that would be saved now, best first.
func (r *Rememberer) Remembered() []peer.AddrInfo {
	chosen := r.choose(time.Now())
	out := make([]peer.AddrInfo, len(chosen))
	for i, c := range chosen {
		out[i] = peer.AddrInfo{ID: c.id, Addrs: c.addrs}
	}
	return out
}

// Save saves the remembered peers now.
func (r *Rememberer) Save(ctx context.Context) error {
	if err := r.persister.Save(ctx); err != nil {
		return fmt.Errorf("remember: saving peers: %w", err)
	}
	return nil
}

// Close stops the dials and the tracking, saves the remembered peers a
// last time and stops saving. It does not close the host.
func (r *Rememberer) Close() error {
	r.closeOnce.Do(func() {
		r.cancel()
		// Closing the subscription ends track's loop.
		subErr := r.sub.Close()
		r.wg.Wait()
		if err := r.persister.Close(); err != nil {
			r.closeErr = fmt.Errorf("remember: saving peers on close: %w", err)
			return
		}
		if subErr != nil {
			r.closeErr = fmt.Errorf("remember: closing event subscription: %w", subErr)
		}
	})
	return r.closeErr
}

// track keeps each peer's history from connectedness events until the
// subscription is closed.
func (r *Rememberer) track() {
	defer r.wg.Done()
	for ev := range r.sub.Out() {
		switch e := ev.(type) {
		case event.EvtPeerConnectednessChanged:
			// A limited (relayed) connection is not one we could redial,
			// so it does not count as being connected.
			r.observe(e.Peer, e.Connectedness == network.Connected, time.Now())
		case event.EvtPeerIdentificationCompleted:
			if e.SignedPeerRecord != nil {
				r.observeRecord(e.Peer, e.SignedPeerRecord)
			}
		}
	}
}

// observeRecord keeps the latest signed record a connected peer sent;
// identify has already checked that it is the peer's own.
func (r *Rememberer) observeRecord(p peer.ID, env *record.Envelope) {
	raw, err := env.Marshal()
	if err != nil {
		r.log.Debug("cannot keep a peer's signed record", "peer", p, "err", err)
		return
	}
	connected := r.h.Network().Connectedness(p) == network.Connected
	now := time.Now()
	r.mu.Lock()
	defer r.mu.Unlock()
	h := r.peers[p]
	if h == nil {
		if !connected || p == r.h.ID() {
			return
		}
		// Identify finished before the connectedness event arrived.
		h = &history{connectedSince: now, lastSeen: now}
		r.peers[p] = h
	}
	h.record, h.signed = raw, signedAddrs(env)
}

// signedAddrs returns the addresses of an envelope that was verified when
// it was received.
func signedAddrs(env *record.Envelope) []ma.Multiaddr {
	rec, err := env.Record()
	if err != nil {
		return nil
	}
	if pr, ok := rec.(*peer.PeerRecord); ok {
		return pr.Addrs
	}
	return nil
}

func (r *Rememberer) observe(p peer.ID, connected bool, now time.Time) {
	if p == r.h.ID() {
		return
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	h := r.peers[p]
	if h == nil {
		if !connected {
			return
		}
		h = &history{}
		r.peers[p] = h
	}
	switch {
	case connected:
		if h.connectedSince.IsZero() {
			h.connectedSince = now
		}
		h.lastSeen = now
	case !h.connectedSince.IsZero():
		h.connectedFor += now.Sub(h.connectedSince)
		h.connectedSince = time.Time{}
		h.lastSeen = now
		r.pruneLocked(now)
	}
}

// trackLimit bounds the histories kept: a busy node meets thousands of
// peers, and only the best few are ever saved.
func (r *Rememberer) trackLimit() int { return max(10*r.cfg.maxPeers, 200) }

// pruneLocked forgets the lowest-scored disconnected peers once there are
// twice as many as trackLimit, so the cost is paid rarely.
func (r *Rememberer) pruneLocked(now time.Time) {
	limit := r.trackLimit()
	if len(r.peers) <= 2*limit {
		return
	}
	var gone []candidate
	for id, h := range r.peers {
		if h.connectedSince.IsZero() {
			gone = append(gone, candidate{id: id, hist: *h, lastSeen: h.lastSeen, certified: h.record != nil})
		}
	}
	rank(gone, now, r.cfg.halfLife)
	for i := len(gone) - 1; i >= 0 && len(r.peers) > limit; i-- {
		delete(r.peers, gone[i].id)
	}
}

// choose applies the policy (see the package documentation) to every peer
// with a history.
func (r *Rememberer) choose(now time.Time) []candidate {
	r.mu.Lock()
	cands := make([]candidate, 0, len(r.peers))
	for id, h := range r.peers {
		cands = append(cands, candidate{id: id, hist: *h})
	}
	r.mu.Unlock()

	self := r.h.ID()
	ps := r.h.Peerstore()
	cab, _ := peerstore.GetCertifiedAddrBook(ps)
	kept := cands[:0]
	for _, c := range cands {
		if c.id == self {
			continue
		}
		c.addrs = dialableAddrs(ps.Addrs(c.id), c.hist.addrs)
		if len(c.addrs) == 0 {
			continue // relay-only, or no address left
		}
		// The record identify sent is the freshest; the peerstore may
		// hold one when something else consumed it.
		c.record, c.signed = c.hist.record, c.hist.signed
		if c.record == nil && cab != nil {
			if env := cab.GetPeerRecord(c.id); env != nil {
				if b, err := env.Marshal(); err == nil {
					c.record, c.signed = b, signedAddrs(env)
				}
			}
		}
		c.certified = c.record != nil
		c.lastSeen = c.hist.lastSeen
		if !c.hist.connectedSince.IsZero() {
			c.lastSeen = now
		}
		kept = append(kept, c)
	}
	rank(kept, now, r.cfg.halfLife)
	return kept[:min(len(kept), r.cfg.maxPeers)]
}

// savedSet is the remembered peers as a newstore.Snapshotter; it is a
// separate type so that Restore is not part of Rememberer's API.
type savedSet struct{ r *Rememberer }

// Snapshot writes the chosen peers, best first.
func (s savedSet) Snapshot(w io.Writer) error {
	now := time.Now()
	chosen := s.r.choose(now)
	sw, err := newstore.NewSnapshotWriterOfKind(w, newstore.KindRememberedPeers, now)
	if err != nil {
		return fmt.Errorf("starting snapshot: %w", err)
	}
	for _, c := range chosen {
		e := &newstore.PeerEntry{ID: c.id}
		addrs := c.addrs
		if c.record != nil {
			e.Record = c.record
			addrs = withoutSigned(c.addrs, c.signed)
		}
		e.Addrs = make([]newstore.AddrEntry, len(addrs))
		for i, a := range addrs {
			e.Addrs[i] = newstore.AddrEntry{Addr: a, TTL: savedAddrTTL, Expires: c.lastSeen.Add(savedAddrTTL)}
		}
		if err := sw.WritePeer(e); err != nil {
			// The writer refuses an entry over the format's bounds without
			// writing it; the others are still worth saving. A failing
			// writer shows again in Close.
			s.r.log.Debug("not remembering a peer", "peer", c.id, "err", err)
		}
	}
	if err := sw.Close(); err != nil {
		return fmt.Errorf("finishing snapshot: %w", err)
	}
	return nil
}

// Restore reads saved peers. Nothing is kept unless the whole snapshot
// reads cleanly; a peer's record is kept only if its signature verifies
// and it is the peer's own.
func (s savedSet) Restore(rd io.Reader) error {
	r := s.r
	sr, err := newstore.NewSnapshotReader(rd)
	if err == nil {
		err = sr.Expect(newstore.KindRememberedPeers)
	}
	if err != nil {
		return fmt.Errorf("reading saved peers: %w", err)
	}
	taken := sr.Taken()
	self := r.h.ID()
	var loaded []peer.AddrInfo
	hists := make(map[peer.ID]history)
	for {
		e, err := sr.Next()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return fmt.Errorf("reading saved peers: %w", err)
		}
		// Past maxPeers (a state saved with a larger limit, or a hostile
		// one) entries are only read for the checksums.
		if len(loaded) == r.cfg.maxPeers || e.ID == self || e.ID.Validate() != nil {
			continue
		}
		if _, dup := hists[e.ID]; dup {
			continue
		}
		h, ok := r.savedHistory(e, taken)
		if !ok {
			continue
		}
		hists[e.ID] = h
		loaded = append(loaded, peer.AddrInfo{ID: e.ID, Addrs: h.addrs})
	}

	r.mu.Lock()
	defer r.mu.Unlock()
	for id, h := range hists {
		if cur := r.peers[id]; cur != nil {
			// Connected before the state was loaded: keep the live
			// connection, add what the saved state knew.
			cur.addrs = h.addrs
			if cur.record == nil {
				cur.record, cur.signed = h.record, h.signed
			}
			cur.connectedFor += h.connectedFor
			continue
		}
		r.peers[id] = &h
	}
	r.loaded = loaded
	return nil
}

// savedHistory is what a saved entry tells of a peer: its addresses, its
// record if it is the peer's own, when it was last seen (see
// savedAddrTTL) and one half-life of credit. ok is false if no dialable
// address is left.
func (r *Rememberer) savedHistory(e *newstore.PeerEntry, taken time.Time) (h history, ok bool) {
	h.connectedFor = r.cfg.halfLife
	addrs := make([]ma.Multiaddr, 0, len(e.Addrs))
	for _, a := range e.Addrs {
		addrs = append(addrs, a.Addr)
		if a.TTL > 0 && a.TTL < peerstore.ConnectedAddrTTL {
			if seen := a.Expires.Add(-a.TTL); seen.After(h.lastSeen) {
				h.lastSeen = seen
			}
		}
	}
	if h.lastSeen.IsZero() || h.lastSeen.After(taken) {
		h.lastSeen = taken
	}
	if e.Record != nil {
		signed, err := verifyRecord(e.ID, e.Record)
		if err != nil {
			r.log.Debug("dropping a saved peer record", "peer", e.ID, "err", err)
		} else {
			h.record, h.signed = e.Record, signed
			addrs = append(addrs, signed...)
		}
	}
	h.addrs = dialableAddrs(addrs)
	return h, len(h.addrs) > 0
}

// withoutSigned drops the addresses a peer's record already carries, since
// Restore reads them from the record, but keeps one so that the peer's
// last-seen time has an entry to travel in.
func withoutSigned(addrs, signed []ma.Multiaddr) []ma.Multiaddr {
	in := make(map[string]bool, len(signed))
	for _, a := range signed {
		in[string(a.Bytes())] = true
	}
	var out []ma.Multiaddr
	for _, a := range addrs {
		if !in[string(a.Bytes())] {
			out = append(out, a)
		}
	}
	if len(out) == 0 && len(addrs) > 0 {
		out = addrs[:1]
	}
	return out
}

// verifyRecord returns the addresses of a saved signed peer record if it
// is well signed and is id's own.
func verifyRecord(id peer.ID, raw []byte) ([]ma.Multiaddr, error) {
	env, rec, err := record.ConsumeEnvelope(raw, peer.PeerRecordEnvelopeDomain)
	if err != nil {
		return nil, fmt.Errorf("verifying envelope: %w", err)
	}
	pr, ok := rec.(*peer.PeerRecord)
	if !ok {
		return nil, fmt.Errorf("envelope holds a %T, not a peer record", rec)
	}
	if pr.PeerID != id {
		return nil, fmt.Errorf("record is for peer %s", pr.PeerID)
	}
	// The envelope's signature only proves who signed it; the record
	// counts only if that is the peer itself.
	if !id.MatchesPublicKey(env.PublicKey) {
		return nil, errors.New("record is not signed by the peer's key")
	}
	return pr.Addrs, nil
}

type dialTarget struct {
	ai         peer.AddrInfo
	remembered bool
}

// rejoin dials the bootstrap and remembered peers as the mode says and
// publishes the result.
func (r *Rememberer) rejoin(start time.Time, loadErr error) {
	defer r.wg.Done()
	defer close(r.rejoined)

	r.mu.Lock()
	loaded := r.loaded
	r.mu.Unlock()

	res := RejoinResult{LoadErr: loadErr, Remembered: len(loaded)}
	var firstAnswer atomic.Int64
	onAnswer := func(t dialTarget) {
		if t.remembered {
			firstAnswer.CompareAndSwap(0, int64(max(time.Since(start), 1)))
		}
	}
	remembered := make([]dialTarget, len(loaded))
	for i, ai := range loaded {
		remembered[i] = dialTarget{ai: ai, remembered: true}
	}
	bootstrap := make([]dialTarget, len(r.cfg.bootstrap))
	for i, ai := range r.cfg.bootstrap {
		bootstrap[i] = dialTarget{ai: ai}
	}

	var outcomes []dialOutcome
	var targets []dialTarget
	switch r.cfg.mode {
	case DialAlways:
		targets = append(bootstrap, remembered...)
		outcomes = r.dialAll(targets, onAnswer)
	case DialIfBootstrapFails:
		targets = bootstrap
		outcomes = r.dialAll(targets, onAnswer)
		if !slices.Contains(outcomes, answered) {
			targets = append(targets, remembered...)
			outcomes = append(outcomes, r.dialAll(remembered, onAnswer)...)
		}
	}
	for i, t := range targets {
		dialed, ok := outcomes[i] != notDialed, outcomes[i] == answered
		switch {
		case t.remembered:
			res.Dialed += btoi(dialed)
			res.Answered += btoi(ok)
		default:
			res.BootstrapDialed += btoi(dialed)
			res.BootstrapAnswered += btoi(ok)
		}
	}
	res.FirstAnswer = time.Duration(firstAnswer.Load())
	res.Took = time.Since(start)
	r.result = res
	msg, level := "rejoined the network", slog.LevelInfo
	if res.Answered+res.BootstrapAnswered == 0 && res.Dialed+res.BootstrapDialed > 0 {
		msg, level = "no remembered or bootstrap peer answered", slog.LevelWarn
	}
	r.log.Log(context.Background(), level, msg,
		"mode", r.cfg.mode,
		"remembered", res.Remembered, "dialed", res.Dialed, "answered", res.Answered,
		"bootstrapDialed", res.BootstrapDialed, "bootstrapAnswered", res.BootstrapAnswered,
		"firstAnswer", res.FirstAnswer, "took", res.Took)
}

type dialOutcome uint8

const (
	notDialed dialOutcome = iota // the deadline came first
	failed
	answered
)

func btoi(b bool) int {
	if b {
		return 1
	}
	return 0
}

// dialAll connects to the targets in order, at most dialConcurrency at
// once, all within dialTimeout; targets not reached by the deadline are
// not dialed.
func (r *Rememberer) dialAll(targets []dialTarget, onAnswer func(dialTarget)) []dialOutcome {
	outcomes := make([]dialOutcome, len(targets))
	if len(targets) == 0 {
		return outcomes
	}
	ctx, cancel := context.WithTimeout(r.ctx, r.cfg.dialTimeout)
	defer cancel()

	sem := make(chan struct{}, r.cfg.dialConcurrency)
	var wg sync.WaitGroup
	for i, t := range targets {
		select {
		case sem <- struct{}{}:
		case <-ctx.Done():
		}
		if ctx.Err() != nil {
			break
		}
		outcomes[i] = failed
		wg.Add(1)
		go func() {
			defer wg.Done()
			defer func() { <-sem }()
			if t.ai.ID == r.h.ID() {
				return
			}
			if err := r.h.Connect(ctx, t.ai); err != nil {
				r.log.Debug("peer did not answer", "peer", t.ai.ID, "remembered", t.remembered, "err", err)
				return
			}
			outcomes[i] = answered
			onAnswer(t)
		}()
	}
	wg.Wait()
	return outcomes
}
