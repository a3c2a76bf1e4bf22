package remember_test

import (
	"context"
	"log"
	"os"
	"path/filepath"

	"github.com/libp2p/go-libp2p"

	"github.com/pstoremigrate/pstoremigrate/newstore/remember"
)

// A node remembers its peers in a file next to its other state, and at the
// next start dials them before (or instead of) its bootstrap peers.
func ExampleAttach() {
	dir, err := os.MkdirTemp("", "node")
	if err != nil {
		log.Fatal(err)
	}
	defer os.RemoveAll(dir)

	h, err := libp2p.New(libp2p.ListenAddrStrings("/ip4/127.0.0.1/tcp/0"))
	if err != nil {
		log.Fatal(err)
	}
	defer h.Close()

	r, err := remember.Attach(h, remember.WithFile(filepath.Join(dir, "remembered-peers")))
	if err != nil {
		log.Fatal(err) // bad options only
	}
	defer r.Close() // runs before h.Close: the last save sees the host's peers

	res, err := r.Rejoined(context.Background())
	if err != nil {
		log.Fatal(err)
	}
	log.Printf("%d of %d remembered peers answered (saved state: %v)", res.Answered, res.Remembered, res.LoadErr)
}
