package newstore

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"hash/crc32"
	"io"
	"math"
	"math/rand/v2"
	"strings"
	"testing"
	"time"

	"github.com/libp2p/go-libp2p/core/peer"
	"github.com/libp2p/go-libp2p/core/peerstore"
	pstorepb "github.com/libp2p/go-libp2p/p2p/host/peerstore/pstoreds/pb"
	ma "github.com/multiformats/go-multiaddr"
	mh "github.com/multiformats/go-multihash"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"google.golang.org/protobuf/proto"
)

// testPeerID derives a valid sha2-256 peer ID from a seed.
func testPeerID(tb testing.TB, seed uint64) peer.ID {
	tb.Helper()
	var b [8]byte
	binary.LittleEndian.PutUint64(b[:], seed)
	h, err := mh.Sum(b[:], mh.SHA2_256, -1)
	require.NoError(tb, err)
	return peer.ID(h)
}

// makeEntries builds n deterministic entries with addrsPer addresses each,
// a 36-byte public key (an Ed25519 key's marshalled size) and a 280-byte
// record (about a signed envelope with eight addresses).
func makeEntries(tb testing.TB, n, addrsPer int, now time.Time) []PeerEntry {
	tb.Helper()
	rng := rand.New(rand.NewPCG(uint64(n), uint64(addrsPer)))
	entries := make([]PeerEntry, n)
	for i := range entries {
		e := &entries[i]
		e.ID = testPeerID(tb, uint64(i))
		e.Addrs = make([]AddrEntry, addrsPer)
		for j := range e.Addrs {
			var s string
			switch j % 3 {
			case 0:
				s = fmt.Sprintf("/ip4/10.%d.%d.%d/tcp/%d", rng.IntN(256), rng.IntN(256), rng.IntN(256), 1024+rng.IntN(60000))
			case 1:
				s = fmt.Sprintf("/ip4/192.168.%d.%d/udp/%d/quic-v1", rng.IntN(256), rng.IntN(256), 1024+rng.IntN(60000))
			default:
				s = fmt.Sprintf("/ip6/2001:db8::%x/tcp/%d", rng.IntN(65536), 1024+rng.IntN(60000))
			}
			e.Addrs[j] = AddrEntry{Addr: ma.StringCast(s), TTL: peerstore.RecentlyConnectedAddrTTL, Expires: now.Add(peerstore.RecentlyConnectedAddrTTL)}
			if j == 0 {
				// A connected address's expiry means nothing.
				e.Addrs[j] = AddrEntry{Addr: e.Addrs[j].Addr, TTL: peerstore.ConnectedAddrTTL}
			}
			if j%5 == 4 {
				// One whose TTL counts from disconnect, its peer still
				// connected: no expiry yet.
				e.Addrs[j] = AddrEntry{Addr: e.Addrs[j].Addr, TTL: 10 * time.Minute, AfterDisconnect: true}
			}
		}
		e.PubKey = make([]byte, 36)
		e.Record = make([]byte, 280)
		for k := range e.PubKey {
			e.PubKey[k] = byte(rng.Uint32())
		}
		for k := range e.Record {
			e.Record[k] = byte(rng.Uint32())
		}
	}
	return entries
}

func encodeSnapshot(tb testing.TB, taken time.Time, entries []PeerEntry) []byte {
	tb.Helper()
	return encodeSnapshotWithData(tb, taken, entries, nil)
}

// encodeSnapshotWithData writes the peer entries, then the data entries.
func encodeSnapshotWithData(tb testing.TB, taken time.Time, entries []PeerEntry, data []DataEntry) []byte {
	tb.Helper()
	var buf bytes.Buffer
	sw, err := NewSnapshotWriter(&buf, taken)
	require.NoError(tb, err)
	for i := range entries {
		require.NoError(tb, sw.WritePeer(&entries[i]))
	}
	for i := range data {
		require.NoError(tb, sw.WriteData(&data[i]))
	}
	require.NoError(tb, sw.Close())
	return buf.Bytes()
}

