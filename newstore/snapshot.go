package newstore

import (
	"bufio"
	"encoding/binary"
	"errors"
	"fmt"
	"hash/crc32"
	"io"
	"math"
	"time"

	"github.com/libp2p/go-libp2p/core/peer"
	ma "github.com/multiformats/go-multiaddr"
)

// Snapshot format, version 2 (version 1 address-book snapshots are read too).
//
// A snapshot is a stream of peer entries between a header and a trailer, so
// that neither side ever holds more than one entry. Integers are unsigned
// LEB128 varints (uvarint) unless stated; "fixed64" is 8 bytes little-endian;
// "crc" is CRC-32C (Castagnoli), 4 bytes little-endian.
//
//	snapshot = header *peerBlock endBlock EOF
//	header   = magic version kind taken headerCRC
//	  magic     = "\x89PSNAP\r\n"   8 bytes; the high byte and CR LF catch
//	                                text-mode mangling, as in PNG
//	  version   = uvarint           SnapshotVersion
//	  kind      = 1 byte            SnapshotKind: what the entries are
//	                                (version 2 and later, never 0; version 1
//	                                has none: see kindUnmarked)
//	  taken     = fixed64           see "times" below
//	  headerCRC = crc               over magic, version, kind and taken
//	peerBlock = 'P' bodyLen body bodyCRC
//	  bodyLen   = uvarint           at most maxPeerBody
//	  bodyCRC   = crc               over body only
//	  body      = idLen id addrCount *addr pubKeyLen pubKey recordLen record
//	    id      = multihash bytes of the peer.ID, 1..MaxSnapshotPeerIDLen
//	    addrCount = uvarint, at most MaxSnapshotAddrsPerPeer
//	    addr    = addrLen addrBytes ttl expires
//	      addrBytes = binary multiaddr, 1..MaxSnapshotAddrLen
//	      ttl       = zig-zag varint, nanoseconds (exact, so the sentinels
//	                  PermanentAddrTTL and ConnectedAddrTTL survive)
//	      expires   = fixed64, see "times"
//	      flags     = 1 byte, version 2 and later only: bit 0 set for an
//	                  address whose positive ttl counts from disconnect
//	                  (AddrEntry.AfterDisconnect); other bits must be 0
//	    pubKey  = at most MaxSnapshotPubKeyLen bytes, empty for none
//	    record  = at most MaxSnapshotRecordLen bytes, empty for none
//	dataBlock = 'D' bodyLen body bodyCRC   (version 2 and later; anywhere
//	                                between the header and the end block)
//	  bodyLen   = uvarint           at most maxDataBody
//	  body      = idLen id nameLen name ttl remaining valueLen value
//	    name      = 1..MaxSnapshotDataNameLen bytes, the key's persisted name
//	    ttl       = zig-zag varint, ttlAfterDisconnect in nanoseconds, >= 0
//	    remaining = zig-zag varint, what was left of it, 0..ttl
//	    value     = at most MaxSnapshotDataValueLen bytes, the codec's output
//	endBlock = 'E' peerCount totalCRC
//	  peerCount = uvarint           number of peer and data blocks
//	  totalCRC  = crc               over every byte from magic through peerCount
//
// Times are Unix nanoseconds as a signed 64-bit integer. math.MinInt64 stands
// for the zero time.Time; times outside the int64 nanosecond range (before
// 1678 or after 2262, e.g. now+PermanentAddrTTL) are clamped to it, which
// keeps every expiry at least as far away as it was.
//
// Each peer block carries its own checksum so that Next never hands out a
// damaged entry; the trailer's checksum and count catch lost, reordered or
// duplicated blocks, and the header's checksum makes Taken trustworthy before
// the first entry is read. Any byte after the end block is corruption.

// SnapshotVersion is the version of the snapshot format this package writes.
// It reads it and version 1 (no kind, no address flags, no data blocks: an
// address book snapshot, as this package wrote before).
// Version 2 added the kind, the address flags byte and the data blocks.
const SnapshotVersion = 2

// snapshotVersionAddrFlags is the first version whose addresses carry a
// flags byte (and whose header carries the kind).
const snapshotVersionAddrFlags = 2

// addrFlagAfterDisconnect marks an AddrEntry.AfterDisconnect address.
const addrFlagAfterDisconnect = 1

// SnapshotKind tells what a snapshot's entries are, so that one kind is
// never taken for another: the same entry format carries an address book
// and a set of remembered peers, which mean different things.
type SnapshotKind byte

