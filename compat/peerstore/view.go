package peerstore

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"time"

	ic "github.com/libp2p/go-libp2p/core/crypto"
	"github.com/libp2p/go-libp2p/core/host"
	"github.com/libp2p/go-libp2p/core/network"
	"github.com/libp2p/go-libp2p/core/peer"
	"github.com/libp2p/go-libp2p/core/peerstore"
	"github.com/libp2p/go-libp2p/core/protocol"
	"github.com/libp2p/go-libp2p/core/record"
	pstore "github.com/libp2p/go-libp2p/p2p/host/peerstore"
	"github.com/libp2p/go-libp2p/p2p/protocol/identify"
	ma "github.com/multiformats/go-multiaddr"
	"github.com/quic-go/quic-go"

	"github.com/pstoremigrate/pstoremigrate/newstore/protocols"
)

// MaxProtocols is how many protocols a peer's set written through a view may
// hold: as many as a connection keeps (protocols.DefaultMaxProtocolsPerConn).
const MaxProtocols = protocols.DefaultMaxProtocolsPerConn

// ErrTooManyProtocols is returned by Add/SetProtocols past MaxProtocols. Its
// text is upstream pstoremem's, so code that matched on it keeps working.
var ErrTooManyProtocols = errors.New("too many protocols")

// view is one value New returned; all views of a host share its state.
type view struct {
	host   host.Host
	legacy peerstore.Peerstore
	state  *state
}

var _ peerstore.Peerstore = (*view)(nil)

// certifiedView is a view of a host whose store keeps certified records.
type certifiedView struct {
	*view
	cab peerstore.CertifiedAddrBook
}

var _ peerstore.CertifiedAddrBook = (*certifiedView)(nil)

// Close does nothing: the state belongs to the host and is released when it
// closes (or by Release), not when one of its views is dropped.
func (v *view) Close() error { return nil }

// AddrBook: h.Peerstore()'s, which the minimal store keeps.

func (v *view) AddAddr(p peer.ID, addr ma.Multiaddr, ttl time.Duration) {
	v.legacy.AddAddr(p, addr, ttl)
}
func (v *view) AddAddrs(p peer.ID, addrs []ma.Multiaddr, ttl time.Duration) {
	v.legacy.AddAddrs(p, addrs, ttl)
}
func (v *view) SetAddr(p peer.ID, addr ma.Multiaddr, ttl time.Duration) {
	v.legacy.SetAddr(p, addr, ttl)
}
func (v *view) SetAddrs(p peer.ID, addrs []ma.Multiaddr, ttl time.Duration) {
	v.legacy.SetAddrs(p, addrs, ttl)
}
func (v *view) UpdateAddrs(p peer.ID, oldTTL, newTTL time.Duration) {
	v.legacy.UpdateAddrs(p, oldTTL, newTTL)
}
func (v *view) Addrs(p peer.ID) []ma.Multiaddr { return v.legacy.Addrs(p) }
func (v *view) AddrStream(ctx context.Context, p peer.ID) <-chan ma.Multiaddr {
	return v.legacy.AddrStream(ctx, p)
}
func (v *view) ClearAddrs(p peer.ID)         { v.legacy.ClearAddrs(p) }
func (v *view) PeersWithAddrs() peer.IDSlice { return v.legacy.PeersWithAddrs() }

func (v *certifiedView) ConsumePeerRecord(s *record.Envelope, ttl time.Duration) (bool, error) {
	return v.cab.ConsumePeerRecord(s, ttl)
}
func (v *certifiedView) GetPeerRecord(p peer.ID) *record.Envelope { return v.cab.GetPeerRecord(p) }

// KeyBook: public keys are h.Peerstore()'s; private keys of other peers stay
// in the state's memory.

func (v *view) PubKey(p peer.ID) ic.PubKey              { return v.legacy.PubKey(p) }
func (v *view) AddPubKey(p peer.ID, pk ic.PubKey) error { return v.legacy.AddPubKey(p, pk) }

