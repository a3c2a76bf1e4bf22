package newstore

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/benbjohnson/clock"
	ds "github.com/ipfs/go-datastore"
	dsexamples "github.com/ipfs/go-datastore/examples"
	dsq "github.com/ipfs/go-datastore/query"
	"github.com/stretchr/testify/require"
	"go.uber.org/goleak"
)

// verifyNoLeaks fails the test if goroutines other than the ignored ones
// remain. It waits longer than goleak.VerifyNone alone because goleveldb's
// pool drainer outlives DB.Close by up to a second by design, and it must
// not be left to whatever test runs next.
func verifyNoLeaks(t testing.TB, opts ...goleak.Option) {
	t.Helper()
	var err error
	for range 10 { // each Find already retries for about 0.4 s
		if err = goleak.Find(opts...); err == nil {
			return
		}
	}
	t.Error(err)
}

// entryStore is a Snapshotter over a plain list of entries. Restore reads
// the whole snapshot before replacing anything, as a store must.
type entryStore struct {
	mu      sync.Mutex
	taken   time.Time
	entries []PeerEntry
}

func (s *entryStore) set(taken time.Time, entries []PeerEntry) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.taken, s.entries = taken, entries
}

func (s *entryStore) get() (time.Time, []PeerEntry) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.taken, s.entries
}

func (s *entryStore) Snapshot(w io.Writer) error {
	taken, entries := s.get()
	sw, err := NewSnapshotWriter(w, taken)
	if err != nil {
		return err
	}
	for i := range entries {
		if err := sw.WritePeer(&entries[i]); err != nil {
			return err
		}
	}
	return sw.Close()
}

func (s *entryStore) Restore(r io.Reader) error {
	sr, err := NewSnapshotReader(r)
	if err != nil {
		return err
	}
	var staged []PeerEntry
	for {
		e, err := sr.Next()
		if err == io.EOF {
			break
		}
		if err != nil {
			return err
		}
		staged = append(staged, *e)
	}
	s.set(sr.Taken(), staged)
	return nil
}

// sinkKind opens one kind of sink on a directory; close releases what it
// opened (the datastore), so that another process can open it.
type sinkKind struct {
	name string
	open func(t testing.TB, dir string) (sink Sink, close func())
}

// smallChunks makes even test-sized snapshots span many datastore values.
const smallChunks = 4 << 10

var sinkKinds = []sinkKind{
	{"file", func(t testing.TB, dir string) (Sink, func()) {
		return NewFileSink(filepath.Join(dir, "peers.snapshot")), func() {}
	}},
	{"datastore", func(t testing.TB, dir string) (Sink, func()) {
		d := openDiskDatastore(t, filepath.Join(dir, "datastore"))
		return NewDatastoreSink(d, ds.NewKey("/peerstore/snapshot"), WithChunkSize(smallChunks)), func() { require.NoError(t, d.Close()) }
	}},
}

// openDiskDatastore opens go-datastore's own file-per-key datastore: on
// disk, and with no module beyond go-datastore. The interop module runs
// the persister on go-ds-leveldb and go-ds-pebble.
func openDiskDatastore(t testing.TB, dir string) ds.Batching {
	t.Helper()
	require.NoError(t, os.MkdirAll(dir, 0o755))
	d, err := dsexamples.NewDatastore(dir)
	require.NoError(t, err)
	return d.(ds.Batching)
}

func loadEntries(t testing.TB, sink Sink) (time.Time, []PeerEntry, error) {
	t.Helper()
	var s entryStore
	err := sink.Load(context.Background(), s.Restore)
	taken, entries := s.get()
	return taken, entries, err
}

func requireLoads(t testing.TB, sink Sink, taken time.Time, want []PeerEntry) {
	t.Helper()
	gotTaken, got, err := loadEntries(t, sink)
	require.NoError(t, err)
	require.True(t, taken.Equal(gotTaken), "loaded the snapshot taken at %v, want %v", gotTaken, taken)
	requireSameEntries(t, want, got)
}

