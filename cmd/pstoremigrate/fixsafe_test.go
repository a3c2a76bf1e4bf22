package main

import (
	"bytes"
	"errors"
	"fmt"
	"maps"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

// legacyAppWithoutLibrary is testdata/legacyapp with no way to resolve this
// module: no replace, and the module proxy off.
func legacyAppWithoutLibrary(t *testing.T) (dir string, env []string) {
	t.Helper()
	dir = copyLegacyApp(t)
	gomod := filepath.Join(dir, "go.mod")
	data, err := os.ReadFile(gomod)
	require.NoError(t, err)
	data = regexp.MustCompile(`(?m)^replace .*\n`).ReplaceAll(data, nil)
	require.NoError(t, os.WriteFile(gomod, data, 0o644))
	return dir, []string{"GOPROXY=off"}
}

// A module that cannot resolve the library: fix, fix -diff and go fix all
// exit non-zero, say what to run, and write nothing.
func TestFixWithoutResolvableLibraryWritesNothing(t *testing.T) {
	bin := tool(t)
	app, env := legacyAppWithoutLibrary(t)
	before := snapshotFiles(t, app)

	for _, args := range [][]string{{"fix", "./..."}, {"fix", "-diff", "./..."}} {
		r := runInEnv(t, app, env, bin, args...)
		require.Equal(t, exitError, r.code, "%v\nstdout:\n%s\nstderr:\n%s", args, r.stdout, r.stderr)
		require.Contains(t, r.stderr, "nothing was changed")
		require.Contains(t, r.stderr, "module example.com/legacyapp ("+app+") cannot require "+thisModule)
		require.Contains(t, r.stderr, "Run this in "+app+", then run fix again:\n\tgo get "+thisModule+"@latest")
		require.Equal(t, before, snapshotFiles(t, app), "%v wrote files", args)
	}

	r := runInEnv(t, app, env, "go", "fix", "-fixtool="+bin, "./...")
	require.NotEqual(t, 0, r.code, "go fix cannot add the requirement, so it must fail rather than leave a tree that does not build:\n%s", r.stderr)
	require.Contains(t, r.stderr, "findings not fixed: this module cannot build "+thisModule+"/compat yet")
	require.Contains(t, r.stderr, "run 'pstoremigrate fix'")
	require.Equal(t, before, snapshotFiles(t, app), "go fix wrote files")
}

// One run over a go.work workspace of two modules gives each its own
// requirement (through the workspace's replace), shows them in -diff, and
// leaves a workspace that builds.
func TestFixWorkspaceOfTwoModules(t *testing.T) {
	bin := tool(t)
	ws := t.TempDir()
	for _, m := range []string{"a", "b"} {
		dir := filepath.Join(ws, m)
		require.NoError(t, os.CopyFS(dir, os.DirFS(filepath.Join(repoRoot(t), "testdata", "legacyapp"))))
		gomod := filepath.Join(dir, "go.mod")
		data, err := os.ReadFile(gomod)
		require.NoError(t, err)
		data = regexp.MustCompile(`(?m)^replace .*\n`).ReplaceAll(data, nil)
		data = []byte(strings.Replace(string(data), "module example.com/legacyapp", "module example.com/"+m, 1))
		require.NoError(t, os.WriteFile(gomod, data, 0o644))
	}
	work := fmt.Sprintf("go 1.26.6\n\nuse (\n\t./a\n\t./b\n)\n\nreplace %s => %s\n", thisModule, repoRoot(t))
	require.NoError(t, os.WriteFile(filepath.Join(ws, "go.work"), []byte(work), 0o644))
	env := []string{"GOWORK=" + filepath.Join(ws, "go.work")}
	before := snapshotFiles(t, ws)

	r := runInEnv(t, ws, env, bin, "fix", "-diff", "./a/...", "./b/...")
	require.Contains(t, []int{exitOK, exitFindings}, r.code, r.stderr)
	for _, m := range []string{"a", "b"} {
		require.Contains(t, r.stdout, "--- "+m+"/go.mod (old)\n+++ "+m+"/go.mod (new)\n")
		require.Contains(t, r.stderr, m+"/go.mod now requires "+thisModule+" "+zeroPseudoVersion+" (via a replace directive in "+filepath.Join(ws, "go.work")+")")
	}
	require.Contains(t, r.stdout, "+\t"+thisModule+" "+zeroPseudoVersion+"\n")
	require.Equal(t, before, snapshotFiles(t, ws), "-diff wrote files")

	r = runInEnv(t, ws, env, bin, "fix", "./a/...", "./b/...")
	require.Contains(t, []int{exitOK, exitFindings}, r.code, "stdout:\n%s\nstderr:\n%s", r.stdout, r.stderr)
	for _, m := range []string{"a", "b"} {
		require.Contains(t, r.stdout, m+"/go.mod now requires "+thisModule)
		data, err := os.ReadFile(filepath.Join(ws, m, "go.mod"))
		require.NoError(t, err)
		require.Regexp(t, `(?m)^\s*(require )?`+regexp.QuoteMeta(thisModule+" "+zeroPseudoVersion)+`$`, string(data), "%s/go.mod", m)
	}
	b := runInEnv(t, ws, env, "go", "build", "./a/...", "./b/...")
	require.Equal(t, 0, b.code, "the fixed workspace builds:\n%s", b.stderr)
}

// makeUnwritable makes name unwritable, even for root (who ignores file
// modes), and undoes it when the test ends.
func makeUnwritable(t *testing.T, name string) {
	t.Helper()
	if os.Geteuid() != 0 {
		require.NoError(t, os.Chmod(name, 0o444))
		return
	}
	out, err := exec.Command("chattr", "+i", name).CombinedOutput()
	require.NoError(t, err, "running as root, the test needs chattr +i to make a file unwritable: %s", out)
	t.Cleanup(func() { exec.Command("chattr", "-i", name).Run() })
}

// A file that cannot be written mid-run: every file written before it is
// restored byte for byte (go.mod and go.sum included), and fix says so.
func TestFixRestoresEverythingWhenAWriteFails(t *testing.T) {
	bin := tool(t)
	app := copyLegacyApp(t)
	// Written after node.go (fix writes in name order).
	late := filepath.Join(app, "zz_store.go")
	require.NoError(t, os.WriteFile(late, []byte(`package main

import "github.com/libp2p/go-libp2p/p2p/host/peerstore/pstoremem"

var _, _ = pstoremem.NewPeerstore()
`), 0o644))
	before := snapshotFiles(t, app)
	makeUnwritable(t, late)

	r := runIn(t, app, bin, "fix", "./...")
	require.Equal(t, exitError, r.code, "stdout:\n%s\nstderr:\n%s", r.stdout, r.stderr)
	require.Contains(t, r.stderr, "writing "+late)
	require.Regexp(t, `restored \d+ files to their content before this run:\n`, r.stderr)
	for _, name := range []string{"go.mod", "node.go"} {
		require.Contains(t, r.stderr, "\t"+name+"\n")
	}
	require.Equal(t, before, snapshotFiles(t, app))
}

// Fixed code that does not type-check (here: the library at the replaced
// path lacks the compat packages' API) is undone, and fix says so.
func TestFixRestoresEverythingWhenTheFixedCodeDoesNotTypeCheck(t *testing.T) {
	bin := tool(t)
	fake := writeModule(t, map[string]string{
		"go.mod":                        "module " + thisModule + "\n\ngo 1.25\n",
		"compat/pstoremem/pstoremem.go": "// Package pstoremem is empty here.\npackage pstoremem\n",
		"compat/peerstore/peerstore.go": "// Package peerstore is empty here.\npackage peerstore\n",
		"compat/pstoreds/pstoreds.go":   "// Package pstoreds is empty here.\npackage pstoreds\n",
	})
	app := copyLegacyApp(t)
	gomod := filepath.Join(app, "go.mod")
	data, err := os.ReadFile(gomod)
	require.NoError(t, err)
	data = []byte(strings.Replace(string(data), "=> "+repoRoot(t), "=> "+fake, 1))
	require.NoError(t, os.WriteFile(gomod, data, 0o644))
	before := snapshotFiles(t, app)

	r := runIn(t, app, bin, "fix", "./...")
	require.Equal(t, exitError, r.code, "stdout:\n%s\nstderr:\n%s", r.stdout, r.stderr)
	require.Contains(t, r.stderr, "the fixed code does not load or type-check")
	require.Contains(t, r.stderr, "NewPeerstore")
	require.Regexp(t, `restored \d+ files to their content before this run:\n`, r.stderr)
	require.Equal(t, before, snapshotFiles(t, app))
}

// A file that uses cgo: go vet sees it only as cgo rewrote it, with edit
// offsets that are not the original's. fix fixes the other files, leaves
// this one untouched and says so, and the tree builds.
func TestFixLeavesCgoFilesToAPerson(t *testing.T) {
	bin := tool(t)
	app := copyLegacyApp(t)
	const cgoFile = "native.go"
	src := `package main

/*
static int answer(void) { return 42; }
*/
import "C"

import "github.com/libp2p/go-libp2p/p2p/host/peerstore/pstoremem"

var _, _ = pstoremem.NewPeerstore()

var _ = C.answer()
`
	require.NoError(t, os.WriteFile(filepath.Join(app, cgoFile), []byte(src), 0o644))
	env := []string{"CGO_ENABLED=1"}

	r := runInEnv(t, app, env, bin, "fix", "./...")
	require.Equal(t, exitFindings, r.code, "stdout:\n%s\nstderr:\n%s", r.stdout, r.stderr)
	require.Contains(t, r.stdout, "\tnode.go\n")
	require.Regexp(t, `not fixed, in files that use cgo .*\n`+regexp.QuoteMeta(cgoFile)+`:8:\d+: .*pstoremem`, r.stdout)
	got, err := os.ReadFile(filepath.Join(app, cgoFile))
	require.NoError(t, err)
	require.Equal(t, src, string(got), "fix must not edit a cgo file at offsets of cgo's output")
	b := runInEnv(t, app, env, "go", "build", "./...")
	require.Equal(t, 0, b.code, "the tree builds after fix:\n%s", b.stderr)
}

// An interrupt mid-run (Ctrl-C, a CI job's timeout sending SIGTERM) undoes
// every write: the go command under way is stopped, fix says it was
// interrupted and restores go.mod, go.sum and the fixed files. Here a go
// command that hangs in the step after the first writes makes the signal
// arrive then, however fast the machine.
func TestFixRestoresEverythingWhenInterrupted(t *testing.T) {
	bin := tool(t)
	app := copyLegacyApp(t)
	before := snapshotFiles(t, app)

	realGo, err := exec.LookPath("go")
	require.NoError(t, err)
	wrapper := t.TempDir()
	script := "#!/bin/sh\ncase \"$*\" in\n*\"list -mod=mod\"*) exec sleep 300 ;;\nesac\nexec " + realGo + " \"$@\"\n"
	require.NoError(t, os.WriteFile(filepath.Join(wrapper, "go"), []byte(script), 0o755))

	var stdout, stderr bytes.Buffer
	cmd := exec.Command(bin, "fix", "./...")
	cmd.Dir = app
	cmd.Env = append(os.Environ(), "PATH="+wrapper+string(os.PathListSeparator)+os.Getenv("PATH"))
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	require.NoError(t, cmd.Start())
	t.Cleanup(func() { cmd.Process.Kill() })

	// Wait until fix has written something, then interrupt it.
	require.Eventually(t, func() bool { return !maps.Equal(before, snapshotFiles(t, app)) },
		5*time.Minute, 20*time.Millisecond, "fix never wrote a file:\n%s", &stderr)
	require.NoError(t, cmd.Process.Signal(syscall.SIGTERM))
	err = cmd.Wait()
	exitErr, ok := errors.AsType[*exec.ExitError](err)
	require.True(t, ok, "fix exits with an error status: %v", err)
	require.Equal(t, exitError, exitErr.ExitCode(), "stdout:\n%s\nstderr:\n%s", &stdout, &stderr)
	require.Contains(t, stderr.String(), "interrupted by a signal")
	require.Regexp(t, `restored \d+ files? to their content before this run:\n`, stderr.String())
	require.Equal(t, before, snapshotFiles(t, app), "an interrupted fix leaves the tree as it was")
}
