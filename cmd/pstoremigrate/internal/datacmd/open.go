package datacmd

import (
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"syscall"

	"github.com/cockroachdb/pebble/v2"
	ds "github.com/ipfs/go-datastore"
	leveldb "github.com/ipfs/go-ds-leveldb"
	pebbleds "github.com/ipfs/go-ds-pebble"
	"github.com/syndtr/goleveldb/leveldb/util"
	"golang.org/x/sys/unix"
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
	// shadow is the directory a read-only open really opened (see
	// OpenDatastore), removed by Close.
	shadow string
}

// OpenDatastore opens the existing datastore in dir, whichever of the
// backends it is. A datastore held open elsewhere is refused with
// ErrInUse, an unwritable one (when writing) with ErrNotWritable.
//
// A read-only open writes nothing to dir, not even a LOCK file: both
// backends create (and pebble truncates) their LOCK even when opened
// read-only. So the held lock is tested without creating or writing the
// file, and the backend opens a shadow directory elsewhere, whose entries
// are hard links to dir's files (copies across file systems).
func OpenDatastore(dir string, readOnly bool) (*Datastore, error) {
	b, err := DetectBackend(dir)
	if err != nil {
		return nil, err
	}
	if !readOnly {
		return openBackend(dir, b, false, false)
	}
	if err := checkUnlocked(dir, b); err != nil {
		return nil, err
	}
	shadow, err := shadowDir(dir)
	if err != nil {
		return nil, fmt.Errorf("%s datastore %s: %w", b, dir, err)
	}
	d, err := openBackendAt(shadow, dir, b, true, false)
	if err != nil {
		_ = os.RemoveAll(shadow)
		return nil, err
	}
	d.shadow = shadow
	return d, nil
}

// Close closes the datastore, and removes the shadow directory of a
// read-only open.
func (d *Datastore) Close() error {
	err := d.Batching.Close()
	if d.shadow != "" {
		if rerr := os.RemoveAll(d.shadow); err == nil && rerr != nil {
			err = fmt.Errorf("removing %s: %w", d.shadow, rerr)
		}
	}
	return err
}

// checkUnlocked refuses a datastore whose LOCK is held, without creating
// the file or writing to it: goleveldb holds it with flock, pebble with an
// fcntl record lock.
func checkUnlocked(dir string, b Backend) error {
	held, err := lockHeld(filepath.Join(dir, "LOCK"))
	if err != nil {
		return fmt.Errorf("%s datastore %s: reading its LOCK: %w", b, dir, err)
	}
	if held {
		return fmt.Errorf("%s datastore %s: %w (its LOCK is held: stop the node using it first)", b, dir, ErrInUse)
	}
	return nil
}

// lockHeld tells whether any process, this one included, holds a lock on
// the file at path. It reads the kernel's table of locks (/proc/locks)
// rather than opening the file: closing any descriptor of a file drops
// the record locks this process holds on it, pebble's among them.
func lockHeld(path string) (bool, error) {
	var st unix.Stat_t
	if err := unix.Stat(path, &st); err != nil {
		if errors.Is(err, fs.ErrNotExist) {
			return false, nil // nobody can hold a lock on a file that is not there
		}
		return false, err
	}
	table, err := os.ReadFile("/proc/locks")
	if err != nil {
		return lockHeldByProbe(path)
	}
	// Lines read "1: POSIX  ADVISORY  WRITE 1234 08:01:5678 0 EOF", the
	// file named by major:minor (hex) and inode (decimal).
	want := fmt.Sprintf("%02x:%02x:%d", unix.Major(uint64(st.Dev)), unix.Minor(uint64(st.Dev)), st.Ino)
	for _, line := range strings.Split(string(table), "\n") {
		f := strings.Fields(line)
		if i := slices.Index(f, "->"); i >= 0 {
			f = slices.Delete(f, i, i+1) // a waiter, listed under the holder
		}
		if len(f) > 5 && f[5] == want {
			return true, nil
		}
	}
	return false, nil
}

