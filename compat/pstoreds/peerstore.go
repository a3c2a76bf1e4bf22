package pstoreds

import (
	"context"
	"errors"
	"fmt"
	"sync"

	ds "github.com/ipfs/go-datastore"
	pstore "github.com/libp2p/go-libp2p/core/peerstore"
	logging "github.com/libp2p/go-libp2p/gologshim"

	"github.com/pstoremigrate/pstoremigrate/compat/internal/legacybooks"
	"github.com/pstoremigrate/pstoremigrate/newstore"
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
	persister *newstore.Persister
	report    MigrationReport
	closeOnce sync.Once
	closeErr  error
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
func NewPeerstore(ctx context.Context, store ds.Batching, opts Options) (*Peerstore, error) {
	if store == nil {
		return nil, errors.New("pstoreds: nil datastore")
	}
	ab, err := newstore.New(opts.addrBookOptions()...)
	if err != nil {
		return nil, fmt.Errorf("pstoreds: creating the address book: %w", err)
	}
	ps := &Peerstore{Store: legacybooks.NewStore(ab, opts.MaxProtocols)}
	ps.persister = newstore.NewPersister(ab, newstore.NewDatastoreSink(store, SnapshotPrefix),
		newstore.WithInterval(opts.persistInterval()))

	if err := ps.persister.Load(ctx); err != nil && !errors.Is(err, newstore.ErrNoSnapshot) {
		ab.Close()
		return nil, fmt.Errorf("pstoreds: restoring the peerstore from %s: %w", SnapshotPrefix, err)
	}
	report, err := migrate(ctx, store, ps.Store)
	if err != nil {
		ab.Close()
		return nil, fmt.Errorf("pstoreds: migrating the legacy peerstore: %w", err)
	}
	ps.report = report
	if report.Imported {
		// Save before marking the import done, so that a crash in
		// between imports again rather than loses the peers.
		if err := ps.persister.Save(ctx); err != nil {
			ab.Close()
			return nil, fmt.Errorf("pstoreds: saving the imported peerstore: %w", err)
		}
		if err := store.Put(ctx, LegacyImportedKey, []byte(report.String())); err != nil {
			ab.Close()
			return nil, fmt.Errorf("pstoreds: marking the legacy import done: %w", err)
		}
		if err := store.Sync(ctx, LegacyImportedKey); err != nil {
			ab.Close()
			return nil, fmt.Errorf("pstoreds: syncing the legacy import marker: %w", err)
		}
	}
	if report.Imported || report.PrivKeysDeleted > 0 || report.Skipped > 0 {
		log.Info("migrated legacy peerstore", "report", report.String())
	}
	if report.Skipped > 0 {
		log.Warn("legacy peerstore entries skipped: they did not decode", "count", report.Skipped)
	}
	ps.persister.Start()
	return ps, nil
}

// MigrationReport says what the open imported from a legacy layout and
// deleted from it.
func (ps *Peerstore) MigrationReport() MigrationReport { return ps.report }

// Save writes a snapshot now, besides the periodic ones.
func (ps *Peerstore) Save(ctx context.Context) error { return ps.persister.Save(ctx) }

// Close stops the periodic saves, saves a last time, and stops the address
// book. It does not close the datastore.
func (ps *Peerstore) Close() error {
	ps.closeOnce.Do(func() {
		ps.closeErr = errors.Join(ps.persister.Close(), ps.Store.Close())
	})
	return ps.closeErr
}
