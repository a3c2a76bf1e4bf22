package datacmd

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"slices"
	"text/tabwriter"
	"time"

	ds "github.com/ipfs/go-datastore"
	pstore "github.com/libp2p/go-libp2p/core/peerstore"
	"github.com/libp2p/go-libp2p/core/protocol"

	"github.com/pstoremigrate/pstoremigrate/compat/pstoreds"
	"github.com/pstoremigrate/pstoremigrate/compat/pstoreds/legacy"
	"github.com/pstoremigrate/pstoremigrate/newstore"
)

// maxListedErrors bounds the undecodable entries a report or summary
// lists; the counts are always complete.
const maxListedErrors = 20

// maxTrackedProtocols bounds the distinct protocols a report counts peers
// for, so that a hostile datastore cannot grow the report without bound.
const maxTrackedProtocols = 4096

// ErrCorruptEntries means some entries of a legacy datastore do not decode.
var ErrCorruptEntries = errors.New("entries that do not decode")

// Report is what Inspect found at a path.
type Report struct {
	Path string `json:"path"`
	// Kind is "snapshot" (a snapshot file) or "datastore".
	Kind    string  `json:"kind"`
	Backend Backend `json:"backend,omitempty"`
	// Layout is the datastore's layout (see Layout.String).
	Layout string `json:"layout,omitempty"`
	// Legacy describes the legacy pstoreds entries, when there are any.
	Legacy *LegacyReport `json:"legacy,omitempty"`
	// Snapshot describes the snapshot file, or the compat/pstoreds
	// snapshot of the datastore.
	Snapshot *SnapshotReport `json:"snapshot,omitempty"`
}

// Counts are what a peerstore holds. Addresses are live or expired as of
// the inspection. PubKeys counts the stored public keys (the keys that
// Ed25519 and secp256k1 peer IDs inline need none).
type Counts struct {
	Peers        int `json:"peers"`
	AddrsLive    int `json:"addrs_live"`
	AddrsExpired int `json:"addrs_expired"`
	PubKeys      int `json:"public_keys"`
	Records      int `json:"signed_records"`
}

// LegacyReport is the content of a legacy pstoreds layout.
type LegacyReport struct {
	Counts
	// PrivKeys counts the private keys stored in clear text.
	PrivKeys int `json:"private_keys_in_clear_text"`
	// PrivKeysInFiles counts the private keys deleted from the key space
	// whose bytes are still readable in the datastore's files (until a
	// compaction): its tables read entry by entry, its other files raw.
	PrivKeysInFiles int `json:"private_keys_deleted_but_in_files"`
	// PeersWithProtocols counts the peers with a stored protocol set;
	// Protocols says how many peers advertised each protocol.
	PeersWithProtocols int                 `json:"peers_with_protocols"`
	Protocols          map[protocol.ID]int `json:"protocols,omitempty"`
	// Metadata counts the other metadata values (agent versions...).
	Metadata int `json:"metadata_values"`
	// Corrupt counts the entries that do not decode; Errors lists the
	// first of them.
	Corrupt int      `json:"corrupt_entries"`
	Errors  []string `json:"errors,omitempty"`
}

// SnapshotReport is the content of a snapshot.
type SnapshotReport struct {
	// Contents is what the header says the entries are: "address book"
	// or "remembered peers".
	Contents string `json:"contents"`
	Counts
	Taken time.Time `json:"taken"`
}

// Err is ErrCorruptEntries, wrapped with their count, when the inspected
// datastore holds entries that do not decode.
func (r *Report) Err() error {
	if r.Legacy != nil && r.Legacy.Corrupt > 0 {
		return fmt.Errorf("%s: %d legacy %w", r.Path, r.Legacy.Corrupt, ErrCorruptEntries)
	}
	return nil
}