func TestSinksRoundTrip(t *testing.T) {
	for _, k := range sinkKinds {
		t.Run(k.name, func(t *testing.T) {
			defer verifyNoLeaks(t, goleak.IgnoreCurrent())
			sink, closeSink := k.open(t, t.TempDir())
			defer closeSink()

			_, _, err := loadEntries(t, sink)
			require.ErrorIs(t, err, ErrNoSnapshot)

			t1, t2 := time.Unix(1000, 0), time.Unix(2000, 0)
			first := makeEntries(t, 40, 8, t1)
			second := makeEntries(t, 25, 3, t2)
			store := &entryStore{}
			p := NewPersister(store, sink)

			store.set(t1, first)
			require.NoError(t, p.Save(context.Background()))
			requireLoads(t, sink, t1, first)

			// A later save replaces the earlier one entirely.
			store.set(t2, second)
			require.NoError(t, p.Save(context.Background()))
			requireLoads(t, sink, t2, second)

			// Load through a persister restores into its store.
			other := &entryStore{}
			require.NoError(t, NewPersister(other, sink).Load(context.Background()))
			taken, got := other.get()
			require.True(t, t2.Equal(taken))
			requireSameEntries(t, second, got)
		})
	}
}

func TestPersisterLoadWithNothingSaved(t *testing.T) {
	for _, k := range sinkKinds {
		t.Run(k.name, func(t *testing.T) {
			defer verifyNoLeaks(t, goleak.IgnoreCurrent())
			sink, closeSink := k.open(t, t.TempDir())
			defer closeSink()
			store := &entryStore{}
			store.set(time.Unix(5, 0), makeEntries(t, 2, 1, time.Unix(5, 0)))
			err := NewPersister(store, sink).Load(context.Background())
			require.ErrorIs(t, err, ErrNoSnapshot)
			_, entries := store.get()
			require.Len(t, entries, 2, "a failed load leaves the store alone")
		})
	}
}

// datastoreKeys lists every key of d.
func datastoreKeys(t testing.TB, d ds.Datastore) []string {
	t.Helper()
	res, err := d.Query(context.Background(), dsq.Query{KeysOnly: true})
	require.NoError(t, err)
	entries, err := res.Rest()
	require.NoError(t, err)
	keys := make([]string, len(entries))
	for i, e := range entries {
		keys[i] = e.Key
	}
	return keys
}

func TestDatastoreSinkLayout(t *testing.T) {
	d := ds.NewMapDatastore()
	prefix := ds.NewKey("/snap")
	sink := NewDatastoreSink(d, prefix, WithChunkSize(1000))
	ctx := context.Background()
	// Keys the sink does not own, one of them sharing the prefix's text.
	require.NoError(t, d.Put(ctx, ds.NewKey("/other/1/0"), []byte("x")))
	require.NoError(t, d.Put(ctx, ds.NewKey("/snapshots/1/0"), []byte("x")))

	store := &entryStore{}
	p := NewPersister(store, sink)
	entries := makeEntries(t, 10, 8, time.Unix(1, 0))
	store.set(time.Unix(1, 0), entries)
	size := len(encodeSnapshot(t, time.Unix(1, 0), entries))
	for range 3 {
		require.NoError(t, p.Save(ctx))
	}

	// Only the latest generation remains, in ceil(size/1000) chunks.
	chunks := (size + 999) / 1000
	want := []string{"/other/1/0", "/snap/current", "/snapshots/1/0"}
	for n := range chunks {
		want = append(want, fmt.Sprintf("/snap/3/%d", n))
	}
	require.ElementsMatch(t, want, datastoreKeys(t, d))
	requireLoads(t, sink, time.Unix(1, 0), entries)
}

