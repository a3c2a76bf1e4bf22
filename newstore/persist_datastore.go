package newstore

import (
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"hash/crc32"
	"io"
	"strconv"
	"sync"

	ds "github.com/ipfs/go-datastore"
	dsq "github.com/ipfs/go-datastore/query"
)

// DefaultChunkSize is the size of the values a datastore sink writes: large
// enough that 100k peers are a few dozen keys, small enough for any
// datastore's value limits.
const DefaultChunkSize = 1 << 20

// DatastoreSinkOption configures a datastore sink.
type DatastoreSinkOption func(*datastoreSink)

// WithChunkSize sets the size of the values the snapshot is split into.
// Values below 1 are ignored.
func WithChunkSize(n int) DatastoreSinkOption {
	return func(s *datastoreSink) {
		if n > 0 {
			s.chunkSize = n
		}
	}
}

// datastoreSink keeps snapshots in a go-datastore, in generations:
//
//	<prefix>/<generation>/<n>  chunk n of a snapshot, n = 0, 1, ...
//	<prefix>/current           the commit record: which generation is
//	                           complete, and how many chunks it has
//
// A save writes a new generation's chunks, syncs them, and only then writes
// the commit record (and syncs it): a crash before that leaves the commit
// record pointing at the previous, untouched generation. Generations other
// than the committed one are deleted after the commit and before the next
// save, so a crashed save's leftovers never accumulate.
type datastoreSink struct {
	d         ds.Batching
	prefix    ds.Key
	chunkSize int
	mu        sync.Mutex // one Save or Load at a time within the process
}

// NewDatastoreSink returns a Sink that keeps snapshots in d under prefix,
// which it owns: other keys under it that look like snapshot generations
// are deleted. The datastore must stay open while the sink is used; the
// sink does not close it.
func NewDatastoreSink(d ds.Batching, prefix ds.Key, opts ...DatastoreSinkOption) Sink {
	s := &datastoreSink{d: d, prefix: prefix, chunkSize: DefaultChunkSize}
	for _, o := range opts {
		o(s)
	}
	return s
}

const commitVersion = 1

// errBadCommit marks a commit record that cannot be read.
var errBadCommit = errors.New("damaged snapshot commit record")

// commit is the value of <prefix>/current.
type commit struct {
	generation uint64
	chunks     uint64
	size       uint64 // total bytes, checked on load
}

func (c commit) marshal() []byte {
	b := binary.AppendUvarint(nil, commitVersion)
	b = binary.AppendUvarint(b, c.generation)
	b = binary.AppendUvarint(b, c.chunks)
	b = binary.AppendUvarint(b, c.size)
	return binary.LittleEndian.AppendUint32(b, crc32.Checksum(b, castagnoli))
}

func unmarshalCommit(b []byte) (commit, error) {
	if len(b) < 4 || crc32.Checksum(b[:len(b)-4], castagnoli) != binary.LittleEndian.Uint32(b[len(b)-4:]) {
		return commit{}, errors.New("commit record checksum mismatch")
	}
	b = b[:len(b)-4]
	var fields [4]uint64
	for i := range fields {
		v, n := binary.Uvarint(b)
		if n <= 0 {
			return commit{}, errors.New("commit record truncated")
		}
		fields[i], b = v, b[n:]
	}
	if fields[0] != commitVersion {
		return commit{}, fmt.Errorf("commit record version %d, this reader supports %d", fields[0], commitVersion)
	}
	return commit{generation: fields[1], chunks: fields[2], size: fields[3]}, nil
}

func (s *datastoreSink) currentKey() ds.Key { return s.prefix.ChildString("current") }

func (s *datastoreSink) generationKey(g uint64) ds.Key {
	return s.prefix.ChildString(strconv.FormatUint(g, 10))
}

func (s *datastoreSink) chunkKey(g, n uint64) ds.Key {
	return s.generationKey(g).ChildString(strconv.FormatUint(n, 10))
}

// current returns the committed generation; ok is false when there is none.
func (s *datastoreSink) current(ctx context.Context) (c commit, ok bool, err error) {
	v, err := s.d.Get(ctx, s.currentKey())
	if errors.Is(err, ds.ErrNotFound) {
		return commit{}, false, nil
	}
	if err != nil {
		return commit{}, false, fmt.Errorf("reading snapshot commit record %s: %w", s.currentKey(), err)
	}
	c, err = unmarshalCommit(v)
	if err != nil {
		return commit{}, false, fmt.Errorf("%w %s: %w", errBadCommit, s.currentKey(), err)
	}
	return c, true, nil
}

