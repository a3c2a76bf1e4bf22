package main

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"strings"
	"time"

	"github.com/libp2p/go-libp2p"
	"github.com/libp2p/go-libp2p/core/host"
	"github.com/libp2p/go-libp2p/core/network"
	"github.com/libp2p/go-libp2p/core/peer"
	"github.com/libp2p/go-libp2p/core/peerstore"
	"github.com/libp2p/go-libp2p/core/protocol"
	"github.com/libp2p/go-libp2p/p2p/host/peerstore/pstoremem"
)

// HelloProtocol is the one protocol the app speaks: the dialer sends its
// name, the listener answers with a greeting signed by its host key.
const HelloProtocol = protocol.ID("/legacyapp/hello/1.0.0")

// lastGreetingKey is the peerstore metadata key under which a node keeps the
// last greeting it received from a peer.
const lastGreetingKey = "legacyapp/last-greeting"

// Node is a libp2p host that greets its peers. It was written against the
// legacy Peerstore: it stores per-peer state in it and reads identify's
// results, latency and its own private key back out of it.
type Node struct {
	Host host.Host
	// ps is kept next to Host, the way many apps hand a Peerstore around.
	ps   peerstore.Peerstore
	name string
}

// NewNode starts a node called name that listens on loopback only.
func NewNode(name string) (*Node, error) {
	ps, err := pstoremem.NewPeerstore()
	if err != nil {
		return nil, fmt.Errorf("creating peerstore: %w", err)
	}
	h, err := libp2p.New(
		libp2p.Peerstore(ps),
		libp2p.ListenAddrStrings("/ip4/127.0.0.1/tcp/0"),
		libp2p.DisableRelay(),
		libp2p.DisableMetrics(),
	)
	if err != nil {
		ps.Close()
		return nil, fmt.Errorf("starting host: %w", err)
	}
	n := &Node{Host: h, ps: h.Peerstore(), name: name}
	h.SetStreamHandler(HelloProtocol, n.handleHello)
	return n, nil
}

// Close stops the host.
func (n *Node) Close() error { return n.Host.Close() }

// Greeting is what a node answers to hello.
type Greeting struct {
	Text      string
	Signature []byte // by the answering host's key, over Text
}

func (n *Node) handleHello(s network.Stream) {
	defer s.Close()
	from, err := bufio.NewReader(s).ReadString('\n')
	if err != nil {
		s.Reset()
		return
	}
	text := fmt.Sprintf("hello %s, this is %s", strings.TrimSpace(from), n.name)
	// The legacy way to reach one's own key: through the peerstore.
	sig, err := n.Host.Peerstore().PrivKey(n.Host.ID()).Sign([]byte(text))
	if err != nil {
		s.Reset()
		return
	}
	fmt.Fprintf(s, "%s\n%x\n", text, sig)
}

// Hello connects to info, says hello and returns the verified greeting.
func (n *Node) Hello(ctx context.Context, info peer.AddrInfo) (Greeting, error) {
	if err := n.Host.Connect(ctx, info); err != nil {
		return Greeting{}, fmt.Errorf("connecting to %s: %w", info.ID, err)
	}
	start := time.Now()
	s, err := n.Host.NewStream(ctx, info.ID, HelloProtocol)
	if err != nil {
		return Greeting{}, fmt.Errorf("opening hello stream to %s: %w", info.ID, err)
	}
	defer s.Close()
	if _, err := fmt.Fprintf(s, "%s\n", n.name); err != nil {
		return Greeting{}, fmt.Errorf("sending hello: %w", err)
	}
	g, err := readGreeting(s)
	if err != nil {
		return Greeting{}, fmt.Errorf("reading greeting from %s: %w", info.ID, err)
	}
	n.Host.Peerstore().RecordLatency(info.ID, time.Since(start))

	pub := n.Host.Peerstore().PubKey(info.ID)
	if pub == nil {
		return Greeting{}, fmt.Errorf("no public key for %s", info.ID)
	}
	if ok, err := pub.Verify([]byte(g.Text), g.Signature); err != nil || !ok {
		return Greeting{}, fmt.Errorf("greeting from %s has a bad signature (err %v)", info.ID, err)
	}
	if err := n.ps.Put(info.ID, lastGreetingKey, g.Text); err != nil {
		return Greeting{}, fmt.Errorf("remembering greeting: %w", err)
	}
	return g, nil
}

func readGreeting(r io.Reader) (Greeting, error) {
	br := bufio.NewReader(r)
	text, err := br.ReadString('\n')
	if err != nil {
		return Greeting{}, err
	}
	var sig []byte
	if _, err := fmt.Fscanf(br, "%x\n", &sig); err != nil {
		return Greeting{}, fmt.Errorf("reading signature: %w", err)
	}
	return Greeting{Text: strings.TrimSuffix(text, "\n"), Signature: sig}, nil
}

// PeerReport is what a node knows about a peer it talked to.
type PeerReport struct {
	AgentVersion   string
	SpeaksHello    bool
	Protocols      []protocol.ID
	Latency        time.Duration
	LastGreeting   string
	AddressesKnown int
}

// Describe reports what the node's peerstore says about p.
func (n *Node) Describe(p peer.ID) (PeerReport, error) {
	var r PeerReport
	av, err := n.Host.Peerstore().Get(p, "AgentVersion")
	if err != nil && !errors.Is(err, peerstore.ErrNotFound) {
		return r, fmt.Errorf("agent version of %s: %w", p, err)
	}
	r.AgentVersion, _ = av.(string)
	protos, err := n.Host.Peerstore().GetProtocols(p)
	if err != nil {
		return r, fmt.Errorf("protocols of %s: %w", p, err)
	}
	r.Protocols = protos
	hello, err := n.Host.Peerstore().SupportsProtocols(p, HelloProtocol)
	if err != nil {
		return r, fmt.Errorf("protocols of %s: %w", p, err)
	}
	r.SpeaksHello = len(hello) > 0
	r.Latency = n.Host.Peerstore().LatencyEWMA(p)
	last, err := n.ps.Get(p, lastGreetingKey)
	if err != nil && !errors.Is(err, peerstore.ErrNotFound) {
		return r, fmt.Errorf("last greeting of %s: %w", p, err)
	}
	r.LastGreeting, _ = last.(string)
	r.AddressesKnown = len(n.Host.Peerstore().Addrs(p))
	return r, nil
}
