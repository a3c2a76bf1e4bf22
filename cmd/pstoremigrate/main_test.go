package main

import (
	"bytes"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"sync"
	"testing"

	"github.com/stretchr/testify/require"
	"go.uber.org/goleak"
)

// The tests run the real binary, the way users and the go command do: lint
// and fix re-invoke it as a vet/fix tool, which a test binary cannot be.

var (
	toolDir  string // holds the binary built for this test run
	toolOnce sync.Once
	toolPath string
	toolErr  error
)

func TestMain(m *testing.M) {
	// The modules the tests run the tool on (testdata/legacyapp among them)
	// are not part of the repository's go.work: each builds on its go.mod.
	os.Setenv("GOWORK", "off")
	dir, err := os.MkdirTemp("", "pstoremigrate-test-")
	if err != nil {
		panic(err)
	}
	toolDir = dir
	goleak.VerifyTestMain(m, goleak.Cleanup(func(int) { os.RemoveAll(dir) }))
}

// tool builds cmd/pstoremigrate once per test run and returns its path.
func tool(t testing.TB) string {
	t.Helper()
	toolOnce.Do(func() {
		name := "pstoremigrate"
		if runtime.GOOS == "windows" {
			name += ".exe"
		}
		toolPath = filepath.Join(toolDir, name)
		out, err := exec.Command("go", "build", "-o", toolPath, ".").CombinedOutput()
		if err != nil {
			toolErr = errors.New("building pstoremigrate: " + err.Error() + "\n" + string(out))
		}
	})
	require.NoError(t, toolErr)
	return toolPath
}

type result struct {
	stdout, stderr string
	code           int
}

// runIn runs name with args in dir and returns its output and exit code.
func runIn(t testing.TB, dir, name string, args ...string) result {
	t.Helper()
	return runInEnv(t, dir, nil, name, args...)
}

// runInEnv is runIn with env added to the environment.
func runInEnv(t testing.TB, dir string, env []string, name string, args ...string) result {
	t.Helper()
	var stdout, stderr bytes.Buffer
	cmd := exec.Command(name, args...)
	cmd.Dir = dir
	if env != nil {
		cmd.Env = append(os.Environ(), env...)
	}
	cmd.Stdout = &stdout
	cmd.Stderr = &stderr
	err := cmd.Run()
	code := 0
	if exitErr, ok := errors.AsType[*exec.ExitError](err); ok {
		code = exitErr.ExitCode()
	} else {
		require.NoError(t, err, "running %s %v", name, args)
	}
	return result{stdout: stdout.String(), stderr: stderr.String(), code: code}
}

// repoRoot is the root of this module, two levels above the package.
func repoRoot(t testing.TB) string {
	t.Helper()
	root, err := filepath.Abs(filepath.Join("..", ".."))
	require.NoError(t, err)
	return root
}

// copyLegacyApp copies testdata/legacyapp into a fresh directory and points
// its replace directive at this repository.
func copyLegacyApp(t testing.TB) string {
	t.Helper()
	src := filepath.Join(repoRoot(t), "testdata", "legacyapp")
	dst := t.TempDir()
	require.NoError(t, os.CopyFS(dst, os.DirFS(src)))
	gomod := filepath.Join(dst, "go.mod")
	data, err := os.ReadFile(gomod)
	require.NoError(t, err)
	const rel = "=> ../.."
	require.Contains(t, string(data), rel, "legacyapp's go.mod must replace this module with ../..")
	data = bytes.ReplaceAll(data, []byte(rel), []byte("=> "+repoRoot(t)))
	require.NoError(t, os.WriteFile(gomod, data, 0o644))
	return dst
}

// writeModule writes a throwaway module with the given files.
func writeModule(t testing.TB, files map[string]string) string {
	t.Helper()
	dir := t.TempDir()
	for name, content := range files {
		path := filepath.Join(dir, name)
		require.NoError(t, os.MkdirAll(filepath.Dir(path), 0o755))
		require.NoError(t, os.WriteFile(path, []byte(content), 0o644))
	}
	return dir
}

