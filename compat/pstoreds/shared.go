package pstoreds

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"time"

	ds "github.com/ipfs/go-datastore"

	"github.com/pstoremigrate/pstoremigrate/compat/internal/legacybooks"
	"github.com/pstoremigrate/pstoremigrate/newstore"
)

// sharedState is everything kept for one datastore: the books, the
// persister that saves them there as one snapshot, and what opening it
// migrated. Every Peerstore and separate book opened on that datastore is a
// view of it, so that none saves over what another holds.
type sharedState struct {
	store     *legacybooks.Store
	persister *newstore.Persister
	report    MigrationReport
	cfg       stateConfig

	// Guarded by states.mu.
	key  any // nil when the datastore cannot be a map key
	refs int
}

// stateConfig is what of Options the shared state is built with. Options
// are fixed at the first open; a later open of the same datastore that
// needs other ones is refused (see checkConfig).
type stateConfig struct {
	clock           newstore.Clock
	maxAddrsPerPeer int
	maxProtocols    int
	persistInterval time.Duration
	openedBy        string
}

func configOf(opts Options, openedBy string) stateConfig {
	return stateConfig{
		clock:           opts.Clock,
		maxAddrsPerPeer: opts.MaxAddrsPerPeer,
		maxProtocols:    opts.MaxProtocols,
		persistInterval: opts.persistInterval(),
		openedBy:        openedBy,
	}
}

// checkConfig refuses to hand a state to an opener that needs other address
// book settings (or, for NewPeerstore, another protocol cap) than it was
// built with: silently using the first ones would be a surprise, and the
// address book cannot change them once built. The key and metadata books
// use none of them and are never refused, as upstream ignores their
// Options.
func (s *sharedState) checkConfig(want stateConfig, protocols bool) error {
	have := s.cfg
	var diff []string
	if !sameClock(have.clock, want.clock) {
		diff = append(diff, "Clock")
	}
	if have.maxAddrsPerPeer != want.maxAddrsPerPeer {
		diff = append(diff, "MaxAddrsPerPeer")
	}
	if have.persistInterval != want.persistInterval {
		diff = append(diff, "PersistInterval")
	}
	if protocols && have.maxProtocols != want.maxProtocols {
		diff = append(diff, "MaxProtocols")
	}
	if len(diff) == 0 {
		return nil
	}
	return fmt.Errorf("pstoreds: %s: the datastore is already open (first by %s) with other %v; every open of one datastore must pass the same ones (open the AddrBook first when assembling books)",
		want.openedBy, have.openedBy, diff)
}

// sameClock compares clocks without panicking on one whose dynamic type is
// not comparable (such clocks are never the same).
func sameClock(a, b newstore.Clock) (same bool) {
	defer func() {
		if recover() != nil {
			same = false
		}
	}()
	return a == b
}

// states holds the open shared states by datastore. The lock is held while
// a state is opened or closed, so that a reopen never reads a snapshot
// older than the last close wrote.
var states = struct {
	sync.Mutex
	m map[any]*sharedState
}{m: make(map[any]*sharedState)}

// acquire returns the shared state of d, opening it (restore, legacy
// migration, periodic saves) if no view of d is open. checkOpts says
// whether opts must match an already open state's (see checkConfig), and
// protocols whether MaxProtocols counts.
func acquire(ctx context.Context, d ds.Batching, opts Options, openedBy string, checkOpts, protocols bool) (*sharedState, error) {
	if d == nil {
		return nil, fmt.Errorf("pstoreds: %s: nil datastore", openedBy)
	}
	cfg := configOf(opts, openedBy)
	key, shareable := mapKey(d)
	states.Lock()
	defer states.Unlock()
	if shareable {
		if s := states.m[key]; s != nil {
			if checkOpts {
				if err := s.checkConfig(cfg, protocols); err != nil {
					return nil, err
				}
			}
			s.refs++
			return s, nil
		}
	}
	s, err := openState(ctx, d, opts, cfg)
	if err != nil {
		return nil, err
	}
	s.refs = 1
	if shareable {
		s.key = key
		states.m[key] = s
	}
	return s, nil
}

