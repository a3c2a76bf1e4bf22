package legacy_test

import (
	"context"
	"testing"

	ds "github.com/ipfs/go-datastore"
	ic "github.com/libp2p/go-libp2p/core/crypto"
	"github.com/libp2p/go-libp2p/core/peer"
	"github.com/libp2p/go-libp2p/p2p/host/peerstore/pstoreds/pb"
	b32 "github.com/multiformats/go-base32"
	ma "github.com/multiformats/go-multiaddr"
	"github.com/stretchr/testify/require"
	"google.golang.org/protobuf/proto"

	"github.com/pstoremigrate/pstoremigrate/compat/pstoreds/legacy"
)

// FuzzReadPeers feeds arbitrary values to every kind of legacy entry: each
// must either decode or be reported, never panic nor stop the read.
func FuzzReadPeers(f *testing.F) {
	_, pub, err := ic.GenerateEd25519Key(nil)
	require.NoError(f, err)
	id, err := peer.IDFromPublicKey(pub)
	require.NoError(f, err)
	pubBytes, err := ic.MarshalPublicKey(pub)
	require.NoError(f, err)
	rec, err := proto.Marshal(&pb.AddrBookRecord{Id: []byte(id), Addrs: []*pb.AddrBookRecord_AddrEntry{
		{Addr: ma.StringCast("/ip4/1.2.3.4/tcp/1").Bytes(), Expiry: 1 << 40, Ttl: 1 << 40},
	}})
	require.NoError(f, err)
	f.Add(rec, pubBytes, []byte{0x0c, 0xff, 0x81, 0x02, 0x01, 0x02, 0xff, 0x82, 0x00, 0x01, 0x0c, 0x00, 0x00})
	f.Add([]byte{}, []byte{}, []byte{})
	f.Add([]byte{0x0a, 0xff, 0xff, 0xff, 0xff, 0x0f}, []byte{0x08, 0x01, 0x12, 0x00}, []byte("\x00"))

	enc := b32.RawStdEncoding.EncodeToString([]byte(id))
	f.Fuzz(func(t *testing.T, addrs, pubKey, meta []byte) {
		ctx := context.Background()
		d := ds.NewMapDatastore()
		require.NoError(t, d.Put(ctx, ds.NewKey("/peers/addrs/"+enc), addrs))
		require.NoError(t, d.Put(ctx, ds.NewKey("/peers/keys/"+enc+"/pub"), pubKey))
		require.NoError(t, d.Put(ctx, ds.NewKey("/peers/metadata/"+enc+"/protocols"), meta))
		require.NoError(t, d.Put(ctx, ds.NewKey("/peers/metadata/"+enc+"/AgentVersion"), meta))
		var peers int
		err := legacy.ReadPeers(ctx, d, func(p *legacy.Peer) error {
			peers++
			require.Equal(t, id, p.ID)
			if p.PubKey != nil {
				require.True(t, id.MatchesPublicKey(p.PubKey))
			}
			for _, a := range p.Addrs {
				require.NotNil(t, a.Addr)
			}
			_, err := p.Entry()
			require.NoError(t, err)
			return nil
		}, func(e *legacy.EntryError) { require.Error(t, e.Err) })
		require.NoError(t, err)
		require.Equal(t, 1, peers, "the peer is read whatever its entries hold")
	})
}