func TestDatastoreSinkAtRoot(t *testing.T) {
	d := ds.NewMapDatastore()
	sink := NewDatastoreSink(d, ds.NewKey("/"), WithChunkSize(1<<20))
	store := &entryStore{}
	entries := makeEntries(t, 3, 2, time.Unix(1, 0))
	store.set(time.Unix(1, 0), entries)
	p := NewPersister(store, sink)
	require.NoError(t, p.Save(context.Background()))
	require.NoError(t, p.Save(context.Background()))
	require.ElementsMatch(t, []string{"/current", "/2/0"}, datastoreKeys(t, d))
	requireLoads(t, sink, time.Unix(1, 0), entries)
}

func TestDatastoreSinkMissingChunk(t *testing.T) {
	d := ds.NewMapDatastore()
	sink := NewDatastoreSink(d, ds.NewKey("/snap"), WithChunkSize(1000))
	store := &entryStore{}
	store.set(time.Unix(1, 0), makeEntries(t, 10, 8, time.Unix(1, 0)))
	require.NoError(t, NewPersister(store, sink).Save(context.Background()))
	require.NoError(t, d.Delete(context.Background(), ds.NewKey("/snap/1/2")))
	_, _, err := loadEntries(t, sink)
	require.ErrorIs(t, err, ds.ErrNotFound)
	require.Contains(t, err.Error(), "/snap/1/2")
}

func TestDatastoreSinkCorruptCommitRecord(t *testing.T) {
	d := ds.NewMapDatastore()
	sink := NewDatastoreSink(d, ds.NewKey("/snap"))
	require.NoError(t, d.Put(context.Background(), ds.NewKey("/snap/current"), []byte("garbage!")))
	_, _, err := loadEntries(t, sink)
	require.Error(t, err)
	require.NotErrorIs(t, err, ErrNoSnapshot, "a damaged commit record is not an empty store")
	require.Contains(t, err.Error(), "commit record")

	// Saving is still possible, and repairs the sink.
	store := &entryStore{}
	entries := makeEntries(t, 3, 2, time.Unix(1, 0))
	store.set(time.Unix(1, 0), entries)
	require.NoError(t, NewPersister(store, sink).Save(context.Background()))
	requireLoads(t, sink, time.Unix(1, 0), entries)
}

// halfWrite writes the first half of a snapshot of entries, then fails.
func halfWrite(t testing.TB, entries []PeerEntry, boom error) func(io.Writer) error {
	data := encodeSnapshot(t, time.Unix(9, 0), entries)
	return func(w io.Writer) error {
		if _, err := w.Write(data[:len(data)/2]); err != nil {
			return err
		}
		return boom
	}
}

func TestSinkFailedSaveKeepsPrevious(t *testing.T) {
	for _, k := range sinkKinds {
		t.Run(k.name, func(t *testing.T) {
			defer verifyNoLeaks(t, goleak.IgnoreCurrent())
			dir := t.TempDir()
			sink, closeSink := k.open(t, dir)
			defer closeSink()
			taken := time.Unix(100, 0)
			previous := makeEntries(t, 60, 8, taken)
			store := &entryStore{}
			store.set(taken, previous)
			require.NoError(t, NewPersister(store, sink).Save(context.Background()))

			boom := errors.New("store went away mid-snapshot")
			err := sink.Save(context.Background(), halfWrite(t, makeEntries(t, 80, 8, taken), boom))
			require.ErrorIs(t, err, boom)
			requireLoads(t, sink, taken, previous)

			// A save cancelled halfway is just as harmless.
			ctx, cancel := context.WithCancel(context.Background())
			err = sink.Save(ctx, func(w io.Writer) error {
				if _, err := w.Write(make([]byte, 3*smallChunks)); err != nil {
					return err
				}
				cancel()
				_, err := w.Write(make([]byte, 200<<10))
				return err
			})
			require.ErrorIs(t, err, context.Canceled)
			requireLoads(t, sink, taken, previous)

			if k.name == "file" {
				leftovers, err := filepath.Glob(filepath.Join(dir, ".*.tmp-*"))
				require.NoError(t, err)
				require.Empty(t, leftovers, "a failed save removes its temporary file")
			}
		})
	}
}