const (
	// KindAddrBook is an address book's state (AddrBook.Snapshot).
	KindAddrBook SnapshotKind = 'A'
	// KindRememberedPeers is the peers package remember saved.
	KindRememberedPeers SnapshotKind = 'R'

	// kindUnmarked is the kind of a version-1 snapshot, which has none:
	// both the address book and package remember wrote that version, so
	// Expect accepts it for either, as the readers of that version did.
	kindUnmarked SnapshotKind = 0
)

func (k SnapshotKind) String() string {
	switch k {
	case KindAddrBook:
		return "address book"
	case KindRememberedPeers:
		return "remembered peers"
	case kindUnmarked:
		return "address book or remembered peers (version 1, unmarked)"
	}
	return fmt.Sprintf("unknown kind 0x%02x", byte(k))
}

// Bounds on the fields of a snapshot entry. The writer refuses entries that
// exceed them and the reader treats them as corruption, so a hostile length
// can never make the reader allocate more than about a megabyte.
const (
	// MaxSnapshotPeerIDLen bounds a peer ID (a multihash; identity hashes
	// of inlined keys are at most a few dozen bytes).
	MaxSnapshotPeerIDLen = 256
	// MaxSnapshotAddrLen bounds one binary multiaddr (certhash-laden
	// WebTransport addresses are a few hundred bytes).
	MaxSnapshotAddrLen = 1024
	// MaxSnapshotAddrsPerPeer bounds the addresses of one entry; it is well
	// above the address book's default per-peer cap.
	MaxSnapshotAddrsPerPeer = 1024
	// MaxSnapshotPubKeyLen bounds a marshalled public key (an 8192-bit RSA
	// key, go-libp2p's largest, is about 1 KiB).
	MaxSnapshotPubKeyLen = 8 << 10
	// MaxSnapshotRecordLen bounds a marshalled signed peer record envelope.
	MaxSnapshotRecordLen = 64 << 10
)

const (
	snapshotMagic = "\x89PSNAP\r\n"

	blockPeer = 'P'
	blockEnd  = 'E'

	// minAddrLen is the fewest body bytes one address can take: a one-byte
	// length, one byte of multiaddr, a one-byte TTL and the fixed64 expiry
	// (and from version 2 a flags byte, which only makes this bound safer).
	minAddrLen = 1 + 1 + 1 + 8
	// maxPeerBody bounds a peer block's body, derived from the field bounds.
	maxPeerBody = binary.MaxVarintLen64 + MaxSnapshotPeerIDLen +
		binary.MaxVarintLen64 +
		MaxSnapshotAddrsPerPeer*(binary.MaxVarintLen64+MaxSnapshotAddrLen+binary.MaxVarintLen64+8+1) +
		binary.MaxVarintLen64 + MaxSnapshotPubKeyLen +
		binary.MaxVarintLen64 + MaxSnapshotRecordLen

	zeroTimeNanos = math.MinInt64
)

var castagnoli = crc32.MakeTable(crc32.Castagnoli)

// Errors a SnapshotReader reports, always wrapped in a *SnapshotError that
// says where in the stream the problem was found.
var (
	// ErrBadMagic means the input is not a snapshot at all.
	ErrBadMagic = errors.New("not a peer store snapshot (bad magic)")
	// ErrUnsupportedVersion means the snapshot was written by a newer (or
	// unknown) version of the format.
	ErrUnsupportedVersion = errors.New("unsupported snapshot version")
	// ErrTruncated means the input ended before the snapshot's trailer.
	ErrTruncated = errors.New("snapshot truncated")
	// ErrChecksum means a checksum did not match: the bytes were altered.
	ErrChecksum = errors.New("snapshot checksum mismatch")
	// ErrCorrupt means the bytes are structurally invalid: a length out of
	// bounds, an invalid peer ID or multiaddr, a wrong peer count, trailing
	// data.
	ErrCorrupt = errors.New("snapshot corrupt")
	// ErrWrongKind means the snapshot is intact but of another kind than
	// the reader wants (see SnapshotKind).
	ErrWrongKind = errors.New("snapshot of another kind")
)

// SnapshotError is the error a SnapshotReader returns for bad input.
type SnapshotError struct {
	// Offset is the byte offset in the stream of the field or block at
	// fault.
	Offset int64
	// Err is one of ErrBadMagic, ErrUnsupportedVersion, ErrTruncated,
	// ErrChecksum or ErrCorrupt.
	Err error
	// Detail says what exactly was wrong, for humans.
	Detail string
}

func (e *SnapshotError) Error() string {
	if e.Detail == "" {
		return fmt.Sprintf("%v at byte %d", e.Err, e.Offset)
	}
	return fmt.Sprintf("%v at byte %d: %s", e.Err, e.Offset, e.Detail)
}

func (e *SnapshotError) Unwrap() error { return e.Err }