// decodeSnapshot reads a whole snapshot, returning the entries read before
// any error.
func decodeSnapshot(data []byte) (time.Time, []PeerEntry, error) {
	taken, entries, _, err := fuzzDecode(data, false)
	return taken, entries, err
}

// requireSameEntries compares entries field by field: multiaddrs by bytes,
// times as instants.
func requireSameEntries(tb testing.TB, want, got []PeerEntry) {
	tb.Helper()
	require.Len(tb, got, len(want))
	for i := range want {
		w, g := &want[i], &got[i]
		require.Equal(tb, w.ID, g.ID, "entry %d", i)
		require.Len(tb, g.Addrs, len(w.Addrs), "entry %d", i)
		for j := range w.Addrs {
			wa, ga := w.Addrs[j], g.Addrs[j]
			require.True(tb, wa.Addr.Equal(ga.Addr), "entry %d addr %d: %s != %s", i, j, wa.Addr, ga.Addr)
			require.Equal(tb, wa.TTL, ga.TTL, "entry %d addr %d TTL", i, j)
			require.Equal(tb, wa.AfterDisconnect, ga.AfterDisconnect, "entry %d addr %d AfterDisconnect", i, j)
			require.Equal(tb, wa.Expires.IsZero(), ga.Expires.IsZero(), "entry %d addr %d zero expiry", i, j)
			require.True(tb, wa.Expires.Equal(ga.Expires), "entry %d addr %d expiry: %v != %v", i, j, wa.Expires, ga.Expires)
		}
		require.True(tb, bytes.Equal(w.PubKey, g.PubKey), "entry %d public key", i)
		require.True(tb, bytes.Equal(w.Record, g.Record), "entry %d record", i)
	}
}

func TestSnapshotRoundTrip(t *testing.T) {
	taken := time.Unix(1_700_000_000, 123456789)
	entries := makeEntries(t, 50, 8, taken)
	data := encodeSnapshot(t, taken, entries)

	gotTaken, got, err := decodeSnapshot(data)
	require.NoError(t, err)
	require.True(t, taken.Equal(gotTaken), "taken %v, got %v", taken, gotTaken)
	requireSameEntries(t, entries, got)
}

func TestSnapshotEmpty(t *testing.T) {
	data := encodeSnapshot(t, time.Time{}, nil)
	taken, got, err := decodeSnapshot(data)
	require.NoError(t, err)
	require.Empty(t, got)
	require.True(t, taken.IsZero())
}

func TestSnapshotTTLAndExpiryEdgeCases(t *testing.T) {
	a := ma.StringCast("/ip4/127.0.0.1/tcp/4001")
	now := time.Unix(1_700_000_000, 0)
	entry := PeerEntry{
		ID: testPeerID(t, 1),
		Addrs: []AddrEntry{
			// The sentinels must survive exactly, whatever expiry the
			// store kept beside them.
			{Addr: a, TTL: peerstore.PermanentAddrTTL, Expires: now.Add(peerstore.PermanentAddrTTL)},
			{Addr: a, TTL: peerstore.ConnectedAddrTTL, Expires: time.Time{}},
			{Addr: a, TTL: time.Nanosecond, Expires: time.Unix(0, 0)},
			{Addr: a, TTL: -time.Hour, Expires: time.Unix(-1, 0)},
			{Addr: a, TTL: math.MinInt64, Expires: time.Date(1500, 1, 1, 0, 0, 0, 0, time.UTC)},
		},
	}
	_, got, err := decodeSnapshot(encodeSnapshot(t, now, []PeerEntry{entry}))
	require.NoError(t, err)
	require.Len(t, got, 1)
	ga := got[0].Addrs
	require.Len(t, ga, 5)
	assert.Equal(t, time.Duration(peerstore.PermanentAddrTTL), ga[0].TTL)
	assert.Equal(t, time.Duration(peerstore.ConnectedAddrTTL), ga[1].TTL)
	assert.Equal(t, time.Nanosecond, ga[2].TTL)
	assert.Equal(t, -time.Hour, ga[3].TTL)
	assert.Equal(t, time.Duration(math.MinInt64), ga[4].TTL)

	// Beyond the int64 nanosecond range an expiry is clamped, never
	// brought closer than the range allows.
	assert.True(t, ga[0].Expires.Equal(time.Unix(0, math.MaxInt64)), "got %v", ga[0].Expires)
	assert.True(t, ga[1].Expires.IsZero(), "zero expiry must stay zero, got %v", ga[1].Expires)
	assert.True(t, ga[2].Expires.Equal(time.Unix(0, 0)), "the epoch is not the zero time, got %v", ga[2].Expires)
	assert.True(t, ga[3].Expires.Equal(time.Unix(-1, 0)), "got %v", ga[3].Expires)
	assert.True(t, ga[4].Expires.Equal(time.Unix(0, math.MinInt64+1)), "got %v", ga[4].Expires)
	assert.Nil(t, got[0].PubKey)
	assert.Nil(t, got[0].Record)
}