// failingDatastore fails every Put after the first okPuts.
type failingDatastore struct {
	ds.Batching
	mu     sync.Mutex
	okPuts int
	err    error
}

func (f *failingDatastore) Put(ctx context.Context, k ds.Key, v []byte) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.okPuts == 0 {
		return f.err
	}
	f.okPuts--
	return f.Batching.Put(ctx, k, v)
}

func TestDatastoreSinkFailingStoreKeepsPrevious(t *testing.T) {
	for _, k := range sinkKinds[1:] {
		t.Run(k.name, func(t *testing.T) {
			defer verifyNoLeaks(t, goleak.IgnoreCurrent())
			dir := t.TempDir()
			d := openDiskDatastore(t, filepath.Join(dir, "db"))
			defer func() { require.NoError(t, d.Close()) }()
			prefix := ds.NewKey("/snap")
			taken := time.Unix(100, 0)
			previous := makeEntries(t, 60, 8, taken)
			store := &entryStore{}
			store.set(taken, previous)
			require.NoError(t, NewPersister(store, NewDatastoreSink(d, prefix, WithChunkSize(smallChunks))).Save(context.Background()))
			keysBefore := datastoreKeys(t, d)

			boom := errors.New("disk full")
			next := makeEntries(t, 80, 8, taken)
			size := len(encodeSnapshot(t, time.Unix(200, 0), next))
			chunks := (size + smallChunks - 1) / smallChunks
			// The device fills up after a few chunks of the new snapshot;
			// or every chunk fits and the commit record does not.
			for _, okPuts := range []int{3, chunks} {
				fd := &failingDatastore{Batching: d, okPuts: okPuts, err: boom}
				sink := NewDatastoreSink(fd, prefix, WithChunkSize(smallChunks))
				store.set(time.Unix(200, 0), next)
				err := NewPersister(store, sink).Save(context.Background())
				require.ErrorIs(t, err, boom)
				requireLoads(t, NewDatastoreSink(d, prefix), taken, previous)
				require.ElementsMatch(t, keysBefore, datastoreKeys(t, d), "a failed save leaves no chunks behind")
			}
		})
	}
}

func TestLoadReportsDamagedSnapshots(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "peers.snapshot")
	sink := NewFileSink(path)
	store := &entryStore{}
	store.set(time.Unix(1, 0), makeEntries(t, 5, 2, time.Unix(1, 0)))
	require.NoError(t, NewPersister(store, sink).Save(context.Background()))
	good, err := os.ReadFile(path)
	require.NoError(t, err)

	future := rawSnapshot(SnapshotVersion+1, 0)
	flipped := bytes.Clone(good)
	flipped[len(flipped)/2] ^= 0x10
	cases := map[string]struct {
		data []byte
		kind error
	}{
		"truncated":      {good[:len(good)-3], ErrTruncated},
		"bit flipped":    {flipped, ErrChecksum},
		"wrong magic":    {append([]byte("#!/bin/sh\n"), good...), ErrBadMagic},
		"future version": {future, ErrUnsupportedVersion},
	}
	for name, c := range cases {
		t.Run(name, func(t *testing.T) {
			require.NoError(t, os.WriteFile(path, c.data, 0o600))
			target := &entryStore{}
			target.set(time.Unix(7, 0), makeEntries(t, 1, 1, time.Unix(7, 0)))
			err := NewPersister(target, sink).Load(context.Background())
			requireSnapshotError(t, err, c.kind)
			require.Contains(t, err.Error(), path, "the error names the file")
			taken, entries := target.get()
			require.True(t, taken.Equal(time.Unix(7, 0)))
			require.Len(t, entries, 1, "the store is untouched")
		})
	}
}

// crashChildEnv makes the test binary, re-executed, play the process that
// dies in the middle of a save.
const crashChildEnv = "NEWSTORE_PERSIST_CRASH_CHILD"

