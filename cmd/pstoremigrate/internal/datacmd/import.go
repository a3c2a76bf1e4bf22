package datacmd

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"time"

	ds "github.com/ipfs/go-datastore"
	"github.com/ipfs/go-datastore/query"

	"github.com/pstoremigrate/pstoremigrate/compat/pstoreds"
	"github.com/pstoremigrate/pstoremigrate/compat/pstoreds/legacy"
	"github.com/pstoremigrate/pstoremigrate/newstore"
)

// Format is what Import writes.
type Format string

// The formats Import writes.
const (
	// FormatAuto writes a datastore of the source's backend when the
	// destination is an existing (empty) directory or ends in a path
	// separator, a snapshot file otherwise.
	FormatAuto Format = ""
	// FormatSnapshot writes a newstore snapshot file, what
	// newstore.NewFileSink loads.
	FormatSnapshot Format = "snapshot"
	// FormatLevelDB and FormatPebble write a new datastore in the
	// compat/pstoreds layout, what compat/pstoreds.NewPeerstore opens.
	FormatLevelDB Format = "leveldb"
	FormatPebble  Format = "pebble"
)

// ParseFormat parses the name of a format ("" is FormatAuto).
func ParseFormat(s string) (Format, error) {
	switch f := Format(s); f {
	case FormatAuto, FormatSnapshot, FormatLevelDB, FormatPebble:
		return f, nil
	}
	return "", fmt.Errorf("unknown format %q: want snapshot, leveldb or pebble", s)
}

// ImportOption configures Import.
type ImportOption func(*importConfig)

type importConfig struct {
	format      Format
	skipCorrupt bool
	progress    Progress
	batchPeers  int
	now         func() time.Time
}

// WithFormat sets what Import writes; FormatAuto by default.
func WithFormat(f Format) ImportOption { return func(c *importConfig) { c.format = f } }

// WithSkipCorrupt makes Import leave out the legacy entries that do not
// decode, and say so in its summary, instead of refusing the datastore.
func WithSkipCorrupt(skip bool) ImportOption {
	return func(c *importConfig) { c.skipCorrupt = skip }
}

// WithProgress reports Import's progress, in legacy entries read, to p.
func WithProgress(p Progress) ImportOption {
	return func(c *importConfig) {
		if p != nil {
			c.progress = p
		}
	}
}

// ImportSummary is what Import did.
type ImportSummary struct {
	From   string `json:"from"`
	To     string `json:"to"`
	Format Format `json:"format"`
	// Imported counts what the destination holds.
	Imported Counts `json:"imported"`
	// Skipped says which peers, addresses and entries were left out and
	// why; Errors lists the first undecodable entries.
	Skipped []Skip   `json:"skipped,omitempty"`
	Errors  []string `json:"errors,omitempty"`
	// Left counts what the minimal store does not carry over and stays
	// in the source only.
	Left Left `json:"left"`
}

// Skip is one reason something was left out, and how many times.
type Skip struct {
	Reason string `json:"reason"`
	Count  int    `json:"count"`
}

// Left is what an import leaves behind by design.
type Left struct {
	// ExpiredAddrs are dropped: nobody can dial them.
	ExpiredAddrs int `json:"expired_addrs"`
	// PeersWithProtocols and MetadataValues are not part of the minimal
	// store: identify reports them again on the next connection.
	PeersWithProtocols int `json:"peers_with_protocols"`
	MetadataValues     int `json:"metadata_values"`
	// PrivKeys are never imported; they stay in the source until it is
	// scrubbed.
	PrivKeys int `json:"private_keys"`
}

// The reasons an import skips something.
const (
	skipCorrupt     = "entries that do not decode"
	skipPrivOnly    = "peers with only a private key (nothing to import)"
	skipNothingLeft = "peers with nothing importable (no live address, public key or signed record)"
	skipOverCap     = "addresses over the snapshot's per-peer bound (those expiring first)"
)

func (s *ImportSummary) skip(reason string, n int) {
	if n == 0 {
		return
	}
	i := slices.IndexFunc(s.Skipped, func(k Skip) bool { return k.Reason == reason })
	if i < 0 {
		s.Skipped = append(s.Skipped, Skip{Reason: reason})
		i = len(s.Skipped) - 1
	}
	s.Skipped[i].Count += n
}

