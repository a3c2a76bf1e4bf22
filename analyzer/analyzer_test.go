package analyzer_test

import (
	"bytes"
	"fmt"
	"go/format"
	"go/token"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"golang.org/x/tools/go/analysis"
	"golang.org/x/tools/go/analysis/analysistest"
	"golang.org/x/tools/go/analysis/checker"
	"golang.org/x/tools/go/packages"

	"github.com/pstoremigrate/pstoremigrate/analyzer"
)

const migrationURL = "https://github.com/pstoremigrate/pstoremigrate/blob/main/MIGRATION.md#"

// anchors is the contract with MIGRATION.md (see doc.go).
var anchors = map[string]string{
	analyzer.CategoryProtocols:      "protocols",
	analyzer.CategoryMetadata:       "metadata",
	analyzer.CategoryLatency:        "latency",
	analyzer.CategoryPrivKey:        "private-keys",
	analyzer.CategoryPeerstoreValue: "passing-the-peerstore",
	analyzer.CategoryImport:         "pstoremem-and-pstoreds",
}

// TestAnalyzer runs the analyzer once over every fixture package (loading
// go-libp2p from source is the expensive part) and checks, in turn, the
// `// want` expectations and golden files, the diagnostics' metadata, and
// that the fixed code builds against the real compat packages and is a
// fixed point.
func TestAnalyzer(t *testing.T) {
	results := analysistest.RunWithSuggestedFixes(t, analysistest.TestData(), analyzer.Analyzer, "./src/...")
	require.NotEmpty(t, results)

	var diags []diagnostic
	for _, r := range results {
		for _, d := range r.Diagnostics {
			diags = append(diags, newDiagnostic(r.Action.Package.Fset, d))
		}
	}

	t.Run("every diagnostic has a category, a URL and a fix or a reason", func(t *testing.T) {
		seen := make(map[string]bool)
		for _, d := range diags {
			anchor, ok := anchors[d.category]
			require.Truef(t, ok, "%s: unknown category %q", d.pos, d.category)
			assert.Equalf(t, migrationURL+anchor, d.url, "%s", d.pos)
			assert.Containsf(t, d.message, "going away", "%s: the message says what is going away", d.pos)
			if d.fixed {
				assert.NotContainsf(t, d.message, "not rewritten", "%s", d.pos)
			} else {
				assert.Containsf(t, d.message, "not rewritten", "%s: a finding without fix says what to do by hand", d.pos)
			}
			seen[d.category] = true

			// A fix that rewrites a declaration elsewhere points at it.
			for _, e := range d.edits {
				if !strings.HasSuffix(e.text, ".New(") {
					continue
				}
				at := token.Position{Filename: e.file, Line: lineOf(t, e.file, e.start)}
				pointed := slices.ContainsFunc(d.related, func(r token.Position) bool {
					return r.Filename == at.Filename && r.Line == at.Line
				})
				elsewhere := at.Filename != d.pos.Filename || at.Line != d.pos.Line
				assert.Equalf(t, elsewhere, pointed, "%s: the fix edits %s:%d; related: %v", d.pos, at.Filename, at.Line, d.related)
			}
		}
		for category := range anchors {
			assert.Truef(t, seen[category], "no fixture covers category %q", category)
		}
	})

	t.Run("doc.go lists every anchor", func(t *testing.T) {
		doc, err := os.ReadFile("doc.go")
		require.NoError(t, err)
		for category, anchor := range anchors {
			assert.Regexp(t, regexp.MustCompile(`//\s+`+regexp.QuoteMeta(category)+`\s+#`+regexp.QuoteMeta(anchor)+`\n`), string(doc))
		}
	})

	t.Run("fixed code builds and a second run finds only the manual cases", func(t *testing.T) {
		dir := fixedModule(t, results)
		pkgs := load(t, dir)
		graph, err := checker.Analyze([]*analysis.Analyzer{analyzer.Analyzer}, pkgs, nil)
		require.NoError(t, err)

		var again []diagnostic
		for _, act := range graph.Roots {
			require.NoError(t, act.Err)
			for _, d := range act.Diagnostics {
				again = append(again, newDiagnostic(act.Package.Fset, d))
			}
		}
		for _, d := range again {
			assert.Falsef(t, d.fixed, "%s: the second run offers a fix again: %s", d.pos, d.message)
		}
		var manual []string
		for _, d := range diags {
			if !d.fixed && !resolvedElsewhere(d.message) {
				manual = append(manual, d.key())
			}
		}
		var found []string
		for _, d := range again {
			found = append(found, d.key())
		}
		slices.Sort(manual)
		slices.Sort(found)
		assert.Equal(t, manual, found, "after the fix, exactly the findings without a fix remain, but those another fix resolves")
	})
}

