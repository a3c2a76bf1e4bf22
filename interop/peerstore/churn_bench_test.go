package peerstore_test

import (
	"fmt"
	"os"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/pstoremigrate/pstoremigrate/interop/internal/churn"
)

// BenchmarkHostileChurn runs the hostile churn workload (interop/internal/churn)
// for b.N cycles on go-libp2p's pstoremem and on compat/peerstore, for each
// shape of hostile peer, at churn.DefaultConfig's rate (100 cycles a second,
// in real time: the grace periods must pass). Reported: the peak and the
// last heap held (bytes) and the store's CPU time per cycle. When
// PSTOREMIGRATE_CHURN_SERIES names a file, the samples (one every 50
// cycles) of each sub-benchmark's final run (the one of b.N cycles) are
// appended to it as CSV, which cmd/churnplot -from draws:
//
//	PSTOREMIGRATE_CHURN_SERIES=/tmp/churn.csv go test -run '^$' -bench HostileChurn -benchtime 3000x ./peerstore/
//	go run ./cmd/churnplot -from /tmp/churn.csv -out /tmp/churn.png
func BenchmarkHostileChurn(b *testing.B) {
	seriesFile := os.Getenv("PSTOREMIGRATE_CHURN_SERIES")
	for _, sh := range churn.Shapes {
		for _, w := range churn.Worlds {
			var final []churn.Sample
			b.Run(fmt.Sprintf("%s/%s", sh.Name, w.Name), func(b *testing.B) {
				cfg := churn.DefaultConfig.With(sh)
				cfg.Cycles = b.N
				samples, err := churn.Run(w, cfg)
				require.NoError(b, err)
				b.StopTimer()
				peak := int64(0)
				for _, s := range samples {
					peak = max(peak, s.Heap)
				}
				last := samples[len(samples)-1]
				b.ReportMetric(float64(peak), "peak-heap-B")
				b.ReportMetric(float64(last.Heap), "last-heap-B")
				b.ReportMetric(float64(last.CPU.Nanoseconds())/float64(b.N), "store-cpu-ns/op")
				final = samples
			})
			if seriesFile != "" && final != nil {
				require.NoError(b, appendSeries(seriesFile, churn.Series{Shape: sh, World: w.Name, Samples: final}))
			}
		}
	}
}

// appendSeries appends s to the CSV file at path, with a header row if the
// file is new or empty.
func appendSeries(path string, s churn.Series) error {
	f, err := os.OpenFile(path, os.O_CREATE|os.O_APPEND|os.O_WRONLY, 0o644)
	if err != nil {
		return err
	}
	st, err := f.Stat()
	if err == nil {
		err = churn.WriteCSV(f, []churn.Series{s}, st.Size() > 0)
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	return err
}