// Import converts the legacy pstoreds datastore in the directory from into
// a snapshot file or a new compat/pstoreds datastore at to.
//
// It streams: the source is read in batches of peers and each peer is
// written out as soon as it is decoded, so memory does not grow with the
// datastore. The source is opened read-only and is not changed (scrub it
// afterwards). The destination must not exist (an empty directory is
// accepted for a datastore); on any failure what was written of it is
// removed. A legacy entry that does not decode fails the import unless
// WithSkipCorrupt is given.
func Import(ctx context.Context, from, to string, opts ...ImportOption) (_ *ImportSummary, err error) {
	cfg := importConfig{progress: noProgress{}, batchPeers: defaultBatchPeers, now: time.Now}
	for _, o := range opts {
		o(&cfg)
	}
	if same, err := samePath(from, to); err != nil {
		return nil, err
	} else if same {
		return nil, fmt.Errorf("source and destination are both %s: import writes a new snapshot or datastore; compat/pstoreds converts a datastore in place when it opens it", from)
	}
	src, err := OpenDatastore(from, true)
	if err != nil {
		return nil, err
	}
	defer src.Close()
	layout, err := DetectLayout(ctx, src)
	if err != nil {
		return nil, fmt.Errorf("%s datastore %s %w", src.Backend, from, err)
	}
	if !layout.Legacy {
		return nil, fmt.Errorf("%s datastore %s holds the compat/pstoreds layout only, no legacy pstoreds entries to import: compat/pstoreds opens it as it is", src.Backend, from)
	}
	format, err := destination(to, cfg.format, src.Backend)
	if err != nil {
		return nil, err
	}
	sum := &ImportSummary{From: from, To: to, Format: format}

	var total int64
	if _, quiet := cfg.progress.(noProgress); !quiet {
		if total, err = countLegacyEntries(ctx, src); err != nil {
			return nil, err
		}
	}
	// The source's faults are reported as such, not as a failure to
	// write the destination that the sinks would wrap them in.
	var sourceErr error
	write := func(w io.Writer) error {
		cfg.progress.Start("importing "+from, total)
		defer cfg.progress.Finish()
		err := writeSnapshot(ctx, src, w, &cfg, sum)
		if errors.Is(err, ErrCorruptEntries) {
			sourceErr = err
		}
		return err
	}

	if format == FormatSnapshot {
		if err := newstore.NewFileSink(to).Save(ctx, write); err != nil {
			if sourceErr != nil {
				return nil, fmt.Errorf("%s datastore %s: %w", src.Backend, from, sourceErr)
			}
			return nil, fmt.Errorf("importing %s into snapshot %s: %w", from, to, err)
		}
		return sum, nil
	}

	// A new datastore: remove it again if anything fails, so that a
	// failed import leaves nothing a node could mistake for its store.
	existed := false
	if _, err := os.Stat(to); err == nil {
		existed = true
	}
	defer func() {
		if err != nil {
			removeWritten(to, existed)
		}
	}()
	dst, err := createDatastore(to, Backend(format))
	if err != nil {
		return nil, err
	}
	err = newstore.NewDatastoreSink(dst, pstoreds.SnapshotPrefix).Save(ctx, write)
	if cerr := dst.Close(); err == nil && cerr != nil {
		err = fmt.Errorf("closing %s datastore %s: %w", dst.Backend, to, cerr)
	}
	if err != nil {
		if sourceErr != nil {
			return nil, fmt.Errorf("%s datastore %s: %w", src.Backend, from, sourceErr)
		}
		return nil, fmt.Errorf("importing %s into %s datastore %s: %w", from, format, to, err)
	}
	return sum, nil
}

