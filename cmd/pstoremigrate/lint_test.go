package main

import (
	"encoding/json"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
)

var findingLine = regexp.MustCompile(`^([^:\s]+\.go):(\d+):(\d+): (.+)$`)

// Every category the legacy app exercises; DESIGN.md's table has one row each.
var legacyAppCategories = []string{"protocols", "metadata", "latency", "privkey", "peerstore-value", "import"}

func TestLintLegacyApp(t *testing.T) {
	bin := tool(t)
	app := copyLegacyApp(t)

	r := runIn(t, app, bin, "lint", "./...")
	require.Equal(t, exitFindings, r.code, "findings exit 3; stderr:\n%s", r.stderr)

	lines := strings.Split(strings.TrimSuffix(r.stdout, "\n"), "\n")
	require.Greater(t, len(lines), 1)
	summary := lines[len(lines)-1]
	// As go vet prints them: a related position ("the value comes from
	// here") on the line after its finding, its message after a tab.
	var findings, related []string
	for _, l := range lines[:len(lines)-1] {
		if strings.Contains(l, ": \t") {
			related = append(related, l)
		} else {
			findings = append(findings, l)
		}
	}
	require.True(t, slices.ContainsFunc(related, regexp.MustCompile(`^node\.go:\d+:\d+: \tthe value comes from here; the fix rewrites it$`).MatchString),
		"lint prints the related position, as go vet does:\n%s", r.stdout)
	require.Contains(t, r.stdout, "PeerMetadata.Put(\"legacyapp/last-greeting\") is going away")
	for _, l := range findings {
		m := findingLine.FindStringSubmatch(l)
		require.NotNil(t, m, "not file:line:col: message: %q", l)
		require.Equal(t, "node.go", m[1], "paths are relative to the current directory")
	}
	require.Regexp(t, `^pstoremigrate: \d+ findings \(.*\); \d+ fixable by 'pstoremigrate fix', \d+ by hand$`, summary)
	require.True(t, strings.HasPrefix(summary, "pstoremigrate: "+strconv.Itoa(len(findings))+" findings"), summary)
	for _, c := range legacyAppCategories {
		require.Regexp(t, regexp.QuoteMeta(c)+` \d+`, summary)
	}
	// What the new store keeps is not reported: PubKey and Addrs are used too.
	node, err := os.ReadFile(filepath.Join(app, "node.go"))
	require.NoError(t, err)
	srcLines := strings.Split(string(node), "\n")
	for _, l := range findings {
		m := findingLine.FindStringSubmatch(l)
		n, _ := strconv.Atoi(m[2])
		src := srcLines[n-1]
		require.NotContains(t, src, ".PubKey(", "public keys stay: %s", l)
		require.NotContains(t, src, ".Addrs(", "addresses stay: %s", l)
	}
}

func TestLintJSON(t *testing.T) {
	bin := tool(t)
	app := copyLegacyApp(t)

	r := runIn(t, app, bin, "lint", "-json", "./...")
	require.Equal(t, exitFindings, r.code, r.stderr)
	var rep struct {
		Findings []struct {
			File     string
			Line     int
			Col      int
			Category string
			Message  string
			URL      string
			Fixable  bool
		}
		Summary map[string]int
		Total   int
		Fixable int
	}
	require.NoError(t, json.Unmarshal([]byte(r.stdout), &rep), r.stdout)
	require.Len(t, rep.Findings, rep.Total)
	sum, fixable := 0, 0
	for _, n := range rep.Summary {
		sum += n
	}
	require.Equal(t, rep.Total, sum)

	guide := migrationAnchors(t)
	for _, f := range rep.Findings {
		require.Equal(t, "node.go", f.File)
		require.Positive(t, f.Line)
		require.Positive(t, f.Col)
		require.NotEmpty(t, f.Message)
		require.Contains(t, legacyAppCategories, f.Category)
		_, anchor, ok := strings.Cut(f.URL, "MIGRATION.md#")
		require.True(t, ok, "URL %q links a MIGRATION.md section", f.URL)
		require.True(t, guide[anchor], "MIGRATION.md has no section #%s (from %s)", anchor, f.Category)
		if f.Fixable {
			fixable++
		}
	}
	require.Equal(t, rep.Fixable, fixable)
	require.Positive(t, fixable)
}

