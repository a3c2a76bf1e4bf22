package datacmd

import (
	"context"
	"errors"
	"fmt"
	"io"

	ds "github.com/ipfs/go-datastore"
	"github.com/libp2p/go-libp2p/core/peer"
	b32 "github.com/multiformats/go-base32"

	"github.com/pstoremigrate/pstoremigrate/compat/pstoreds/legacy"
)

// ScrubOption configures Scrub.
type ScrubOption func(*scrubConfig)

type scrubConfig struct {
	dryRun bool
}

// WithDryRun makes Scrub only list what it would remove. The datastore is
// then opened read-only.
func WithDryRun(dryRun bool) ScrubOption { return func(c *scrubConfig) { c.dryRun = dryRun } }

// ScrubResult is what Scrub removed (or, in a dry run, would remove).
type ScrubResult struct {
	Path    string        `json:"path"`
	Backend Backend       `json:"backend"`
	DryRun  bool          `json:"dry_run"`
	Removed []RemovedPriv `json:"removed"`
	// InFiles counts private keys deleted earlier whose bytes were still in
	// the files; the scrub's compaction removes them.
	InFiles int `json:"deleted_but_in_files"`
	// Compacted tells that the datastore was compacted.
	Compacted bool `json:"compacted"`
}

// RemovedPriv is one private key entry.
type RemovedPriv struct {
	Key string `json:"key"`
	// Peer is the peer the key belonged to, empty when the entry's key
	// does not name a valid peer ID.
	Peer string `json:"peer,omitempty"`
}

// Scrub deletes the private keys that legacy pstoreds stored in clear text
// in the datastore in dir, and nothing else, then compacts the datastore
// so that the deleted values leave its files too. Upstream pstoreds still
// opens the result: only /peers/keys/<peer>/priv entries are removed.
//
// It refuses a datastore held open by a running node (ErrInUse), a
// directory that is not a leveldb or pebble datastore, and a datastore
// that holds no peerstore; in each case nothing is written.
func Scrub(ctx context.Context, dir string, opts ...ScrubOption) (*ScrubResult, error) {
	var cfg scrubConfig
	for _, o := range opts {
		o(&cfg)
	}
	// Look first, read-only: a datastore scrub refuses must not even get
	// the new log files a read-write open creates.
	res, err := withDatastore(dir, true, func(d *Datastore) (*ScrubResult, error) {
		return listPrivKeys(ctx, d, cfg)
	})
	if err != nil {
		return nil, err
	}
	inFiles, err := privKeysInFiles(dir, res.Backend)
	if err != nil {
		return nil, fmt.Errorf("%s datastore %s: %w", res.Backend, dir, err)
	}
	res.InFiles = max(0, len(inFiles)-len(res.Removed))
	// Keys deleted before (by an older scrub, or a compat/pstoreds that
	// could not compact) are gone from the key space but not the files:
	// compact for them too.
	if cfg.dryRun || (len(res.Removed) == 0 && res.InFiles == 0) {
		return res, nil
	}
	res, err = withDatastore(dir, false, func(d *Datastore) (*ScrubResult, error) {
		return deletePrivKeys(ctx, d, res)
	})
	if err != nil {
		return nil, err
	}
	// Claim nothing the files do not show: look again.
	left, err := privKeysInFiles(dir, res.Backend)
	if err != nil {
		return nil, fmt.Errorf("%s datastore %s: checking the files after compaction: %w", res.Backend, dir, err)
	}
	if len(left) > 0 {
		return nil, fmt.Errorf("%s datastore %s: %w: %d private keys are still readable in its files after the compaction", res.Backend, dir, ErrKeysLeftInFiles, len(left))
	}
	return res, nil
}

// ErrKeysLeftInFiles is returned by Scrub when, after deleting and
// compacting, private keys are still readable in the datastore's files.
var ErrKeysLeftInFiles = errors.New("private keys left in the files")

func withDatastore(dir string, readOnly bool, fn func(*Datastore) (*ScrubResult, error)) (*ScrubResult, error) {
	d, err := OpenDatastore(dir, readOnly)
	if err != nil {
		return nil, err
	}
	res, err := fn(d)
	if cerr := d.Close(); err == nil && cerr != nil {
		err = fmt.Errorf("closing %s datastore %s: %w", d.Backend, dir, cerr)
	}
	if err != nil {
		return nil, err
	}
	return res, nil
}

func listPrivKeys(ctx context.Context, d *Datastore, cfg scrubConfig) (*ScrubResult, error) {
	if _, err := DetectLayout(ctx, d); err != nil {
		return nil, fmt.Errorf("%s datastore %s %w", d.Backend, d.Path, err)
	}
	keys, err := legacy.PrivKeyKeys(ctx, d)
	if err != nil {
		return nil, fmt.Errorf("%s datastore %s: %w", d.Backend, d.Path, err)
	}
	res := &ScrubResult{Path: d.Path, Backend: d.Backend, DryRun: cfg.dryRun, Removed: make([]RemovedPriv, 0, len(keys))}
	for _, k := range keys {
		res.Removed = append(res.Removed, RemovedPriv{Key: k.String(), Peer: peerOfKey(k)})
	}
	return res, nil
}

func deletePrivKeys(ctx context.Context, d *Datastore, listed *ScrubResult) (*ScrubResult, error) {
	n, err := legacy.DeletePrivKeys(ctx, d)
	if err != nil {
		return nil, fmt.Errorf("%s datastore %s: %w", d.Backend, d.Path, err)
	}
	if n != len(listed.Removed) {
		// Between the listing and the deletion the datastore was free
		// to change; the list printed must be what was deleted.
		return nil, fmt.Errorf("%s datastore %s: listed %d private keys but deleted %d: another process wrote to it meanwhile", d.Backend, d.Path, len(listed.Removed), n)
	}
	if err := d.Sync(ctx, legacy.KeysPrefix); err != nil {
		return nil, fmt.Errorf("%s datastore %s: syncing the deletions: %w", d.Backend, d.Path, err)
	}
	if err := d.Compact(ctx); err != nil {
		return nil, err
	}
	listed.Compacted = true
	return listed, nil
}

// peerOfKey returns the peer ID a /peers/keys/<b32>/priv key names, or ""
// when it names none.
func peerOfKey(k ds.Key) string {
	ns := k.Namespaces()
	if len(ns) != 4 {
		return ""
	}
	raw, err := b32.RawStdEncoding.DecodeString(ns[2])
	if err != nil {
		return ""
	}
	id, err := peer.IDFromBytes(raw)
	if err != nil {
		return ""
	}
	return id.String()
}

// WriteText writes r for people: one line per private key.
func (r *ScrubResult) WriteText(w io.Writer) error {
	verb := "removed"
	if r.DryRun {
		verb = "would remove"
	}
	for _, k := range r.Removed {
		if k.Peer != "" {
			fmt.Fprintf(w, "%s %s (private key of %s)\n", verb, k.Key, k.Peer)
		} else {
			fmt.Fprintf(w, "%s %s\n", verb, k.Key)
		}
	}
	if _, err := fmt.Fprintf(w, "%s %d private keys from %s datastore %s\n", verb, len(r.Removed), r.Backend, r.Path); err != nil {
		return err
	}
	if r.InFiles > 0 {
		fmt.Fprintf(w, "%d private keys deleted earlier were still readable in the files\n", r.InFiles)
	}
	if r.Compacted {
		_, err := fmt.Fprintf(w, "compacted the datastore, so deleted values leave its files\n")
		return err
	}
	return nil
}
