package main

import (
	"bytes"
	"os"
	"path/filepath"
	"regexp"
	"runtime/debug"
	"testing"

	"github.com/stretchr/testify/require"
)

func TestPrintVersion(t *testing.T) {
	bi := &debug.BuildInfo{
		GoVersion: "go1.26.8",
		Path:      cmdModule,
		Main:      debug.Module{Path: cmdModule, Version: "v0.3.0"},
		Deps: []*debug.Module{
			{Path: thisModule, Version: "v0.3.0"},
			{Path: thisModule + "/analyzer", Version: "v0.0.0-00010101000000-000000000000", Replace: &debug.Module{Path: "../../analyzer"}},
			{Path: "golang.org/x/tools", Version: "v0.52.0"},
		},
		Settings: []debug.BuildSetting{
			{Key: "vcs", Value: "git"},
			{Key: "vcs.revision", Value: "3cbb8ad0f00d"},
			{Key: "vcs.time", Value: "2026-12-01T12:00:00Z"},
			{Key: "vcs.modified", Value: "true"},
		},
	}
	var buf bytes.Buffer
	printVersion(&buf, bi)
	require.Regexp(t, `^pstoremigrate `+regexp.QuoteMeta(cmdModule)+` v0\.3\.0
	contains `+regexp.QuoteMeta(thisModule)+` v0\.3\.0
	contains `+regexp.QuoteMeta(thisModule)+`/analyzer v0\.0\.0-00010101000000-000000000000 => \.\./\.\./analyzer
	built from git revision 3cbb8ad0f00d \(2026-12-01T12:00:00Z\) with uncommitted changes
	built with go1\.26\.8 for \w+/\w+
$`, buf.String())

	bi.Settings = nil
	buf.Reset()
	printVersion(&buf, bi)
	require.Contains(t, buf.String(), "no VCS revision recorded")
}

// The way users add the tool to their own module: "go get -tool", then
// "go tool pstoremigrate". Here with replaces to this checkout, as until a
// version is published.
func TestGoToolInAScratchModule(t *testing.T) {
	app := copyLegacyApp(t)
	root := repoRoot(t)
	for _, args := range [][]string{
		{"mod", "edit", "-replace=" + thisModule + "/analyzer=" + filepath.Join(root, "analyzer"),
			"-replace=" + cmdModule + "=" + filepath.Join(root, "cmd", "pstoremigrate")},
		{"get", "-tool", cmdModule + "@" + zeroPseudoVersion},
	} {
		r := runIn(t, app, "go", args...)
		require.Equal(t, 0, r.code, "go %v:\n%s", args, r.stderr)
	}
	gomod, err := os.ReadFile(filepath.Join(app, "go.mod"))
	require.NoError(t, err)
	require.Contains(t, string(gomod), "\ntool "+cmdModule+"\n")

	r := runIn(t, app, "go", "tool", "pstoremigrate", "lint", "./...")
	require.Equal(t, exitFindings, r.code, "stdout:\n%s\nstderr:\n%s", r.stdout, r.stderr)
	require.Regexp(t, `(?m)^node\.go:\d+:\d+: .*pstoremem`, r.stdout)
	require.Regexp(t, `(?m)^pstoremigrate: \d+ findings \(`, r.stdout)

	r = runIn(t, app, "go", "tool", "pstoremigrate", "version")
	require.Equal(t, exitOK, r.code, r.stderr)
	require.Contains(t, r.stdout, "pstoremigrate "+cmdModule+" "+zeroPseudoVersion+" => "+filepath.Join(root, "cmd", "pstoremigrate")+"\n")
	require.Contains(t, r.stdout, "\tcontains "+thisModule+" ")
}