func TestSnapshotWriterRefusesWhatCannotBeRead(t *testing.T) {
	a := ma.StringCast("/ip4/127.0.0.1/tcp/1")
	id := testPeerID(t, 7)
	tooMany := make([]AddrEntry, MaxSnapshotAddrsPerPeer+1)
	for i := range tooMany {
		tooMany[i] = AddrEntry{Addr: a, TTL: time.Hour}
	}
	longAddr := ma.StringCast("/dns/" + strings.Repeat("a", MaxSnapshotAddrLen) + "/tcp/1")
	cases := map[string]*PeerEntry{
		"nil entry":        nil,
		"empty ID":         {ID: ""},
		"invalid ID":       {ID: peer.ID("not a multihash")},
		"too many addrs":   {ID: id, Addrs: tooMany},
		"empty addr":       {ID: id, Addrs: []AddrEntry{{Addr: nil, TTL: time.Hour}}},
		"addr too long":    {ID: id, Addrs: []AddrEntry{{Addr: longAddr, TTL: time.Hour}}},
		"pub key too long": {ID: id, PubKey: make([]byte, MaxSnapshotPubKeyLen+1)},
		"record too long":  {ID: id, Record: make([]byte, MaxSnapshotRecordLen+1)},
	}
	for name, bad := range cases {
		t.Run(name, func(t *testing.T) {
			good := PeerEntry{ID: id, Addrs: []AddrEntry{{Addr: a, TTL: time.Hour, Expires: time.Unix(5, 0)}}}
			var buf bytes.Buffer
			sw, err := NewSnapshotWriter(&buf, time.Unix(1, 0))
			require.NoError(t, err)
			require.Error(t, sw.WritePeer(bad))
			// The refused entry left no trace: the snapshot is still
			// valid and holds exactly the good entry.
			require.NoError(t, sw.WritePeer(&good))
			require.NoError(t, sw.Close())
			_, got, err := decodeSnapshot(buf.Bytes())
			require.NoError(t, err)
			requireSameEntries(t, []PeerEntry{good}, got)
		})
	}
}

type failingWriter struct {
	n   int // bytes accepted before failing
	err error
}

func (w *failingWriter) Write(p []byte) (int, error) {
	if len(p) <= w.n {
		w.n -= len(p)
		return len(p), nil
	}
	n := w.n
	w.n = 0
	return n, w.err
}

func TestSnapshotWriterReportsWriteErrors(t *testing.T) {
	boom := errors.New("disk full")
	entries := makeEntries(t, 500, 8, time.Unix(1, 0))
	sw, err := NewSnapshotWriter(&failingWriter{n: 100_000, err: boom}, time.Unix(1, 0))
	require.NoError(t, err)
	for i := range entries {
		if err = sw.WritePeer(&entries[i]); err != nil {
			break
		}
	}
	if err == nil {
		err = sw.Close()
	}
	require.ErrorIs(t, err, boom)
	// The failure sticks: nothing can complete the snapshot afterwards.
	require.ErrorIs(t, sw.Close(), boom)
}