// SnapshotWriter encodes peer entries into a snapshot. It is not safe for
// concurrent use.
type SnapshotWriter struct {
	w     *bufio.Writer
	crc   uint32 // running checksum over everything written
	count uint64
	body  []byte // reused encoding buffer for one peer block
	err   error  // sticky: once a write failed the snapshot is lost
	// Scratch space that would otherwise escape to the heap on every
	// entry (through the checksum's function pointer).
	head  [1 + binary.MaxVarintLen64]byte
	tail  [4]byte
	idBuf []byte
}

// NewSnapshotWriter starts an address book snapshot (KindAddrBook) taken at
// the given time on w, writing its header. Nothing is complete until Close.
func NewSnapshotWriter(w io.Writer, taken time.Time) (*SnapshotWriter, error) {
	return NewSnapshotWriterOfKind(w, KindAddrBook, taken)
}

// NewSnapshotWriterOfKind starts a snapshot of the given kind.
func NewSnapshotWriterOfKind(w io.Writer, kind SnapshotKind, taken time.Time) (*SnapshotWriter, error) {
	sw := &SnapshotWriter{w: bufio.NewWriterSize(w, 64<<10)}
	hdr := make([]byte, 0, len(snapshotMagic)+binary.MaxVarintLen64+1+8+4)
	hdr = append(hdr, snapshotMagic...)
	hdr = binary.AppendUvarint(hdr, SnapshotVersion)
	hdr = append(hdr, byte(kind))
	hdr = binary.LittleEndian.AppendUint64(hdr, uint64(timeToNanos(taken)))
	hdr = binary.LittleEndian.AppendUint32(hdr, crc32.Checksum(hdr, castagnoli))
	if err := sw.write(hdr); err != nil {
		return nil, err
	}
	return sw, nil
}

// WritePeer appends one entry. An entry the reader would reject (an invalid
// peer ID, a field over its bound, an empty address) is refused with an
// error and nothing is written, so the snapshot stays usable.
func (sw *SnapshotWriter) WritePeer(e *PeerEntry) error {
	if sw.err != nil {
		return sw.err
	}
	if e != nil {
		sw.idBuf = append(sw.idBuf[:0], e.ID...)
	}
	b, err := appendPeerBody(sw.body[:0], e, sw.idBuf)
	sw.body = b
	if err != nil {
		return err
	}
	sw.head[0] = blockPeer
	n := 1 + binary.PutUvarint(sw.head[1:], uint64(len(b)))
	binary.LittleEndian.PutUint32(sw.tail[:], crc32.Checksum(b, castagnoli))
	if err := sw.write(sw.head[:n]); err != nil {
		return err
	}
	if err := sw.write(b); err != nil {
		return err
	}
	if err := sw.write(sw.tail[:]); err != nil {
		return err
	}
	sw.count++
	return nil
}

// appendPeerBody encodes e, refusing what the reader would reject so that
// every snapshot this package writes can be read back. id holds e.ID's
// bytes, to validate without allocating.
func appendPeerBody(b []byte, e *PeerEntry, id []byte) ([]byte, error) {
	if e == nil {
		return b, errors.New("snapshot entry is nil")
	}
	if e.ID == "" {
		return b, errors.New("snapshot entry has an empty peer ID")
	}
	if len(e.ID) > MaxSnapshotPeerIDLen {
		return b, fmt.Errorf("peer ID of %d bytes exceeds the snapshot bound of %d", len(e.ID), MaxSnapshotPeerIDLen)
	}
	if _, err := peer.IDFromBytes(id); err != nil {
		return b, fmt.Errorf("snapshot entry has an invalid peer ID: %w", err)
	}
	if len(e.Addrs) > MaxSnapshotAddrsPerPeer {
		return b, fmt.Errorf("peer %s has %d addresses, more than the snapshot bound of %d", e.ID, len(e.Addrs), MaxSnapshotAddrsPerPeer)
	}
	if len(e.PubKey) > MaxSnapshotPubKeyLen {
		return b, fmt.Errorf("peer %s: public key of %d bytes exceeds the snapshot bound of %d", e.ID, len(e.PubKey), MaxSnapshotPubKeyLen)
	}
	if len(e.Record) > MaxSnapshotRecordLen {
		return b, fmt.Errorf("peer %s: signed record of %d bytes exceeds the snapshot bound of %d", e.ID, len(e.Record), MaxSnapshotRecordLen)
	}
	b = binary.AppendUvarint(b, uint64(len(e.ID)))
	b = append(b, e.ID...)
	b = binary.AppendUvarint(b, uint64(len(e.Addrs)))
	for i := range e.Addrs {
		a := &e.Addrs[i]
		raw := a.raw
		if a.Addr != nil || raw == nil {
			raw = a.Addr.Bytes()
		}
		if len(raw) == 0 {
			return b, fmt.Errorf("peer %s: address %d is empty", e.ID, i)
		}
		if len(raw) > MaxSnapshotAddrLen {
			return b, fmt.Errorf("peer %s: address %d is %d bytes, more than the snapshot bound of %d", e.ID, i, len(raw), MaxSnapshotAddrLen)
		}
		var flags byte
		if a.AfterDisconnect {
			if a.TTL <= 0 {
				return b, fmt.Errorf("peer %s: address %d counts from disconnect with a TTL of %v, not positive", e.ID, i, a.TTL)
			}
			flags |= addrFlagAfterDisconnect
		}
		b = binary.AppendUvarint(b, uint64(len(raw)))
		b = append(b, raw...)
		b = binary.AppendVarint(b, int64(a.TTL))
		b = binary.LittleEndian.AppendUint64(b, uint64(timeToNanos(a.Expires)))
		b = append(b, flags)
	}
	b = binary.AppendUvarint(b, uint64(len(e.PubKey)))
	b = append(b, e.PubKey...)
	b = binary.AppendUvarint(b, uint64(len(e.Record)))
	b = append(b, e.Record...)
	return b, nil
}

