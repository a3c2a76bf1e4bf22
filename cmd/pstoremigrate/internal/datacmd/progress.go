package datacmd

import (
	"fmt"
	"io"
	"time"

	"github.com/schollz/progressbar/v3"
)

// Progress is told how long work advances. Implementations need not be
// safe for concurrent use: the data commands call them from one goroutine.
type Progress interface {
	// Start begins a phase of total steps.
	Start(description string, total int64)
	// Add advances the phase by n steps.
	Add(n int)
	// Finish ends the phase.
	Finish()
}

// NewProgressBar returns a Progress drawn as a terminal progress bar on w
// (stderr, normally: stdout carries the results).
func NewProgressBar(w io.Writer) Progress {
	return &bar{w: w}
}

type bar struct {
	w io.Writer
	b *progressbar.ProgressBar
}

func (p *bar) Start(description string, total int64) {
	p.b = progressbar.NewOptions64(total,
		progressbar.OptionSetWriter(p.w),
		progressbar.OptionSetDescription(description),
		progressbar.OptionSetItsString("entries"),
		progressbar.OptionShowCount(),
		progressbar.OptionShowIts(),
		progressbar.OptionSetWidth(30),
		// Redrawing for each of a million entries would cost more than
		// the work.
		progressbar.OptionThrottle(100*time.Millisecond),
		progressbar.OptionOnCompletion(func() { fmt.Fprintln(p.w) }),
	)
}

func (p *bar) Add(n int) {
	if p.b != nil {
		p.b.Add(n)
	}
}

func (p *bar) Finish() {
	if p.b != nil {
		p.b.Finish()
		p.b = nil
	}
}

// noProgress is the Progress of work nobody watches.
type noProgress struct{}

func (noProgress) Start(string, int64) {}
func (noProgress) Add(int)             {}
func (noProgress) Finish()             {}

// batchedProgress hands steps on every step-th call, so that a cheap step
// does not pay for the bar's lock and arithmetic.
type batchedProgress struct {
	p       Progress
	pending int
}

func (b *batchedProgress) step() {
	b.pending++
	if b.pending == 1024 {
		b.p.Add(b.pending)
		b.pending = 0
	}
}

func (b *batchedProgress) flush() {
	if b.pending > 0 {
		b.p.Add(b.pending)
		b.pending = 0
	}
}