// lockHeldByProbe asks for the locks through a read-only descriptor, where
// the kernel has no table to read. It sees other processes' locks only.
func lockHeldByProbe(path string) (bool, error) {
	f, err := os.Open(path)
	if err != nil {
		return false, err
	}
	defer f.Close()
	if err := unix.Flock(int(f.Fd()), unix.LOCK_SH|unix.LOCK_NB); err != nil {
		return errors.Is(err, unix.EWOULDBLOCK), nil
	}
	_ = unix.Flock(int(f.Fd()), unix.LOCK_UN)
	lk := unix.Flock_t{Type: unix.F_WRLCK}
	if err := unix.FcntlFlock(f.Fd(), unix.F_GETLK, &lk); err == nil && lk.Type != unix.F_UNLCK {
		return true, nil
	}
	return false, nil
}

// shadowDir makes a temporary directory holding dir's regular files but
// its LOCK, hard-linked where the file system allows and copied where
// not. A read-only backend reads them and writes only its own LOCK there.
func shadowDir(dir string) (string, error) {
	entries, err := os.ReadDir(dir)
	if err != nil {
		return "", fmt.Errorf("listing: %w", err)
	}
	shadow, err := os.MkdirTemp("", "pstoremigrate-readonly-*")
	if err != nil {
		return "", fmt.Errorf("making a read-only view: %w", err)
	}
	for _, e := range entries {
		if !e.Type().IsRegular() || e.Name() == "LOCK" {
			continue
		}
		src, dst := filepath.Join(dir, e.Name()), filepath.Join(shadow, e.Name())
		if err := os.Link(src, dst); err == nil {
			continue
		}
		if err := copyFile(src, dst); err != nil {
			_ = os.RemoveAll(shadow)
			return "", fmt.Errorf("making a read-only view: %w", err)
		}
	}
	return shadow, nil
}

func copyFile(src, dst string) error {
	in, err := os.Open(src)
	if err != nil {
		return err
	}
	defer in.Close()
	out, err := os.OpenFile(dst, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
	if err != nil {
		return err
	}
	if _, err := io.Copy(out, in); err != nil {
		out.Close()
		return err
	}
	return out.Close()
}

// createDatastore creates a new datastore of backend b in dir, which must
// not exist or be empty.
func createDatastore(dir string, b Backend) (*Datastore, error) {
	return openBackend(dir, b, false, true)
}

func openBackend(dir string, b Backend, readOnly, create bool) (*Datastore, error) {
	return openBackendAt(dir, dir, b, readOnly, create)
}

// openBackendAt opens the datastore files in dir as the datastore named
// path (they differ for a read-only open's shadow directory).
func openBackendAt(dir, path string, b Backend, readOnly, create bool) (*Datastore, error) {
	d := &Datastore{Path: path, Backend: b}
	if fi, err := os.Lstat(filepath.Join(dir, "LOCK")); !readOnly && err == nil && !fi.Mode().IsRegular() {
		// Checked here: pebble fails on it only after starting its
		// disk-health goroutine, which its failed Open never stops.
		return nil, fmt.Errorf("%s datastore %s: its LOCK is not a regular file, so it cannot be locked for writing", b, path)
	}
	switch b {
	case LevelDB:
		l, err := leveldb.NewDatastore(dir, &leveldb.Options{ReadOnly: readOnly, ErrorIfMissing: !create})
		if err != nil {
			return nil, openError(path, b, err)
		}
		d.Batching = l
		d.compact = func(context.Context) error { return l.DB.CompactRange(util.Range{}) }
	case Pebble:
		p, err := pebbleds.NewDatastore(dir, pebbleds.WithPebbleOpts(&pebble.Options{
			ReadOnly:         readOnly,
			ErrorIfNotExists: !create,
		}))
		if err != nil {
			return nil, openError(path, b, err)
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