// Close writes the trailer (the peer count and the checksum over the whole
// snapshot) and flushes. It does not close the underlying writer. The
// writer cannot be used afterwards.
func (sw *SnapshotWriter) Close() error {
	if sw.err != nil {
		return sw.err
	}
	end := make([]byte, 0, 1+binary.MaxVarintLen64+4)
	end = append(end, blockEnd)
	end = binary.AppendUvarint(end, sw.count)
	if err := sw.write(end); err != nil {
		return err
	}
	var sum [4]byte
	binary.LittleEndian.PutUint32(sum[:], sw.crc)
	if _, err := sw.w.Write(sum[:]); err != nil {
		sw.err = fmt.Errorf("writing snapshot trailer: %w", err)
		return sw.err
	}
	if err := sw.w.Flush(); err != nil {
		sw.err = fmt.Errorf("flushing snapshot: %w", err)
		return sw.err
	}
	sw.err = errors.New("snapshot writer already closed")
	return nil
}

func (sw *SnapshotWriter) write(p []byte) error {
	sw.crc = crc32.Update(sw.crc, castagnoli, p)
	if _, err := sw.w.Write(p); err != nil {
		sw.err = fmt.Errorf("writing snapshot: %w", err)
		return sw.err
	}
	return nil
}

// timeToNanos maps a time to the format's int64, see the format comment.
func timeToNanos(t time.Time) int64 {
	if t.IsZero() {
		return zeroTimeNanos
	}
	// UnixNano is undefined outside this range, so compare first.
	if t.Before(minSnapshotTime) {
		return zeroTimeNanos + 1
	}
	if t.After(maxSnapshotTime) {
		return math.MaxInt64
	}
	return t.UnixNano()
}

func nanosToTime(n int64) time.Time {
	if n == zeroTimeNanos {
		return time.Time{}
	}
	return time.Unix(0, n)
}

var (
	minSnapshotTime = time.Unix(0, zeroTimeNanos+1)
	maxSnapshotTime = time.Unix(0, math.MaxInt64)
)

// SnapshotReader decodes a snapshot one entry at a time. It is not safe for
// concurrent use.
type SnapshotReader struct {
	r     *bufio.Reader
	off   int64  // bytes consumed so far
	crc   uint32 // running checksum over everything consumed
	taken time.Time
	// version is the format version of the snapshot being read.
	version uint64
	kind    SnapshotKind
	// data holds the data blocks read so far, dataBytes their values'
	// total size.
	data      []DataEntry
	dataBytes int
	count     uint64
	body      []byte // reused buffer for one peer block's body
	err       error  // sticky: io.EOF after a verified trailer, or the failure
	// scratch holds small fixed fields so that reading them (through
	// the checksum's function pointer) does not allocate.
	scratch [8]byte

	// skipChecksums lets the fuzz target reach the parser behind the
	// checksums; never set outside tests.
	skipChecksums bool
}

// NewSnapshotReader reads and validates the header of a snapshot. Errors
// for bad input are *SnapshotError.
func NewSnapshotReader(r io.Reader) (*SnapshotReader, error) {
	return newSnapshotReader(r, false)
}