// writeSnapshot streams the legacy peers of src into one snapshot on w.
func writeSnapshot(ctx context.Context, src ds.Read, w io.Writer, cfg *importConfig, sum *ImportSummary) error {
	now := cfg.now()
	ew := &errWriter{w: w}
	sw, err := newstore.NewSnapshotWriter(ew, now)
	if err != nil {
		return err
	}
	var firstCorrupt *legacy.EntryError
	corruptErr := func() error {
		if firstCorrupt == nil || cfg.skipCorrupt {
			return nil
		}
		return fmt.Errorf("%w (the first: %v); nothing was written: run 'pstoremigrate data inspect %s' to list them, or import with -skip-corrupt to leave them out",
			ErrCorruptEntries, firstCorrupt, sum.From)
	}
	bp := &batchedProgress{p: cfg.progress}
	// Metadata is not carried over: count it by key instead of decoding
	// it (gob costs a fifth of an import), so that it cannot fail the
	// import either.
	metaPrefix := legacy.MetadataPrefix.String() + "/"
	var protocolSets, metadataValues int
	onEntry := func(key string) bool {
		bp.step()
		rest, ok := strings.CutPrefix(key, metaPrefix)
		if !ok {
			return true
		}
		if strings.HasSuffix(rest, "/protocols") {
			protocolSets++
		} else {
			metadataValues++
		}
		return false
	}
	err = streamLegacy(ctx, src, cfg.batchPeers, onEntry, func(p *legacy.Peer) error {
		if err := corruptErr(); err != nil {
			return err
		}
		return writePeer(sw, ew, p, now, sum)
	}, func(e *legacy.EntryError) {
		if firstCorrupt == nil {
			firstCorrupt = e
		}
		if len(sum.Errors) < maxListedErrors {
			sum.Errors = append(sum.Errors, e.Error())
		}
		sum.skip(skipCorrupt, 1)
	})
	bp.flush()
	sum.Left.PeersWithProtocols += protocolSets
	sum.Left.MetadataValues += metadataValues
	if err != nil {
		return err
	}
	if err := corruptErr(); err != nil {
		return err
	}
	return sw.Close()
}

func writePeer(sw *newstore.SnapshotWriter, ew *errWriter, p *legacy.Peer, now time.Time, sum *ImportSummary) error {
	if p.HasPrivKey {
		sum.Left.PrivKeys++
	}
	all := len(p.Addrs)
	p.Addrs = p.Unexpired(now)
	sum.Left.ExpiredAddrs += all - len(p.Addrs)
	if len(p.Addrs) == 0 && p.PubKey == nil && p.Record == nil {
		if p.HasPrivKey && all == 0 {
			sum.skip(skipPrivOnly, 1)
		} else {
			sum.skip(skipNothingLeft, 1)
		}
		return nil
	}
	e, err := p.Entry()
	if err != nil {
		sum.skip(err.Error(), 1)
		return nil
	}
	if over := len(e.Addrs) - newstore.MaxSnapshotAddrsPerPeer; over > 0 {
		// Keep those expiring last: they are the most useful.
		slices.SortFunc(e.Addrs, func(a, b newstore.AddrEntry) int { return b.Expires.Compare(a.Expires) })
		e.Addrs = e.Addrs[:newstore.MaxSnapshotAddrsPerPeer]
		sum.skip(skipOverCap, over)
	}
	if err := sw.WritePeer(e); err != nil {
		if ew.err != nil {
			return err // the destination failed, not the entry
		}
		sum.skip(fmt.Sprintf("peers the snapshot refuses: %v", err), 1)
		return nil
	}
	sum.Imported.Peers++
	sum.Imported.AddrsLive += len(e.Addrs)
	if len(e.PubKey) > 0 {
		sum.Imported.PubKeys++
	}
	if len(e.Record) > 0 {
		sum.Imported.Records++
	}
	return nil
}

// errWriter remembers the first error of w, to tell a failing destination
// from an entry the snapshot writer refuses.
type errWriter struct {
	w   io.Writer
	err error
}

func (e *errWriter) Write(p []byte) (int, error) {
	n, err := e.w.Write(p)
	if err != nil && e.err == nil {
		e.err = err
	}
	return n, err
}