func TestSnapshotWriterCannotBeUsedAfterClose(t *testing.T) {
	var buf bytes.Buffer
	sw, err := NewSnapshotWriter(&buf, time.Unix(1, 0))
	require.NoError(t, err)
	require.NoError(t, sw.Close())
	n := buf.Len()
	e := makeEntries(t, 1, 1, time.Unix(1, 0))
	require.Error(t, sw.WritePeer(&e[0]))
	require.Error(t, sw.Close())
	require.Equal(t, n, buf.Len(), "nothing may follow the trailer")
}

// requireSnapshotError checks that err is a *SnapshotError of the given kind.
func requireSnapshotError(tb testing.TB, err error, kind error) *SnapshotError {
	tb.Helper()
	require.Error(tb, err)
	require.ErrorIs(tb, err, kind)
	var se *SnapshotError
	require.ErrorAs(tb, err, &se)
	require.Contains(tb, se.Error(), fmt.Sprintf("at byte %d", se.Offset))
	return se
}

func TestSnapshotTruncatedAtEveryLength(t *testing.T) {
	data := encodeSnapshot(t, time.Unix(1, 0), makeEntries(t, 3, 2, time.Unix(1, 0)))
	for n := 0; n < len(data); n++ {
		_, _, err := decodeSnapshot(data[:n])
		se := requireSnapshotError(t, err, ErrTruncated)
		require.Equal(t, int64(n), se.Offset, "a truncation is found where the input ends")
	}
}

func TestSnapshotBitFlipsAreDetected(t *testing.T) {
	entries := makeEntries(t, 3, 2, time.Unix(1, 0))
	data := encodeSnapshot(t, time.Unix(1, 0), entries)
	// The first peer block's body starts after the header, the block
	// kind and the body length.
	hdrLen := len(snapshotMagic) + 1 + 1 + 8 + 4 // magic, version, kind, taken, checksum
	n, k := binary.Uvarint(data[hdrLen+1:])
	bodyStart, bodyLen := hdrLen+1+k, int(n)
	kinds := []error{ErrBadMagic, ErrUnsupportedVersion, ErrTruncated, ErrChecksum, ErrCorrupt}
	for i := range data {
		for bit := range 8 {
			flipped := bytes.Clone(data)
			flipped[i] ^= 1 << bit
			_, _, err := decodeSnapshot(flipped)
			require.Error(t, err, "flip of bit %d of byte %d went unnoticed", bit, i)
			var se *SnapshotError
			require.ErrorAs(t, err, &se)
			matched := false
			for _, k := range kinds {
				matched = matched || errors.Is(err, k)
			}
			require.True(t, matched, "byte %d bit %d: %v", i, bit, err)
			switch {
			case i < len(snapshotMagic):
				require.ErrorIs(t, err, ErrBadMagic)
			case i >= bodyStart && i < bodyStart+bodyLen:
				require.ErrorIs(t, err, ErrChecksum, "byte %d bit %d", i, bit)
				require.Equal(t, int64(bodyStart+bodyLen), se.Offset, "points at the damaged block's checksum")
			}
		}
	}
}

func TestSnapshotWrongMagic(t *testing.T) {
	for _, in := range []string{"hello, world, this is not a snapshot", "PK\x03\x04", "\x89PNG\r\n\x1a\n0000000000000000"} {
		_, err := NewSnapshotReader(strings.NewReader(in))
		se := requireSnapshotError(t, err, ErrBadMagic)
		require.Zero(t, se.Offset)
	}
	_, err := NewSnapshotReader(strings.NewReader(""))
	requireSnapshotError(t, err, ErrTruncated)
}

// rawSnapshot assembles a snapshot by hand, with valid checksums, from peer
// block bodies, so that the reader's structural checks can be reached.
func rawSnapshot(version uint64, peerCount uint64, bodies ...[]byte) []byte {
	b := []byte(snapshotMagic)
	b = binary.AppendUvarint(b, version)
	if version >= snapshotVersionAddrFlags {
		b = append(b, byte(KindAddrBook))
	}
	b = binary.LittleEndian.AppendUint64(b, uint64(time.Unix(1, 0).UnixNano()))
	b = binary.LittleEndian.AppendUint32(b, crc32.Checksum(b, castagnoli))
	for _, body := range bodies {
		b = append(b, blockPeer)
		b = binary.AppendUvarint(b, uint64(len(body)))
		b = append(b, body...)
		b = binary.LittleEndian.AppendUint32(b, crc32.Checksum(body, castagnoli))
	}
	b = append(b, blockEnd)
	b = binary.AppendUvarint(b, peerCount)
	return binary.LittleEndian.AppendUint32(b, crc32.Checksum(b, castagnoli))
}

