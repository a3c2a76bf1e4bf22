package main

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

// benchModule is the large real module lint is measured on: a libp2p
// consumer from the module cache, at the version this module pins.
const benchModule = "github.com/libp2p/go-libp2p-kad-dht"

// BenchmarkLintVsGoVet runs "pstoremigrate lint ./..." and "go vet ./..." on
// a copy of go-libp2p-kad-dht, side by side in each iteration (alternating
// which goes first), and reports the lint/vet ratio of wall time and of CPU
// time (the go command and every tool it ran). Before each run every Go file
// of the module gets a new trailing comment, so neither run is a cache hit
// for the module's packages: both re-analyze them, the way they do after an
// edit, while the dependencies' results stay cached for both, as on a
// developer's machine. The goal (issue 5) is a ratio of at most 1.5.
//
//	go test -run '^$' -bench LintVsGoVet -benchtime 5x ./cmd/pstoremigrate
func BenchmarkLintVsGoVet(b *testing.B) {
	bin := tool(b)
	dir := copyBenchModule(b)

	touch := func(tag string) {
		b.Helper()
		err := filepath.WalkDir(dir, func(path string, d fs.DirEntry, err error) error {
			if err != nil || !strings.HasSuffix(path, ".go") {
				return err
			}
			f, err := os.OpenFile(path, os.O_APPEND|os.O_WRONLY, 0)
			if err != nil {
				return err
			}
			_, err = fmt.Fprintf(f, "\n// %s\n", tag)
			return errors.Join(err, f.Close())
		})
		require.NoError(b, err)
	}
	measure := func(name string, args ...string) (wall, cpu time.Duration) {
		b.Helper()
		cmd := exec.Command(name, args...)
		cmd.Dir = dir
		start := time.Now()
		out, err := cmd.CombinedOutput()
		wall = time.Since(start)
		// lint exits 3 on findings: kad-dht does use the legacy API.
		if exitErr, ok := errors.AsType[*exec.ExitError](err); !ok || exitErr.ExitCode() != exitFindings || name != bin {
			require.NoError(b, err, "%s %v:\n%s", name, args, out)
		}
		return wall, cmd.ProcessState.UserTime() + cmd.ProcessState.SystemTime()
	}
	runVet := func() (time.Duration, time.Duration) { return measure("go", "vet", "./...") }
	runLint := func() (time.Duration, time.Duration) { return measure(bin, "lint", "./...") }

	// Warm up: each tool's results for the dependencies get cached.
	runVet()
	runLint()

	var vetWall, vetCPU, lintWall, lintCPU time.Duration
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		order := []string{"vet", "lint"}
		if i%2 == 1 {
			order = []string{"lint", "vet"}
		}
		for _, which := range order {
			touch(fmt.Sprintf("bench %d %s", i, which))
			if which == "vet" {
				w, c := runVet()
				vetWall, vetCPU = vetWall+w, vetCPU+c
			} else {
				w, c := runLint()
				lintWall, lintCPU = lintWall+w, lintCPU+c
			}
		}
	}
	b.StopTimer()
	n := float64(b.N)
	b.ReportMetric(vetWall.Seconds()/n, "vet-s/op")
	b.ReportMetric(lintWall.Seconds()/n, "lint-s/op")
	b.ReportMetric(lintWall.Seconds()/vetWall.Seconds(), "lint/vet-wall")
	b.ReportMetric(lintCPU.Seconds()/vetCPU.Seconds(), "lint/vet-cpu")
}

// copyBenchModule copies benchModule's source from the module cache and
// gives it go.mod and go.sum files (testdata/kadbench) that select this
// module's versions of its dependencies, which the module cache holds.
func copyBenchModule(b *testing.B) string {
	b.Helper()
	out, err := exec.Command("go", "list", "-m", "-f", "{{.Dir}}", benchModule).Output()
	require.NoError(b, err, "locating %s in the module cache (go mod download %s)", benchModule, benchModule)
	src := strings.TrimSpace(string(out))
	dst := b.TempDir()
	require.NoError(b, os.CopyFS(dst, os.DirFS(src)))
	for _, name := range []string{"go.mod", "go.sum"} {
		data, err := os.ReadFile(filepath.Join("testdata", "kadbench", name))
		require.NoError(b, err)
		require.NoError(b, os.WriteFile(filepath.Join(dst, name), data, 0o644))
	}
	return dst
}
