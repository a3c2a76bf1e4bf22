package newstore

import (
	"crypto/rand"
	"testing"

	"github.com/libp2p/go-libp2p/core/crypto"
	"github.com/libp2p/go-libp2p/core/peer"
	mh "github.com/multiformats/go-multihash"
	"github.com/stretchr/testify/require"
)

// keyMatches compares bytes where it can; it must answer exactly what
// comparing parsed keys answers.
func TestKeyMatchesAgreesWithParsedKeys(t *testing.T) {
	var keys []crypto.PubKey
	for _, typ := range []int{crypto.Ed25519, crypto.Secp256k1, crypto.ECDSA, crypto.RSA} {
		for range 2 {
			_, pub, err := crypto.GenerateKeyPairWithReader(typ, 2048, rand.Reader)
			require.NoError(t, err)
			keys = append(keys, pub)
		}
	}
	var ids []peer.ID
	for _, k := range keys {
		id, err := peer.IDFromPublicKey(k)
		require.NoError(t, err)
		ids = append(ids, id)
	}
	// An identity multihash whose digest is a key in a non-canonical
	// encoding (a trailing unknown field) still inlines that key.
	ed, err := crypto.MarshalPublicKey(keys[0])
	require.NoError(t, err)
	odd, err := mh.Sum(append(ed, 0x18, 0x01), mh.IDENTITY, -1)
	require.NoError(t, err)
	ids = append(ids, peer.ID(odd), peer.ID("not a multihash"), peer.ID(""), peer.ID([]byte{0, 0x80}))

	for _, id := range ids {
		for _, k := range keys {
			want, wantErr := slowKeyMatch(id, k)
			inlined, ok := keyMatches(id, k)
			if wantErr {
				require.False(t, ok, "id %x key %T", []byte(id), k)
				continue
			}
			require.Equal(t, want, ok, "id %x key %T", []byte(id), k)
			_, extractErr := id.ExtractPublicKey()
			require.Equal(t, extractErr == nil, inlined, "id %x", []byte(id))
		}
	}
}

func slowKeyMatch(id peer.ID, k crypto.PubKey) (match, failed bool) {
	if ik, err := id.ExtractPublicKey(); err == nil && ik != nil {
		return ik.Equals(k), false
	} else if err != nil && err != peer.ErrNoPublicKey {
		return false, true
	}
	return id.MatchesPublicKey(k), false
}