// rawBody assembles a peer block body from its fields.
func rawBody(id []byte, addrCount uint64, rest ...[]byte) []byte {
	b := binary.AppendUvarint(nil, uint64(len(id)))
	b = append(b, id...)
	b = binary.AppendUvarint(b, addrCount)
	for _, r := range rest {
		b = append(b, r...)
	}
	return b
}

func lp(p []byte) []byte { return append(binary.AppendUvarint(nil, uint64(len(p))), p...) }

func TestSnapshotFutureVersion(t *testing.T) {
	data := rawSnapshot(SnapshotVersion+1, 0)
	_, err := NewSnapshotReader(bytes.NewReader(data))
	se := requireSnapshotError(t, err, ErrUnsupportedVersion)
	require.Equal(t, int64(len(snapshotMagic)), se.Offset)
	require.Contains(t, se.Error(), fmt.Sprintf("version %d", SnapshotVersion+1))
}

func TestSnapshotHostileStructure(t *testing.T) {
	id := []byte(testPeerID(t, 3))
	addr := ma.StringCast("/ip4/1.2.3.4/tcp/5").Bytes()
	var expiry [8]byte
	goodAddr := append(append(append(lp(addr), 0x02), expiry[:]...), 0) // ttl 1ns, flags 0
	empty := []byte{0, 0}                                               // no public key, no record

	hugeBlock := []byte(snapshotMagic)
	hugeBlock = binary.AppendUvarint(hugeBlock, SnapshotVersion)
	hugeBlock = append(hugeBlock, byte(KindAddrBook))
	hugeBlock = binary.LittleEndian.AppendUint64(hugeBlock, 0)
	hugeBlock = binary.LittleEndian.AppendUint32(hugeBlock, crc32.Checksum(hugeBlock, castagnoli))
	hugeBlock = append(hugeBlock, blockPeer)
	hugeBlock = binary.AppendUvarint(hugeBlock, 1<<62)

	cases := map[string]struct {
		data []byte
		kind error
	}{
		"valid baseline":         {rawSnapshot(SnapshotVersion, 1, rawBody(id, 1, goodAddr, empty)), nil},
		"block length 2^62":      {hugeBlock, ErrCorrupt},
		"address count 2^40":     {rawSnapshot(SnapshotVersion, 1, rawBody(id, 1<<40, goodAddr, empty)), ErrCorrupt},
		"address count past end": {rawSnapshot(SnapshotVersion, 1, rawBody(id, 3, goodAddr, empty)), ErrCorrupt},
		"invalid multiaddr":      {rawSnapshot(SnapshotVersion, 1, rawBody(id, 1, append(append(lp([]byte{0xff, 0xff, 0x03}), 0x02), expiry[:]...), empty)), ErrCorrupt},
		"empty multiaddr":        {rawSnapshot(SnapshotVersion, 1, rawBody(id, 1, append(append(lp(nil), 0x02), expiry[:]...), empty)), ErrCorrupt},
		"multiaddr too long":     {rawSnapshot(SnapshotVersion, 1, rawBody(id, 1, lp(make([]byte, MaxSnapshotAddrLen+1)), empty)), ErrCorrupt},
		"invalid peer ID":        {rawSnapshot(SnapshotVersion, 1, rawBody([]byte("nope"), 0, empty)), ErrCorrupt},
		"empty peer ID":          {rawSnapshot(SnapshotVersion, 1, rawBody(nil, 0, empty)), ErrCorrupt},
		"peer ID too long":       {rawSnapshot(SnapshotVersion, 1, rawBody(make([]byte, MaxSnapshotPeerIDLen+1), 0, empty)), ErrCorrupt},
		"public key too long":    {rawSnapshot(SnapshotVersion, 1, rawBody(id, 0, lp(make([]byte, MaxSnapshotPubKeyLen+1)), []byte{0})), ErrCorrupt},
		"record length past end": {rawSnapshot(SnapshotVersion, 1, rawBody(id, 0, []byte{0, 50}, []byte("short"))), ErrCorrupt},
		"extra bytes in block":   {rawSnapshot(SnapshotVersion, 1, rawBody(id, 0, empty, []byte{1})), ErrCorrupt},
		"count too high":         {rawSnapshot(SnapshotVersion, 2, rawBody(id, 0, empty)), ErrCorrupt},
		"count too low":          {rawSnapshot(SnapshotVersion, 0, rawBody(id, 0, empty)), ErrCorrupt},
		"unknown block kind":     {append(rawSnapshot(SnapshotVersion, 0)[:len(snapshotMagic)+1+1+8+4], 'X'), ErrCorrupt},
		"data after trailer":     {append(rawSnapshot(SnapshotVersion, 0), 0), ErrCorrupt},
		"overlong varint": {append(append(rawSnapshot(SnapshotVersion, 0)[:len(snapshotMagic)+1+1+8+4], blockPeer),
			0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x01), ErrCorrupt},
	}
	for name, c := range cases {
		t.Run(name, func(t *testing.T) {
			_, _, err := decodeSnapshot(c.data)
			if c.kind == nil {
				require.NoError(t, err)
				return
			}
			requireSnapshotError(t, err, c.kind)
		})
	}
}