// destination checks that to can be written in the requested format, and
// resolves FormatAuto.
func destination(to string, f Format, srcBackend Backend) (Format, error) {
	fi, statErr := os.Stat(to)
	exists := statErr == nil
	if statErr != nil && !errors.Is(statErr, fs.ErrNotExist) {
		return "", fmt.Errorf("destination %s: %w", to, statErr)
	}
	if f == FormatAuto {
		f = FormatSnapshot
		// "new/" names a directory as surely as an existing one does.
		if (exists && fi.IsDir()) || strings.HasSuffix(to, string(filepath.Separator)) {
			f = Format(srcBackend)
		}
	}
	if f == FormatSnapshot {
		if exists {
			if fi.IsDir() {
				return "", fmt.Errorf("destination %s is a directory; a snapshot is a file (or use -format leveldb|pebble for a datastore)", to)
			}
			return "", fmt.Errorf("destination %s already exists; import does not overwrite it", to)
		}
		return f, checkWritableDir(parentDir(to))
	}
	if exists {
		if !fi.IsDir() {
			return "", fmt.Errorf("destination %s is a file; a datastore is a directory", to)
		}
		entries, err := os.ReadDir(to)
		if err != nil {
			return "", fmt.Errorf("destination %s: %w", to, err)
		}
		if len(entries) > 0 {
			return "", fmt.Errorf("destination %s is not empty; import writes a new datastore only", to)
		}
		return f, checkWritableDir(to)
	}
	return f, checkWritableDir(parentDir(to))
}

// removeWritten removes a failed import's datastore: all of it when
// Import created the directory, its content when the directory was there
// (empty) before.
func removeWritten(dir string, existed bool) {
	if !existed {
		os.RemoveAll(dir)
		return
	}
	entries, _ := os.ReadDir(dir)
	for _, e := range entries {
		os.RemoveAll(filepath.Join(dir, e.Name()))
	}
}

func samePath(a, b string) (bool, error) {
	aa, err := filepath.Abs(a)
	if err != nil {
		return false, err
	}
	bb, err := filepath.Abs(b)
	if err != nil {
		return false, err
	}
	return aa == bb, nil
}

// countLegacyEntries counts the entries streamLegacy will read, for the
// progress bar's total.
func countLegacyEntries(ctx context.Context, d ds.Read) (int64, error) {
	var n int64
	for _, ns := range legacyNamespaces {
		res, err := d.Query(ctx, query.Query{Prefix: ns.String(), KeysOnly: true})
		if err != nil {
			return 0, fmt.Errorf("counting entries under %s: %w", ns, err)
		}
		for r := range res.Next() {
			if r.Error != nil {
				res.Close()
				return 0, fmt.Errorf("counting entries under %s: %w", ns, r.Error)
			}
			n++
		}
		res.Close()
	}
	return n, nil
}

// WriteText writes s for people.
func (s *ImportSummary) WriteText(w io.Writer) error {
	fmt.Fprintf(w, "imported %s into %s (%s)\n", s.From, s.To, s.Format)
	fmt.Fprintf(w, "  peers %d, live addresses %d, public keys %d, signed peer records %d\n",
		s.Imported.Peers, s.Imported.AddrsLive, s.Imported.PubKeys, s.Imported.Records)
	if len(s.Skipped) == 0 {
		fmt.Fprintf(w, "skipped nothing\n")
	} else {
		fmt.Fprintf(w, "skipped:\n")
		skipped := slices.Clone(s.Skipped)
		slices.SortFunc(skipped, func(a, b Skip) int { return cmp.Compare(b.Count, a.Count) })
		for _, k := range skipped {
			fmt.Fprintf(w, "  %d %s\n", k.Count, k.Reason)
		}
		for _, e := range s.Errors {
			fmt.Fprintf(w, "    %s\n", e)
		}
	}
	fmt.Fprintf(w, "left behind (not part of the new store):\n")
	fmt.Fprintf(w, "  %d expired addresses\n", s.Left.ExpiredAddrs)
	fmt.Fprintf(w, "  protocols of %d peers and %d other metadata values: identify reports them again\n",
		s.Left.PeersWithProtocols, s.Left.MetadataValues)
	_, err := fmt.Fprintf(w, "  %d private keys, still in clear text in %s: run 'pstoremigrate data scrub %s'\n",
		s.Left.PrivKeys, s.From, s.From)
	return err
}