// Inspect describes the snapshot file or datastore directory at path,
// without writing to it. Entries of a legacy layout that do not decode are
// counted and listed in the report (see Report.Err), not an error: the
// rest is still described.
func Inspect(ctx context.Context, path string) (*Report, error) {
	fi, err := os.Stat(path)
	if err != nil {
		return nil, err
	}
	if !fi.IsDir() {
		return inspectSnapshotFile(path)
	}
	d, err := OpenDatastore(path, true)
	if err != nil {
		return nil, err
	}
	defer d.Close()
	layout, err := DetectLayout(ctx, d)
	if err != nil {
		return nil, fmt.Errorf("%s datastore %s %w", d.Backend, path, err)
	}
	r := &Report{Path: path, Kind: "datastore", Backend: d.Backend, Layout: layout.String()}
	if layout.Legacy {
		if r.Legacy, err = inspectLegacy(ctx, d, time.Now()); err != nil {
			return nil, fmt.Errorf("%s datastore %s: %w", d.Backend, path, err)
		}
	}
	if r.Legacy != nil {
		inFiles, err := privKeysInFiles(path, d.Backend)
		if err != nil {
			return nil, fmt.Errorf("%s datastore %s: %w", d.Backend, path, err)
		}
		r.Legacy.PrivKeysInFiles = max(0, len(inFiles)-r.Legacy.PrivKeys)
	}
	if layout.Compat {
		sink := newstore.NewDatastoreSink(d, pstoreds.SnapshotPrefix)
		err := sink.Load(ctx, func(rd io.Reader) error {
			s, err := readSnapshot(rd, time.Now())
			r.Snapshot = s
			return err
		})
		if err != nil && !errors.Is(err, newstore.ErrNoSnapshot) {
			return nil, fmt.Errorf("%s datastore %s: compat/pstoreds snapshot: %w", d.Backend, path, err)
		}
	}
	return r, nil
}

func inspectSnapshotFile(path string) (*Report, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	s, err := readSnapshot(f, time.Now())
	if errors.Is(err, newstore.ErrBadMagic) {
		return nil, fmt.Errorf("%s: %w", path, ErrNotDatastore)
	}
	if err != nil {
		return nil, fmt.Errorf("snapshot %s: %w", path, err)
	}
	return &Report{Path: path, Kind: "snapshot", Snapshot: s}, nil
}

func readSnapshot(rd io.Reader, now time.Time) (*SnapshotReport, error) {
	sr, err := newstore.NewSnapshotReader(rd)
	if err != nil {
		return nil, err
	}
	s := &SnapshotReport{Taken: sr.Taken(), Contents: sr.Kind().String()}
	for {
		e, err := sr.Next()
		if err == io.EOF {
			return s, nil
		}
		if err != nil {
			return nil, err
		}
		s.Peers++
		for _, a := range e.Addrs {
			if snapshotAddrLive(a, now) {
				s.AddrsLive++
			} else {
				s.AddrsExpired++
			}
		}
		if len(e.PubKey) > 0 {
			s.PubKeys++
		}
		if len(e.Record) > 0 {
			s.Records++
		}
	}
}

// snapshotAddrLive mirrors Restore: permanent and connected addresses
// survive, the others until they expire.
func snapshotAddrLive(a newstore.AddrEntry, now time.Time) bool {
	return a.TTL >= pstore.ConnectedAddrTTL || a.Expires.After(now)
}

func inspectLegacy(ctx context.Context, d ds.Read, now time.Time) (*LegacyReport, error) {
	r := &LegacyReport{Protocols: make(map[protocol.ID]int)}
	var err error
	if r.PrivKeys, err = legacy.CountPrivKeys(ctx, d); err != nil {
		return nil, err
	}
	err = streamLegacy(ctx, d, defaultBatchPeers, nil, func(p *legacy.Peer) error {
		r.Peers++
		live := len(p.Unexpired(now))
		r.AddrsLive += live
		r.AddrsExpired += len(p.Addrs) - live
		if p.PubKey != nil {
			r.PubKeys++
		}
		if p.Record != nil {
			r.Records++
		}
		if len(p.Protocols) > 0 {
			r.PeersWithProtocols++
		}
		for _, proto := range p.Protocols {
			if _, ok := r.Protocols[proto]; ok || len(r.Protocols) < maxTrackedProtocols {
				r.Protocols[proto]++
			}
		}
		r.Metadata += len(p.Metadata)
		return nil
	}, func(e *legacy.EntryError) {
		r.Corrupt++
		if len(r.Errors) < maxListedErrors {
			r.Errors = append(r.Errors, e.Error())
		}
	})
	if err != nil {
		return nil, err
	}
	return r, nil
}