type diagnostic struct {
	pos                    token.Position
	category, message, url string
	fixed                  bool
	edits                  []fileEdit // of the first suggested fix
	related                []token.Position
}

// fileEdit is a TextEdit resolved to a file and byte offsets.
type fileEdit struct {
	file       string
	start, end int
	text       string
}

func newDiagnostic(fset *token.FileSet, d analysis.Diagnostic) diagnostic {
	out := diagnostic{
		pos:      fset.Position(d.Pos),
		category: d.Category,
		message:  d.Message,
		url:      d.URL,
		fixed:    len(d.SuggestedFixes) > 0,
	}
	for _, r := range d.Related {
		out.related = append(out.related, fset.Position(r.Pos))
	}
	if out.fixed {
		for _, e := range d.SuggestedFixes[0].TextEdits {
			start, end := fset.Position(e.Pos), fset.Position(e.End)
			out.edits = append(out.edits,
				fileEdit{start.Filename, start.Offset, end.Offset, string(e.NewText)})
		}
	}
	return out
}

// resolvedElsewhere reports whether a finding without a fix says that the
// fix of another finding resolves it.
func resolvedElsewhere(message string) bool {
	return strings.Contains(message, "swapping the import for compat/pstoremem or compat/pstoreds keeps it working")
}

// lineOf returns the 1-based line of a byte offset in a file.
func lineOf(t *testing.T, file string, offset int) int {
	content, err := os.ReadFile(file)
	require.NoError(t, err)
	return bytes.Count(content[:offset], []byte("\n")) + 1
}

// key identifies a finding across the original and the fixed code, whose
// line numbers differ by the added imports.
func (d diagnostic) key() string {
	message := declaredAt.ReplaceAllString(d.message, "(declared at $1)")
	message = onLine.ReplaceAllString(message, "on line N")
	message = ownKeyAdvice.ReplaceAllString(message, "; <own key advice>")
	return fmt.Sprintf("%s|%s|%s", filepath.Base(d.pos.Filename), d.category, message)
}

// declaredAt matches the declaration a message points at, whose line moves
// with the added imports.
var (
	declaredAt = regexp.MustCompile(`\(declared at ([^:)]+):\d+\)`)
	onLine     = regexp.MustCompile(`on line \d+`)
	// ownKeyAdvice is the end of a kept AddPrivKey's message: before the
	// fix it names the read back that the fix replaces, after it the
	// general advice.
	ownKeyAdvice = regexp.MustCompile(`; (if \w+ is the key of the host being built|the key is read back on line).*$`)
)

// fixedModule writes a module beside the repository in which every fixture
// has all its fixes applied, exactly as the analyzer reported them, and
// github.com/pstoremigrate/pstoremigrate is this repository.
func fixedModule(t *testing.T, results []*analysistest.Result) string {
	t.Helper()
	src, err := filepath.Abs(filepath.Join("testdata", "src"))
	require.NoError(t, err)
	repo, err := filepath.Abs("..")
	require.NoError(t, err)
	dir := t.TempDir()

	edits := make(map[string][]fileEdit)
	seen := make(map[fileEdit]bool)
	for _, r := range results {
		for _, d := range r.Diagnostics {
			for _, e := range newDiagnostic(r.Action.Package.Fset, d).edits {
				if !seen[e] { // fixes of one file share their import edit
					seen[e] = true
					edits[e.file] = append(edits[e.file], e)
				}
			}
		}
	}

	err = filepath.WalkDir(src, func(path string, d os.DirEntry, err error) error {
		if err != nil || d.IsDir() || !strings.HasSuffix(path, ".go") {
			return err
		}
		content, err := os.ReadFile(path)
		if err != nil {
			return err
		}
		fixed, err := apply(content, edits[path])
		if err != nil {
			return fmt.Errorf("%s: %w", path, err)
		}
		if len(edits[path]) > 0 {
			// What drivers write: go fix formats the result.
			formatted, err := format.Source(fixed)
			if err != nil {
				return fmt.Errorf("fixed %s does not parse: %w\n%s", path, err, fixed)
			}
			fixed = formatted
		}
		rel, _ := filepath.Rel(src, path)
		out := filepath.Join(dir, "src", rel)
		if err := os.MkdirAll(filepath.Dir(out), 0o755); err != nil {
			return err
		}
		return os.WriteFile(out, fixed, 0o644)
	})
	require.NoError(t, err)

	writeRepoModule(t, dir, repo)
	return dir
}

