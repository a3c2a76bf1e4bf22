package main

import (
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
)

// A goBlock is a ```go fenced block of a Markdown document, with the label
// of an HTML comment "<!-- label -->" on the line just before its fence.
type goBlock struct {
	Label string
	Code  string
}

func goBlocks(doc string) []goBlock {
	var blocks []goBlock
	var cur *strings.Builder
	label, prev := "", ""
	for _, line := range strings.Split(doc, "\n") {
		switch {
		case cur == nil && strings.TrimSpace(line) == "```go":
			cur = new(strings.Builder)
			label = ""
			if c, ok := strings.CutPrefix(strings.TrimSpace(prev), "<!--"); ok {
				label = strings.TrimSpace(strings.TrimSuffix(c, "-->"))
			}
		case cur != nil && strings.TrimSpace(line) == "```":
			blocks = append(blocks, goBlock{Label: label, Code: cur.String()})
			cur = nil
		case cur != nil:
			cur.WriteString(line + "\n")
		}
		prev = line
	}
	return blocks
}

// guideModule writes a module with the interop module's requirements (the
// guide's code uses go-ds-leveldb and kbucket beside go-libp2p) and the
// given files, with this repository as github.com/pstoremigrate/pstoremigrate.
func guideModule(t testing.TB, files map[string]string) string {
	t.Helper()
	root := repoRoot(t)
	interop := filepath.Join(root, "interop")
	gomod, err := os.ReadFile(filepath.Join(interop, "go.mod"))
	require.NoError(t, err)
	modLine := regexp.MustCompile(`(?m)^module .*$`)
	require.Regexp(t, modLine, string(gomod))
	mod := modLine.ReplaceAllString(string(gomod), "module example.com/migrationguide")
	replaceLine := regexp.MustCompile(`(?m)^replace ` + regexp.QuoteMeta(thisModule) + ` => .*$`)
	require.Regexp(t, replaceLine, mod, "interop/go.mod replaces this module with the repository")
	mod = replaceLine.ReplaceAllLiteralString(mod, fmt.Sprintf("replace %s => %s", thisModule, root))
	gosum, err := os.ReadFile(filepath.Join(interop, "go.sum"))
	require.NoError(t, err)
	files["go.mod"] = mod
	files["go.sum"] = string(gosum)
	return writeModule(t, files)
}

func readGuide(t testing.TB) []goBlock {
	t.Helper()
	doc, err := os.ReadFile(filepath.Join(repoRoot(t), "MIGRATION.md"))
	require.NoError(t, err)
	blocks := goBlocks(string(doc))
	require.NotEmpty(t, blocks)
	return blocks
}

// Every Go block of MIGRATION.md is a whole file that compiles against this
// repository and go-libp2p: the guide's "before" code against upstream, its
// "after" code against compat and newstore as they are now.
func TestMigrationGuideCodeCompiles(t *testing.T) {
	files := make(map[string]string)
	for i, b := range readGuide(t) {
		require.Truef(t, strings.HasPrefix(b.Code, "package "), "Go block %d of MIGRATION.md is not a whole file:\n%s", i+1, b.Code)
		files[fmt.Sprintf("block%02d/block.go", i+1)] = b.Code
	}
	dir := guideModule(t, files)
	for _, args := range [][]string{{"build", "./..."}, {"vet", "./..."}} {
		r := runIn(t, dir, "go", args...)
		require.Equal(t, 0, r.code, "go %v on MIGRATION.md's code blocks (blockNN is the NNth ```go block):\n%s%s", args, r.stdout, r.stderr)
	}
}

// The guide's "after" code marked "fix:after NAME" is exactly what
// pstoremigrate fix makes of the "fix:before NAME" code.
func TestMigrationGuideShowsWhatFixWrites(t *testing.T) {
	bin := tool(t)
	before, after := make(map[string]string), make(map[string]string)
	for _, b := range readGuide(t) {
		if name, ok := strings.CutPrefix(b.Label, "fix:before "); ok {
			before[name] = b.Code
		} else if name, ok := strings.CutPrefix(b.Label, "fix:after "); ok {
			after[name] = b.Code
		}
	}
	require.NotEmpty(t, before)
	files := make(map[string]string)
	for name, code := range before {
		require.Contains(t, after, name, "fix:before %s has no fix:after", name)
		files[name+"/"+name+".go"] = code
	}
	require.Len(t, after, len(before), "every fix:after has a fix:before")
	dir := guideModule(t, files)

	r := runIn(t, dir, bin, "fix", "./...")
	require.Equal(t, exitOK, r.code, "the guide's before code is all fixable:\n%s%s", r.stdout, r.stderr)
	for name, want := range after {
		got, err := os.ReadFile(filepath.Join(dir, name, name+".go"))
		require.NoError(t, err)
		require.Equal(t, want, string(got), "MIGRATION.md's fix:after %s is not what fix writes", name)
	}
}

func TestGoBlocks(t *testing.T) {
	doc := "text\n```go\npackage a\n```\n```sh\nls\n```\n<!-- fix:before b -->\n  ```go\npackage b\n\nfunc F() {}\n  ```\n"
	require.Equal(t, []goBlock{{Code: "package a\n"}, {Label: "fix:before b", Code: "package b\n\nfunc F() {}\n"}}, goBlocks(doc))
}
