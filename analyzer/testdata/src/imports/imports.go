// Package imports builds its stores with upstream pstoremem and pstoreds.
package imports

import (
	"context"

	"github.com/ipfs/go-datastore"
	dssync "github.com/ipfs/go-datastore/sync"
	"github.com/libp2p/go-libp2p/core/peer"
	"github.com/libp2p/go-libp2p/core/peerstore"
	ds "github.com/libp2p/go-libp2p/p2p/host/peerstore/pstoreds" // want `github.com/libp2p/go-libp2p/p2p/host/peerstore/pstoreds is going away with the legacy Peerstore: import github.com/pstoremigrate/pstoremigrate/compat/pstoreds instead`
	"github.com/libp2p/go-libp2p/p2p/host/peerstore/pstoremem"   // want `pstoremem is going away with the legacy Peerstore: import github.com/pstoremigrate/pstoremigrate/compat/pstoremem instead`
)

func memory(p peer.ID) (peerstore.Peerstore, error) {
	ps, err := pstoremem.NewPeerstore(pstoremem.WithMaxProtocols(64))
	if err != nil {
		return nil, err
	}
	if err := ps.AddProtocols(p, "/x/1"); err != nil { // want `ProtoBook.AddProtocols is going away: .*fix: import compat/pstoremem and compat/pstoreds instead of upstream's`
		return nil, err
	}
	ps.RecordLatency(p, 0) // want `Metrics.RecordLatency is going away: .*fix: import compat/pstoremem and compat/pstoreds`
	return ps, nil
}

func persistent(ctx context.Context) (peerstore.Peerstore, error) {
	return ds.NewPeerstore(ctx, dssync.MutexWrap(datastore.NewMapDatastore()), ds.DefaultOpts())
}

// books builds its peerstore from upstream pstoreds' separate books, as
// go-algorand does, and streams addresses with pstoremem's AddrSubManager.
func books(ctx context.Context, d datastore.Batching, p peer.ID) (peerstore.AddrBook, peerstore.KeyBook, error) {
	opts := ds.DefaultOpts()
	ab, err := ds.NewAddrBook(ctx, d, opts)
	if err != nil {
		return nil, nil, err
	}
	kb, err := ds.NewKeyBook(ctx, d, opts)
	if err != nil {
		return nil, nil, err
	}
	md, err := ds.NewPeerMetadata(ctx, d, opts)
	if err != nil {
		return nil, nil, err
	}
	var protoOpts []ds.ProtoBookOption
	protoOpts = append(protoOpts, ds.WithMaxProtocols(opts.MaxProtocols))
	if _, err := ds.NewProtoBook(md, protoOpts...); err != nil {
		return nil, nil, err
	}
	var subs *pstoremem.AddrSubManager = pstoremem.NewAddrSubManager()
	_ = subs.AddrStream(ctx, p, ab.Addrs(p))
	return ab, kb, nil
}