func (s *datastoreSink) Save(ctx context.Context, write func(io.Writer) error) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if err := ctx.Err(); err != nil {
		return err
	}
	cur, hasCur, err := s.current(ctx)
	if errors.Is(err, errBadCommit) {
		// Refusing to save would keep the store unprotected for
		// good; a new snapshot replaces the unreadable one.
		persistLog.Warn("replacing a damaged snapshot commit record", "err", err)
		err = nil
	}
	if err != nil {
		return err
	}
	// Clear what crashed saves left, and find a generation number never
	// used before, so no stale chunk can mix into the new generation.
	// Without a commit record nothing is cleared before the new one is
	// written: the chunks may be the only copy of a snapshot whose record
	// was lost (see ErrUncommittedSnapshot).
	keep := uint64(0)
	if hasCur {
		keep = cur.generation
	}
	highest, err := s.removeGenerations(ctx, keep, hasCur, !hasCur)
	if err != nil {
		return err
	}
	gen := max(highest, keep) + 1

	cw := &chunkWriter{ctx: ctx, sink: s, generation: gen, buf: make([]byte, 0, s.chunkSize)}
	if err := write(cw); err != nil {
		s.abandon(gen, keep, hasCur)
		return fmt.Errorf("writing snapshot generation %d under %s: %w", gen, s.prefix, err)
	}
	if err := cw.flush(); err != nil {
		s.abandon(gen, keep, hasCur)
		return err
	}
	if err := s.d.Sync(ctx, s.generationKey(gen)); err != nil {
		s.abandon(gen, keep, hasCur)
		return fmt.Errorf("syncing snapshot generation %d under %s: %w", gen, s.prefix, err)
	}
	if err := ctx.Err(); err != nil {
		s.abandon(gen, keep, hasCur)
		return err
	}
	// The commit point: before this Put the previous generation is the
	// snapshot, after it the new one.
	next := commit{generation: gen, chunks: cw.chunks, size: cw.size}
	if err := s.d.Put(ctx, s.currentKey(), next.marshal()); err != nil {
		s.abandon(gen, keep, hasCur)
		return fmt.Errorf("committing snapshot generation %d under %s: %w", gen, s.prefix, err)
	}
	if err := s.d.Sync(ctx, s.currentKey()); err != nil {
		return fmt.Errorf("syncing snapshot commit record %s: %w", s.currentKey(), err)
	}
	// The snapshot is saved; old generations are only garbage, and the
	// next save clears them if this fails.
	if _, err := s.removeGenerations(context.WithoutCancel(ctx), gen, true, false); err != nil {
		persistLog.Warn("cannot remove old snapshot generations", "prefix", s.prefix, "err", err)
	}
	return nil
}

// abandon deletes the chunks of a failed save, best effort: the next save
// would clear them anyway.
func (s *datastoreSink) abandon(gen, keep uint64, hasKeep bool) {
	var err error
	if hasKeep {
		_, err = s.removeGenerations(context.Background(), keep, true, false)
	} else {
		err = s.removeGeneration(context.Background(), gen) // uncommitted chunks stay
	}
	if err != nil {
		persistLog.Warn("cannot remove the chunks of a failed snapshot", "prefix", s.prefix, "generation", gen, "err", err)
	}
}

// removeGeneration deletes the chunks of generation g.
func (s *datastoreSink) removeGeneration(ctx context.Context, g uint64) error {
	res, err := s.d.Query(ctx, dsq.Query{Prefix: s.generationKey(g).String(), KeysOnly: true})
	if err != nil {
		return err
	}
	rs, err := res.Rest()
	if err != nil {
		return err
	}
	for _, r := range rs {
		if err := s.d.Delete(ctx, ds.RawKey(r.Key)); err != nil {
			return err
		}
	}
	return nil
}

