package pstoremem

import (
	"bytes"
	"testing"
	"time"

	ic "github.com/libp2p/go-libp2p/core/crypto"
	"github.com/libp2p/go-libp2p/core/peer"
	ma "github.com/multiformats/go-multiaddr"
	"github.com/stretchr/testify/require"
)

func TestSnapshotHoldsNoPrivateKey(t *testing.T) {
	ps, err := NewPeerstore()
	require.NoError(t, err)
	defer ps.Close()
	sk, pk, err := ic.GenerateKeyPair(ic.RSA, 2048)
	require.NoError(t, err)
	id, err := peer.IDFromPublicKey(pk)
	require.NoError(t, err)
	require.NoError(t, ps.AddPrivKey(id, sk))
	require.NoError(t, ps.AddPubKey(id, pk))
	ps.AddAddr(id, ma.StringCast("/ip4/127.0.0.1/tcp/4001"), time.Hour)

	var buf bytes.Buffer
	require.NoError(t, ps.Snapshot(&buf))
	pubRaw, err := ic.MarshalPublicKey(pk)
	require.NoError(t, err)
	require.True(t, bytes.Contains(buf.Bytes(), pubRaw), "the public key is in the snapshot")
	skRaw, err := sk.Raw()
	require.NoError(t, err)
	require.False(t, bytes.Contains(buf.Bytes(), skRaw), "the private key is not")

	restored, err := NewPeerstore()
	require.NoError(t, err)
	defer restored.Close()
	require.NoError(t, restored.Restore(&buf))
	require.Len(t, restored.Addrs(id), 1)
	require.Nil(t, restored.PrivKey(id))
	require.True(t, restored.PubKey(id).Equals(pk))
}
