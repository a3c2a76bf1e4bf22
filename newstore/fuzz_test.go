package newstore

import (
	"bytes"
	"errors"
	"io"
	"testing"
	"time"

	ma "github.com/multiformats/go-multiaddr"
	"github.com/stretchr/testify/require"
)

// FuzzSnapshotReader feeds arbitrary bytes to the snapshot reader. The
// reader must never panic, must classify bad input with a typed error, and
// whatever it accepts must re-encode to a snapshot that decodes to the same
// entries.
//
// Random mutations almost never keep the checksums valid, so each input is
// also decoded with checksums skipped: that reaches the structural checks
// behind them, which must hold on their own.
func FuzzSnapshotReader(f *testing.F) {
	now := time.Unix(1_700_000_000, 42)
	for _, seed := range [][]byte{
		nil,
		[]byte(snapshotMagic),
		encodeSnapshot(f, now, nil),
		encodeSnapshot(f, time.Time{}, makeEntries(f, 1, 1, now)),
		encodeSnapshot(f, now, makeEntries(f, 3, 4, now)),
		rawSnapshot(SnapshotVersion+1, 0),
		encodeSnapshotWithData(f, now, makeEntries(f, 2, 2, now), []DataEntry{
			{Peer: testPeerID(f, 0), Name: "score", TTL: time.Hour, Remaining: time.Minute, Value: []byte{1, 2, 3}},
			{Peer: testPeerID(f, 9), Name: "n", Value: nil},
		}),
	} {
		f.Add(seed)
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		for _, skip := range []bool{false, true} {
			taken, entries, dataEntries, err := fuzzDecode(data, skip)
			if err != nil {
				var se *SnapshotError
				require.ErrorAs(t, err, &se, "bad input must be a *SnapshotError")
				require.True(t, errors.Is(err, ErrBadMagic) || errors.Is(err, ErrUnsupportedVersion) ||
					errors.Is(err, ErrTruncated) || errors.Is(err, ErrChecksum) || errors.Is(err, ErrCorrupt),
					"untyped snapshot error: %v", err)
				require.GreaterOrEqual(t, se.Offset, int64(0))
				require.LessOrEqual(t, se.Offset, int64(len(data)))
			}
			// Whatever was handed out, even before an error, must
			// survive a strict round trip unchanged.
			reencoded := encodeSnapshotWithData(t, taken, entries, dataEntries)
			taken2, entries2, data2, err2 := fuzzDecode(reencoded, false)
			require.NoError(t, err2)
			require.Equal(t, len(dataEntries), len(data2))
			for i := range dataEntries {
				a, b := dataEntries[i], data2[i]
				require.True(t, a.Peer == b.Peer && a.Name == b.Name && a.TTL == b.TTL && a.Remaining == b.Remaining && bytes.Equal(a.Value, b.Value), "data %d: %+v != %+v", i, a, b)
			}
			require.True(t, taken.Equal(taken2) && taken.IsZero() == taken2.IsZero(), "taken %v != %v", taken, taken2)
			requireSameEntries(t, entries, entries2)
		}
	})
}

func fuzzDecode(data []byte, skipChecksums bool) (time.Time, []PeerEntry, []DataEntry, error) {
	sr, err := newSnapshotReader(bytes.NewReader(data), skipChecksums)
	if err != nil {
		return time.Time{}, nil, nil, err
	}
	var out []PeerEntry
	for {
		e, err := sr.Next()
		if err == io.EOF {
			return sr.Taken(), out, sr.Data(), nil
		}
		if err != nil {
			return sr.Taken(), out, sr.Data(), err
		}
		out = append(out, *e)
	}
}

// FuzzCommitRecord checks the datastore sink's commit record decoder: it
// never panics, and what it accepts re-encodes to the same bytes' meaning.
func FuzzCommitRecord(f *testing.F) {
	f.Add(commit{generation: 1, chunks: 3, size: 9000}.marshal())
	f.Add(commit{}.marshal())
	f.Add([]byte("garbage!"))
	f.Fuzz(func(t *testing.T, data []byte) {
		c, err := unmarshalCommit(data)
		if err != nil {
			return
		}
		again, err := unmarshalCommit(c.marshal())
		require.NoError(t, err)
		require.Equal(t, c, again)
	})
}

// FuzzSnapshotBlocks frames fuzzed peer-block bodies in a snapshot with
// every checksum and the count recomputed, so each input reaches the entry
// decoder and the address book's restore, the way a snapshot written by a
// buggy or hostile writer would: the checksums vouch for bytes, not for
// their meaning. Bad bodies are typed errors that restore nothing.
func FuzzSnapshotBlocks(f *testing.F) {
	id := []byte(testPeerID(f, 1))
	addr := ma.StringCast("/ip4/1.2.3.4/tcp/5").Bytes()
	var expiry [8]byte
	goodAddr := append(append(append(lp(addr), 0x02), expiry[:]...), 0) // ttl 1ns, flags 0
	f.Add(rawBody(id, 1, goodAddr, []byte{0, 0}), []byte{})
	f.Add(rawBody(id, 0, []byte{0, 0}), rawBody(id, 1, goodAddr, []byte{0, 0}))
	f.Add([]byte{0xff}, []byte{})
	f.Fuzz(func(t *testing.T, first, second []byte) {
		var bodies [][]byte
		for _, b := range [][]byte{first, second} {
			if len(b) > 0 {
				bodies = append(bodies, b)
			}
		}
		data := rawSnapshot(SnapshotVersion, uint64(len(bodies)), bodies...)
		taken, entries, _, err := fuzzDecode(data, false)
		if err != nil {
			require.ErrorIs(t, err, ErrCorrupt, "with every checksum right, only the structure can be wrong")
		}
		reencoded := encodeSnapshot(t, taken, entries)
		_, again, err2 := decodeSnapshot(reencoded)
		require.NoError(t, err2)
		requireSameEntries(t, entries, again)

		ab, err3 := New()
		require.NoError(t, err3)
		defer ab.Close()
		if rerr := ab.Restore(bytes.NewReader(data)); rerr != nil {
			require.Empty(t, ab.PeersWithAddrs(), "a failed restore leaves the book unchanged")
			return
		}
		require.NoError(t, err, "restore accepted what the reader refuses")
	})
}
