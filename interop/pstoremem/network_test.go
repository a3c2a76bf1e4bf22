package pstoremem_test

import (
	"context"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/pstoremigrate/pstoremigrate/internal/testhost"

	"github.com/ipfs/go-cid"
	dht "github.com/libp2p/go-libp2p-kad-dht"
	pubsub "github.com/libp2p/go-libp2p-pubsub"
	"github.com/libp2p/go-libp2p/core/host"
	"github.com/libp2p/go-libp2p/core/network"
	"github.com/libp2p/go-libp2p/core/peer"
	"github.com/libp2p/go-libp2p/core/protocol"
	mh "github.com/multiformats/go-multihash"
	"github.com/stretchr/testify/require"

	"github.com/pstoremigrate/pstoremigrate/compat/pstoremem"
)

// guard bounds how long a test waits for the network; it is a deadline
// against hangs, not a measurement.
const guard = 90 * time.Second

// newHost builds a loopback-only host whose peerstore is ours.
func newHost(t *testing.T, agent string) (host.Host, *pstoremem.Peerstore) {
	t.Helper()
	ps, err := pstoremem.NewPeerstore()
	require.NoError(t, err)
	return testhost.New(t, testhost.Config{Peerstore: ps, Agent: agent}), ps // the host closes ps
}

var connectAndIdentify = testhost.ConnectAndIdentify

func TestNetworkRunsDHTAndGossipsub(t *testing.T) {
	const n = 10
	ctx, cancel := context.WithTimeout(context.Background(), guard)
	defer cancel()

	hosts := make([]host.Host, n)
	dhts := make([]*dht.IpfsDHT, n)
	for i := range hosts {
		hosts[i], _ = newHost(t, fmt.Sprintf("compat-test/%d", i))
		d, err := dht.New(hosts[i],
			dht.Mode(dht.ModeServer),
			dht.ProtocolPrefix("/compat-test"),
			dht.BucketSize(4),
			dht.DisableAutoRefresh(),
		)
		require.NoError(t, err)
		t.Cleanup(func() { d.Close() })
		dhts[i] = d
	}
	// Gossipsub starts before the hosts connect, as in an application:
	// pubsub then learns each peer's protocols from identify.
	psCtx, psCancel := context.WithCancel(ctx)
	defer psCancel()
	const topicName = "compat-test"
	topics := make([]*pubsub.Topic, n)
	subs := make([]*pubsub.Subscription, n)
	meshes := make([]*meshTracer, n)
	for i, h := range hosts {
		meshes[i] = newMeshTracer()
		gs, err := pubsub.NewGossipSub(psCtx, h, pubsub.WithRawTracer(meshes[i]))
		require.NoError(t, err)
		topics[i], err = gs.Join(topicName)
		require.NoError(t, err)
		subs[i], err = topics[i].Subscribe()
		require.NoError(t, err)
	}
	defer func() {
		for i := range subs {
			subs[i].Cancel()
			topics[i].Close()
		}
	}()
	// A ring with chords: everyone reaches everyone, but not directly.
	for i := range hosts {
		for _, j := range []int{(i + 1) % n, (i + 2) % n} {
			connectAndIdentify(t, ctx, hosts[i], hosts[j])
		}
	}
	for i, d := range dhts {
		require.Eventually(t, func() bool { return d.RoutingTable().Size() >= 2 }, guard, 10*time.Millisecond,
			"routing table of host %d", i)
	}

	t.Run("FindPeer", func(t *testing.T) {
		// A host the searcher is not connected to, so that the answer
		// comes from a DHT query, not from its own connections.
		var target host.Host
		for _, h := range hosts[3 : n-2] {
			if hosts[0].Network().Connectedness(h.ID()) != network.Connected {
				target = h
				break
			}
		}
		require.NotNil(t, target, "host 0 is connected to every host")
		info, err := dhts[0].FindPeer(ctx, target.ID())
		require.NoError(t, err)
		require.Equal(t, target.ID(), info.ID)
		require.NotEmpty(t, info.Addrs)
	})

	t.Run("FindProviders", func(t *testing.T) {
		h, err := mh.Sum([]byte("compat peerstore"), mh.SHA2_256, -1)
		require.NoError(t, err)
		c := cid.NewCidV1(cid.Raw, h)
		require.NoError(t, dhts[3].Provide(ctx, c, true))
		provs, err := dhts[n-2].FindProviders(ctx, c)
		require.NoError(t, err)
		var ids []peer.ID
		for _, p := range provs {
			ids = append(ids, p.ID)
		}
		require.Contains(t, ids, hosts[3].ID())
	})

	t.Run("Gossipsub", func(t *testing.T) {
		// Past the publisher's own peers a message travels only along
		// mesh links, so wait until the mesh reaches every host from
		// host 0. Which links form is gossipsub's choice: the DHT
		// queries above may have connected more peers than the ring,
		// and a host stops grafting once its mesh is big enough.
		// The host opens each pubsub stream with the protocol this
		// peerstore's ProtoBook says the peer speaks, and pubsub signs
		// with the private key it holds, so delivery proves both paths.
		index := make(map[peer.ID]int, n)
		for i, h := range hosts {
			index[h.ID()] = i
		}
		require.Eventually(t, func() bool {
			return len(meshReach(0, meshes, index)) == n
		}, guard, 10*time.Millisecond, "the mesh does not reach every host from host 0")
		msg := []byte("to every host")
		require.NoError(t, topics[0].Publish(ctx, msg))
		for i, sub := range subs {
			m, err := sub.Next(ctx)
			require.NoError(t, err, "host %d", i)
			require.Equal(t, msg, m.Data)
			require.Equal(t, hosts[0].ID(), m.GetFrom())
		}
	})
}

