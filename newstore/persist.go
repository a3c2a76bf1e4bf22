package newstore

import (
	"context"
	"errors"
	"fmt"
	"io"
	"sync"
	"time"

	"github.com/benbjohnson/clock"
	logging "github.com/libp2p/go-libp2p/gologshim"
)

var persistLog = logging.Logger("newstore/persist")

// Snapshotter is a store a Persister can save and restore; *AddrBook is one.
type Snapshotter interface {
	Snapshot(w io.Writer) error
	Restore(r io.Reader) error
}

// Sink is where a Persister keeps its snapshots.
type Sink interface {
	// Save writes one complete snapshot; a failure or crash at any point
	// leaves the previous one loadable.
	Save(ctx context.Context, write func(io.Writer) error) error
	// Load hands the latest complete snapshot to read; ErrNoSnapshot when
	// there is none.
	Load(ctx context.Context, read func(io.Reader) error) error
}

// ErrNoSnapshot is returned by Load when nothing was ever saved: the first
// start of a node, not a failure.
var ErrNoSnapshot = errors.New("no snapshot saved yet")

// ErrUncommittedSnapshot comes with ErrNoSnapshot from a datastore sink
// that holds snapshot chunks but no commit record naming them (it was
// deleted or lost): there may be a snapshot, but none can be trusted. The
// chunks stay until a save commits a new snapshot, so an operator can
// still recover them.
var ErrUncommittedSnapshot = errors.New("snapshot chunks without a commit record")

// ErrPersisterClosed is returned by Save after Close.
var ErrPersisterClosed = errors.New("persister closed")

// DefaultPersistInterval is how often a started Persister saves unless told
// otherwise: often enough that a crash loses little, rarely enough that
// writing 100k peers is noise.
const DefaultPersistInterval = 10 * time.Minute

// PersisterOption configures a Persister.
type PersisterOption func(*Persister)

// WithInterval sets how often a started Persister saves. Zero (or less)
// means it saves only on Close.
func WithInterval(d time.Duration) PersisterOption {
	return func(p *Persister) {
		if d < 0 {
			d = 0
		}
		p.interval = d
	}
}

// WithPersisterClock sets the clock that drives periodic saves, a mock in
// tests.
func WithPersisterClock(c clock.Clock) PersisterOption {
	return func(p *Persister) {
		if c != nil {
			p.clock = c
		}
	}
}

// WithErrorHandler receives the errors of periodic saves, which have no
// caller to return them to. By default they are logged.
func WithErrorHandler(f func(error)) PersisterOption {
	return func(p *Persister) {
		if f != nil {
			p.onError = f
		}
	}
}

// WithPersisterMetrics records saves (duration, size, errors) and loads
// through t (see MetricsTracer).
func WithPersisterMetrics(t *MetricsTracer) PersisterOption {
	return func(p *Persister) { p.tracer = t }
}

// Persister saves a store to a Sink periodically and on Close, and loads
// it at start. Its methods are safe for concurrent use; saves never
// overlap.
type Persister struct {
	store    Snapshotter
	sink     Sink
	interval time.Duration
	clock    clock.Clock
	onError  func(error)
	tracer   *MetricsTracer

	saveMu sync.Mutex // serializes saves

	mu      sync.Mutex // guards the fields below
	started bool
	closed  bool
	cancel  context.CancelFunc // stops the periodic loop
	done    chan struct{}      // closed when the loop has returned
}

// NewPersister returns a Persister of store into sink. Nothing happens
// until Load, Start, Save or Close is called.
func NewPersister(store Snapshotter, sink Sink, opts ...PersisterOption) *Persister {
	p := &Persister{
		store:    store,
		sink:     sink,
		interval: DefaultPersistInterval,
		clock:    clock.New(),
		onError: func(err error) {
			persistLog.Error("periodic snapshot failed", "err", err)
		},
	}
	for _, o := range opts {
		o(p)
	}
	return p
}

// Load restores the store from the sink's latest snapshot. With nothing
// saved yet it returns an error that errors.Is ErrNoSnapshot and leaves the
// store as it was.
func (p *Persister) Load(ctx context.Context) error {
	err := p.sink.Load(ctx, p.store.Restore)
	p.tracer.snapshotRestored(err)
	if err != nil {
		return fmt.Errorf("loading snapshot: %w", err)
	}
	return nil
}

// Start begins periodic saves in one goroutine; Close stops it. It does
// nothing when the interval is zero, when already started, or after Close.
func (p *Persister) Start() {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.started || p.closed || p.interval <= 0 {
		return
	}
	p.started = true
	ctx, cancel := context.WithCancel(context.Background())
	p.cancel = cancel
	p.done = make(chan struct{})
	// The ticker is made here, not in the goroutine, so that a mock clock
	// advanced right after Start already drives it.
	ticker := p.clock.Ticker(p.interval)
	go p.loop(ctx, ticker)
}

func (p *Persister) loop(ctx context.Context, ticker *clock.Ticker) {
	defer close(p.done)
	defer ticker.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-ticker.C:
			if err := p.save(ctx); err != nil && ctx.Err() == nil {
				p.onError(err)
			}
		}
	}
}

// Save writes one snapshot now, waiting for a save in progress to finish
// first.
func (p *Persister) Save(ctx context.Context) error {
	p.mu.Lock()
	closed := p.closed
	p.mu.Unlock()
	if closed {
		return ErrPersisterClosed
	}
	return p.save(ctx)
}

func (p *Persister) save(ctx context.Context) error {
	p.saveMu.Lock()
	defer p.saveMu.Unlock()
	if p.tracer == nil {
		if err := p.sink.Save(ctx, p.store.Snapshot); err != nil {
			return fmt.Errorf("saving snapshot: %w", err)
		}
		return nil
	}
	start := p.clock.Now()
	var size int64
	err := p.sink.Save(ctx, func(w io.Writer) error {
		cw := &countingWriter{w: w}
		err := p.store.Snapshot(cw)
		size = cw.n
		return err
	})
	p.tracer.snapshotSaved(p.clock.Since(start), size, err)
	if err != nil {
		return fmt.Errorf("saving snapshot: %w", err)
	}
	return nil
}

// Close stops periodic saves (abandoning one in progress, which leaves the
// previous snapshot in place) and makes a final save, whose error it
// returns. Later calls do nothing.
func (p *Persister) Close() error {
	p.mu.Lock()
	if p.closed {
		p.mu.Unlock()
		return nil
	}
	p.closed = true
	started := p.started
	p.mu.Unlock()
	if started {
		p.cancel()
		<-p.done
	}
	return p.save(context.Background())
}

// countingWriter counts the bytes of a snapshot on their way to the sink.
type countingWriter struct {
	w io.Writer
	n int64
}

func (c *countingWriter) Write(p []byte) (int, error) {
	n, err := c.w.Write(p)
	c.n += int64(n)
	return n, err
}