// mapKey returns d as a key of states. A datastore whose dynamic type is
// not comparable (no datastore we know of) cannot be shared: each open of
// it gets a state of its own, as before books could share one.
func mapKey(d ds.Datastore) (key any, ok bool) {
	defer func() {
		if recover() != nil {
			key, ok = nil, false
		}
	}()
	probe := map[any]struct{}{}
	probe[d] = struct{}{} // panics if d cannot be hashed
	return d, true
}

// release drops one view of s. The last one saves s a last time and stops
// its background work.
func (s *sharedState) release() error {
	states.Lock()
	defer states.Unlock()
	s.refs--
	if s.refs > 0 {
		return nil
	}
	if s.key != nil {
		delete(states.m, s.key)
	}
	return errors.Join(s.persister.Close(), s.store.Close())
}

// openState builds the state of d: it restores the last snapshot, imports
// (once) what upstream pstoreds left there, deletes the private keys it
// wrote, and starts saving periodically.
//
// A snapshot that exists but cannot be read is an error, not an empty
// store: starting empty would overwrite it at the next save.
func openState(ctx context.Context, d ds.Batching, opts Options, cfg stateConfig) (*sharedState, error) {
	ab, err := newstore.New(opts.addrBookOptions()...)
	if err != nil {
		return nil, fmt.Errorf("pstoreds: creating the address book: %w", err)
	}
	s := &sharedState{store: legacybooks.NewStore(ab, opts.MaxProtocols), cfg: cfg}
	s.persister = newstore.NewPersister(ab, newstore.NewDatastoreSink(d, SnapshotPrefix),
		newstore.WithInterval(opts.persistInterval()))

	loadErr := s.persister.Load(ctx)
	if loadErr != nil && !errors.Is(loadErr, newstore.ErrNoSnapshot) {
		ab.Close()
		return nil, fmt.Errorf("pstoreds: restoring the peerstore from %s: %w", SnapshotPrefix, loadErr)
	}
	report, err := migrate(ctx, d, s.store)
	if err != nil {
		ab.Close()
		return nil, fmt.Errorf("pstoreds: migrating the legacy peerstore: %w", err)
	}
	if errors.Is(loadErr, newstore.ErrUncommittedSnapshot) {
		// Opening empty without a word would look like a fresh node.
		report.Warnings = append(report.Warnings, fmt.Sprintf("opened without the saved peers: %v", loadErr))
	}
	s.report = report
	if report.Imported {
		// Save before marking the import done, so that a crash in
		// between imports again rather than loses the peers.
		if err := s.persister.Save(ctx); err != nil {
			ab.Close()
			return nil, fmt.Errorf("pstoreds: saving the imported peerstore: %w", err)
		}
		if err := d.Put(ctx, LegacyImportedKey, []byte(report.String())); err != nil {
			ab.Close()
			return nil, fmt.Errorf("pstoreds: marking the legacy import done: %w", err)
		}
		if err := d.Sync(ctx, LegacyImportedKey); err != nil {
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
	for _, w := range report.Warnings {
		log.Warn(w)
	}
	s.persister.Start()
	return s, nil
}

// batching lets the key and metadata books, which upstream opens on a
// plain ds.Datastore, share the state of a datastore that does not batch:
// the snapshot sink writes through a basic batch instead.
type batching struct{ ds.Datastore }

func (b batching) Batch(context.Context) (ds.Batch, error) {
	return ds.NewBasicBatch(b.Datastore), nil
}

// asBatching returns d as a ds.Batching: itself when it batches, else
// wrapped. A wrapper compares equal to another of the same d, so books
// opened on one non-batching datastore still share its state.
func asBatching(d ds.Datastore) ds.Batching {
	if b, ok := d.(ds.Batching); ok {
		return b
	}
	if d == nil {
		return nil
	}
	return batching{d}
}

// viewRef is one view's hold on a shared state; Close releases it once.
type viewRef struct {
	state *sharedState
	once  sync.Once
	err   error
}

func (r *viewRef) close() error {
	r.once.Do(func() { r.err = r.state.release() })
	return r.err
}
