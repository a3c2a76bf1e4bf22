package datacmd

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"syscall"

	"github.com/cockroachdb/pebble/v2"
	ds "github.com/ipfs/go-datastore"
	leveldb "github.com/ipfs/go-ds-leveldb"
	pebbleds "github.com/ipfs/go-ds-pebble"
	"github.com/syndtr/goleveldb/leveldb/util"
)

// Backend is the on-disk datastore implementation of a directory.
type Backend string

// The backends legacy nodes used.
const (
	LevelDB Backend = "leveldb" // github.com/ipfs/go-ds-leveldb
	Pebble  Backend = "pebble"  // github.com/ipfs/go-ds-pebble
)

// Errors that callers (and the CLI's messages) tell apart.
var (
	// ErrNotDatastore means the path is neither a snapshot nor a leveldb or
	// pebble directory.
	ErrNotDatastore = errors.New("not a snapshot file nor a leveldb or pebble datastore")
	// ErrInUse means another process (or this one) holds the datastore
	// open: leveldb and pebble both lock it for one user at a time.
	ErrInUse = errors.New("datastore is in use by another process")
	// ErrNotWritable means the datastore or the destination cannot be
	// written (a read-only directory or file system).
	ErrNotWritable = errors.New("not writable")
)

// DetectBackend tells which datastore lives in dir by its files: pebble
// writes OPTIONS-<n> beside its MANIFEST-<n>; leveldb writes CURRENT and a
// MANIFEST-<n> but never an OPTIONS file.
func DetectBackend(dir string) (Backend, error) {
	fi, err := os.Stat(dir)
	if err != nil {
		return "", fmt.Errorf("%s: %w", dir, err)
	}
	if !fi.IsDir() {
		return "", fmt.Errorf("%s: %w (it is a file)", dir, ErrNotDatastore)
	}
	entries, err := os.ReadDir(dir)
	if err != nil {
		return "", fmt.Errorf("listing %s: %w", dir, err)
	}
	var manifest, options, current bool
	for _, e := range entries {
		name := e.Name()
		switch {
		case strings.HasPrefix(name, "MANIFEST-"):
			manifest = true
		case strings.HasPrefix(name, "OPTIONS-"):
			options = true
		case name == "CURRENT":
			current = true
		}
	}
	switch {
	case manifest && options:
		return Pebble, nil
	case manifest && current:
		return LevelDB, nil
	}
	return "", fmt.Errorf("%s: %w (no MANIFEST-* with CURRENT or OPTIONS-* in it)", dir, ErrNotDatastore)
}

// Datastore is an opened on-disk datastore.
type Datastore struct {
	ds.Batching
	Path    string
	Backend Backend
	// compact rewrites the whole key space, so that deleted values leave
	// the files on disk instead of lingering until a later compaction.
	compact func(ctx context.Context) error
}

// OpenDatastore opens the existing datastore in dir, whichever of the
// backends it is. A read-only open writes nothing to dir. A datastore held
// open elsewhere is refused with ErrInUse, an unwritable one (when
// writing) with ErrNotWritable.
func OpenDatastore(dir string, readOnly bool) (*Datastore, error) {
	b, err := DetectBackend(dir)
	if err != nil {
		return nil, err
	}
	return openBackend(dir, b, readOnly, false)
}

// createDatastore creates a new datastore of backend b in dir, which must
// not exist or be empty.
func createDatastore(dir string, b Backend) (*Datastore, error) {
	return openBackend(dir, b, false, true)
}

func openBackend(dir string, b Backend, readOnly, create bool) (*Datastore, error) {
	d := &Datastore{Path: dir, Backend: b}
	switch b {
	case LevelDB:
		l, err := leveldb.NewDatastore(dir, &leveldb.Options{ReadOnly: readOnly, ErrorIfMissing: !create})
		if err != nil {
			return nil, openError(dir, b, err)
		}
		d.Batching = l
		d.compact = func(context.Context) error { return l.DB.CompactRange(util.Range{}) }
	case Pebble:
		p, err := pebbleds.NewDatastore(dir, pebbleds.WithPebbleOpts(&pebble.Options{
			ReadOnly:         readOnly,
			ErrorIfNotExists: !create,
		}))
		if err != nil {
			return nil, openError(dir, b, err)
		}
		d.Batching = p
		d.compact = func(ctx context.Context) error {
			// The legacy layout's keys are all printable; 0xff bounds
			// them all.
			return p.DB.Compact(ctx, []byte{0}, []byte{0xff}, true)
		}
	default:
		return nil, fmt.Errorf("unknown datastore backend %q (want leveldb or pebble)", b)
	}
	return d, nil
}

// Compact makes deletions reach the files on disk: until the backend
// compacts, a deleted value stays readable in its table files.
func (d *Datastore) Compact(ctx context.Context) error {
	if err := d.compact(ctx); err != nil {
		return fmt.Errorf("compacting %s datastore %s: %w", d.Backend, d.Path, err)
	}
	return nil
}

// openError turns the backends' open failures into errors that say what
// to do.
func openError(dir string, b Backend, err error) error {
	switch {
	case isLockError(err):
		return fmt.Errorf("%s datastore %s: %w (its LOCK is held: stop the node using it first): %v", b, dir, ErrInUse, err)
	case errors.Is(err, fs.ErrPermission) || errors.Is(err, syscall.EROFS):
		return fmt.Errorf("%s datastore %s is %w: %v", b, dir, ErrNotWritable, err)
	}
	return fmt.Errorf("opening %s datastore %s: %w", b, dir, err)
}

// isLockError recognises a held LOCK file: goleveldb's flock and pebble's
// fcntl lock fail with EAGAIN when another process holds it, and pebble
// says so in words when this process does.
func isLockError(err error) bool {
	return errors.Is(err, syscall.EAGAIN) || errors.Is(err, syscall.EWOULDBLOCK) ||
		strings.Contains(err.Error(), "lock held by current process")
}

// checkWritableDir reports whether files can be created in dir, by
// creating and removing one: permission bits do not tell (root ignores
// them, read-only mounts ignore root).
func checkWritableDir(dir string) error {
	fi, err := os.Stat(dir)
	if err != nil {
		return fmt.Errorf("%s: %w", dir, err)
	}
	if !fi.IsDir() {
		return fmt.Errorf("%s is not a directory", dir)
	}
	f, err := os.CreateTemp(dir, ".pstoremigrate-probe-*")
	if err != nil {
		if errors.Is(err, fs.ErrPermission) || errors.Is(err, syscall.EROFS) {
			return fmt.Errorf("directory %s is %w: %v", dir, ErrNotWritable, err)
		}
		return fmt.Errorf("cannot create files in %s: %w", dir, err)
	}
	name := f.Name()
	f.Close()
	return os.Remove(name)
}

// parentDir is the directory path would be created in.
func parentDir(path string) string {
	return filepath.Dir(filepath.Clean(path))
}
