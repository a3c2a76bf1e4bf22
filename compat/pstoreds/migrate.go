package pstoreds

import (
	"bytes"
	"context"
	"fmt"
	"slices"
	"time"

	ds "github.com/ipfs/go-datastore"

	"github.com/pstoremigrate/pstoremigrate/compat/internal/legacybooks"
	"github.com/pstoremigrate/pstoremigrate/compat/pstoreds/legacy"
	"github.com/pstoremigrate/pstoremigrate/newstore"
)

// maxReportedErrors bounds MigrationReport.Errors; Skipped counts them all.
const maxReportedErrors = 100

// restoreBatch is how many legacy peers go into one snapshot restored at
// once: large enough to amortise a restore, small enough that a batch
// retried peer by peer (after one bad entry) is cheap.
const restoreBatch = 4096

// MigrationReport is what opening a datastore did to its legacy layout.
type MigrationReport struct {
	// Imported is set when legacy peers were imported at this open.
	Imported bool
	// Peers, PubKeys, Records and Protocols count what was imported:
	// peers, public keys, certified records, and peers with protocols.
	Peers, PubKeys, Records, Protocols int
	// Addrs counts the unexpired addresses imported.
	Addrs int
	// PrivKeysDeleted counts the private key entries deleted.
	PrivKeysDeleted int
	// Skipped counts the legacy entries (or peers) that did not decode or
	// were refused, and were left out; Errors holds the first of them.
	Skipped int
	Errors  []error
	// Warnings say what the open could not do or prove, for an operator
	// to act on: saved peers it could not trust, private key bytes it
	// could not prove gone from the files. Each is logged too.
	Warnings []string
}

func (r MigrationReport) String() string {
	return fmt.Sprintf("imported=%t peers=%d addrs=%d pubkeys=%d records=%d protocols=%d privkeys_deleted=%d skipped=%d warnings=%d",
		r.Imported, r.Peers, r.Addrs, r.PubKeys, r.Records, r.Protocols, r.PrivKeysDeleted, r.Skipped, len(r.Warnings))
}

func (r *MigrationReport) skip(err error) {
	r.Skipped++
	if len(r.Errors) < maxReportedErrors {
		r.Errors = append(r.Errors, err)
	}
}

// migrate imports the legacy layout into s unless that was done before,
// and deletes its private keys in any case: an older node run on the same
// datastore may have written them again.
func migrate(ctx context.Context, d ds.Batching, s *legacybooks.Store) (MigrationReport, error) {
	var r MigrationReport
	done, err := d.Has(ctx, LegacyImportedKey)
	if err != nil {
		return r, fmt.Errorf("reading %s: %w", LegacyImportedKey, err)
	}
	if !done {
		if err := importLegacy(ctx, d, s, &r); err != nil {
			return r, err
		}
	}
	n, err := legacy.DeletePrivKeys(ctx, d)
	if err != nil {
		return r, err
	}
	r.PrivKeysDeleted = n
	if n > 0 {
		if err := d.Sync(ctx, legacy.KeysPrefix); err != nil {
			return r, fmt.Errorf("syncing the deletion of private keys: %w", err)
		}
		// A delete only writes a tombstone: the key stays in the files.
		compactAfterDelete(ctx, d, &r)
	}
	return r, nil
}

func importLegacy(ctx context.Context, d ds.Read, s *legacybooks.Store, r *MigrationReport) error {
	var batch []*newstore.PeerEntry
	now := time.Now()
	flush := func() {
		restoreEntries(s.AddrBook, batch, r)
		batch = batch[:0]
	}
	err := legacy.ReadPeers(ctx, d, func(p *legacy.Peer) error {
		if len(p.Addrs) == 0 && p.PubKey == nil && p.Record == nil && len(p.Protocols) == 0 && len(p.Metadata) == 0 {
			return nil // nothing of it decoded, or only a private key
		}
		r.Imported = true
		e, err := p.Entry()
		if err != nil {
			r.skip(err)
			return nil
		}
		fitSnapshotBounds(e, r)
		r.Addrs += len(p.Unexpired(now))
		batch = append(batch, e)
		if len(batch) == restoreBatch {
			flush()
		}
		importSideBooks(s, p, r)
		return nil
	}, func(e *legacy.EntryError) { r.skip(e) })
	if err != nil {
		return err
	}
	flush()
	return nil
}

