// Command churnplot draws the README's picture of the hostile churn
// workload (see interop/internal/churn, and BenchmarkHostileChurn in
// interop/peerstore, which runs the same): the heap and the CPU time the
// store takes over time, go-libp2p's pstoremem beside compat/peerstore,
// both fed the same events in the same process, for both shapes of hostile
// peer (churn.Shapes). It runs the workload on each world and shape in turn
// (about 30 s each with the defaults, 2 minutes in all), then writes the
// picture and, with -csv, the samples. From the repository's root:
//
//	cd interop && GOWORK=off go generate ./cmd/churnplot
//
// which runs this command with -out ../../../docs/hostile-churn.png and
// -csv ../../../docs/hostile-churn.csv (the directive below the package
// clause).
//
// With -from, it draws the samples of a CSV file instead of running the
// workload: the one -csv wrote, or the one BenchmarkHostileChurn writes
// when PSTOREMIGRATE_CHURN_SERIES names it.
package main

//go:generate go run . -out ../../../docs/hostile-churn.png -csv ../../../docs/hostile-churn.csv

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"log"
	"os"
	"time"

	"github.com/pstoremigrate/pstoremigrate/interop/internal/churn"
)

func main() {
	log.SetFlags(0)
	log.SetPrefix("churnplot: ")
	cfg := churn.DefaultConfig
	out := flag.String("out", "", "the PNG to write (required)")
	csvOut := flag.String("csv", "", "also write the samples to this CSV file")
	from := flag.String("from", "", "draw the samples of this CSV file instead of running the workload")
	flag.IntVar(&cfg.Connected, "connected", cfg.Connected, "peers kept connected")
	flag.IntVar(&cfg.Cycles, "cycles", cfg.Cycles, "peers that churn through")
	flag.Float64Var(&cfg.Rate, "rate", cfg.Rate, "churn cycles per second")
	flag.DurationVar(&cfg.Grace, "grace", cfg.Grace, "grace period after disconnect, both worlds")
	flag.IntVar(&cfg.SampleEvery, "sample-every", cfg.SampleEvery, "cycles between samples")
	flag.Parse()
	if *out == "" || flag.NArg() > 0 {
		flag.Usage()
		os.Exit(2)
	}
	var (
		all []churn.Series
		err error
	)
	if *from != "" {
		all, err = readFile(*from)
	} else {
		all, err = runAll(cfg, os.Stderr)
	}
	if err == nil && *csvOut != "" {
		err = writeFile(*csvOut, func(w io.Writer) error { return churn.WriteCSV(w, all, false) })
	}
	if err == nil {
		err = writeFile(*out, func(w io.Writer) error { return drawPNG(w, cfg, all) })
	}
	if err != nil {
		log.Fatal(err)
	}
}

// runAll runs the workload on every world for every shape, reporting each
// run on logw.
func runAll(cfg churn.Config, logw io.Writer) ([]churn.Series, error) {
	var all []churn.Series
	for _, sh := range churn.Shapes {
		for _, w := range churn.Worlds {
			start := time.Now()
			samples, err := churn.Run(w, cfg.With(sh))
			if err != nil {
				return nil, err
			}
			last := samples[len(samples)-1]
			peak := int64(0)
			for _, s := range samples {
				peak = max(peak, s.Heap)
			}
			fmt.Fprintf(logw, "%s/%-8s %d cycles in %v: peak heap %.1f MiB, last %.1f MiB, store CPU %.2f s\n",
				sh.Name, w.Name, last.Cycle, time.Since(start).Round(time.Millisecond),
				float64(peak)/(1<<20), float64(last.Heap)/(1<<20), last.CPU.Seconds())
			all = append(all, churn.Series{Shape: sh, World: w.Name, Samples: samples})
		}
	}
	return all, nil
}

func readFile(path string) ([]churn.Series, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	return churn.ReadCSV(f)
}

// writeFile writes path through a temporary file, so that a failed run
// leaves the previous file in place.
func writeFile(path string, write func(io.Writer) error) error {
	tmp := path + ".tmp"
	f, err := os.Create(tmp)
	if err != nil {
		return fmt.Errorf("writing %s: %w", path, err)
	}
	err = write(f)
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = os.Rename(tmp, path)
	}
	if err != nil {
		return errors.Join(fmt.Errorf("writing %s: %w", path, err), os.Remove(tmp))
	}
	return nil
}
