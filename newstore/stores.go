package newstore

import (
	"errors"
	"io"
)

// PeerDataSnapshotter is per-peer data saved in the same snapshot as an
// address book (see Stores); *peerdata.Store is one.
type PeerDataSnapshotter interface {
	// SnapshotData hands each value to save to write, and returns only
	// what stops the whole snapshot (write's errors); a value it cannot
	// save it leaves out and reports on its own.
	SnapshotData(write func(*DataEntry) error) error
	// RestoreData takes the values of a verified snapshot, all of them:
	// it keeps those it persists and reports what it cannot restore.
	RestoreData(entries []DataEntry)
}

// Stores is an address book and the per-peer data saved beside it, as one
// Snapshotter: a Persister of Stores saves both in one snapshot, so they are
// crash-safe together (one file rename, one datastore commit).
//
//	p := newstore.NewPersister(newstore.Stores{Book: ab, Data: []newstore.PeerDataSnapshotter{pd}}, sink)
type Stores struct {
	Book *AddrBook
	Data []PeerDataSnapshotter
}

// Snapshot writes the book, then every value the data stores persist.
func (s Stores) Snapshot(w io.Writer) error {
	if s.Book == nil {
		return errors.New("newstore: snapshot: Stores without an address book")
	}
	return s.Book.snapshot(w, func(sw *SnapshotWriter) error {
		for _, d := range s.Data {
			if err := d.SnapshotData(sw.WriteData); err != nil {
				return err
			}
		}
		return nil
	})
}

// Restore reads a snapshot into the book, as AddrBook.Restore, and, once
// the whole snapshot has been verified and the book restored, hands its
// per-peer values to the data stores. A bad snapshot changes nothing.
func (s Stores) Restore(r io.Reader) error {
	if s.Book == nil {
		return errors.New("newstore: restore: Stores without an address book")
	}
	data, err := s.Book.restore(r)
	if err != nil {
		return err
	}
	for _, d := range s.Data {
		d.RestoreData(data)
	}
	return nil
}