func TestSnapshotReaderErrorsStick(t *testing.T) {
	entries := makeEntries(t, 2, 1, time.Unix(1, 0))
	data := encodeSnapshot(t, time.Unix(1, 0), entries)
	sr, err := NewSnapshotReader(bytes.NewReader(data[:len(data)-2]))
	require.NoError(t, err)
	var last error
	for range 5 {
		_, last = sr.Next()
		if last != nil {
			break
		}
	}
	requireSnapshotError(t, last, ErrTruncated)
	_, again := sr.Next()
	require.Equal(t, last, again)

	sr, err = NewSnapshotReader(bytes.NewReader(data))
	require.NoError(t, err)
	for range entries {
		_, err := sr.Next()
		require.NoError(t, err)
	}
	for range 2 {
		_, err := sr.Next()
		require.Equal(t, io.EOF, err)
	}
}

type errReader struct{ err error }

func (r errReader) Read([]byte) (int, error) { return 0, r.err }

func TestSnapshotReaderPassesReadErrorsThrough(t *testing.T) {
	boom := errors.New("device gone")
	data := encodeSnapshot(t, time.Unix(1, 0), makeEntries(t, 1, 1, time.Unix(1, 0)))
	sr, err := NewSnapshotReader(io.MultiReader(bytes.NewReader(data[:40]), errReader{boom}))
	require.NoError(t, err)
	_, err = sr.Next()
	require.ErrorIs(t, err, boom)
	var se *SnapshotError
	require.False(t, errors.As(err, &se), "an I/O failure is not a verdict on the snapshot")
}