// crashChildMarker is what the child prints once part of the new snapshot
// has reached the sink.
const crashChildMarker = "halfway through the save"

func runCrashChild(t *testing.T, spec string) {
	kindName, dir, _ := strings.Cut(spec, ":")
	for _, k := range sinkKinds {
		if k.name != kindName {
			continue
		}
		sink, _ := k.open(t, dir)
		data := encodeSnapshot(t, time.Unix(300, 0), makeEntries(t, 500, 8, time.Unix(300, 0)))
		_ = sink.Save(context.Background(), func(w io.Writer) error {
			// Past the file sink's buffer and many datastore chunks.
			if _, err := w.Write(data[:len(data)*3/4]); err != nil {
				return err
			}
			fmt.Println(crashChildMarker)
			// Wait to be killed; the parent does it at once.
			time.Sleep(time.Hour)
			return nil
		})
	}
	fmt.Println("child: unknown sink kind", kindName)
	os.Exit(2)
}

func TestSinkSurvivesCrashMidSave(t *testing.T) {
	if spec := os.Getenv(crashChildEnv); spec != "" {
		runCrashChild(t, spec)
		return
	}
	for _, k := range sinkKinds {
		t.Run(k.name, func(t *testing.T) {
			defer verifyNoLeaks(t, goleak.IgnoreCurrent())
			dir := t.TempDir()
			taken := time.Unix(100, 0)
			previous := makeEntries(t, 60, 8, taken)
			store := &entryStore{}
			store.set(taken, previous)
			sink, closeSink := k.open(t, dir)
			require.NoError(t, NewPersister(store, sink).Save(context.Background()))
			closeSink()

			child := exec.Command(os.Args[0], "-test.run=^TestSinkSurvivesCrashMidSave$")
			child.Env = append(os.Environ(), crashChildEnv+"="+k.name+":"+dir)
			out, err := child.StdoutPipe()
			require.NoError(t, err)
			child.Stderr = os.Stderr
			require.NoError(t, child.Start())
			line, err := bufio.NewReader(out).ReadString('\n')
			require.NoError(t, err)
			require.Equal(t, crashChildMarker+"\n", line)
			require.NoError(t, child.Process.Kill())
			require.Error(t, child.Wait(), "the child was killed, it did not finish")

			if k.name == "file" {
				partial, err := filepath.Glob(filepath.Join(dir, ".*.tmp-*"))
				require.NoError(t, err)
				require.Len(t, partial, 1, "the killed save left its temporary file")
			}

			sink, closeSink = k.open(t, dir)
			defer closeSink()
			if k.name == "datastore" {
				// The datastore writes every Put to its file at once, so
				// the killed save's chunks are there, uncommitted.
				partial := 0
				for _, key := range datastoreKeys(t, sink.(*datastoreSink).d) {
					if strings.HasPrefix(key, "/peerstore/snapshot/2/") {
						partial++
					}
				}
				require.NotZero(t, partial, "the killed save wrote chunks")
			}
			requireLoads(t, sink, taken, previous)

			// The next save works and clears what the crash left.
			next := makeEntries(t, 30, 2, time.Unix(400, 0))
			store.set(time.Unix(400, 0), next)
			require.NoError(t, NewPersister(store, sink).Save(context.Background()))
			requireLoads(t, sink, time.Unix(400, 0), next)
			if k.name == "file" {
				partial, err := filepath.Glob(filepath.Join(dir, ".*.tmp-*"))
				require.NoError(t, err)
				require.Empty(t, partial)
			}
		})
	}
}

// notifyingSink reports the outcome of every Save.
type notifyingSink struct {
	Sink
	saved chan error
}

func (s *notifyingSink) Save(ctx context.Context, write func(io.Writer) error) error {
	err := s.Sink.Save(ctx, write)
	s.saved <- err
	return err
}

// waitSaved waits for the next save; the bound only turns a hang into a
// failure.
func waitSaved(t *testing.T, saved <-chan error) error {
	t.Helper()
	select {
	case err := <-saved:
		return err
	case <-time.After(time.Minute):
		t.Fatal("no save happened")
		return nil
	}
}