func newSnapshotReader(r io.Reader, skipChecksums bool) (*SnapshotReader, error) {
	sr := &SnapshotReader{r: bufio.NewReaderSize(r, 64<<10), skipChecksums: skipChecksums}
	var magic [len(snapshotMagic)]byte
	if err := sr.readFull(magic[:], "magic"); err != nil {
		if errors.Is(err, ErrTruncated) {
			// Too short to be a snapshot is "not a snapshot" when the
			// bytes that are there already disagree.
			var se *SnapshotError
			if errors.As(err, &se) && !hasPrefix(snapshotMagic, magic[:se.Offset]) {
				return nil, sr.fail(0, ErrBadMagic, "")
			}
		}
		return nil, err
	}
	if string(magic[:]) != snapshotMagic {
		return nil, sr.fail(0, ErrBadMagic, "")
	}
	verOff := sr.off
	ver, err := sr.readUvarint("version")
	if err != nil {
		return nil, err
	}
	if ver < 1 || ver > SnapshotVersion {
		return nil, sr.fail(verOff, ErrUnsupportedVersion, fmt.Sprintf("version %d, this reader supports 1 to %d", ver, SnapshotVersion))
	}
	sr.version = ver
	// Version 1 had no kind (kindUnmarked).
	kind := [1]byte{byte(kindUnmarked)}
	if ver >= snapshotVersionAddrFlags {
		kindOff := sr.off
		if err := sr.readFull(kind[:], "snapshot kind"); err != nil {
			return nil, err
		}
		if SnapshotKind(kind[0]) == kindUnmarked {
			return nil, sr.fail(kindOff, ErrCorrupt, "snapshot kind 0")
		}
	}
	var taken [8]byte
	if err := sr.readFull(taken[:], "snapshot time"); err != nil {
		return nil, err
	}
	headerCRC := sr.crc
	crcOff := sr.off
	var sum [4]byte
	if err := sr.readFull(sum[:], "header checksum"); err != nil {
		return nil, err
	}
	if binary.LittleEndian.Uint32(sum[:]) != headerCRC && !sr.skipChecksums {
		return nil, sr.fail(crcOff, ErrChecksum, "header")
	}
	sr.taken = nanosToTime(int64(binary.LittleEndian.Uint64(taken[:])))
	sr.kind = SnapshotKind(kind[0])
	return sr, nil
}

// Kind is what the snapshot's header says its entries are.
func (sr *SnapshotReader) Kind() SnapshotKind { return sr.kind }

// Expect fails, with a *SnapshotError wrapping ErrWrongKind, unless the
// snapshot is of the given kind. A version-1 snapshot, which does not say,
// passes for any kind.
func (sr *SnapshotReader) Expect(kind SnapshotKind) error {
	if sr.kind != kind && sr.kind != kindUnmarked {
		return sr.fail(int64(len(snapshotMagic)+1), ErrWrongKind, fmt.Sprintf("it holds %s, not %s", sr.kind, kind))
	}
	return nil
}

func hasPrefix(s string, p []byte) bool {
	return len(p) <= len(s) && s[:len(p)] == string(p)
}

// Taken is the time the snapshot was taken, as given to NewSnapshotWriter.
func (sr *SnapshotReader) Taken() time.Time { return sr.taken }

// Version is the format version of the snapshot, from its header.
func (sr *SnapshotReader) Version() int { return int(sr.version) }

// Next returns the next entry. It returns io.EOF only once the trailer's
// peer count and checksum have been verified and the input has ended;
// anything wrong with the input is a *SnapshotError, and every later call
// returns the same error. Entries returned before an error were intact
// (each carries its own checksum), but a caller that must not act on a
// snapshot that fails as a whole should hold them until io.EOF.
func (sr *SnapshotReader) Next() (*PeerEntry, error) {
	return sr.nextEntry(false)
}

// nextUnparsed is Next for the address book's restore: addresses are
// checked for shape but left in binary form (AddrEntry.raw).
func (sr *SnapshotReader) nextUnparsed() (*PeerEntry, error) {
	return sr.nextEntry(true)
}

func (sr *SnapshotReader) nextEntry(unparsed bool) (*PeerEntry, error) {
	if sr.err != nil {
		return nil, sr.err
	}
	e, err := sr.next(unparsed)
	if err != nil {
		sr.err = err
		return nil, err
	}
	return e, nil
}

func (sr *SnapshotReader) next(unparsed bool) (*PeerEntry, error) {
	for {
		blockOff := sr.off
		kind := sr.scratch[:1]
		if err := sr.readFull(kind, "block kind"); err != nil {
			return nil, err
		}
		switch {
		case kind[0] == blockPeer:
			return sr.readPeer(blockOff, unparsed)
		case kind[0] == blockEnd:
			return nil, sr.readEnd()
		case kind[0] == blockData && sr.version >= snapshotVersionData:
			// Data blocks are kept for Data; Next hands out peers.
			if err := sr.readData(blockOff); err != nil {
				return nil, err
			}
		default:
			return nil, sr.fail(blockOff, ErrCorrupt, fmt.Sprintf("unknown block kind 0x%02x", kind[0]))
		}
	}
}