// PrivKey returns a key added through a view, else h.Peerstore()'s, which is
// where the host keeps its own.
func (v *view) PrivKey(p peer.ID) ic.PrivKey {
	v.state.keysMu.RLock()
	sk := v.state.privKeys[p]
	v.state.keysMu.RUnlock()
	if sk != nil {
		return sk
	}
	return v.legacy.PrivKey(p)
}

// AddPrivKey keeps sk in memory only: it is not written to h.Peerstore(),
// which may persist it.
func (v *view) AddPrivKey(p peer.ID, sk ic.PrivKey) error {
	if sk == nil {
		return fmt.Errorf("compat/peerstore: add private key of %s: key is nil", p)
	}
	if !p.MatchesPrivateKey(sk) {
		return fmt.Errorf("compat/peerstore: add private key of %s: the key belongs to another peer ID", p)
	}
	v.state.keysMu.Lock()
	v.state.privKeys[p] = sk
	v.state.keysMu.Unlock()
	return nil
}

func (v *view) PeersWithKeys() peer.IDSlice {
	out := v.legacy.PeersWithKeys()
	v.state.keysMu.RLock()
	defer v.state.keysMu.RUnlock()
	for p := range v.state.privKeys {
		if !slices.Contains(out, p) {
			out = append(out, p)
		}
	}
	return out
}

// PeerMetadata.

// Get answers h.Peerstore()'s value if it has one, else what the state
// learned from identify or from a Put through a view.
func (v *view) Get(p peer.ID, key string) (any, error) {
	if val, err := v.legacy.Get(p, key); err == nil {
		return val, nil
	}
	if key != "AgentVersion" && key != "ProtocolVersion" {
		if val, err := v.state.data.Get(p, metaKey(key)); err == nil {
			return val, nil
		}
		return nil, peerstore.ErrNotFound
	}
	if val, ok := v.state.version(p, key); ok {
		return val, nil
	}
	if v.state.hasUnseenConn(p) {
		v.state.catchUp()
		if val, ok := v.state.version(p, key); ok {
			return val, nil
		}
	}
	return nil, peerstore.ErrNotFound
}

// Put writes to h.Peerstore(), and to the state only if h.Peerstore() does
// not keep the value (a minimal store): a second copy in the state would
// outlive a RemovePeer made on h.Peerstore() directly, and the view would
// answer what legacy code removed. In the state the value lives until the
// grace period after p's last connection closed (from now if p is not
// connected).
func (v *view) Put(p peer.ID, key string, val any) error {
	legacyErr := v.legacy.Put(p, key, val)
	if legacyErr == nil && v.legacyKeeps(p, key) {
		_ = v.state.data.Delete(p, metaKey(key))
		return nil
	}
	if key == "AgentVersion" || key == "ProtocolVersion" {
		// Before the write: an identification handled meanwhile must
		// see the flag and drop what this writes (see putVersions).
		v.state.versionWritten.Store(true)
	}
	var errs []error
	if err := v.state.data.Put(p, metaKey(key), val, v.state.grace); err != nil {
		errs = append(errs, fmt.Errorf("compat/peerstore: put %q for %s: %w", key, p, err))
	}
	if legacyErr != nil {
		errs = append(errs, legacyErr)
	}
	return errors.Join(errs...)
}

// legacyKeeps tells whether h.Peerstore() answers a value for p's key.
func (v *view) legacyKeeps(p peer.ID, key string) bool {
	_, err := v.legacy.Get(p, key)
	return err == nil
}

// Metrics.

// RecordLatency feeds h.Peerstore(), and, if it keeps no latency (a
// minimal store), the state's own EWMA, computed as upstream's
// (peerstore.LatencyEWMASmoothing). As for Put, the state keeps no second
// copy of what h.Peerstore() keeps.
func (v *view) RecordLatency(p peer.ID, next time.Duration) {
	v.legacy.RecordLatency(p, next)
	s := v.state
	if v.legacy.LatencyEWMA(p) > 0 {
		_ = s.data.Delete(p, latencyKey{})
		return
	}
	s.latMu.Lock()
	defer s.latMu.Unlock()
	ewma := next
	if prev, err := s.data.Get(p, latencyKey{}); err == nil {
		sm := pstore.LatencyEWMASmoothing
		if sm > 1 || sm < 0 {
			sm = 0.1
		}
		ewma = time.Duration((1-sm)*float64(prev.(time.Duration)) + sm*float64(next))
	}
	// A cap error only loses one sample.
	_ = s.data.Put(p, latencyKey{}, ewma, s.grace)
}