func TestPersisterSavesPeriodically(t *testing.T) {
	defer verifyNoLeaks(t, goleak.IgnoreCurrent())
	mock := clock.NewMock()
	mem := ds.NewMapDatastore()
	sink := &notifyingSink{Sink: NewDatastoreSink(mem, ds.NewKey("/snap")), saved: make(chan error, 10)}
	store := &entryStore{}
	p := NewPersister(store, sink, WithInterval(time.Minute), WithPersisterClock(mock))
	p.Start()
	p.Start() // idempotent: still one loop

	first := makeEntries(t, 5, 2, time.Unix(1, 0))
	store.set(time.Unix(1, 0), first)
	mock.Add(59 * time.Second)
	select {
	case <-sink.saved:
		t.Fatal("saved before the interval elapsed")
	default:
	}
	mock.Add(time.Second)
	require.NoError(t, waitSaved(t, sink.saved))
	requireLoads(t, sink, time.Unix(1, 0), first)

	second := makeEntries(t, 7, 3, time.Unix(2, 0))
	store.set(time.Unix(2, 0), second)
	mock.Add(time.Minute)
	require.NoError(t, waitSaved(t, sink.saved))
	requireLoads(t, sink, time.Unix(2, 0), second)

	// Close stops the loop and saves what changed since the last tick.
	third := makeEntries(t, 2, 1, time.Unix(3, 0))
	store.set(time.Unix(3, 0), third)
	require.NoError(t, p.Close())
	require.NoError(t, waitSaved(t, sink.saved))
	requireLoads(t, sink, time.Unix(3, 0), third)

	// Closed for good: no loop to tick, no more saves.
	require.NoError(t, p.Close())
	require.ErrorIs(t, p.Save(context.Background()), ErrPersisterClosed)
	p.Start()
	mock.Add(time.Hour)
	require.Empty(t, sink.saved)
}

type failingSink struct{ err error }

func (s failingSink) Save(context.Context, func(io.Writer) error) error { return s.err }
func (s failingSink) Load(context.Context, func(io.Reader) error) error { return s.err }

func TestPersisterReportsPeriodicErrors(t *testing.T) {
	defer verifyNoLeaks(t, goleak.IgnoreCurrent())
	mock := clock.NewMock()
	boom := errors.New("read-only file system")
	reported := make(chan error, 1)
	p := NewPersister(&entryStore{}, failingSink{boom},
		WithInterval(time.Minute), WithPersisterClock(mock),
		WithErrorHandler(func(err error) { reported <- err }))
	p.Start()
	mock.Add(time.Minute)
	require.ErrorIs(t, waitSaved(t, reported), boom)
	// The final save's error has a caller: Close returns it.
	require.ErrorIs(t, p.Close(), boom)
}

func TestPersisterWithoutIntervalSavesOnlyOnClose(t *testing.T) {
	defer verifyNoLeaks(t, goleak.IgnoreCurrent())
	mock := clock.NewMock()
	sink := &notifyingSink{Sink: NewDatastoreSink(ds.NewMapDatastore(), ds.NewKey("/snap")), saved: make(chan error, 10)}
	store := &entryStore{}
	entries := makeEntries(t, 3, 1, time.Unix(1, 0))
	store.set(time.Unix(1, 0), entries)
	p := NewPersister(store, sink, WithInterval(0), WithPersisterClock(mock))
	p.Start()
	mock.Add(24 * time.Hour)
	require.Empty(t, sink.saved)
	require.NoError(t, p.Close())
	require.NoError(t, waitSaved(t, sink.saved))
	requireLoads(t, sink, time.Unix(1, 0), entries)
}

