package newstore

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"sync"
)

// fileSink keeps one snapshot in one file. The file is only ever replaced
// by a rename of a complete, fsynced temporary file, so a reader finds the
// old snapshot or the new one, never a mix.
type fileSink struct {
	path string
	mu   sync.Mutex // one Save or Load at a time within the process
}

// NewFileSink returns a Sink that keeps the snapshot in the file at path,
// the embedded default. Save writes a temporary file in the same directory,
// fsyncs it, renames it over path and fsyncs the directory. The path
// belongs to one process: Save removes temporary files that earlier, crashed
// saves to the same path left behind.
func NewFileSink(path string) Sink {
	return &fileSink{path: path}
}

func (s *fileSink) tempPattern() (dir, pattern string) {
	dir, base := filepath.Split(s.path)
	if dir == "" {
		dir = "."
	}
	return dir, "." + base + ".tmp-*"
}

func (s *fileSink) Save(ctx context.Context, write func(io.Writer) error) (err error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if err := ctx.Err(); err != nil {
		return err
	}
	dir, pattern := s.tempPattern()
	s.removeStaleTemps(dir, pattern)

	f, err := os.CreateTemp(dir, pattern)
	if err != nil {
		return fmt.Errorf("creating temporary snapshot file beside %s: %w", s.path, err)
	}
	tmp := f.Name()
	defer func() {
		if err != nil {
			f.Close()
			os.Remove(tmp)
		}
	}()
	bw := bufio.NewWriterSize(ctxWriter{ctx, f}, 64<<10)
	if err := write(bw); err != nil {
		return fmt.Errorf("writing snapshot to %s: %w", tmp, err)
	}
	if err := bw.Flush(); err != nil {
		return fmt.Errorf("writing snapshot to %s: %w", tmp, err)
	}
	if err := f.Sync(); err != nil {
		return fmt.Errorf("syncing snapshot %s: %w", tmp, err)
	}
	if err := f.Close(); err != nil {
		return fmt.Errorf("closing snapshot %s: %w", tmp, err)
	}
	// Last moment to give up: after the rename the new snapshot is live.
	if err := ctx.Err(); err != nil {
		return err
	}
	if err := os.Rename(tmp, s.path); err != nil {
		return fmt.Errorf("replacing snapshot %s: %w", s.path, err)
	}
	// Without this the rename itself may not survive a power loss.
	if err := syncDir(dir); err != nil {
		return fmt.Errorf("syncing directory of snapshot %s: %w", s.path, err)
	}
	return nil
}

func (s *fileSink) Load(ctx context.Context, read func(io.Reader) error) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if err := ctx.Err(); err != nil {
		return err
	}
	f, err := os.Open(s.path)
	if errors.Is(err, fs.ErrNotExist) {
		return fmt.Errorf("%w in %s", ErrNoSnapshot, s.path)
	}
	if err != nil {
		return fmt.Errorf("opening snapshot: %w", err)
	}
	defer f.Close()
	if err := read(ctxReader{ctx, f}); err != nil {
		return fmt.Errorf("reading snapshot %s: %w", s.path, err)
	}
	return nil
}

// removeStaleTemps deletes what crashed saves left behind. Failing to is
// harmless (they are never read), so errors are only logged.
func (s *fileSink) removeStaleTemps(dir, pattern string) {
	stale, err := filepath.Glob(filepath.Join(dir, pattern))
	if err != nil {
		return
	}
	for _, name := range stale {
		if err := os.Remove(name); err != nil && !errors.Is(err, fs.ErrNotExist) {
			persistLog.Warn("cannot remove stale temporary snapshot", "file", name, "err", err)
		}
	}
}

func syncDir(dir string) error {
	d, err := os.Open(dir)
	if err != nil {
		return err
	}
	defer d.Close()
	return d.Sync()
}

// ctxWriter makes a long write stop once its context is done.
type ctxWriter struct {
	ctx context.Context
	w   io.Writer
}

func (w ctxWriter) Write(p []byte) (int, error) {
	if err := w.ctx.Err(); err != nil {
		return 0, err
	}
	return w.w.Write(p)
}

// ctxReader makes a long read stop once its context is done.
type ctxReader struct {
	ctx context.Context
	r   io.Reader
}

func (r ctxReader) Read(p []byte) (int, error) {
	if err := r.ctx.Err(); err != nil {
		return 0, err
	}
	return r.r.Read(p)
}