// fitSnapshotBounds drops from e what a snapshot cannot hold (the legacy
// store had no such bounds), so that the rest of the peer is imported.
func fitSnapshotBounds(e *newstore.PeerEntry, r *MigrationReport) {
	e.Addrs = slices.DeleteFunc(e.Addrs, func(a newstore.AddrEntry) bool {
		if n := len(a.Addr.Bytes()); n > newstore.MaxSnapshotAddrLen {
			r.skip(fmt.Errorf("legacy peer %s: address of %d bytes, more than the %d a snapshot holds", e.ID, n, newstore.MaxSnapshotAddrLen))
			return true
		}
		return false
	})
	if len(e.Addrs) > newstore.MaxSnapshotAddrsPerPeer {
		// Keep those expiring last: they are the most useful.
		slices.SortFunc(e.Addrs, func(a, b newstore.AddrEntry) int { return b.Expires.Compare(a.Expires) })
		r.skip(fmt.Errorf("legacy peer %s: %d addresses, only the %d expiring last are kept", e.ID, len(e.Addrs), newstore.MaxSnapshotAddrsPerPeer))
		e.Addrs = e.Addrs[:newstore.MaxSnapshotAddrsPerPeer]
	}
	if len(e.Record) > newstore.MaxSnapshotRecordLen {
		r.skip(fmt.Errorf("legacy peer %s: signed record of %d bytes, more than the %d a snapshot holds", e.ID, len(e.Record), newstore.MaxSnapshotRecordLen))
		e.Record = nil
	}
	if len(e.PubKey) > newstore.MaxSnapshotPubKeyLen {
		r.skip(fmt.Errorf("legacy peer %s: public key of %d bytes, more than the %d a snapshot holds", e.ID, len(e.PubKey), newstore.MaxSnapshotPubKeyLen))
		e.PubKey = nil
	}
}

// restoreEntries hands entries to the address book as one snapshot; when
// the book refuses it, it retries them one by one so that one bad peer
// costs only itself.
func restoreEntries(ab *newstore.AddrBook, entries []*newstore.PeerEntry, r *MigrationReport) {
	if len(entries) == 0 {
		return
	}
	if err := restoreSnapshot(ab, entries); err == nil {
		countImported(entries, r)
		return
	}
	for _, e := range entries {
		if err := restoreSnapshot(ab, []*newstore.PeerEntry{e}); err != nil {
			r.skip(fmt.Errorf("legacy peer %s: %w", e.ID, err))
			continue
		}
		countImported([]*newstore.PeerEntry{e}, r)
	}
}

func countImported(entries []*newstore.PeerEntry, r *MigrationReport) {
	for _, e := range entries {
		r.Peers++
		if len(e.PubKey) > 0 {
			r.PubKeys++
		}
		if len(e.Record) > 0 {
			r.Records++
		}
	}
}

func restoreSnapshot(ab *newstore.AddrBook, entries []*newstore.PeerEntry) error {
	var buf bytes.Buffer
	w, err := newstore.NewSnapshotWriter(&buf, time.Now())
	if err != nil {
		return err
	}
	for _, e := range entries {
		if err := w.WritePeer(e); err != nil {
			return err
		}
	}
	if err := w.Close(); err != nil {
		return err
	}
	return ab.Restore(&buf)
}

// importSideBooks keeps what the minimal store does not: protocols and
// metadata live for this run, until identify refreshes them.
func importSideBooks(s *legacybooks.Store, p *legacy.Peer, r *MigrationReport) {
	if len(p.Protocols) > 0 {
		// The cap may be lower than the legacy store's was.
		protos := p.Protocols[:min(len(p.Protocols), s.MaxProtocols())]
		if err := s.SetProtocols(p.ID, protos...); err != nil {
			r.skip(fmt.Errorf("legacy protocols of %s: %w", p.ID, err))
		} else {
			r.Protocols++
		}
	}
	for k, v := range p.Metadata {
		if err := s.Put(p.ID, k, v); err != nil {
			r.skip(fmt.Errorf("legacy metadata of %s: %w", p.ID, err))
		}
	}
}
