package peerdata_test

import (
	"bytes"
	"errors"
	"sync"
	"testing"
	"time"

	mockclock "github.com/benbjohnson/clock"
	"github.com/libp2p/go-libp2p/core/crypto"
	"github.com/libp2p/go-libp2p/core/peer"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/pstoremigrate/pstoremigrate/internal/peerdatatest"
	"github.com/pstoremigrate/pstoremigrate/newstore"
	"github.com/pstoremigrate/pstoremigrate/newstore/peerdata"
)

type otherKey struct{}

// reports collects what a store reports about persistence.
type reports struct {
	mu   sync.Mutex
	errs []error
}

func (r *reports) add(err error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.errs = append(r.errs, err)
}

func (r *reports) all() []error {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]error(nil), r.errs...)
}

func newPeerID(t *testing.T) peer.ID {
	t.Helper()
	_, pub, err := crypto.GenerateEd25519Key(nil)
	require.NoError(t, err)
	id, err := peer.IDFromPublicKey(pub)
	require.NoError(t, err)
	return id
}

// persistedStore is a store persisting scoreKey with the float64 codec.
func persistedStore(t *testing.T, clk *mockclock.Mock, r *reports, opts ...peerdata.Option) *peerdata.Store {
	t.Helper()
	s := peerdata.New(append([]peerdata.Option{peerdata.WithClock(clk), peerdata.WithPersistErrorHandler(r.add)}, opts...)...)
	t.Cleanup(func() { s.Close() })
	require.NoError(t, s.Persist(scoreKey{}, "score", peerdatatest.ScoreCodec))
	return s
}

// roundTrip snapshots src with an empty book and restores into dst.
func roundTrip(t *testing.T, src, dst *peerdata.Store) []byte {
	t.Helper()
	book := func() *newstore.AddrBook {
		ab, err := newstore.New()
		require.NoError(t, err)
		t.Cleanup(func() { ab.Close() })
		return ab
	}
	var buf bytes.Buffer
	require.NoError(t, newstore.Stores{Book: book(), Data: []newstore.PeerDataSnapshotter{src}}.Snapshot(&buf))
	require.NoError(t, newstore.Stores{Book: book(), Data: []newstore.PeerDataSnapshotter{dst}}.Restore(bytes.NewReader(buf.Bytes())))
	return buf.Bytes()
}

func TestPersistRefusesPrivateKeys(t *testing.T) {
	clk := mockclock.NewMock()
	var r reports
	s := persistedStore(t, clk, &r)
	priv, _, err := crypto.GenerateEd25519Key(nil)
	require.NoError(t, err)
	p := newPeerID(t)

	require.ErrorIs(t, s.Put(p, scoreKey{}, priv, time.Hour), peerdata.ErrPrivateKey)
	require.NoError(t, s.Put(p, otherKey{}, priv, time.Hour), "a key that is not persisted may hold anything in memory")

	// A codec that writes the key out anyway is caught by what it wrote.
	require.NoError(t, s.Persist(otherKey{}, "leaky", peerdata.CodecFuncs{
		EncodeFunc: func(v any) ([]byte, error) { return crypto.MarshalPrivateKey(v.(crypto.PrivKey)) },
		DecodeFunc: func([]byte) (any, error) { return nil, nil },
	}))
	require.NoError(t, s.Put(p, scoreKey{}, 1.0, time.Hour))
	dst := persistedStore(t, clk, &r)
	raw := roundTrip(t, s, dst)
	raw2, err := crypto.MarshalPrivateKey(priv)
	require.NoError(t, err)
	assert.False(t, bytes.Contains(raw, raw2), "the private key reached the snapshot")
	require.Len(t, r.all(), 1)
	assert.ErrorIs(t, r.all()[0], peerdata.ErrPrivateKey)
	v, err := dst.Get(p, scoreKey{})
	require.NoError(t, err, "the other value was saved")
	assert.Equal(t, 1.0, v)
}

func TestPersistReportsCodecFailuresAndGoesOn(t *testing.T) {
	clk := mockclock.NewMock()
	var r reports
	s := persistedStore(t, clk, &r)
	type failing struct{}
	type panicking struct{}
	require.NoError(t, s.Persist(failing{}, "failing", peerdata.CodecFuncs{
		EncodeFunc: func(any) ([]byte, error) { return nil, errors.New("cannot encode") },
		DecodeFunc: func([]byte) (any, error) { return nil, nil },
	}))
	require.NoError(t, s.Persist(panicking{}, "panicking", peerdata.CodecFuncs{
		EncodeFunc: func(any) ([]byte, error) { panic("boom") },
		DecodeFunc: func([]byte) (any, error) { return nil, nil },
	}))
	require.NoError(t, s.Persist(otherKey{}, "other", peerdata.CodecFuncs{
		EncodeFunc: func(v any) ([]byte, error) { return []byte(v.(string)), nil },
		DecodeFunc: func(b []byte) (any, error) { return string(b), nil },
	}))
	p := newPeerID(t)
	require.NoError(t, s.Put(p, otherKey{}, "x", time.Hour))
	require.NoError(t, s.Put(p, failing{}, 1, time.Hour))
	require.NoError(t, s.Put(p, panicking{}, 1, time.Hour))
	require.NoError(t, s.Put(p, scoreKey{}, 2.0, time.Hour))

	// The restoring store decodes "score" badly for one peer only: a
	// second peer's value is restored.
	q := newPeerID(t)
	require.NoError(t, s.Put(q, scoreKey{}, 3.0, time.Hour))
	var r2 reports
	dst := peerdata.New(peerdata.WithClock(clk), peerdata.WithPersistErrorHandler(r2.add))
	defer dst.Close()
	require.NoError(t, dst.Persist(scoreKey{}, "score", peerdata.CodecFuncs{
		EncodeFunc: peerdatatest.ScoreCodec.EncodeFunc,
		DecodeFunc: func(b []byte) (any, error) {
			v, err := peerdatatest.ScoreCodec.Decode(b)
			if err == nil && v.(float64) == 2.0 {
				return nil, errors.New("cannot decode a 2")
			}
			return v, err
		},
	}))
	roundTrip(t, s, dst)
	assert.Len(t, r.all(), 2, "one encode error, one panic: %v", r.all())
	require.Len(t, r2.all(), 2, "one decode error, one name the store does not persist: %v", r2.all())
	_, err := dst.Get(p, scoreKey{})
	require.ErrorIs(t, err, peerdata.ErrNotFound)
	v, err := dst.Get(q, scoreKey{})
	require.NoError(t, err)
	assert.Equal(t, 3.0, v)
}