// meshReach returns the hosts that a message published by host from
// reaches by forwarding along mesh links, host itself included.
func meshReach(from int, meshes []*meshTracer, index map[peer.ID]int) map[int]bool {
	seen := map[int]bool{from: true}
	queue := []int{from}
	for len(queue) > 0 {
		i := queue[0]
		queue = queue[1:]
		for _, p := range meshes[i].peers() {
			if j, ok := index[p]; ok && !seen[j] {
				seen[j] = true
				queue = append(queue, j)
			}
		}
	}
	return seen
}

// meshTracer records which peers a gossipsub router has in its mesh.
type meshTracer struct {
	mu   sync.Mutex
	mesh map[peer.ID]bool
}

func newMeshTracer() *meshTracer { return &meshTracer{mesh: make(map[peer.ID]bool)} }

func (m *meshTracer) peers() []peer.ID {
	m.mu.Lock()
	defer m.mu.Unlock()
	out := make([]peer.ID, 0, len(m.mesh))
	for p := range m.mesh {
		out = append(out, p)
	}
	return out
}

func (m *meshTracer) Graft(p peer.ID, _ string) {
	m.mu.Lock()
	m.mesh[p] = true
	m.mu.Unlock()
}

func (m *meshTracer) Prune(p peer.ID, _ string) {
	m.mu.Lock()
	delete(m.mesh, p)
	m.mu.Unlock()
}

func (m *meshTracer) OnNewOutboundStream(peer.ID, protocol.ID)             {}
func (m *meshTracer) OnClosedOutboundStream(peer.ID)                       {}
func (m *meshTracer) Join(string)                                          {}
func (m *meshTracer) Leave(string)                                         {}
func (m *meshTracer) ValidateMessage(*pubsub.Message)                      {}
func (m *meshTracer) DeliverMessage(*pubsub.Message)                       {}
func (m *meshTracer) RejectMessage(*pubsub.Message, string)                {}
func (m *meshTracer) DuplicateMessage(*pubsub.Message)                     {}
func (m *meshTracer) ThrottlePeer(peer.ID)                                 {}
func (m *meshTracer) RecvRPC(*pubsub.RPC)                                  {}
func (m *meshTracer) SendRPC(*pubsub.RPC, peer.ID)                         {}
func (m *meshTracer) SendRPCCompleted(*pubsub.RPC, peer.ID, time.Duration) {}
func (m *meshTracer) DropRPC(*pubsub.RPC, peer.ID)                         {}
func (m *meshTracer) UndeliverableMessage(*pubsub.Message)                 {}