// removeGenerations deletes every generation under the prefix except keep
// (if hasKeep), none if dryRun, and returns the highest generation number
// it saw.
func (s *datastoreSink) removeGenerations(ctx context.Context, keep uint64, hasKeep, dryRun bool) (uint64, error) {
	res, err := s.d.Query(ctx, dsq.Query{Prefix: s.prefix.String(), KeysOnly: true})
	if err != nil {
		return 0, fmt.Errorf("listing snapshot generations under %s: %w", s.prefix, err)
	}
	depth := len(s.prefix.List())
	if s.prefix.String() == "/" {
		depth = 0 // the root's List is [""]
	}
	var highest uint64
	var doomed []ds.Key
	for {
		r, ok := res.NextSync()
		if !ok {
			break
		}
		if r.Error != nil {
			res.Close()
			return 0, fmt.Errorf("listing snapshot generations under %s: %w", s.prefix, r.Error)
		}
		k := ds.RawKey(r.Key)
		parts := k.List()
		if len(parts) != depth+2 || !k.IsDescendantOf(s.prefix) {
			continue // the commit record, or not ours
		}
		g, err := strconv.ParseUint(parts[depth], 10, 64)
		if err != nil {
			continue
		}
		highest = max(highest, g)
		if !hasKeep || g != keep {
			doomed = append(doomed, k)
		}
	}
	if err := res.Close(); err != nil {
		return 0, fmt.Errorf("listing snapshot generations under %s: %w", s.prefix, err)
	}
	if len(doomed) == 0 || dryRun {
		return highest, nil
	}
	b, err := s.d.Batch(ctx)
	if err != nil {
		return 0, fmt.Errorf("removing old snapshot generations under %s: %w", s.prefix, err)
	}
	for _, k := range doomed {
		if err := b.Delete(ctx, k); err != nil {
			return 0, fmt.Errorf("removing old snapshot chunk %s: %w", k, err)
		}
	}
	if err := b.Commit(ctx); err != nil {
		return 0, fmt.Errorf("removing old snapshot generations under %s: %w", s.prefix, err)
	}
	return highest, nil
}

func (s *datastoreSink) Load(ctx context.Context, read func(io.Reader) error) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if err := ctx.Err(); err != nil {
		return err
	}
	cur, ok, err := s.current(ctx)
	if err != nil {
		return err
	}
	if !ok {
		highest, err := s.removeGenerations(ctx, 0, false, true)
		if err != nil {
			return err
		}
		if highest > 0 {
			return fmt.Errorf("%w under %s: %w (generation %d and older); they are kept until a new snapshot is committed",
				ErrNoSnapshot, s.prefix, ErrUncommittedSnapshot, highest)
		}
		return fmt.Errorf("%w under %s", ErrNoSnapshot, s.prefix)
	}
	cr := &chunkReader{ctx: ctx, sink: s, c: cur}
	if err := read(cr); err != nil {
		return fmt.Errorf("reading snapshot generation %d under %s: %w", cur.generation, s.prefix, err)
	}
	return nil
}

// chunkWriter splits what it is given into chunk-sized values, holding one
// chunk at a time.
type chunkWriter struct {
	ctx        context.Context
	sink       *datastoreSink
	generation uint64
	buf        []byte
	chunks     uint64
	size       uint64
}

func (w *chunkWriter) Write(p []byte) (int, error) {
	n := 0
	for len(p) > 0 {
		k := copy(w.buf[len(w.buf):cap(w.buf)], p)
		w.buf = w.buf[:len(w.buf)+k]
		p = p[k:]
		n += k
		if len(w.buf) == cap(w.buf) {
			if err := w.flush(); err != nil {
				return n, err
			}
		}
	}
	return n, nil
}

func (w *chunkWriter) flush() error {
	if len(w.buf) == 0 {
		return nil
	}
	// Datastores may ignore the context of a Put; a cancelled save
	// must still stop.
	if err := w.ctx.Err(); err != nil {
		return err
	}
	k := w.sink.chunkKey(w.generation, w.chunks)
	// Put may keep the slice (an in-memory datastore does), so hand it a
	// buffer of its own.
	if err := w.sink.d.Put(w.ctx, k, append([]byte(nil), w.buf...)); err != nil {
		return fmt.Errorf("writing snapshot chunk %s: %w", k, err)
	}
	w.chunks++
	w.size += uint64(len(w.buf))
	w.buf = w.buf[:0]
	return nil
}

// chunkReader reads a committed generation's chunks in order, one at a
// time.
type chunkReader struct {
	ctx  context.Context
	sink *datastoreSink
	c    commit
	next uint64 // next chunk to fetch
	read uint64 // bytes handed out
	cur  []byte
}

func (r *chunkReader) Read(p []byte) (int, error) {
	for len(r.cur) == 0 {
		if r.next == r.c.chunks {
			if r.read != r.c.size {
				return 0, fmt.Errorf("snapshot generation %d under %s holds %d bytes, its commit record says %d", r.c.generation, r.sink.prefix, r.read, r.c.size)
			}
			return 0, io.EOF
		}
		k := r.sink.chunkKey(r.c.generation, r.next)
		v, err := r.sink.d.Get(r.ctx, k)
		if err != nil {
			return 0, fmt.Errorf("reading snapshot chunk %s of %d: %w", k, r.c.chunks, err)
		}
		r.cur = v
		r.next++
	}
	n := copy(p, r.cur)
	r.cur = r.cur[n:]
	r.read += uint64(n)
	return n, nil
}