// BenchmarkSnapshot encodes and decodes 100,000 peers with 8 addresses, a
// public key and a record each, side by side with the encoding upstream's
// pstoreds gives the same data (see upstreamRecord).
func BenchmarkSnapshot(b *testing.B) {
	const peers = 100_000
	now := time.Unix(1_700_000_000, 0)
	entries := makeEntries(b, peers, 8, now)
	data := encodeSnapshot(b, now, entries)
	upstream := encodeUpstream(b, entries)

	b.Run("Encode/newstore", func(b *testing.B) {
		var n int64
		for b.Loop() {
			cw := &countingWriter{w: io.Discard}
			sw, err := NewSnapshotWriter(cw, now)
			if err != nil {
				b.Fatal(err)
			}
			for i := range entries {
				if err := sw.WritePeer(&entries[i]); err != nil {
					b.Fatal(err)
				}
			}
			if err := sw.Close(); err != nil {
				b.Fatal(err)
			}
			n = cw.n
		}
		b.ReportMetric(float64(n)/peers, "bytes/peer")
	})
	b.Run("Encode/upstream-pstoreds", func(b *testing.B) {
		var n int
		for b.Loop() {
			n = len(encodeUpstream(b, entries))
		}
		b.ReportMetric(float64(n)/peers, "bytes/peer")
	})
	b.Run("Decode/newstore", func(b *testing.B) {
		for b.Loop() {
			sr, err := NewSnapshotReader(bytes.NewReader(data))
			if err != nil {
				b.Fatal(err)
			}
			for {
				_, err := sr.Next()
				if err == io.EOF {
					break
				}
				if err != nil {
					b.Fatal(err)
				}
			}
		}
		b.ReportMetric(float64(len(data))/peers, "bytes/peer")
	})
	b.Run("Decode/upstream-pstoreds", func(b *testing.B) {
		for b.Loop() {
			decodeUpstream(b, upstream)
		}
		b.ReportMetric(float64(len(upstream))/peers, "bytes/peer")
	})
}

// encodeUpstream encodes entries the way upstream pstoreds stores them: one
// pb.AddrBookRecord per peer (expiry in Unix seconds) and the raw public key
// beside it, here length-prefixed one after another.
func encodeUpstream(tb testing.TB, entries []PeerEntry) []byte {
	var out []byte
	rec := &pstorepb.AddrBookRecord{}
	for i := range entries {
		e := &entries[i]
		rec.Id = []byte(e.ID)
		rec.Addrs = rec.Addrs[:0]
		for _, a := range e.Addrs {
			rec.Addrs = append(rec.Addrs, &pstorepb.AddrBookRecord_AddrEntry{
				Addr: a.Addr.Bytes(), Ttl: int64(a.TTL), Expiry: a.Expires.Unix(),
			})
		}
		rec.CertifiedRecord = &pstorepb.AddrBookRecord_CertifiedRecord{Seq: 1, Raw: e.Record}
		data, err := proto.Marshal(rec)
		if err != nil {
			tb.Fatal(err)
		}
		out = append(out, lp(data)...)
		out = append(out, lp(e.PubKey)...)
	}
	return out
}

// decodeUpstream is the reading side of encodeUpstream, down to the same
// usable values the snapshot reader returns (parsed multiaddrs).
func decodeUpstream(tb testing.TB, data []byte) {
	for len(data) > 0 {
		n, k := binary.Uvarint(data)
		data = data[k:]
		rec := &pstorepb.AddrBookRecord{}
		if err := proto.Unmarshal(data[:n], rec); err != nil {
			tb.Fatal(err)
		}
		data = data[n:]
		e := PeerEntry{ID: peer.ID(rec.Id), Addrs: make([]AddrEntry, len(rec.Addrs))}
		for i, a := range rec.Addrs {
			m, err := ma.NewMultiaddrBytes(a.Addr)
			if err != nil {
				tb.Fatal(err)
			}
			e.Addrs[i] = AddrEntry{Addr: m, TTL: time.Duration(a.Ttl), Expires: time.Unix(a.Expiry, 0)}
		}
		e.Record = rec.CertifiedRecord.GetRaw()
		n, k = binary.Uvarint(data)
		e.PubKey = bytes.Clone(data[k : k+int(n)])
		data = data[k+int(n):]
	}
}

