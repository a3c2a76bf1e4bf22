// A go-libp2p app that adopts pstoremigrate: two hosts on 127.0.0.1, one on
// compat/pstoremem, one plain with a compat/peerstore view, learn each
// other's protocols through identify. It also keeps its own kad-dht and
// x/tools code, which must still compile on the versions it pinned.
package main

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"time"

	ds "github.com/ipfs/go-datastore"
	dssync "github.com/ipfs/go-datastore/sync"
	"github.com/libp2p/go-libp2p"
	"github.com/libp2p/go-libp2p/core/network"
	"github.com/libp2p/go-libp2p/core/peer"
	"github.com/libp2p/go-libp2p/core/protocol"
	"golang.org/x/tools/go/ast/astutil"

	"github.com/pstoremigrate/pstoremigrate/compat/peerstore"
	"github.com/pstoremigrate/pstoremigrate/compat/pstoreds"
	"github.com/pstoremigrate/pstoremigrate/compat/pstoremem"
	"github.com/pstoremigrate/pstoremigrate/newstore"
	"github.com/pstoremigrate/pstoremigrate/newstore/remember"
)

// The app's own tooling code, on the x/tools it pinned.
var _ = astutil.Apply

func main() {
	if err := run(); err != nil {
		fmt.Fprintln(os.Stderr, "consumer:", err)
		os.Exit(1)
	}
}

func run() error {
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()

	ps, err := pstoremem.NewPeerstore()
	if err != nil {
		return err
	}
	a, err := libp2p.New(libp2p.Peerstore(ps), libp2p.ListenAddrStrings("/ip4/127.0.0.1/tcp/0"), libp2p.DisableRelay())
	if err != nil {
		return err
	}
	defer a.Close()
	b, err := libp2p.New(libp2p.ListenAddrStrings("/ip4/127.0.0.1/tcp/0"), libp2p.DisableRelay())
	if err != nil {
		return err
	}
	defer b.Close()
	view := peerstore.New(b)

	const protoA, protoB = protocol.ID("/consumer/a/1.0.0"), protocol.ID("/consumer/b/1.0.0")
	a.SetStreamHandler(protoA, func(s network.Stream) { s.Close() })
	b.SetStreamHandler(protoB, func(s network.Stream) { s.Close() })

	if err := newDHT(ctx, a); err != nil {
		return fmt.Errorf("the app's DHT code: %w", err)
	}
	if err := b.Connect(ctx, peer.AddrInfo{ID: a.ID(), Addrs: a.Addrs()}); err != nil {
		return err
	}
	if err := waitSupports(ctx, view, a.ID(), protoA); err != nil {
		return fmt.Errorf("the view on the plain host: %w", err)
	}
	if err := waitSupports(ctx, ps, b.ID(), protoB); err != nil {
		return fmt.Errorf("compat/pstoremem: %w", err)
	}

	// The other packages an app imports, used once each.
	book, err := newstore.New()
	if err != nil {
		return err
	}
	book.AddAddrs(a.ID(), a.Addrs(), time.Hour)
	dsps, err := pstoreds.NewPeerstore(ctx, dssync.MutexWrap(ds.NewMapDatastore()), pstoreds.DefaultOpts())
	if err != nil {
		return err
	}
	defer dsps.Close()
	r, err := remember.Attach(a, remember.WithFile(filepath.Join(os.TempDir(), fmt.Sprintf("consumer-%d", os.Getpid()))))
	if err != nil {
		return err
	}
	defer os.Remove(filepath.Join(os.TempDir(), fmt.Sprintf("consumer-%d", os.Getpid())))
	defer r.Close()

	fmt.Println("ok: learned", protoA, "and", protoB, "through identify")
	return nil
}

type protoReader interface {
	SupportsProtocols(peer.ID, ...protocol.ID) ([]protocol.ID, error)
}

func waitSupports(ctx context.Context, ps protoReader, p peer.ID, want protocol.ID) error {
	for {
		got, err := ps.SupportsProtocols(p, want)
		if err == nil && len(got) == 1 {
			return nil
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("%s never learned that %s supports %s", "the store", p, want)
		case <-time.After(20 * time.Millisecond):
		}
	}
}
