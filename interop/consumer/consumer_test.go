// Package consumer_test proves that adopting the library moves nothing in
// a go-libp2p app: a scratch module pinned to the oldest supported
// go-libp2p, an old kad-dht and an old x/tools requires the library,
// tidies, builds and runs two hosts on 127.0.0.1 that learn each other's
// protocols through identify; then the same on the newest go-libp2p.
package consumer_test

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
	"golang.org/x/mod/modfile"
)

const (
	library = "github.com/pstoremigrate/pstoremigrate"
	oldest  = "v0.48.0" // the oldest supported go-libp2p
	newest  = "v0.52.0" // the newest supported go-libp2p
)

// The app's pins before it adopts the library.
var pins = map[string]string{
	"github.com/libp2p/go-libp2p":         oldest,
	"github.com/libp2p/go-libp2p-kad-dht": "v0.28.1",
	"golang.org/x/tools":                  "v0.41.0",
}

const goLine = "1.25.7"

// Modules the library's tools and tests need and an app must never get.
var neverInApp = []string{
	"github.com/libp2p/go-libp2p-pubsub",
	"github.com/cockroachdb/pebble",
	"github.com/cockroachdb/pebble/v2",
	"github.com/ipfs/go-ds-pebble",
	"github.com/ipfs/go-ds-leveldb",
	"github.com/syndtr/goleveldb",
	"github.com/schollz/progressbar/v3",
	"github.com/pstoremigrate/pstoremigrate/analyzer",
	"github.com/pstoremigrate/pstoremigrate/cmd/pstoremigrate",
}

func TestAdoptingMovesNoVersion(t *testing.T) {
	repo, err := filepath.Abs(filepath.Join("..", ".."))
	require.NoError(t, err)
	dir := t.TempDir()
	for _, name := range []string{"main.go", "dht.go"} {
		src, err := os.ReadFile(filepath.Join("testdata", "app", name))
		require.NoError(t, err)
		require.NoError(t, os.WriteFile(filepath.Join(dir, name), src, 0o644))
	}
	var gomod strings.Builder
	gomod.WriteString("module example.com/consumer\n\ngo " + goLine + "\n\nrequire (\n")
	for path, v := range pins {
		gomod.WriteString("\t" + path + " " + v + "\n")
	}
	gomod.WriteString("\t" + library + " v0.0.0-00010101000000-000000000000\n)\n\n")
	gomod.WriteString("replace " + library + " => " + repo + "\n")
	require.NoError(t, os.WriteFile(filepath.Join(dir, "go.mod"), []byte(gomod.String()), 0o644))

	goCmd(t, dir, "mod", "tidy")
	mf := readModFile(t, dir)
	require.Equal(t, goLine, mf.Go.Version, "the go line moved")
	required := make(map[string]string)
	for _, r := range mf.Require {
		required[r.Mod.Path] = r.Mod.Version
	}
	for path, v := range pins {
		require.Equalf(t, v, required[path], "%s moved", path)
	}
	for _, path := range neverInApp {
		require.NotContainsf(t, required, path, "%s entered the app's go.mod", path)
	}
	out := goCmd(t, dir, "run", ".")
	require.Contains(t, out, "ok: learned")

	// The same app on the newest go-libp2p.
	goCmd(t, dir, "get", "github.com/libp2p/go-libp2p@"+newest)
	goCmd(t, dir, "mod", "tidy")
	mf = readModFile(t, dir)
	for _, r := range mf.Require {
		if r.Mod.Path == "github.com/libp2p/go-libp2p" {
			require.Equal(t, newest, r.Mod.Version)
		}
	}
	out = goCmd(t, dir, "run", ".")
	require.Contains(t, out, "ok: learned")
}

func goCmd(t *testing.T, dir string, args ...string) string {
	t.Helper()
	cmd := exec.Command("go", args...)
	cmd.Dir = dir
	// Outside any workspace, on the toolchain at hand: the app's go line
	// must not make the go command fetch another.
	cmd.Env = append(os.Environ(), "GOWORK=off", "GOTOOLCHAIN=local", "GOFLAGS=")
	out, err := cmd.CombinedOutput()
	require.NoErrorf(t, err, "go %s in %s:\n%s", strings.Join(args, " "), dir, out)
	return string(out)
}

func readModFile(t *testing.T, dir string) *modfile.File {
	t.Helper()
	data, err := os.ReadFile(filepath.Join(dir, "go.mod"))
	require.NoError(t, err)
	mf, err := modfile.Parse("go.mod", data, nil)
	require.NoError(t, err)
	return mf
}