// LatencyEWMA answers h.Peerstore()'s EWMA if it has one, else the state's,
// else the smoothed RTT of p's fastest QUIC connection, else 0.
func (v *view) LatencyEWMA(p peer.ID) time.Duration {
	if l := v.legacy.LatencyEWMA(p); l > 0 {
		return l
	}
	if l, err := v.state.data.Get(p, latencyKey{}); err == nil {
		return l.(time.Duration)
	}
	return v.connRTT(p)
}

// connRTT is what go-libp2p v0.51 exposes of a connection's RTT: only QUIC's,
// through Conn.As.
func (v *view) connRTT(p peer.ID) time.Duration {
	var best time.Duration
	for _, c := range v.host.Network().ConnsToPeer(p) {
		var qc *quic.Conn
		if !c.As(&qc) || qc == nil {
			continue
		}
		if rtt := qc.ConnectionStats().SmoothedRTT; rtt > 0 && (best == 0 || rtt < best) {
			best = rtt
		}
	}
	return best
}

// ProtoBook.

// GetProtocols answers h.Peerstore()'s set if it is not empty, else the set
// last written through a view, else what identify told the state.
func (v *view) GetProtocols(p peer.ID) ([]protocol.ID, error) {
	if l, err := v.legacy.GetProtocols(p); err == nil && len(l) > 0 {
		return l, nil
	}
	return v.state.protocols(p), nil
}

// SupportsProtocols and FirstSupportedProtocol answer from the set
// GetProtocols returns. A match in h.Peerstore() proves its set is not
// empty, so that set is the one GetProtocols returns and its own answer is
// ours, without copying the set.
func (v *view) SupportsProtocols(p peer.ID, protos ...protocol.ID) ([]protocol.ID, error) {
	if got, err := v.legacy.SupportsProtocols(p, protos...); err == nil && len(got) > 0 {
		return got, nil
	}
	known, _ := v.GetProtocols(p)
	out := make([]protocol.ID, 0, len(protos))
	for _, want := range protos {
		if slices.Contains(known, want) {
			out = append(out, want)
		}
	}
	return out, nil
}

func (v *view) FirstSupportedProtocol(p peer.ID, protos ...protocol.ID) (protocol.ID, error) {
	if got, err := v.legacy.FirstSupportedProtocol(p, protos...); err == nil && got != "" {
		return got, nil
	}
	known, _ := v.GetProtocols(p)
	for _, want := range protos {
		if slices.Contains(known, want) {
			return want, nil
		}
	}
	return "", nil
}

func (v *view) AddProtocols(p peer.ID, protos ...protocol.ID) error {
	return v.writeProtocols(p, func(cur []protocol.ID) []protocol.ID {
		for _, x := range protos {
			if !slices.Contains(cur, x) {
				cur = append(cur, x)
			}
		}
		return cur
	}, func() error { return v.legacy.AddProtocols(p, protos...) })
}

func (v *view) SetProtocols(p peer.ID, protos ...protocol.ID) error {
	return v.writeProtocols(p, func([]protocol.ID) []protocol.ID {
		out := make([]protocol.ID, 0, len(protos))
		for _, x := range protos {
			if !slices.Contains(out, x) {
				out = append(out, x)
			}
		}
		return out
	}, func() error { return v.legacy.SetProtocols(p, protos...) })
}

func (v *view) RemoveProtocols(p peer.ID, protos ...protocol.ID) error {
	return v.writeProtocols(p, func(cur []protocol.ID) []protocol.ID {
		return slices.DeleteFunc(cur, func(x protocol.ID) bool { return slices.Contains(protos, x) })
	}, func() error { return v.legacy.RemoveProtocols(p, protos...) })
}

