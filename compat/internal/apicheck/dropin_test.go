package apicheck_test

import (
	"path/filepath"
	"reflect"
	"runtime"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	// Imported so that upstream's packages stay in this module's build
	// list (and go.sum), where go list finds them.
	upstreamds "github.com/libp2p/go-libp2p/p2p/host/peerstore/pstoreds"
	_ "github.com/libp2p/go-libp2p/p2p/host/peerstore/pstoremem"

	"github.com/pstoremigrate/pstoremigrate/compat/internal/apicheck"
)

// TestDropInsExportEveryUpstreamName compares compat/pstoremem and
// compat/pstoreds with upstream's packages of the go-libp2p version this
// module builds with: a go-libp2p release that adds to their API fails here.
func TestDropInsExportEveryUpstreamName(t *testing.T) {
	const (
		upstream = "github.com/libp2p/go-libp2p/p2p/host/peerstore/"
		ours     = "github.com/pstoremigrate/pstoremigrate/compat/"
	)
	names := []string{"pstoremem", "pstoreds"}
	var paths []string
	for _, n := range names {
		paths = append(paths, upstream+n, ours+n)
	}
	// The go command run by Load must resolve the go-libp2p this test
	// binary was built with: a -modfile given to go test on the command
	// line does not reach it, one given through GOFLAGS does.
	if built := builtVersion(t); built != "" {
		listed, err := apicheck.ModuleVersion(".", "github.com/libp2p/go-libp2p")
		require.NoError(t, err)
		require.Equal(t, built, listed, "go list resolves another go-libp2p than the test was built with: pass -modfile through GOFLAGS, not as a go test flag")
	}

	pkgs, err := apicheck.Load(".", paths...)
	require.NoError(t, err)
	for _, n := range names {
		t.Run(n, func(t *testing.T) {
			problems := apicheck.Compare(pkgs[upstream+n], pkgs[ours+n])
			require.Empty(t, problems, "code written against upstream's %s would not compile against compat/%s", n, n)
		})
	}
}

// builtVersion returns the version of go-libp2p this test binary was
// built with, read from where upstream's compiled code says its source was
// (test binaries carry no module list in their build information), or ""
// when that source is not a module version (a replace to a directory).
func builtVersion(t *testing.T) string {
	pc := reflect.ValueOf(upstreamds.DefaultOpts).Pointer()
	file, _ := runtime.FuncForPC(pc).FileLine(pc)
	const mod = "github.com/libp2p/go-libp2p@"
	_, after, ok := strings.Cut(filepath.ToSlash(file), mod)
	if !ok {
		t.Logf("go-libp2p is built from %s, not a module version: not checking which one go list resolves", file)
		return ""
	}
	version, _, _ := strings.Cut(after, "/")
	return version
}
