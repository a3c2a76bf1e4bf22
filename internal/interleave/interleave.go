// Package interleave compares two sides of a benchmark (a store with an
// option off and on, say) in one run, in a way a loaded machine does not
// skew: the sides take turns in short blocks, each block timed by the CPU
// time of the benchmark's own thread. It is for benchmarks only.
package interleave

import (
	"runtime"
	"slices"
	"testing"
	"time"

	"github.com/pstoremigrate/pstoremigrate/internal/measure"
)

// BlockTime is about how long a block of one side's operations takes.
const BlockTime = 2 * time.Millisecond

// Run runs op(side, i) for i in [0, b.N) on both sides (0 and 1), the sides
// taking turns in blocks of about BlockTime (alternating which goes first),
// and returns each side's median CPU time per operation, in nanoseconds,
// over its blocks: a block a collection or a preemption hit counts no more
// than one.
//
// The time is the CPU time of the benchmark's thread (the goroutine is
// locked to it for the run): time spent by other processes does not
// advance it, nor does the collector's background work, which runs when it
// runs and would land in whichever block is being timed; the collector's
// assists, paid by the side that allocates, do count.
//
// A first few operations on both sides, not timed, find the block size and
// warm both; the timed ones follow with the next i, so both sides see the
// same sequence.
func Run(b *testing.B, op func(side, i int)) [2]float64 {
	runtime.LockOSThread()
	defer runtime.UnlockOSThread()
	calib := 0
	for start := time.Now(); time.Since(start) < 2*BlockTime; calib++ {
		op(0, calib)
		op(1, calib)
	}
	block := max(calib/2, 1)
	var perOp [2][]float64
	b.ResetTimer()
	for i, turn := 0, 0; i < b.N; i, turn = i+block, turn+1 {
		n := min(block, b.N-i)
		for k := range 2 {
			side := (turn + k) % 2
			cpu0 := measure.ThreadCPU()
			for j := range n {
				op(side, calib+i+j)
			}
			perOp[side] = append(perOp[side], float64(measure.ThreadCPU()-cpu0)/float64(n))
		}
	}
	b.StopTimer()
	var med [2]float64
	for side := range med {
		slices.Sort(perOp[side])
		med[side] = perOp[side][len(perOp[side])/2]
	}
	return med
}

// Report runs Run and reports both sides' medians under the given names
// (like "off" and "on": "off-cpu-ns/op") and their ratio, second over first
// ("on/off").
func Report(b *testing.B, names [2]string, op func(side, i int)) {
	med := Run(b, op)
	b.ReportMetric(med[0], names[0]+"-cpu-ns/op")
	b.ReportMetric(med[1], names[1]+"-cpu-ns/op")
	b.ReportMetric(med[1]/med[0], names[1]+"/"+names[0])
}