// Version 1 snapshots, written before addresses had flags, still read.
func TestSnapshotReadsVersion1(t *testing.T) {
	id := testPeerID(t, 3)
	a := ma.StringCast("/ip4/127.0.0.1/tcp/4001").Bytes()
	exp := time.Unix(1_700_000_000, 0)
	addr := binary.AppendUvarint(nil, uint64(len(a)))
	addr = append(addr, a...)
	addr = binary.AppendVarint(addr, int64(time.Hour))
	addr = binary.LittleEndian.AppendUint64(addr, uint64(exp.UnixNano()))
	body := rawBody([]byte(id), 1, addr, []byte{0}, []byte{0})
	sr, err := NewSnapshotReader(bytes.NewReader(rawSnapshot(1, 1, body)))
	require.NoError(t, err)
	assert.Equal(t, 1, sr.Version())
	e, err := sr.Next()
	require.NoError(t, err)
	require.Len(t, e.Addrs, 1)
	assert.Equal(t, time.Hour, e.Addrs[0].TTL)
	assert.True(t, e.Addrs[0].Expires.Equal(exp))
	assert.False(t, e.Addrs[0].AfterDisconnect)
	_, err = sr.Next()
	require.ErrorIs(t, err, io.EOF)
	// Version 1 says nothing of its kind: the address book and package
	// remember both wrote it, and both still read it.
	assert.Equal(t, kindUnmarked, sr.Kind())
	require.NoError(t, sr.Expect(KindAddrBook))
	require.NoError(t, sr.Expect(KindRememberedPeers))
	// An address book restores it (an address still in its TTL).
	live := binary.AppendUvarint(nil, uint64(len(a)))
	live = append(live, a...)
	live = binary.AppendVarint(live, int64(time.Hour))
	live = binary.LittleEndian.AppendUint64(live, uint64(time.Now().Add(time.Hour).UnixNano()))
	ab, err := New()
	require.NoError(t, err)
	defer ab.Close()
	require.NoError(t, ab.Restore(bytes.NewReader(rawSnapshot(1, 1, rawBody([]byte(id), 1, live, []byte{0}, []byte{0})))))
	require.Len(t, ab.Addrs(id), 1)
	assert.True(t, ab.Addrs(id)[0].Equal(ma.StringCast("/ip4/127.0.0.1/tcp/4001")))

	// A version-2 header must name its kind.
	v2 := rawSnapshot(2, 0)
	v2[len(snapshotMagic)+1] = 0
	v2 = append(v2[:len(snapshotMagic)+1+1+8], binary.LittleEndian.AppendUint32(nil, crc32.Checksum(v2[:len(snapshotMagic)+1+1+8], castagnoli))...)
	_, err = NewSnapshotReader(bytes.NewReader(v2))
	requireSnapshotError(t, err, ErrCorrupt)

	// The same body read as version 2 lacks its flags byte.
	_, err = NewSnapshotReader(bytes.NewReader(rawSnapshot(2, 1, body)))
	require.NoError(t, err)
	_, _, err = decodeSnapshot(rawSnapshot(2, 1, body))
	requireSnapshotError(t, err, ErrCorrupt)
}

func TestSnapshotRefusesBadAddrFlags(t *testing.T) {
	id := testPeerID(t, 4)
	a := ma.StringCast("/ip4/127.0.0.1/tcp/4001").Bytes()
	for name, tc := range map[string]struct {
		ttl   time.Duration
		flags byte
	}{
		"unknown flag":                   {time.Hour, 0x02},
		"after disconnect without a TTL": {0, addrFlagAfterDisconnect},
		"after disconnect, negative TTL": {-time.Hour, addrFlagAfterDisconnect},
	} {
		t.Run(name, func(t *testing.T) {
			addr := binary.AppendUvarint(nil, uint64(len(a)))
			addr = append(addr, a...)
			addr = binary.AppendVarint(addr, int64(tc.ttl))
			addr = binary.LittleEndian.AppendUint64(addr, 0)
			addr = append(addr, tc.flags)
			_, _, err := decodeSnapshot(rawSnapshot(SnapshotVersion, 1, rawBody([]byte(id), 1, addr, []byte{0}, []byte{0})))
			requireSnapshotError(t, err, ErrCorrupt)
		})
	}
	err := discardSnapshotWriter(t).WritePeer(&PeerEntry{ID: id, Addrs: []AddrEntry{{Addr: ma.StringCast("/ip4/127.0.0.1/tcp/1"), AfterDisconnect: true}}})
	require.Error(t, err, "the writer refuses what the reader would")
}

// discardSnapshotWriter starts a snapshot into a discarded buffer.
func discardSnapshotWriter(t *testing.T) *SnapshotWriter {
	sw, err := NewSnapshotWriter(io.Discard, time.Now())
	require.NoError(t, err)
	return sw
}