// writeRepoModule makes dir a module with the fixtures' requirements
// (testdata/go.mod) and github.com/pstoremigrate/pstoremigrate replaced by
// the repository, so that code in it builds offline against the real compat
// packages.
func writeRepoModule(t *testing.T, dir, repo string) {
	t.Helper()
	gomod, err := os.ReadFile(filepath.Join("testdata", "go.mod"))
	require.NoError(t, err)
	gomod = regexp.MustCompile(`(?m)^replace github.com/pstoremigrate/pstoremigrate => .*$`).
		ReplaceAll(gomod, []byte("replace github.com/pstoremigrate/pstoremigrate => "+repo))
	require.NoError(t, os.WriteFile(filepath.Join(dir, "go.mod"), gomod, 0o644))
	gosum, err := os.ReadFile(filepath.Join("testdata", "go.sum"))
	require.NoError(t, err)
	require.NoError(t, os.WriteFile(filepath.Join(dir, "go.sum"), gosum, 0o644))
}

// TestExistingCompatImport checks code that already imports compat/peerstore:
// the compat shortcut is not reported, the fixer reuses the import's name,
// and imports the package again where that name is shadowed.
//
// The same run (loading is the expensive part) checks packages that
// implement the legacy API and use it throughout, upstream pstoremem and
// this repository's compat layer: they have no `// want` comments, so any
// diagnostic there fails the test.
func TestExistingCompatImport(t *testing.T) {
	repo, err := filepath.Abs("..")
	require.NoError(t, err)
	src := filepath.Join("testdata", "withcompat")
	dir := t.TempDir()
	err = filepath.WalkDir(src, func(path string, d os.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		content, err := os.ReadFile(path)
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(src, path)
		out := filepath.Join(dir, rel)
		if err := os.MkdirAll(filepath.Dir(out), 0o755); err != nil {
			return err
		}
		return os.WriteFile(out, content, 0o644)
	})
	require.NoError(t, err)
	writeRepoModule(t, dir, repo)
	results := analysistest.RunWithSuggestedFixes(t, dir, analyzer.Analyzer, "./...",
		"github.com/libp2p/go-libp2p/p2p/host/peerstore/pstoremem",
		"github.com/pstoremigrate/pstoremigrate/compat/peerstore",
	)
	require.NotEmpty(t, results)
}

// apply applies non-overlapping edits to content.
func apply(content []byte, edits []fileEdit) ([]byte, error) {
	edits = slices.Clone(edits)
	slices.SortFunc(edits, func(a, b fileEdit) int {
		if a.start != b.start {
			return a.start - b.start
		}
		return a.end - b.end
	})
	var out bytes.Buffer
	last := 0
	for _, e := range edits {
		if e.start < last {
			return nil, fmt.Errorf("overlapping edits at offset %d", e.start)
		}
		out.Write(content[last:e.start])
		out.WriteString(e.text)
		last = e.end
	}
	out.Write(content[last:])
	return out.Bytes(), nil
}

// load type-checks every package of the module in dir, offline, and fails
// the test on any error: the fixed code must build. Dependencies come from
// export data, as go vet sees them.
func load(t *testing.T, dir string) []*packages.Package {
	t.Helper()
	cfg := &packages.Config{
		Mode: packages.NeedName | packages.NeedFiles | packages.NeedCompiledGoFiles | packages.NeedImports |
			packages.NeedTypes | packages.NeedTypesSizes | packages.NeedSyntax | packages.NeedTypesInfo |
			packages.NeedModule,
		Dir: dir,
		Env: append(os.Environ(), "GOPROXY=off", "GOWORK=off", "GOFLAGS=-mod=mod"),
	}
	pkgs, err := packages.Load(cfg, "./...")
	require.NoError(t, err)
	require.NotEmpty(t, pkgs)
	packages.Visit(pkgs, nil, func(p *packages.Package) {
		for _, e := range p.Errors {
			t.Errorf("fixed code does not build: %s", e)
		}
	})
	if t.Failed() {
		t.FailNow()
	}
	return pkgs
}
