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

// goBlocks returns the ```go fenced blocks of a Markdown document.
func goBlocks(doc string) []string {
	var blocks []string
	var cur *strings.Builder
	for _, line := range strings.Split(doc, "\n") {
		switch {
		case cur == nil && strings.TrimSpace(line) == "```go":
			cur = new(strings.Builder)
		case cur != nil && strings.TrimSpace(line) == "```":
			blocks = append(blocks, cur.String())
			cur = nil
		case cur != nil:
			cur.WriteString(line + "\n")
		}
	}
	return blocks
}

// Every Go block of MIGRATION.md is a whole file that compiles against this
// repository and go-libp2p: the guide's "before" code against upstream, its
// "after" code against compat and newstore as they are now.
func TestMigrationGuideCodeCompiles(t *testing.T) {
	root := repoRoot(t)
	doc, err := os.ReadFile(filepath.Join(root, "MIGRATION.md"))
	require.NoError(t, err)
	blocks := goBlocks(string(doc))
	require.NotEmpty(t, blocks)

	// A module with this repository's requirements, so the guide is
	// checked against the versions this module pins.
	gomod, err := os.ReadFile(filepath.Join(root, "go.mod"))
	require.NoError(t, err)
	modLine := regexp.MustCompile(`(?m)^module .*$`)
	require.Regexp(t, modLine, string(gomod))
	mod := modLine.ReplaceAllString(string(gomod), "module example.com/migrationguide")
	mod += fmt.Sprintf("\nrequire %s %s\n\nreplace %s => %s\n", thisModule, zeroPseudoVersion, thisModule, root)
	gosum, err := os.ReadFile(filepath.Join(root, "go.sum"))
	require.NoError(t, err)

	files := map[string]string{"go.mod": mod, "go.sum": string(gosum)}
	for i, b := range blocks {
		require.Truef(t, strings.HasPrefix(b, "package "), "Go block %d of MIGRATION.md is not a whole file:\n%s", i+1, b)
		files[fmt.Sprintf("block%02d/block.go", i+1)] = b
	}
	dir := writeModule(t, files)

	for _, args := range [][]string{{"build", "./..."}, {"vet", "./..."}} {
		r := runIn(t, dir, "go", args...)
		require.Equal(t, 0, r.code, "go %v on MIGRATION.md's code blocks (blockNN is the NNth ```go block):\n%s%s", args, r.stdout, r.stderr)
	}
}

func TestGoBlocks(t *testing.T) {
	doc := "text\n```go\npackage a\n```\n```sh\nls\n```\n  ```go\npackage b\n\nfunc F() {}\n  ```\n"
	require.Equal(t, []string{"package a\n", "package b\n\nfunc F() {}\n"}, goBlocks(doc))
}
