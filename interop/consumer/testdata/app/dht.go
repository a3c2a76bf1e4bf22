package main

import (
	"context"

	dht "github.com/libp2p/go-libp2p-kad-dht"
	"github.com/libp2p/go-libp2p/core/host"
)

// newDHT is the app's own DHT code, written against kad-dht v0.28's
// New(ctx, h, opts...).
func newDHT(ctx context.Context, h host.Host) error {
	d, err := dht.New(ctx, h, dht.Mode(dht.ModeClient))
	if err != nil {
		return err
	}
	return d.Close()
}
