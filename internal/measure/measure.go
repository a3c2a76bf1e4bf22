// Package measure reads what the benchmarks report beside ns/op: CPU time,
// which a loaded machine disturbs less than wall time, and the live heap.
// It is for benchmarks only.
package measure

import (
	"runtime"
	"time"

	"golang.org/x/sys/unix"
)

// ProcessCPU is the CPU time of the whole process (every thread, the
// collector's included), to the nanosecond; 0 if the clock cannot be read.
func ProcessCPU() time.Duration { return clockTime(unix.CLOCK_PROCESS_CPUTIME_ID) }

// ThreadCPU is the CPU time of the calling thread, to the nanosecond; 0 if
// the clock cannot be read. Lock the goroutine to its thread to use it.
func ThreadCPU() time.Duration { return clockTime(unix.CLOCK_THREAD_CPUTIME_ID) }

func clockTime(id int32) time.Duration {
	var ts unix.Timespec
	if err := unix.ClockGettime(id, &ts); err != nil {
		return 0
	}
	return time.Duration(ts.Nano())
}

// HeapInUse is the heap in use once garbage is collected. It collects
// twice: objects with finalizers or cleanups, and what only they kept
// alive, go in the second cycle.
func HeapInUse() uint64 {
	runtime.GC()
	runtime.GC()
	var m runtime.MemStats
	runtime.ReadMemStats(&m)
	return m.HeapAlloc
}