// BenchmarkSinks saves and loads a snapshot of 100,000 peers (8 addresses,
// a key and a record each) through each sink on disk.
func BenchmarkSinks(b *testing.B) {
	const peers = 100_000
	now := time.Unix(1_700_000_000, 0)
	store := &entryStore{}
	store.set(now, makeEntries(b, peers, 8, now))
	for _, k := range sinkKinds {
		b.Run(k.name, func(b *testing.B) {
			defer verifyNoLeaks(b, goleak.IgnoreCurrent())
			sink, closeSink := k.open(b, b.TempDir())
			defer closeSink()
			if k.name != "file" {
				// Production chunk size, not the tests' small one.
				sink.(*datastoreSink).chunkSize = DefaultChunkSize
			}
			b.Run("Save", func(b *testing.B) {
				for b.Loop() {
					if err := sink.Save(context.Background(), store.Snapshot); err != nil {
						b.Fatal(err)
					}
				}
			})
			b.Run("Load", func(b *testing.B) {
				for b.Loop() {
					var target entryStore
					if err := sink.Load(context.Background(), target.Restore); err != nil {
						b.Fatal(err)
					}
				}
			})
		})
	}
}

func TestPersisterConcurrentSaves(t *testing.T) {
	defer verifyNoLeaks(t, goleak.IgnoreCurrent())
	mock := clock.NewMock()
	sink := NewFileSink(filepath.Join(t.TempDir(), "peers.snapshot"))
	store := &entryStore{}
	p := NewPersister(store, sink, WithInterval(time.Second), WithPersisterClock(mock))
	p.Start()
	var wg sync.WaitGroup
	for i := range 4 {
		wg.Go(func() {
			for j := range 5 {
				taken := time.Unix(int64(i*10+j), 0)
				store.set(taken, makeEntries(t, 3, 2, taken))
				if err := p.Save(context.Background()); err != nil {
					t.Error(err)
				}
			}
		})
	}
	for range 5 {
		mock.Add(time.Second)
	}
	wg.Wait()
	final := makeEntries(t, 4, 4, time.Unix(999, 0))
	store.set(time.Unix(999, 0), final)
	require.NoError(t, p.Close())
	requireLoads(t, sink, time.Unix(999, 0), final)
}

func TestDatastoreSinkChunksWithoutCommitRecord(t *testing.T) {
	ctx := context.Background()
	d := ds.NewMapDatastore()
	sink := NewDatastoreSink(d, ds.NewKey("/snap"), WithChunkSize(1000))
	store := &entryStore{}
	entries := makeEntries(t, 10, 8, time.Unix(1, 0))
	store.set(time.Unix(1, 0), entries)
	require.NoError(t, NewPersister(store, sink).Save(ctx))
	require.NoError(t, d.Delete(ctx, ds.NewKey("/snap/current")))
	orphans := datastoreKeys(t, d)

	_, _, err := loadEntries(t, sink)
	require.ErrorIs(t, err, ErrNoSnapshot, "nothing can be trusted without the record")
	require.ErrorIs(t, err, ErrUncommittedSnapshot, "but it is not a fresh store either")
	require.ErrorContains(t, err, "generation 1")

	// A save that fails leaves them; only a committed one replaces them.
	failing := snapshotFunc(func(w io.Writer) error {
		_, _ = w.Write(make([]byte, 2500)) // two chunks written, then the failure
		return errors.New("disk full")
	})
	require.Error(t, NewPersister(failing, sink).Save(ctx))
	require.ElementsMatch(t, orphans, datastoreKeys(t, d), "a failed save deleted uncommitted chunks")

	require.NoError(t, NewPersister(store, sink).Save(ctx))
	requireLoads(t, sink, time.Unix(1, 0), entries)
	for _, k := range datastoreKeys(t, d) {
		require.False(t, strings.HasPrefix(k, "/snap/1/"), "the old chunks go once a new snapshot is committed")
	}
}

// snapshotFunc is a Snapshotter that runs a function.
type snapshotFunc func(io.Writer) error

func (f snapshotFunc) Snapshot(w io.Writer) error { return f(w) }
func (snapshotFunc) Restore(io.Reader) error      { return nil }