func TestPersistBudgetBoundsTheSnapshot(t *testing.T) {
	clk := mockclock.NewMock()
	var r reports
	s := persistedStore(t, clk, &r, peerdata.WithPersistBudget(16)) // two 8-byte scores
	for range 3 {
		require.NoError(t, s.Put(newPeerID(t), scoreKey{}, 1.0, time.Hour))
	}
	dst := persistedStore(t, clk, &r)
	roundTrip(t, s, dst)
	assert.Len(t, dst.Peers(), 2)
	require.Len(t, r.all(), 1)
	assert.Contains(t, r.all()[0].Error(), "budget")
}

// A value of a peer disconnected at snapshot time keeps what was left of
// its TTL, counted from the restore; one that would die at disconnect is
// not saved; keys that did not opt in never reach the snapshot.
func TestPersistKeepsTheRemainingTTL(t *testing.T) {
	clk := mockclock.NewMock()
	var r reports
	s := persistedStore(t, clk, &r)
	p, q := newPeerID(t), newPeerID(t)
	require.NoError(t, s.Put(p, scoreKey{}, 1.0, 10*time.Minute)) // not connected: 10 minutes from now
	s.Connected(q)
	require.NoError(t, s.Put(q, scoreKey{}, 2.0, 0)) // dies at disconnect
	require.NoError(t, s.Put(q, otherKey{}, "secret-ish", time.Hour))
	clk.Add(4 * time.Minute)

	dst := persistedStore(t, clk, &r)
	raw := roundTrip(t, s, dst)
	assert.NotContains(t, string(raw), "secret-ish")
	_, err := dst.Get(q, scoreKey{})
	require.ErrorIs(t, err, peerdata.ErrNotFound, "a TTL of 0 has nothing to outlive a restart")
	clk.Add(6*time.Minute - time.Nanosecond)
	_, err = dst.Get(p, scoreKey{})
	require.NoError(t, err)
	clk.Add(time.Nanosecond)
	_, err = dst.Get(p, scoreKey{})
	require.ErrorIs(t, err, peerdata.ErrNotFound)
	assert.Empty(t, r.all())
}

func TestPersistRefusesBadRegistrations(t *testing.T) {
	s := peerdata.New()
	defer s.Close()
	require.Error(t, s.Persist(scoreKey{}, "", peerdatatest.ScoreCodec))
	require.Error(t, s.Persist(scoreKey{}, "score", nil))
	require.ErrorIs(t, s.Persist(nil, "score", peerdatatest.ScoreCodec), peerdata.ErrInvalidKey)
	require.NoError(t, s.Persist(scoreKey{}, "score", peerdatatest.ScoreCodec))
	require.NoError(t, s.Persist(scoreKey{}, "score", peerdatatest.ScoreCodec), "the same registration again is fine")
	require.Error(t, s.Persist(otherKey{}, "score", peerdatatest.ScoreCodec), "one name, one key")
	require.Error(t, s.Persist(scoreKey{}, "score2", peerdatatest.ScoreCodec), "one key, one name")
}

// BenchmarkBytesPerPersistedValue reports what one persisted value (an
// 8-byte score under the name "score", ed25519 peer ID) costs on disk, the
// snapshot's fixed part left out:
//
//	go test -run '^$' -bench BytesPerPersistedValue -benchtime 1x ./newstore/peerdata/
func BenchmarkBytesPerPersistedValue(b *testing.B) {
	const n = 1000
	for b.Loop() {
		s := peerdata.New()
		require.NoError(b, s.Persist(scoreKey{}, "score", peerdatatest.ScoreCodec))
		ab, err := newstore.New()
		require.NoError(b, err)
		var empty, full bytes.Buffer
		stores := newstore.Stores{Book: ab, Data: []newstore.PeerDataSnapshotter{s}}
		require.NoError(b, stores.Snapshot(&empty))
		for range n {
			_, pub, err := crypto.GenerateEd25519Key(nil)
			require.NoError(b, err)
			id, err := peer.IDFromPublicKey(pub)
			require.NoError(b, err)
			require.NoError(b, s.Put(id, scoreKey{}, 0.5, 10*time.Minute))
		}
		require.NoError(b, stores.Snapshot(&full))
		b.ReportMetric(float64(full.Len()-empty.Len())/n, "bytes/value")
		s.Close()
		ab.Close()
	}
}
