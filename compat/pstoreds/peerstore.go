package pstoreds

import (
	"context"

	ds "github.com/ipfs/go-datastore"
	pstore "github.com/libp2p/go-libp2p/core/peerstore"
	logging "github.com/libp2p/go-libp2p/gologshim"

	"github.com/pstoremigrate/pstoremigrate/compat/internal/legacybooks"
)

var log = logging.Logger("pstoremigrate/pstoreds")

// Keys this package owns in the datastore, beside the legacy /peers layout.
var (
	// SnapshotPrefix is where the snapshots are kept (see
	// newstore.NewDatastoreSink).
	SnapshotPrefix = ds.NewKey("/pstoremigrate/peerstore/snapshot")
	// LegacyImportedKey marks a datastore whose legacy layout was imported,
	// so that it is imported once, not at every open.
	LegacyImportedKey = ds.NewKey("/pstoremigrate/peerstore/legacy-imported")
)

// Peerstore is a core/peerstore.Peerstore persisted into a datastore.
type Peerstore struct {
	*legacybooks.Store
	ref *viewRef
}

var (
	_ pstore.Peerstore         = (*Peerstore)(nil)
	_ pstore.CertifiedAddrBook = (*Peerstore)(nil)
)

// NewPeerstore opens the peerstore kept in store: it restores the last
// snapshot, imports (once) what upstream pstoreds left there, and starts
// saving periodically. Close saves a last time; store must stay open until
// then, and is not closed by it.
//
// A snapshot that exists but cannot be read is an error, not an empty
// store: starting empty would overwrite it at the next save.
//
// Books and peerstores opened on one datastore share one state (see the
// package doc); opening one on a datastore that is already open with other
// Options is an error.
func NewPeerstore(ctx context.Context, store ds.Batching, opts Options) (*Peerstore, error) {
	s, err := acquire(ctx, store, opts, "NewPeerstore", true, true)
	if err != nil {
		return nil, err
	}
	return &Peerstore{Store: s.store, ref: &viewRef{state: s}}, nil
}

// MigrationReport says what opening the datastore imported from a legacy
// layout and deleted from it (at the open that found it, when several
// views share the datastore).
func (ps *Peerstore) MigrationReport() MigrationReport { return ps.ref.state.report }

// Save writes a snapshot now, besides the periodic ones.
func (ps *Peerstore) Save(ctx context.Context) error { return ps.ref.state.persister.Save(ctx) }

// Close releases the datastore. When no other book or peerstore on it is
// open, it stops the periodic saves, saves a last time, and stops the
// address book. It does not close the datastore.
func (ps *Peerstore) Close() error { return ps.ref.close() }
