// Package testhost builds the go-libp2p hosts that the tests of
// compat/peerstore and of the interop module run on: loopback only, and
// optionally on a MinimalStore, the store that keeps only what the new
// minimal peerstore keeps. It is not for production use.
package testhost

import (
	"context"
	"testing"
	"time"

	"github.com/libp2p/go-libp2p"
	"github.com/libp2p/go-libp2p/core/event"
	"github.com/libp2p/go-libp2p/core/host"
	"github.com/libp2p/go-libp2p/core/peer"
	"github.com/libp2p/go-libp2p/core/peerstore"
	"github.com/libp2p/go-libp2p/core/protocol"
	"github.com/libp2p/go-libp2p/core/record"
	"github.com/libp2p/go-libp2p/p2p/host/peerstore/pstoremem"
	quictpt "github.com/libp2p/go-libp2p/p2p/transport/quic"
	"github.com/libp2p/go-libp2p/p2p/transport/tcp"
	"github.com/stretchr/testify/require"
)

// MinimalStore is what the new minimal store keeps and nothing more:
// addresses, keys and records answer, while metadata, protocols and latency
// return nothing and drop writes.
type MinimalStore struct {
	peerstore.Peerstore
	cab peerstore.CertifiedAddrBook
}

func NewMinimalStore(t testing.TB) *MinimalStore {
	t.Helper()
	ps, err := pstoremem.NewPeerstore()
	require.NoError(t, err)
	return &MinimalStore{Peerstore: ps, cab: ps}
}

func (*MinimalStore) Get(peer.ID, string) (any, error)              { return nil, peerstore.ErrNotFound }
func (*MinimalStore) Put(peer.ID, string, any) error                { return nil }
func (*MinimalStore) RecordLatency(peer.ID, time.Duration)          {}
func (*MinimalStore) LatencyEWMA(peer.ID) time.Duration             { return 0 }
func (*MinimalStore) GetProtocols(peer.ID) ([]protocol.ID, error)   { return nil, nil }
func (*MinimalStore) AddProtocols(peer.ID, ...protocol.ID) error    { return nil }
func (*MinimalStore) SetProtocols(peer.ID, ...protocol.ID) error    { return nil }
func (*MinimalStore) RemoveProtocols(peer.ID, ...protocol.ID) error { return nil }
func (*MinimalStore) SupportsProtocols(peer.ID, ...protocol.ID) ([]protocol.ID, error) {
	return nil, nil
}
func (*MinimalStore) FirstSupportedProtocol(peer.ID, ...protocol.ID) (protocol.ID, error) {
	return "", nil
}
func (m *MinimalStore) ConsumePeerRecord(s *record.Envelope, ttl time.Duration) (bool, error) {
	return m.cab.ConsumePeerRecord(s, ttl)
}
func (m *MinimalStore) GetPeerRecord(p peer.ID) *record.Envelope { return m.cab.GetPeerRecord(p) }

// Config says how New builds a host.
type Config struct {
	// Peerstore is the host's peerstore (go-libp2p's default if nil).
	Peerstore peerstore.Peerstore
	// Minimal gives the host a MinimalStore as its peerstore.
	Minimal bool
	// QUIC listens on QUIC instead of TCP.
	QUIC bool
	// Agent is what identify sends as AgentVersion.
	Agent string
	// ProtocolVersion is what identify sends as ProtocolVersion.
	ProtocolVersion string
}

// New builds a go-libp2p host listening on loopback only, closed with
// the test.
func New(t testing.TB, cfg Config) host.Host {
	t.Helper()
	opts := []libp2p.Option{libp2p.NoTransports, libp2p.DisableRelay()}
	if cfg.QUIC {
		opts = append(opts, libp2p.Transport(quictpt.NewTransport),
			libp2p.ListenAddrStrings("/ip4/127.0.0.1/udp/0/quic-v1"))
	} else {
		opts = append(opts, libp2p.Transport(tcp.NewTCPTransport),
			libp2p.ListenAddrStrings("/ip4/127.0.0.1/tcp/0"))
	}
	if cfg.Peerstore != nil {
		opts = append(opts, libp2p.Peerstore(cfg.Peerstore))
	}
	if cfg.Minimal {
		opts = append(opts, libp2p.Peerstore(NewMinimalStore(t)))
	}
	if cfg.Agent != "" {
		opts = append(opts, libp2p.UserAgent(cfg.Agent))
	}
	if cfg.ProtocolVersion != "" {
		opts = append(opts, libp2p.ProtocolVersion(cfg.ProtocolVersion))
	}
	h, err := libp2p.New(opts...)
	require.NoError(t, err)
	t.Cleanup(func() { _ = h.Close() })
	return h
}

// Connect dials b from a; go-libp2p's Connect returns once identify is done.
func Connect(t testing.TB, a, b host.Host) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	require.NoError(t, a.Connect(ctx, peer.AddrInfo{ID: b.ID(), Addrs: b.Addrs()}))
}

// WaitFor polls cond: events reach a view asynchronously.
func WaitFor(t testing.TB, cond func() bool, msg string) {
	t.Helper()
	require.Eventually(t, cond, 30*time.Second, 5*time.Millisecond, msg)
}

// ConnectAndIdentify connects a to b and waits until a has identified b.
func ConnectAndIdentify(t testing.TB, ctx context.Context, a, b host.Host) {
	t.Helper()
	sub, err := a.EventBus().Subscribe(new(event.EvtPeerIdentificationCompleted))
	require.NoError(t, err)
	defer sub.Close()
	require.NoError(t, a.Connect(ctx, peer.AddrInfo{ID: b.ID(), Addrs: b.Addrs()}))
	for {
		select {
		case e := <-sub.Out():
			if e.(event.EvtPeerIdentificationCompleted).Peer == b.ID() {
				return
			}
		case <-ctx.Done():
			t.Fatalf("identify of %s: %v", b.ID(), ctx.Err())
		}
	}
}
