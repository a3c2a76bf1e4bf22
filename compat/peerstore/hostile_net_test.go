package peerstore

import (
	"context"
	"fmt"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/libp2p/go-libp2p"
	"github.com/libp2p/go-libp2p/core/crypto"
	"github.com/libp2p/go-libp2p/core/host"
	"github.com/libp2p/go-libp2p/core/network"
	"github.com/libp2p/go-libp2p/core/peer"
	"github.com/libp2p/go-libp2p/core/protocol"
	"github.com/libp2p/go-libp2p/p2p/protocol/identify"
	"github.com/libp2p/go-libp2p/p2p/protocol/identify/pb"
	"github.com/libp2p/go-libp2p/p2p/transport/tcp"
	"github.com/libp2p/go-msgio/pbio"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/pstoremigrate/pstoremigrate/newstore/protocols"
)

const (
	hostileConns  = 8 // the resource manager's default per peer
	hostilePushes = 3
)

// hostileSwarm is one hostile peer with hostileConns connections to target:
// that many hosts sharing one identity. Each answers identify, and pushes,
// with 1,024 protocols of its own, split into parts as identify's reader
// accepts them (go-libp2p's own writer would send one message, over the
// reader's size limit). push replaces every connection's set
// hostilePushes times.
func hostileSwarm(t *testing.T, target host.Host) (peer.ID, func()) {
	t.Helper()
	priv, _, err := crypto.GenerateEd25519Key(nil)
	require.NoError(t, err)
	hosts := make([]host.Host, hostileConns)
	round := make([]atomic.Int32, hostileConns)
	for i := range hosts {
		hosts[i], err = libp2p.New(libp2p.Identity(priv), libp2p.NoTransports, libp2p.Transport(tcp.NewTCPTransport),
			libp2p.ListenAddrStrings("/ip4/127.0.0.1/tcp/0"), libp2p.DisableRelay())
		require.NoError(t, err)
		t.Cleanup(func() { _ = hosts[i].Close() })
		hosts[i].SetStreamHandler(identify.ID, func(s network.Stream) {
			writeIdentify(s, fmt.Sprint(i, "-", round[i].Load()))
		})
		connect(t, hosts[i], target)
	}
	push := func() {
		var wg sync.WaitGroup
		for i, h := range hosts {
			wg.Go(func() {
				for range hostilePushes {
					tag := fmt.Sprint(i, "-", round[i].Add(1))
					ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
					s, err := h.NewStream(ctx, target.ID(), identify.IDPush)
					cancel()
					if err != nil {
						return // the target may refuse: pushes are best effort for it too
					}
					writeIdentify(s, tag)
				}
			})
		}
		wg.Wait()
	}
	return hosts[0].ID(), push
}

// writeIdentify answers identify, or pushes, with the hostile set tagged
// tag and a 7.8 KB agent version, in parts of at most 150 protocols.
func writeIdentify(s network.Stream, tag string) {
	defer s.Close()
	w := pbio.NewDelimitedWriter(s)
	set := hostileSet(tag, hostileProtocols)
	agent, pv := strings.Repeat("a", hostileAgentLen-100), "ipfs/0.1.0"
	if err := w.WriteMsg(&pb.Identify{AgentVersion: &agent, ProtocolVersion: &pv}); err != nil {
		return
	}
	for len(set) > 0 {
		n := min(150, len(set))
		if err := w.WriteMsg(&pb.Identify{Protocols: protocol.ConvertToStrings(set[:n])}); err != nil {
			return
		}
		set = set[n:]
	}
}

// honestConnect times an honest peer's Connect to target (which returns
// once identify is done) while the hostile peer pushes.
func honestConnect(t *testing.T, target host.Host, push func()) time.Duration {
	t.Helper()
	honest := newHost(t, hostConfig{Agent: "kubo/0.30.0/"})
	honest.SetStreamHandler(echo, handleEcho)
	done := make(chan struct{})
	go func() { defer close(done); push() }()
	time.Sleep(20 * time.Millisecond) // let the pushes start
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	start := time.Now()
	require.NoError(t, target.Connect(ctx, peer.AddrInfo{ID: honest.ID(), Addrs: honest.Addrs()}))
	took := time.Since(start)
	<-done
	return took
}

// A peer with 8 connections pushing 1,024 protocols on each, three times,
// while an honest peer connects: the honest peer is identified in full, the
// hostile one held to its budget. Upstream pstoremem runs the same scene
// for the connect latency logged beside ours (no assertion on time).
func TestHostilePeerOnLoopback(t *testing.T) {
	t.Run("upstream", func(t *testing.T) {
		target := newHost(t, hostConfig{})
		_, push := hostileSwarm(t, target)
		t.Logf("upstream pstoremem: honest connect took %v", honestConnect(t, target, push))
	})
	t.Run("compat", func(t *testing.T) {
		target := newHost(t, hostConfig{Minimal: true})
		view := New(target)
		hostile, push := hostileSwarm(t, target)
		took := honestConnect(t, target, push)
		t.Logf("compat view: honest connect took %v", took)

		for _, c := range target.Network().Conns() {
			if c.RemotePeer() != hostile {
				waitFor(t, func() bool {
					got, err := view.SupportsProtocols(c.RemotePeer(), echo)
					return err == nil && len(got) == 1
				}, "the honest peer's protocols are all known")
			}
		}
		st := stateFor(target, nil) // the view's state
		st.catchUp()
		protos, err := view.GetProtocols(hostile)
		require.NoError(t, err)
		assert.NotEmpty(t, protos, "the hostile peer keeps what fits its budget")
		charged := 0
		for _, p := range protos {
			charged += len(p) + protocols.EntryOverhead
		}
		assert.LessOrEqual(t, charged, protocols.DefaultMaxBytesPerPeer, "the hostile peer is held to its byte budget")
		assert.Positive(t, st.protos.Dropped(), "what went over is counted")
		pv, err := view.Get(hostile, "ProtocolVersion")
		require.NoError(t, err, "the honest part of a hostile identify is kept")
		assert.Equal(t, "ipfs/0.1.0", pv)
		_, err = view.Get(hostile, "AgentVersion")
		require.Error(t, err, "a 7.8 KB agent version is not")
	})
}
