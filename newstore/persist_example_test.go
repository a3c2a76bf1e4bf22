package newstore_test

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"time"

	"github.com/libp2p/go-libp2p/core/peer"
	ma "github.com/multiformats/go-multiaddr"

	"github.com/pstoremigrate/pstoremigrate/newstore"
)

// A node keeps its address book across restarts: load at start, save every
// few minutes and on the way out.
func ExamplePersister() {
	dir, err := os.MkdirTemp("", "newstore-example")
	if err != nil {
		panic(err)
	}
	defer os.RemoveAll(dir)
	sink := newstore.NewFileSink(filepath.Join(dir, "peers.snapshot"))
	id, _ := peer.Decode("12D3KooWD3eckifWpRn9wQpMG9R9hX3sD158z7EqHWmweQAJU5SA")

	run := func(learn bool) {
		book, err := newstore.New()
		if err != nil {
			panic(err)
		}
		defer book.Close()
		p := newstore.NewPersister(book, sink, newstore.WithInterval(5*time.Minute))
		if err := p.Load(context.Background()); errors.Is(err, newstore.ErrNoSnapshot) {
			fmt.Println("first start")
		} else if err != nil {
			panic(err)
		}
		p.Start()
		defer p.Close() // the final save
		if learn {
			book.AddAddr(id, ma.StringCast("/ip4/192.0.2.1/tcp/4001"), time.Hour)
		}
		fmt.Println(book.Addrs(id))
	}
	run(true)
	run(false)
	// Output:
	// first start
	// [/ip4/192.0.2.1/tcp/4001]
	// [/ip4/192.0.2.1/tcp/4001]
}
