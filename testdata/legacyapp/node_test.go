package main

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/libp2p/go-libp2p/core/peer"
	"github.com/stretchr/testify/require"
	"go.uber.org/goleak"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

// Two nodes on loopback: bob greets alice, then reports what his peerstore
// learned about her.
func TestTwoNodesGreetAndDescribe(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()

	alice, err := NewNode("alice")
	require.NoError(t, err)
	defer alice.Close()
	bob, err := NewNode("bob")
	require.NoError(t, err)
	defer bob.Close()

	aliceInfo := peer.AddrInfo{ID: alice.Host.ID(), Addrs: alice.Host.Addrs()}
	g, err := bob.Hello(ctx, aliceInfo)
	require.NoError(t, err)
	require.Equal(t, "hello bob, this is alice", g.Text)
	require.NotEmpty(t, g.Signature)

	// Identify runs beside the hello stream; wait until bob has heard it.
	var r PeerReport
	require.Eventually(t, func() bool {
		r, err = bob.Describe(alice.Host.ID())
		return err == nil && r.SpeaksHello && r.AgentVersion != ""
	}, 30*time.Second, 20*time.Millisecond, "bob never learned alice's protocols and agent version: %+v, %v", r, err)
	require.Contains(t, r.Protocols, HelloProtocol)
	require.Positive(t, r.Latency, "the hello round trip was recorded")
	require.Equal(t, g.Text, r.LastGreeting)
	require.NotZero(t, r.AddressesKnown)

	// Alice never greeted anyone: nothing is stored about bob on her side.
	r2, err := alice.Describe(bob.Host.ID())
	require.NoError(t, err)
	require.Empty(t, r2.LastGreeting)
}

// A greeting without its signature line is an error, not an empty signature.
func TestReadGreetingNeedsSignature(t *testing.T) {
	_, err := readGreeting(strings.NewReader("hello bob, this is alice\n"))
	require.Error(t, err)
}
