// Package peerdatatest holds the restart scenario of newstore/peerdata's
// persistence, run by its tests against a file and by the interop tests
// against real datastores. It lives here, not under newstore/internal, so
// that the interop module may import it. It is not for production use.
package peerdatatest

import (
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"math"
	"testing"
	"time"

	mockclock "github.com/benbjohnson/clock"
	"github.com/libp2p/go-libp2p"
	"github.com/libp2p/go-libp2p/core/crypto"
	"github.com/libp2p/go-libp2p/core/host"
	"github.com/libp2p/go-libp2p/core/network"
	"github.com/libp2p/go-libp2p/core/peer"
	"github.com/libp2p/go-libp2p/core/protocol"
	"github.com/libp2p/go-libp2p/p2p/transport/tcp"
	"github.com/stretchr/testify/require"

	"github.com/pstoremigrate/pstoremigrate/internal/testhost"
	"github.com/pstoremigrate/pstoremigrate/newstore"
	"github.com/pstoremigrate/pstoremigrate/newstore/peerdata"
)

// ScoreProtocol is the small protocol of the scenario: every stream a peer
// opens adds one to the score the node keeps for it.
const ScoreProtocol = protocol.ID("/pstoremigrate/test/score/1.0.0")

// ScoreTTL is the score's ttlAfterDisconnect.
const ScoreTTL = 10 * time.Minute

type scoreKey struct{}

// notPersisted is a key that never opts in.
type notPersisted struct{}

// ScoreCodec encodes a float64 score as 8 bytes.
var ScoreCodec = peerdata.CodecFuncs{
	EncodeFunc: func(v any) ([]byte, error) {
		f, ok := v.(float64)
		if !ok {
			return nil, fmt.Errorf("score is a %T, not a float64", v)
		}
		return binary.LittleEndian.AppendUint64(nil, math.Float64bits(f)), nil
	},
	DecodeFunc: func(b []byte) (any, error) {
		if len(b) != 8 {
			return nil, fmt.Errorf("score of %d bytes, want 8", len(b))
		}
		return math.Float64frombits(binary.LittleEndian.Uint64(b)), nil
	},
}

// Node is a host with an address book and per-peer data, persisted together.
type Node struct {
	Host      host.Host
	Book      *newstore.AddrBook
	Data      *peerdata.Store
	Persister *newstore.Persister
	sub       io.Closer
}

// StartNode starts a node with identity priv on 127.0.0.1, loading what
// sink holds (nothing on a first start).
func StartNode(t *testing.T, priv crypto.PrivKey, sink newstore.Sink, clk *mockclock.Mock) *Node {
	t.Helper()
	h, err := libp2p.New(libp2p.Identity(priv),
		libp2p.ListenAddrStrings("/ip4/127.0.0.1/tcp/0"),
		libp2p.NoTransports, libp2p.Transport(tcp.NewTCPTransport),
		libp2p.DisableRelay())
	require.NoError(t, err)
	n := &Node{Host: h}
	n.Book, err = newstore.New(newstore.WithClock(clk))
	require.NoError(t, err)
	n.Data = peerdata.New(peerdata.WithClock(clk))
	require.NoError(t, n.Data.Persist(scoreKey{}, "score", ScoreCodec))
	n.sub, err = n.Data.Subscribe(h.EventBus())
	require.NoError(t, err)
	n.Persister = newstore.NewPersister(newstore.Stores{Book: n.Book, Data: []newstore.PeerDataSnapshotter{n.Data}}, sink)
	if err := n.Persister.Load(context.Background()); err != nil {
		require.ErrorIs(t, err, newstore.ErrNoSnapshot)
	}
	h.SetStreamHandler(ScoreProtocol, func(s network.Stream) {
		defer s.Close()
		p := s.Conn().RemotePeer()
		score, _ := n.Score(p)
		_ = n.Data.Put(p, scoreKey{}, score+1, ScoreTTL)
		_ = n.Data.Put(p, notPersisted{}, "never written", ScoreTTL)
		_, _ = s.Write([]byte{1})
	})
	return n
}