func (sr *SnapshotReader) readPeer(blockOff int64, unparsed bool) (*PeerEntry, error) {
	lenOff := sr.off
	n, err := sr.readUvarint("peer block length")
	if err != nil {
		return nil, err
	}
	if n > maxPeerBody {
		return nil, sr.fail(lenOff, ErrCorrupt, fmt.Sprintf("peer block of %d bytes exceeds the bound of %d", n, maxPeerBody))
	}
	bodyOff := sr.off
	if cap(sr.body) < int(n) {
		sr.body = make([]byte, n)
	}
	body := sr.body[:n]
	if err := sr.readFull(body, "peer block"); err != nil {
		return nil, err
	}
	crcOff := sr.off
	sum := sr.scratch[:4]
	if err := sr.readFull(sum, "peer block checksum"); err != nil {
		return nil, err
	}
	if binary.LittleEndian.Uint32(sum) != crc32.Checksum(body, castagnoli) && !sr.skipChecksums {
		return nil, sr.fail(crcOff, ErrChecksum, fmt.Sprintf("peer block %d starting at byte %d", sr.count, blockOff))
	}
	e, err := decodePeerBody(body, unparsed, sr.version)
	if err != nil {
		var be *bodyError
		if errors.As(err, &be) {
			return nil, sr.fail(bodyOff+int64(be.at), ErrCorrupt, be.msg)
		}
		return nil, sr.fail(bodyOff, ErrCorrupt, err.Error())
	}
	sr.count++
	return e, nil
}

// readBody reads the length, body and checksum of a block whose kind byte
// was read at blockOff; the body is in the reused buffer.
func (sr *SnapshotReader) readBody(blockOff int64, bound uint64, what string) (body []byte, bodyOff int64, err error) {
	lenOff := sr.off
	n, err := sr.readUvarint(what + " length")
	if err != nil {
		return nil, 0, err
	}
	if n > bound {
		return nil, 0, sr.fail(lenOff, ErrCorrupt, fmt.Sprintf("%s of %d bytes exceeds the bound of %d", what, n, bound))
	}
	bodyOff = sr.off
	if cap(sr.body) < int(n) {
		sr.body = make([]byte, n)
	}
	body = sr.body[:n]
	if err := sr.readFull(body, what); err != nil {
		return nil, 0, err
	}
	crcOff := sr.off
	sum := sr.scratch[:4]
	if err := sr.readFull(sum, what+" checksum"); err != nil {
		return nil, 0, err
	}
	if binary.LittleEndian.Uint32(sum) != crc32.Checksum(body, castagnoli) && !sr.skipChecksums {
		return nil, 0, sr.fail(crcOff, ErrChecksum, fmt.Sprintf("%s %d starting at byte %d", what, sr.count, blockOff))
	}
	return body, bodyOff, nil
}

func (sr *SnapshotReader) readEnd() error {
	countOff := sr.off
	count, err := sr.readUvarint("peer count")
	if err != nil {
		return err
	}
	totalCRC := sr.crc
	crcOff := sr.off
	sum := sr.scratch[:4]
	if err := sr.readFull(sum, "snapshot checksum"); err != nil {
		return err
	}
	if binary.LittleEndian.Uint32(sum) != totalCRC && !sr.skipChecksums {
		return sr.fail(crcOff, ErrChecksum, "whole snapshot")
	}
	if count != sr.count {
		return sr.fail(countOff, ErrCorrupt, fmt.Sprintf("trailer counts %d blocks, the snapshot holds %d", count, sr.count))
	}
	if _, err := sr.r.ReadByte(); err != io.EOF {
		if err != nil {
			return sr.fail(sr.off, ErrCorrupt, "reading past the trailer: "+err.Error())
		}
		return sr.fail(sr.off, ErrCorrupt, "data after the trailer")
	}
	return io.EOF
}

// readFull reads exactly len(p) bytes, counting and checksumming them.
func (sr *SnapshotReader) readFull(p []byte, what string) error {
	n, err := io.ReadFull(sr.r, p)
	sr.crc = crc32.Update(sr.crc, castagnoli, p[:n])
	start := sr.off
	sr.off += int64(n)
	if err != nil {
		if err == io.EOF || err == io.ErrUnexpectedEOF {
			return sr.fail(sr.off, ErrTruncated, fmt.Sprintf("input ends inside the %s that starts at byte %d", what, start))
		}
		return fmt.Errorf("reading snapshot %s at byte %d: %w", what, start, err)
	}
	return nil
}

