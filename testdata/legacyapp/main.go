// Command legacyapp is a small libp2p program written against the legacy
// Peerstore, the way many were before go-libp2p issue #2355. It is the
// example that pstoremigrate lints and fixes.
//
// Run it twice: once to listen, once to greet the first:
//
//	go run . -name alice
//	go run . -name bob -greet /ip4/127.0.0.1/tcp/PORT/p2p/ID
package main

import (
	"context"
	"flag"
	"fmt"
	"log"
	"os"
	"os/signal"

	"github.com/libp2p/go-libp2p/core/peer"
)

func main() {
	name := flag.String("name", "legacyapp", "the name this node greets with")
	greet := flag.String("greet", "", "multiaddr (with /p2p/ID) of a node to greet, then exit")
	flag.Parse()

	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	defer stop()
	if err := run(ctx, *name, *greet); err != nil {
		log.Fatal(err)
	}
}

func run(ctx context.Context, name, greet string) error {
	n, err := NewNode(name)
	if err != nil {
		return err
	}
	defer n.Close()
	if greet == "" {
		for _, a := range n.Host.Addrs() {
			fmt.Printf("listening on %s/p2p/%s\n", a, n.Host.ID())
		}
		<-ctx.Done()
		return nil
	}
	info, err := peer.AddrInfoFromString(greet)
	if err != nil {
		return fmt.Errorf("parsing -greet address: %w", err)
	}
	g, err := n.Hello(ctx, *info)
	if err != nil {
		return err
	}
	fmt.Println(g.Text)
	r, err := n.Describe(info.ID)
	if err != nil {
		return err
	}
	fmt.Printf("peer %s: agent %q, speaks hello: %v, %d protocols, latency %v\n",
		info.ID, r.AgentVersion, r.SpeaksHello, len(r.Protocols), r.Latency)
	return nil
}