// migrationAnchors returns the GitHub anchors of MIGRATION.md's headings.
func migrationAnchors(t testing.TB) map[string]bool {
	t.Helper()
	data, err := os.ReadFile(filepath.Join(repoRoot(t), "MIGRATION.md"))
	require.NoError(t, err)
	anchors := make(map[string]bool)
	inCode := false
	for _, l := range strings.Split(string(data), "\n") {
		if strings.HasPrefix(l, "```") {
			inCode = !inCode
		}
		if inCode || !strings.HasPrefix(l, "#") {
			continue
		}
		title := strings.TrimSpace(strings.TrimLeft(l, "#"))
		anchors[githubAnchor(title)] = true
	}
	return anchors
}

// githubAnchor is how GitHub names a heading's anchor: lower case, spaces to
// dashes, punctuation other than dashes and underscores dropped.
func githubAnchor(title string) string {
	var b strings.Builder
	for _, r := range strings.ToLower(title) {
		switch {
		case r == ' ':
			b.WriteRune('-')
		case r == '-' || r == '_' || r >= 'a' && r <= 'z' || r >= '0' && r <= '9':
			b.WriteRune(r)
		}
	}
	return b.String()
}

func TestLintCleanPackage(t *testing.T) {
	bin := tool(t)
	dir := writeModule(t, map[string]string{
		"go.mod":  "module example.com/clean\n\ngo 1.26\n",
		"main.go": "package main\n\nimport \"fmt\"\n\nfunc main() { fmt.Println(\"no peerstore here\") }\n",
	})
	r := runIn(t, dir, bin, "lint", "./...")
	require.Equal(t, exitOK, r.code, r.stderr)
	require.Equal(t, "pstoremigrate: no legacy Peerstore use found\n", r.stdout)

	r = runIn(t, dir, bin, "lint", "-json")
	require.Equal(t, exitOK, r.code, r.stderr)
	require.JSONEq(t, `{"findings": [], "summary": {}, "total": 0, "fixable": 0}`, r.stdout)
}

func TestLintPackagesThatDoNotLoad(t *testing.T) {
	bin := tool(t)
	dir := writeModule(t, map[string]string{
		"go.mod":       "module example.com/broken\n\ngo 1.26\n",
		"ok/ok.go":     "package ok\n",
		"bad/bad.go":   "package bad\n\nfunc f() int { return undefinedThing }\n",
		"syntax/s.go":  "package syntax\n\nfunc {\n",
		"notgo/README": "nothing\n",
	})
	for _, tc := range []struct {
		pattern string
		want    string // in the explanation
	}{
		{"./bad", "undefinedThing"},
		{"./syntax", "s.go"},
		{"./nosuchdir", "nosuchdir"},
		{"example.com/notthere/pkg", "example.com/notthere/pkg"},
	} {
		t.Run(tc.pattern, func(t *testing.T) {
			for _, cmd := range []string{"lint", "fix"} {
				r := runIn(t, dir, bin, cmd, tc.pattern)
				require.Equal(t, exitError, r.code, "stdout %s\nstderr %s", r.stdout, r.stderr)
				require.Contains(t, r.stderr, "pstoremigrate "+cmd+": ")
				require.Contains(t, r.stderr, tc.want)
				require.NotContains(t, r.stderr, "goroutine ", "no stack trace")
				require.NotContains(t, r.stderr, "panic")
			}
		})
	}
}

// -tags reaches the go command: a file behind a build tag is linted only
// with the tag.
func TestLintTags(t *testing.T) {
	bin := tool(t)
	app := copyLegacyApp(t)
	require.NoError(t, os.WriteFile(filepath.Join(app, "tagged.go"), []byte(`//go:build legacyextra

package main

import "github.com/libp2p/go-libp2p/core/peer"

func extraLatency(n *Node, p peer.ID) int64 { return int64(n.Host.Peerstore().LatencyEWMA(p)) }
`), 0o644))

	count := func(args ...string) int {
		r := runIn(t, app, bin, append([]string{"lint", "-json"}, args...)...)
		require.Equal(t, exitFindings, r.code, r.stderr)
		var rep struct{ Findings []finding }
		require.NoError(t, json.Unmarshal([]byte(r.stdout), &rep))
		n := 0
		for _, f := range rep.Findings {
			if f.File == "tagged.go" {
				n++
			}
		}
		return n
	}
	require.Zero(t, count("./..."))
	require.Equal(t, 1, count("-tags", "legacyextra", "./..."))
}