// WriteTable writes r for people.
func (r *Report) WriteTable(w io.Writer) error {
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	fmt.Fprintf(tw, "path\t%s\n", r.Path)
	if r.Kind == "snapshot" {
		fmt.Fprintf(tw, "kind\tsnapshot file\n")
	} else {
		fmt.Fprintf(tw, "kind\t%s datastore\n", r.Backend)
		fmt.Fprintf(tw, "layout\t%s\n", r.Layout)
	}
	if l := r.Legacy; l != nil {
		fmt.Fprintf(tw, "\nlegacy pstoreds entries\t\n")
		writeCounts(tw, l.Counts)
		fmt.Fprintf(tw, "  peers with protocols\t%d\n", l.PeersWithProtocols)
		for _, pc := range topProtocols(l.Protocols, 10) {
			fmt.Fprintf(tw, "    %s\t%d\n", pc.id, pc.n)
		}
		fmt.Fprintf(tw, "  other metadata values\t%d\n", l.Metadata)
		fmt.Fprintf(tw, "  PRIVATE KEYS in clear text\t%d\n", l.PrivKeys)
		fmt.Fprintf(tw, "  entries that do not decode\t%d\n", l.Corrupt)
	}
	if s := r.Snapshot; s != nil {
		if r.Kind == "snapshot" {
			fmt.Fprintf(tw, "\nsnapshot\t\n")
		} else {
			fmt.Fprintf(tw, "\ncompat/pstoreds snapshot\t\n")
		}
		fmt.Fprintf(tw, "  holds\t%s\n", s.Contents)
		fmt.Fprintf(tw, "  taken\t%s\n", s.Taken.UTC().Format(time.RFC3339))
		writeCounts(tw, s.Counts)
	}
	if err := tw.Flush(); err != nil {
		return err
	}
	// Below the table: long lines would stretch its columns.
	if l := r.Legacy; l != nil && l.Corrupt > 0 {
		fmt.Fprintf(w, "\nEntries that do not decode:\n")
		for _, e := range l.Errors {
			fmt.Fprintf(w, "  %s\n", e)
		}
		if l.Corrupt > len(l.Errors) {
			fmt.Fprintf(w, "  ... and %d more\n", l.Corrupt-len(l.Errors))
		}
	}
	if l := r.Legacy; l != nil && l.PrivKeysInFiles > 0 {
		fmt.Fprintf(w, "\n%d private keys still readable in the files; run 'pstoremigrate data scrub %s'.\n", l.PrivKeysInFiles, r.Path)
	}
	if r.Legacy != nil && r.Legacy.PrivKeys > 0 {
		fmt.Fprintf(w, "\nRun 'pstoremigrate data scrub %s' to delete the private keys.\n", r.Path)
	}
	return nil
}

func writeCounts(w io.Writer, c Counts) {
	fmt.Fprintf(w, "  peers\t%d\n", c.Peers)
	fmt.Fprintf(w, "  addresses live\t%d\n", c.AddrsLive)
	fmt.Fprintf(w, "  addresses expired\t%d\n", c.AddrsExpired)
	fmt.Fprintf(w, "  public keys\t%d\n", c.PubKeys)
	fmt.Fprintf(w, "  signed peer records\t%d\n", c.Records)
}

type protocolCount struct {
	id protocol.ID
	n  int
}

func topProtocols(m map[protocol.ID]int, n int) []protocolCount {
	out := make([]protocolCount, 0, len(m))
	for id, c := range m {
		out = append(out, protocolCount{id, c})
	}
	slices.SortFunc(out, func(a, b protocolCount) int {
		return cmp.Or(cmp.Compare(b.n, a.n), cmp.Compare(a.id, b.id))
	})
	return out[:min(n, len(out))]
}