// readUvarint reads a uvarint byte by byte so that the checksum covers the
// bytes as they are, not a re-encoding.
func (sr *SnapshotReader) readUvarint(what string) (uint64, error) {
	start := sr.off
	var x uint64
	var s uint
	for i := 0; ; i++ {
		if i == binary.MaxVarintLen64 {
			return 0, sr.fail(start, ErrCorrupt, what+" overflows 64 bits")
		}
		b, err := sr.r.ReadByte()
		if err != nil {
			if err == io.EOF {
				return 0, sr.fail(sr.off, ErrTruncated, fmt.Sprintf("input ends inside the %s that starts at byte %d", what, start))
			}
			return 0, fmt.Errorf("reading snapshot %s at byte %d: %w", what, start, err)
		}
		sr.scratch[0] = b
		sr.crc = crc32.Update(sr.crc, castagnoli, sr.scratch[:1])
		sr.off++
		if b < 0x80 {
			if i == binary.MaxVarintLen64-1 && b > 1 {
				return 0, sr.fail(start, ErrCorrupt, what+" overflows 64 bits")
			}
			return x | uint64(b)<<s, nil
		}
		x |= uint64(b&0x7f) << s
		s += 7
	}
}

func (sr *SnapshotReader) fail(off int64, kind error, detail string) error {
	return &SnapshotError{Offset: off, Err: kind, Detail: detail}
}

// bodyError locates a structural problem inside a peer block's body.
type bodyError struct {
	at  int
	msg string
}

func (e *bodyError) Error() string { return e.msg }

// bodyDecoder walks a peer block's body; the first problem sticks.
type bodyDecoder struct {
	b   []byte
	pos int
	err *bodyError
}

func (d *bodyDecoder) fail(at int, format string, args ...any) {
	if d.err == nil {
		d.err = &bodyError{at: at, msg: fmt.Sprintf(format, args...)}
	}
}

func (d *bodyDecoder) uvarint(what string) uint64 {
	if d.err != nil {
		return 0
	}
	v, n := binary.Uvarint(d.b[d.pos:])
	if n <= 0 {
		d.fail(d.pos, "bad %s varint", what)
		return 0
	}
	d.pos += n
	return v
}

func (d *bodyDecoder) varint(what string) int64 {
	if d.err != nil {
		return 0
	}
	v, n := binary.Varint(d.b[d.pos:])
	if n <= 0 {
		d.fail(d.pos, "bad %s varint", what)
		return 0
	}
	d.pos += n
	return v
}

// bytes returns the next length-prefixed field, at most max bytes long. The
// result aliases the body buffer.
func (d *bodyDecoder) bytes(what string, max int) []byte {
	at := d.pos
	n := d.uvarint(what + " length")
	if d.err != nil {
		return nil
	}
	if n > uint64(max) {
		d.fail(at, "%s of %d bytes exceeds the bound of %d", what, n, max)
		return nil
	}
	if n > uint64(len(d.b)-d.pos) {
		d.fail(at, "%s of %d bytes overruns its block", what, n)
		return nil
	}
	p := d.b[d.pos : d.pos+int(n)]
	d.pos += int(n)
	return p
}

func (d *bodyDecoder) oneByte(what string) byte {
	if d.err != nil {
		return 0
	}
	if d.pos >= len(d.b) {
		d.fail(d.pos, "%s overruns its block", what)
		return 0
	}
	v := d.b[d.pos]
	d.pos++
	return v
}

func (d *bodyDecoder) fixed64(what string) uint64 {
	if d.err != nil {
		return 0
	}
	if len(d.b)-d.pos < 8 {
		d.fail(d.pos, "%s overruns its block", what)
		return 0
	}
	v := binary.LittleEndian.Uint64(d.b[d.pos:])
	d.pos += 8
	return v
}

