package main

import (
	"encoding/json"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
)

func TestFixDiffChangesNothing(t *testing.T) {
	bin := tool(t)
	app := copyLegacyApp(t)
	before := snapshotGoFiles(t, app)
	gomod, err := os.ReadFile(filepath.Join(app, "go.mod"))
	require.NoError(t, err)

	r := runIn(t, app, bin, "fix", "-diff", "./...")
	require.Contains(t, []int{exitOK, exitFindings}, r.code, r.stderr)
	require.Contains(t, r.stdout, "--- node.go (old)\n+++ node.go (new)\n")
	require.Contains(t, r.stdout, "+\t\"github.com/pstoremigrate/pstoremigrate/compat/pstoremem\"")
	require.Contains(t, r.stdout, "-\t\"github.com/libp2p/go-libp2p/p2p/host/peerstore/pstoremem\"")
	require.Contains(t, r.stdout, ".New(h)", "h.Peerstore() becomes peerstore.New(h)")
	require.Regexp(t, `the diff fixes \d+ of \d+ findings; nothing was changed`, r.stderr)
	require.Contains(t, r.stdout, "--- go.mod (old)\n+++ go.mod (new)\n", "the requirement fix would add is part of the diff")
	require.Contains(t, r.stdout, "+\t"+thisModule+" "+zeroPseudoVersion+"\n")

	require.Equal(t, before, snapshotGoFiles(t, app), "-diff must not touch the sources")
	after, err := os.ReadFile(filepath.Join(app, "go.mod"))
	require.NoError(t, err)
	require.Equal(t, string(gomod), string(after), "-diff must not touch go.mod")
}

// The main job end to end: fix the legacy app, then it builds, vets and
// passes its own two-host test on compat, and lint finds only what fix
// reported as needing a person.
func TestFixLegacyAppEndToEnd(t *testing.T) {
	bin := tool(t)
	app := copyLegacyApp(t)

	r := runIn(t, app, bin, "fix", "./...")
	require.Contains(t, []int{exitOK, exitFindings}, r.code, "stdout:\n%s\nstderr:\n%s", r.stdout, r.stderr)
	require.Regexp(t, `(?m)^pstoremigrate: fixed \d+ of \d+ findings, changed 3 files$`, r.stdout)
	require.Contains(t, r.stdout, "\tgo.mod\n\tgo.sum\n\tnode.go\n")
	require.Contains(t, r.stdout, "pstoremigrate: go.mod now requires "+thisModule+" "+zeroPseudoVersion+" (via a replace directive in go.mod)\n")
	manual := manualFindings(t, r.stdout)

	node, err := os.ReadFile(filepath.Join(app, "node.go"))
	require.NoError(t, err)
	require.NotContains(t, string(node), "go-libp2p/p2p/host/peerstore/pstoremem")
	require.Contains(t, string(node), "github.com/pstoremigrate/pstoremigrate/compat/peerstore")

	for _, args := range [][]string{{"build", "./..."}, {"vet", "./..."}, {"test", "-count=1", "./..."}} {
		res := runIn(t, app, "go", args...)
		require.Equal(t, 0, res.code, "go %v on the fixed app:\n%s%s", args, res.stdout, res.stderr)
	}

	lint := runIn(t, app, bin, "lint", "-json", "./...")
	var rep struct{ Findings []finding }
	require.NoError(t, json.Unmarshal([]byte(lint.stdout), &rep), lint.stderr)
	var left []string
	for _, f := range rep.Findings {
		require.False(t, f.Fixable, "fix left a fixable finding: %s: %s", f.posn(), f.Message)
		left = append(left, f.posn()+": "+f.Message)
	}
	require.ElementsMatch(t, manual, left, "lint after fix finds exactly what fix reported as manual")
	if len(left) == 0 {
		require.Equal(t, exitOK, r.code)
	} else {
		require.Equal(t, exitFindings, r.code)
	}

	// A second run changes nothing.
	fixed := snapshotGoFiles(t, app)
	r = runIn(t, app, bin, "fix", "./...")
	require.Contains(t, []int{exitOK, exitFindings}, r.code, r.stderr)
	require.Equal(t, fixed, snapshotGoFiles(t, app))
}

// manualFindings returns the findings that fix's report lists as needing a
// person, "file:line:col: message".
func manualFindings(t testing.TB, report string) []string {
	t.Helper()
	_, rest, ok := strings.Cut(report, "these need a person (see MIGRATION.md):\n")
	if !ok {
		require.Contains(t, report, "nothing left to do by hand")
		return nil
	}
	var out []string
	for _, l := range strings.Split(strings.TrimSuffix(rest, "\n"), "\n") {
		require.Regexp(t, findingLine, l)
		out = append(out, l)
	}
	return out
}

// The same binary is a vet tool: "go vet -vettool" prints its diagnostics
// and fails.
func TestGoVetVettool(t *testing.T) {
	bin := tool(t)
	app := copyLegacyApp(t)
	r := runIn(t, app, "go", "vet", "-vettool="+bin, "./...")
	require.NotEqual(t, 0, r.code)
	require.Regexp(t, regexp.MustCompile(`(?m)^(\./)?node\.go:\d+:\d+: .*pstoremem`), r.stderr)
	require.Regexp(t, regexp.MustCompile(`(?m)^(\./)?node\.go:\d+:\d+: .*SupportsProtocols`), r.stderr)
}

// ... and a fix tool: "go fix -fixtool -diff" prints the patch, "go fix
// -fixtool" applies it and the tree builds after. go fix cannot add a
// requirement: where go.mod lacks the library it changes nothing and fails
// (see TestFixWithoutResolvableLibraryWritesNothing).
func TestGoFixFixtool(t *testing.T) {
	bin := tool(t)
	app := copyLegacyApp(t)
	r := runIn(t, app, "go", "fix", "-fixtool="+bin, "./...")
	require.NotEqual(t, 0, r.code, "go.mod only replaces the library, so go fix must not apply fixes")
	require.Contains(t, r.stderr, "run 'pstoremigrate fix', which adds the requirement")
	// What the message says to run; with the packages named one by one
	// and the proxy off, as this module's path is not on the proxy.
	r = runInEnv(t, app, []string{"GOPROXY=off"}, "go", "get",
		thisModule+"/compat/peerstore@"+zeroPseudoVersion, thisModule+"/compat/pstoremem@"+zeroPseudoVersion, thisModule+"/compat/pstoreds@"+zeroPseudoVersion)
	require.Equal(t, 0, r.code, r.stderr)
	before := snapshotGoFiles(t, app)

	r = runIn(t, app, "go", "fix", "-fixtool="+bin, "-diff", "./...")
	require.Equal(t, 1, r.code, "go fix -diff exits 1 when there is a diff; stderr:\n%s", r.stderr)
	require.Contains(t, r.stdout, "+\t\"github.com/pstoremigrate/pstoremigrate/compat/pstoremem\"")
	require.Equal(t, before, snapshotGoFiles(t, app))

	r = runIn(t, app, "go", "fix", "-fixtool="+bin, "./...")
	require.Equal(t, 0, r.code, r.stderr)
	node, err := os.ReadFile(filepath.Join(app, "node.go"))
	require.NoError(t, err)
	require.Contains(t, string(node), "\"github.com/pstoremigrate/pstoremigrate/compat/pstoremem\"")
	require.NotContains(t, string(node), "go-libp2p/p2p/host/peerstore/pstoremem")
	r = runIn(t, app, "go", "build", "./...")
	require.Equal(t, 0, r.code, "the tree builds after go fix:\n%s", r.stderr)
}
