package golangci_test

import (
	"bytes"
	"encoding/json"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

// golangciLintVersion is the golangci-lint the test builds with the plugin;
// its x/tools must not be older than the analyzer's.
const golangciLintVersion = "v2.15.0"

const (
	thisModule   = "github.com/pstoremigrate/pstoremigrate"
	pluginModule = thisModule + "/golangci"
	zeroVersion  = "v0.0.0-00010101000000-000000000000"
)

// golangciYML enables the plugin alone and shows every finding.
const golangciYML = `version: "2"
linters:
  default: none
  enable:
    - pstoremigrate
  settings:
    custom:
      pstoremigrate:
        type: module
        description: finds and rewrites uses of go-libp2p's legacy Peerstore API
issues:
  max-issues-per-linter: 0
  max-same-issues: 0
`

func run(t *testing.T, dir string, name string, args ...string) (string, int) {
	t.Helper()
	cmd := exec.Command(name, args...)
	cmd.Dir = dir
	cmd.Env = append(os.Environ(), "GOWORK=off")
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	err := cmd.Run()
	if exitErr, ok := errors.AsType[*exec.ExitError](err); ok {
		return out.String(), exitErr.ExitCode()
	}
	require.NoError(t, err, "running %s %v", name, args)
	return out.String(), 0
}

// buildCustomGolangciLint builds golangci-lint with this plugin the way
// "golangci-lint custom" does: golangci-lint's own main package, a
// plugins.go that imports the plugin, a replace directive to the plugin's
// folder, go mod tidy, go build. The main package comes from the module
// proxy instead of a git clone.
func buildCustomGolangciLint(t *testing.T, root string) string {
	t.Helper()
	dir := t.TempDir()
	gomod := "module example.com/custom-gcl\n\ngo 1.26.0\n\n" +
		"require (\n\tgithub.com/golangci/golangci-lint/v2 " + golangciLintVersion + "\n\t" + pluginModule + " " + zeroVersion + "\n)\n\n" +
		"replace (\n\t" + pluginModule + " => " + filepath.Join(root, "golangci") + "\n\t" +
		thisModule + "/analyzer => " + filepath.Join(root, "analyzer") + "\n)\n"
	require.NoError(t, os.WriteFile(filepath.Join(dir, "go.mod"), []byte(gomod), 0o644))

	out, code := run(t, dir, "go", "mod", "download", "-json", "github.com/golangci/golangci-lint/v2@"+golangciLintVersion)
	require.Equal(t, 0, code, "downloading golangci-lint:\n%s", out)
	var mod struct{ Dir string }
	require.NoError(t, json.Unmarshal([]byte(out), &mod), out)
	for _, name := range []string{"cmd/golangci-lint/main.go", "go.sum"} {
		data, err := os.ReadFile(filepath.Join(mod.Dir, name))
		require.NoError(t, err)
		require.NoError(t, os.WriteFile(filepath.Join(dir, filepath.Base(name)), data, 0o644))
	}
	plugins := "package main\n\nimport (\n\t_ \"" + pluginModule + "\"\n)\n"
	require.NoError(t, os.WriteFile(filepath.Join(dir, "plugins.go"), []byte(plugins), 0o644))

	for _, args := range [][]string{
		{"mod", "tidy"},
		{"build", "-ldflags", "-X 'main.version=" + strings.TrimPrefix(golangciLintVersion, "v") + "-custom-gcl'", "-o", "custom-gcl", "."},
	} {
		out, code := run(t, dir, "go", args...)
		require.Equal(t, 0, code, "go %v for the custom golangci-lint:\n%s", args, out)
	}
	return filepath.Join(dir, "custom-gcl")
}

// A golangci-lint built with the plugin reports the legacy app's findings,
// and --fix leaves a copy that builds.
func TestCustomGolangciLintWithThePlugin(t *testing.T) {
	root, err := filepath.Abs("..")
	require.NoError(t, err)
	start := time.Now()
	gcl := buildCustomGolangciLint(t, root)
	t.Logf("building the custom golangci-lint took %v", time.Since(start).Round(time.Second))

	app := t.TempDir()
	require.NoError(t, os.CopyFS(app, os.DirFS(filepath.Join(root, "testdata", "legacyapp"))))
	gomod := filepath.Join(app, "go.mod")
	data, err := os.ReadFile(gomod)
	require.NoError(t, err)
	data = bytes.ReplaceAll(data, []byte("=> ../.."), []byte("=> "+root))
	require.NoError(t, os.WriteFile(gomod, data, 0o644))
	require.NoError(t, os.WriteFile(filepath.Join(app, ".golangci.yml"), []byte(golangciYML), 0o644))
	// Like go fix, golangci-lint cannot add the requirement the fixed code
	// needs: the user runs go get first (MIGRATION.md says so).
	// (With the packages named one by one and the proxy off, as this
	// module's path is not on the proxy.)
	get := exec.Command("go", "get", thisModule+"/compat/peerstore@"+zeroVersion, thisModule+"/compat/pstoremem@"+zeroVersion, thisModule+"/compat/pstoreds@"+zeroVersion)
	get.Dir = app
	get.Env = append(os.Environ(), "GOWORK=off", "GOPROXY=off")
	getOut, err := get.CombinedOutput()
	require.NoError(t, err, "%s", getOut)

	out, code := run(t, app, gcl, "run", "./...")
	require.Equal(t, 1, code, "golangci-lint exits 1 on findings:\n%s", out)
	for _, want := range []string{
		"pstoremem is going away with the legacy Peerstore",
		"ProtoBook.SupportsProtocols is going away",
		"KeyBook.PrivKey is going away",
		"(pstoremigrate)",
	} {
		require.Contains(t, out, want)
	}

	lintStart := time.Now()
	out, _ = run(t, app, gcl, "run", "--fix", "./...")
	t.Logf("golangci-lint run --fix took %v", time.Since(lintStart).Round(time.Second))
	node, err := os.ReadFile(filepath.Join(app, "node.go"))
	require.NoError(t, err)
	require.Contains(t, string(node), `"github.com/pstoremigrate/pstoremigrate/compat/pstoremem"`, "--fix output:\n%s", out)
	require.NotContains(t, string(node), `"github.com/libp2p/go-libp2p/p2p/host/peerstore/pstoremem"`)
	require.Contains(t, string(node), ".New(")
	out, code = run(t, app, "go", "build", "./...")
	require.Equal(t, 0, code, "the copy golangci-lint fixed builds:\n%s", out)
	out, code = run(t, app, "go", "vet", "./...")
	require.Equal(t, 0, code, "and vets:\n%s", out)
}
