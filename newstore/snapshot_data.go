package newstore

import (
	"encoding/binary"
	"errors"
	"fmt"
	"hash/crc32"
	"time"

	"github.com/libp2p/go-libp2p/core/peer"
)

// DataEntry is one persisted per-peer value as it crosses a snapshot (see
// newstore/peerdata's Persist): opaque bytes under a name, never a private
// key.
type DataEntry struct {
	Peer peer.ID
	// Name is the persisted name of the value's key.
	Name string
	// TTL is the value's ttlAfterDisconnect.
	TTL time.Duration
	// Remaining is what was left of TTL when the snapshot was taken: TTL
	// for a peer connected then. A restore gives the value this much from
	// the restore, as if the peer had just disconnected.
	Remaining time.Duration
	// Value is the codec's encoding of the value.
	Value []byte
}

// Bounds on data blocks, so a hostile snapshot cannot make the reader hold
// more than MaxSnapshotData bytes of values.
const (
	// MaxSnapshotDataNameLen bounds a persisted key's name.
	MaxSnapshotDataNameLen = 256
	// MaxSnapshotDataValueLen bounds one encoded value.
	MaxSnapshotDataValueLen = 64 << 10
	// MaxSnapshotData bounds the encoded values of one snapshot together.
	MaxSnapshotData = 256 << 20
)

const (
	blockData = 'D'
	// snapshotVersionData is the first version with data blocks.
	snapshotVersionData = 2

	maxDataBody = 4*binary.MaxVarintLen64 + MaxSnapshotPeerIDLen + MaxSnapshotDataNameLen +
		binary.MaxVarintLen64 + MaxSnapshotDataValueLen
)

// WriteData appends one per-peer value. An entry the reader would reject
// (an invalid peer ID, an empty or long name, a field out of bounds) is
// refused with an error wrapping ErrInvalidEntry and nothing is written:
// the snapshot stays usable. Any other error is the writer's, and final.
func (sw *SnapshotWriter) WriteData(e *DataEntry) error {
	if sw.err != nil {
		return sw.err
	}
	if e == nil {
		return errors.New("snapshot data entry is nil")
	}
	if err := checkDataEntry(e); err != nil {
		return fmt.Errorf("%w: %v", ErrInvalidEntry, err)
	}
	b := sw.body[:0]
	b = binary.AppendUvarint(b, uint64(len(e.Peer)))
	b = append(b, e.Peer...)
	b = binary.AppendUvarint(b, uint64(len(e.Name)))
	b = append(b, e.Name...)
	b = binary.AppendVarint(b, int64(e.TTL))
	b = binary.AppendVarint(b, int64(e.Remaining))
	b = binary.AppendUvarint(b, uint64(len(e.Value)))
	b = append(b, e.Value...)
	sw.body = b
	sw.head[0] = blockData
	n := 1 + binary.PutUvarint(sw.head[1:], uint64(len(b)))
	binary.LittleEndian.PutUint32(sw.tail[:], crc32.Checksum(b, castagnoli))
	for _, part := range [][]byte{sw.head[:n], b, sw.tail[:]} {
		if err := sw.write(part); err != nil {
			return err
		}
	}
	sw.count++
	return nil
}

func checkDataEntry(e *DataEntry) error {
	switch {
	case e.Peer == "" || len(e.Peer) > MaxSnapshotPeerIDLen:
		return fmt.Errorf("snapshot data entry: peer ID of %d bytes, want 1 to %d", len(e.Peer), MaxSnapshotPeerIDLen)
	case e.Name == "" || len(e.Name) > MaxSnapshotDataNameLen:
		return fmt.Errorf("snapshot data entry of peer %s: name of %d bytes, want 1 to %d", e.Peer, len(e.Name), MaxSnapshotDataNameLen)
	case e.TTL < 0 || e.Remaining < 0 || e.Remaining > e.TTL:
		return fmt.Errorf("snapshot data entry %q of peer %s: remaining %v of TTL %v is out of range", e.Name, e.Peer, e.Remaining, e.TTL)
	case len(e.Value) > MaxSnapshotDataValueLen:
		return fmt.Errorf("snapshot data entry %q of peer %s: value of %d bytes exceeds the bound of %d", e.Name, e.Peer, len(e.Value), MaxSnapshotDataValueLen)
	}
	if err := e.Peer.Validate(); err != nil {
		return fmt.Errorf("snapshot data entry %q: invalid peer ID: %w", e.Name, err)
	}
	if _, err := peer.IDFromBytes([]byte(e.Peer)); err != nil {
		return fmt.Errorf("snapshot data entry %q: invalid peer ID: %w", e.Name, err)
	}
	return nil
}

// Data returns the per-peer values read so far; once Next has returned
// io.EOF, all of the snapshot's, verified.
func (sr *SnapshotReader) Data() []DataEntry { return sr.data }

func (sr *SnapshotReader) readData(blockOff int64) error {
	body, bodyOff, err := sr.readBody(blockOff, maxDataBody, "data block")
	if err != nil {
		return err
	}
	d := &bodyDecoder{b: body}
	id := d.bytes("peer ID", MaxSnapshotPeerIDLen)
	name := d.bytes("name", MaxSnapshotDataNameLen)
	ttl := d.varint("TTL")
	remaining := d.varint("remaining TTL")
	value := d.bytes("value", MaxSnapshotDataValueLen)
	if d.err == nil && d.pos != len(body) {
		d.fail(d.pos, "%d unexpected bytes at the end of the data block", len(body)-d.pos)
	}
	e := DataEntry{Peer: peer.ID(id), Name: string(name), TTL: time.Duration(ttl), Remaining: time.Duration(remaining)}
	if d.err == nil {
		if err := checkDataEntry(&e); err != nil {
			d.fail(0, "%v", err)
		}
	}
	if d.err != nil {
		return sr.fail(bodyOff+int64(d.err.at), ErrCorrupt, d.err.msg)
	}
	if sr.dataBytes += len(value); sr.dataBytes > MaxSnapshotData {
		return sr.fail(bodyOff, ErrCorrupt, fmt.Sprintf("data blocks hold more than %d bytes of values", MaxSnapshotData))
	}
	// Copy out of the reused buffer: the ID and name as strings, the value.
	e.Peer, e.Name = peer.ID(string(id)), string(name)
	e.Value = append([]byte(nil), value...)
	sr.data = append(sr.data, e)
	sr.count++
	return nil
}