// Score is the score the node keeps for p.
func (n *Node) Score(p peer.ID) (float64, error) {
	v, err := n.Data.Get(p, scoreKey{})
	if err != nil {
		return 0, err
	}
	return v.(float64), nil
}

// Stop saves and closes everything, as a node shutting down does.
func (n *Node) Stop(t *testing.T) {
	t.Helper()
	require.NoError(t, n.Persister.Close())
	require.NoError(t, n.sub.Close())
	require.NoError(t, n.Data.Close())
	require.NoError(t, n.Book.Close())
	require.NoError(t, n.Host.Close())
}

// ScoreSurvivesRestart is the scenario: a peer earns a score of 3 on a
// node, the node restarts with the same identity and finds the score, and
// with the peer gone the score lives ScoreTTL after the restart, not a
// nanosecond more. openSink opens the node's storage at each start; the
// returned function closes it after the node stopped.
func ScoreSurvivesRestart(t *testing.T, openSink func(t *testing.T) (newstore.Sink, func())) {
	clk := mockclock.NewMock()
	priv, _, err := crypto.GenerateEd25519Key(nil)
	require.NoError(t, err)
	remote := testhost.New(t, testhost.Config{})

	sink, closeSink := openSink(t)
	node := StartNode(t, priv, sink, clk)
	testhost.Connect(t, remote, node.Host)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	for range 3 {
		s, err := remote.NewStream(ctx, node.Host.ID(), ScoreProtocol)
		require.NoError(t, err)
		_, err = io.ReadAll(s) // the handler wrote its byte and closed: the score is in
		require.NoError(t, err)
		_ = s.Close()
	}
	score, err := node.Score(remote.ID())
	require.NoError(t, err)
	require.Equal(t, 3.0, score)
	node.Book.AddAddrs(remote.ID(), remote.Addrs(), time.Hour)
	node.Stop(t)
	closeSink()
	require.NoError(t, remote.Close(), "the peer does not come back")

	// What is on disk: the score, and nothing of the key that did not opt in.
	sink, closeSink = openSink(t)
	require.Equal(t, []string{"score"}, persistedNames(t, sink))

	clk.Add(time.Hour) // downtime does not count: the peer "just disconnected" at the restart
	node = StartNode(t, priv, sink, clk)
	defer closeSink()
	defer node.Stop(t)
	require.Equal(t, priv.GetPublic(), node.Host.Peerstore().PubKey(node.Host.ID()), "same identity")
	score, err = node.Score(remote.ID())
	require.NoError(t, err, "the score survived the restart")
	require.Equal(t, 3.0, score)
	_, err = node.Data.Get(remote.ID(), notPersisted{})
	require.ErrorIs(t, err, peerdata.ErrNotFound, "a key that did not opt in is not restored")
	require.Len(t, node.Book.Addrs(remote.ID()), len(remote.Addrs()), "the address book came back with it")

	clk.Add(ScoreTTL - time.Nanosecond)
	_, err = node.Score(remote.ID())
	require.NoError(t, err, "gone before its ttlAfterDisconnect after the restart")
	clk.Add(time.Nanosecond)
	_, err = node.Score(remote.ID())
	require.ErrorIs(t, err, peerdata.ErrNotFound, "still there ttlAfterDisconnect after the restart")
}

// persistedNames lists the names of the per-peer values the sink's
// snapshot holds, one per value.
func persistedNames(t *testing.T, sink newstore.Sink) []string {
	t.Helper()
	var names []string
	require.NoError(t, sink.Load(context.Background(), func(r io.Reader) error {
		sr, err := newstore.NewSnapshotReader(r)
		if err != nil {
			return err
		}
		for {
			if _, err := sr.Next(); errors.Is(err, io.EOF) {
				break
			} else if err != nil {
				return err
			}
		}
		for _, d := range sr.Data() {
			names = append(names, d.Name)
		}
		return nil
	}))
	return names
}