// writeProtocols applies legacyWrite to h.Peerstore() and, unless that
// store now answers a set for p (a minimal store does not), applies edit to
// the state's set of p and keeps the result as the set written through
// views. As for Put, the state keeps no second copy of what h.Peerstore()
// keeps.
func (v *view) writeProtocols(p peer.ID, edit func([]protocol.ID) []protocol.ID, legacyWrite func() error) error {
	s := v.state
	s.protoEditMu.Lock()
	defer s.protoEditMu.Unlock()
	legacyErr := legacyWrite()
	if legacyErr == nil {
		if l, err := v.legacy.GetProtocols(p); err == nil && len(l) > 0 {
			if s.overridden.Load() {
				_ = s.data.Delete(p, protocolsOverrideKey{})
			}
			return nil
		}
	}
	var errs []error
	next := edit(s.protocols(p))
	if len(next) > MaxProtocols {
		errs = append(errs, ErrTooManyProtocols)
	} else {
		s.overridden.Store(true) // before the Put: identify must look for it from now on
		if err := s.data.Put(p, protocolsOverrideKey{}, next, s.grace); err != nil {
			errs = append(errs, fmt.Errorf("compat/peerstore: protocols of %s: %w", p, err))
		}
	}
	if legacyErr != nil {
		errs = append(errs, legacyErr)
	}
	return errors.Join(errs...)
}

// PeerInfo, Peers, RemovePeer.

func (v *view) PeerInfo(p peer.ID) peer.AddrInfo {
	return peer.AddrInfo{ID: p, Addrs: v.legacy.Addrs(p)}
}

// Peers is h.Peerstore()'s peers plus those the state holds anything for.
func (v *view) Peers() peer.IDSlice {
	seen := make(map[peer.ID]struct{})
	var out peer.IDSlice
	add := func(ps []peer.ID) {
		for _, p := range ps {
			if _, ok := seen[p]; !ok {
				seen[p] = struct{}{}
				out = append(out, p)
			}
		}
	}
	add(v.legacy.Peers())
	add(v.state.data.Peers())
	add(v.state.protos.Peers())
	v.state.keysMu.RLock()
	for p := range v.state.privKeys {
		add([]peer.ID{p})
	}
	v.state.keysMu.RUnlock()
	return out
}

// RemovePeer forgets p's metadata, protocols, latency and private key in the
// state and in h.Peerstore(), as the legacy RemovePeer does.
func (v *view) RemovePeer(p peer.ID) {
	// Events already emitted would otherwise bring back what is removed: on
	// a legacy store identify's writes precede any RemovePeer after Connect.
	v.state.catchUp()
	v.legacy.RemovePeer(p)
	v.state.data.RemovePeer(p)
	v.state.protos.RemovePeer(p)
	v.state.keysMu.Lock()
	delete(v.state.privKeys, p)
	v.state.keysMu.Unlock()
}

// protocols is the state's answer for p: the set written through a view,
// else identify's.
func (s *state) protocols(p peer.ID) []protocol.ID {
	if o, err := s.data.Get(p, protocolsOverrideKey{}); err == nil {
		return slices.Clone(o.([]protocol.ID))
	}
	if ps := s.protos.PeerProtocols(p); ps != nil {
		return ps
	}
	if !s.hasUnseenConn(p) {
		return nil
	}
	s.catchUp()
	if o, err := s.data.Get(p, protocolsOverrideKey{}); err == nil {
		return slices.Clone(o.([]protocol.ID))
	}
	return s.protos.PeerProtocols(p)
}

// hasUnseenConn tells whether p has a live connection that identify has
// finished on but whose event the state has not handled yet.
func (s *state) hasUnseenConn(p peer.ID) bool {
	for _, c := range s.host.Network().ConnsToPeer(p) {
		if !s.protos.HasConn(c) && identifyDone(s.host, c) {
			return true
		}
	}
	return false
}

// identifyDone tells whether the host's identify service is done with c,
// without starting one. Hosts that do not expose their IDService count as
// done: the barrier then costs one round trip through the event goroutine.
func identifyDone(h host.Host, c network.Conn) bool {
	type idHost interface{ IDService() identify.IDService }
	ih, ok := h.(idHost)
	if !ok {
		return true
	}
	select {
	case <-ih.IDService().IdentifyWait(c):
		return true
	default:
		return false
	}
}