func decodePeerBody(body []byte, unparsed bool, version uint64) (*PeerEntry, error) {
	d := &bodyDecoder{b: body}
	idAt := d.pos
	id := d.bytes("peer ID", MaxSnapshotPeerIDLen)
	if d.err == nil {
		if len(id) == 0 {
			d.fail(idAt, "empty peer ID")
		} else if _, err := peer.IDFromBytes(id); err != nil {
			d.fail(idAt, "invalid peer ID: %v", err)
		}
	}
	e := &PeerEntry{}
	countAt := d.pos
	count := d.uvarint("address count")
	if d.err == nil {
		switch {
		case count > MaxSnapshotAddrsPerPeer:
			d.fail(countAt, "%d addresses exceed the bound of %d", count, MaxSnapshotAddrsPerPeer)
		case count > uint64(len(body)-d.pos)/minAddrLen:
			// Checked before allocating, so a small block cannot
			// claim a large slice.
			d.fail(countAt, "%d addresses cannot fit in the block", count)
		case count > 0:
			e.Addrs = make([]AddrEntry, count)
		}
	}
	for i := range e.Addrs {
		if d.err != nil {
			break
		}
		addrAt := d.pos
		raw := d.bytes("multiaddr", MaxSnapshotAddrLen)
		if d.err != nil {
			break
		}
		if len(raw) == 0 {
			d.fail(addrAt, "address %d is empty", i)
			break
		}
		if unparsed {
			if err := checkMultiaddrShape(raw); err != nil {
				d.fail(addrAt, "address %d is not a valid multiaddr: %v", i, err)
				break
			}
			e.Addrs[i].raw = raw // copied out of the reused buffer below
		} else {
			m, err := ma.NewMultiaddrBytes(raw)
			if err != nil {
				d.fail(addrAt, "address %d is not a valid multiaddr: %v", i, err)
				break
			}
			e.Addrs[i].Addr = m
		}
		e.Addrs[i].TTL = time.Duration(d.varint("TTL"))
		e.Addrs[i].Expires = nanosToTime(int64(d.fixed64("expiry")))
		if version >= snapshotVersionAddrFlags {
			flagsAt := d.pos
			switch flags := d.oneByte("address flags"); {
			case d.err != nil:
			case flags&^addrFlagAfterDisconnect != 0:
				d.fail(flagsAt, "address %d has unknown flags 0x%02x", i, flags)
			case flags&addrFlagAfterDisconnect != 0 && e.Addrs[i].TTL <= 0:
				d.fail(flagsAt, "address %d counts from disconnect with a TTL of %v, not positive", i, e.Addrs[i].TTL)
			default:
				e.Addrs[i].AfterDisconnect = flags&addrFlagAfterDisconnect != 0
			}
		}
	}
	pub := d.bytes("public key", MaxSnapshotPubKeyLen)
	rec := d.bytes("signed record", MaxSnapshotRecordLen)
	if d.err == nil && d.pos != len(body) {
		d.fail(d.pos, "%d unexpected bytes at the end of the peer block", len(body)-d.pos)
	}
	if d.err != nil {
		return nil, d.err
	}
	// Copy out of the reused buffer: one allocation for the ID's string,
	// one shared by the key and the record, and for unparsed addresses one
	// shared by all of them.
	e.ID = peer.ID(string(id))
	if unparsed {
		copyRawAddrs(e.Addrs)
	}
	if len(pub)+len(rec) > 0 {
		buf := make([]byte, len(pub)+len(rec))
		copy(buf, pub)
		copy(buf[len(pub):], rec)
		if len(pub) > 0 {
			e.PubKey = buf[:len(pub):len(pub)]
		}
		if len(rec) > 0 {
			e.Record = buf[len(pub):]
		}
	}
	return e, nil
}

// copyRawAddrs moves the raw addresses out of the reader's reused buffer
// into one allocation.
func copyRawAddrs(addrs []AddrEntry) {
	n := 0
	for i := range addrs {
		n += len(addrs[i].raw)
	}
	if n == 0 {
		return
	}
	buf := make([]byte, 0, n)
	for i := range addrs {
		start := len(buf)
		buf = append(buf, addrs[i].raw...)
		addrs[i].raw = buf[start:len(buf):len(buf)]
	}
}

// checkMultiaddrShape walks a binary multiaddr, checking that every
// protocol code is known and every value has the length its protocol
// allows, without building the multiaddr: what a restore needs to refuse a
// foreign snapshot cheaply. Values are checked in full when parsed.
func checkMultiaddrShape(b []byte) error {
	for len(b) > 0 {
		code, n := binary.Uvarint(b)
		if n <= 0 {
			return errors.New("bad protocol code varint")
		}
		b = b[n:]
		p := ma.ProtocolWithCode(int(code))
		if p.Code == 0 && p.Name == "" {
			return fmt.Errorf("unknown protocol code %d", code)
		}
		var size int
		switch {
		case p.Size > 0:
			size = p.Size / 8
		case p.Size == 0:
			size = 0
		default:
			l, n := binary.Uvarint(b)
			if n <= 0 || l > uint64(len(b)-n) {
				return fmt.Errorf("bad length of a %s value", p.Name)
			}
			b = b[n:]
			size = int(l)
		}
		if size > len(b) {
			return fmt.Errorf("%s value overruns the address", p.Name)
		}
		b = b[size:]
	}
	return nil
}