// snapshotGoFiles returns the contents of every .go file under dir.
func snapshotGoFiles(t testing.TB, dir string) map[string]string {
	t.Helper()
	files := make(map[string]string)
	err := filepath.WalkDir(dir, func(path string, d os.DirEntry, err error) error {
		if err != nil || d.IsDir() || !strings.HasSuffix(path, ".go") {
			return err
		}
		data, err := os.ReadFile(path)
		files[path] = string(data)
		return err
	})
	require.NoError(t, err)
	return files
}

// snapshotFiles returns the contents of every file under dir.
func snapshotFiles(t testing.TB, dir string) map[string]string {
	t.Helper()
	files := make(map[string]string)
	err := filepath.WalkDir(dir, func(path string, d os.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		data, err := os.ReadFile(path)
		files[path] = string(data)
		return err
	})
	require.NoError(t, err)
	return files
}

func TestIsToolProtocol(t *testing.T) {
	for _, tc := range []struct {
		args []string
		want bool
	}{
		{[]string{"-V=full"}, true},
		{[]string{"-flags"}, true},
		{[]string{"-json", "/tmp/b001/vet.cfg"}, true},
		{[]string{"-fix", "-diff", "/tmp/b001/vet.cfg"}, true},
		{[]string{"/tmp/b001/vet.cfg"}, true},
		{nil, false},
		{[]string{"lint", "./..."}, false},
		{[]string{"lint", "x.cfg"}, false},
		{[]string{"fix", "-diff", "./..."}, false},
		{[]string{"help"}, false},
	} {
		require.Equal(t, tc.want, isToolProtocol(tc.args), "%q", tc.args)
	}
}

func TestUsageErrors(t *testing.T) {
	bin := tool(t)
	dir := t.TempDir()

	r := runIn(t, dir, bin)
	require.Equal(t, exitUsage, r.code)
	require.Contains(t, r.stderr, "Usage:")

	r = runIn(t, dir, bin, "frobnicate")
	require.Equal(t, exitUsage, r.code)
	require.Contains(t, r.stderr, "pstoremigrate frobnicate: unknown command")

	r = runIn(t, dir, bin, "lint", "-nosuchflag")
	require.Equal(t, exitUsage, r.code)
	require.Contains(t, r.stderr, "usage: pstoremigrate lint [-json] [-tags tag,list] [packages]")

	r = runIn(t, dir, bin, "fix", "-json")
	require.Equal(t, exitUsage, r.code, "fix has no -json")
}

func TestHelpExplainsTheMigration(t *testing.T) {
	bin := tool(t)
	r := runIn(t, t.TempDir(), bin, "help")
	require.Equal(t, exitOK, r.code, r.stderr)
	summary, _, ok := strings.Cut(r.stdout, "\n\n")
	require.True(t, ok)
	require.LessOrEqual(t, strings.Count(summary, "\n"), 11, "ten lines of explanation and the pointer:\n%s", summary)
	for _, want := range []string{"MIGRATION.md", "compat/pstoremem", "peerstore.New(h)", "lint", "fix"} {
		require.Contains(t, summary, want)
	}
	require.Contains(t, r.stdout, "lint ", "the command list follows")

	r = runIn(t, t.TempDir(), bin, "help", "fix")
	require.Equal(t, exitOK, r.code, r.stderr)
	require.Contains(t, r.stdout, "usage: pstoremigrate fix [-diff] [-tags tag,list] [packages]")

	r = runIn(t, t.TempDir(), bin, "help", "nosuch")
	require.Equal(t, exitUsage, r.code)
}

// A dependency unit (VetxOnly) is analyzed for facts only; a package named
// on the command line, a missing file and other arguments are not.
func TestFactsOnlyUnit(t *testing.T) {
	dir := t.TempDir()
	dep := filepath.Join(dir, "dep.cfg")
	root := filepath.Join(dir, "root.cfg")
	require.NoError(t, os.WriteFile(dep, []byte(`{"ID":"x","VetxOnly":true}`), 0o644))
	require.NoError(t, os.WriteFile(root, []byte(`{"ID":"y","VetxOnly":false}`), 0o644))

	require.True(t, factsOnlyUnit([]string{"-json", dep}))
	require.False(t, factsOnlyUnit([]string{"-json", root}))
	require.False(t, factsOnlyUnit([]string{filepath.Join(dir, "missing.cfg")}))
	require.False(t, factsOnlyUnit([]string{"-V=full"}))
	require.False(t, factsOnlyUnit(nil))
}
