package peerstore

import (
	"context"
	"testing"
	"time"

	"github.com/libp2p/go-libp2p"
	"github.com/libp2p/go-libp2p/core/host"
	"github.com/libp2p/go-libp2p/core/peer"
	"github.com/libp2p/go-libp2p/core/peerstore"
	"github.com/libp2p/go-libp2p/core/protocol"
	"github.com/libp2p/go-libp2p/core/record"
	"github.com/libp2p/go-libp2p/p2p/host/peerstore/pstoremem"
	quictpt "github.com/libp2p/go-libp2p/p2p/transport/quic"
	"github.com/libp2p/go-libp2p/p2p/transport/tcp"
	"github.com/stretchr/testify/require"
	"go.uber.org/goleak"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

// minimalStore is what the new minimal store keeps and nothing more:
// addresses, keys and records answer, while metadata, protocols and latency
// return nothing and drop writes.
type minimalStore struct {
	peerstore.Peerstore
	cab peerstore.CertifiedAddrBook
}

func newMinimalStore(t testing.TB) *minimalStore {
	t.Helper()
	ps, err := pstoremem.NewPeerstore()
	require.NoError(t, err)
	return &minimalStore{Peerstore: ps, cab: ps}
}

func (*minimalStore) Get(peer.ID, string) (any, error)              { return nil, peerstore.ErrNotFound }
func (*minimalStore) Put(peer.ID, string, any) error                { return nil }
func (*minimalStore) RecordLatency(peer.ID, time.Duration)          {}
func (*minimalStore) LatencyEWMA(peer.ID) time.Duration             { return 0 }
func (*minimalStore) GetProtocols(peer.ID) ([]protocol.ID, error)   { return nil, nil }
func (*minimalStore) AddProtocols(peer.ID, ...protocol.ID) error    { return nil }
func (*minimalStore) SetProtocols(peer.ID, ...protocol.ID) error    { return nil }
func (*minimalStore) RemoveProtocols(peer.ID, ...protocol.ID) error { return nil }
func (*minimalStore) SupportsProtocols(peer.ID, ...protocol.ID) ([]protocol.ID, error) {
	return nil, nil
}
func (*minimalStore) FirstSupportedProtocol(peer.ID, ...protocol.ID) (protocol.ID, error) {
	return "", nil
}
func (m *minimalStore) ConsumePeerRecord(s *record.Envelope, ttl time.Duration) (bool, error) {
	return m.cab.ConsumePeerRecord(s, ttl)
}
func (m *minimalStore) GetPeerRecord(p peer.ID) *record.Envelope { return m.cab.GetPeerRecord(p) }

type hostConfig struct {
	minimal bool
	quic    bool
	agent   string
	// protoVersion is what identify sends as ProtocolVersion.
	protoVersion string
}

// newHost builds a go-libp2p host listening on loopback only, closed with
// the test.
func newHost(t testing.TB, cfg hostConfig) host.Host {
	t.Helper()
	opts := []libp2p.Option{libp2p.NoTransports, libp2p.DisableRelay()}
	if cfg.quic {
		opts = append(opts, libp2p.Transport(quictpt.NewTransport),
			libp2p.ListenAddrStrings("/ip4/127.0.0.1/udp/0/quic-v1"))
	} else {
		opts = append(opts, libp2p.Transport(tcp.NewTCPTransport),
			libp2p.ListenAddrStrings("/ip4/127.0.0.1/tcp/0"))
	}
	if cfg.minimal {
		opts = append(opts, libp2p.Peerstore(newMinimalStore(t)))
	}
	if cfg.agent != "" {
		opts = append(opts, libp2p.UserAgent(cfg.agent))
	}
	if cfg.protoVersion != "" {
		opts = append(opts, libp2p.ProtocolVersion(cfg.protoVersion))
	}
	h, err := libp2p.New(opts...)
	require.NoError(t, err)
	t.Cleanup(func() { _ = h.Close() })
	return h
}

// connect dials b from a; go-libp2p's Connect returns once identify is done.
func connect(t testing.TB, a, b host.Host) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	require.NoError(t, a.Connect(ctx, peer.AddrInfo{ID: b.ID(), Addrs: b.Addrs()}))
}

// waitFor polls cond: events reach a view asynchronously.
func waitFor(t *testing.T, cond func() bool, msg string) {
	t.Helper()
	require.Eventually(t, cond, 30*time.Second, 5*time.Millisecond, msg)
}
