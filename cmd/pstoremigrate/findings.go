package main

import (
	"bytes"
	"cmp"
	"encoding/json"
	"fmt"
	"go/ast"
	"go/parser"
	"go/token"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"

	"github.com/pstoremigrate/pstoremigrate/analyzer"
)

// A finding is one diagnostic of the analyzer, as lint prints it.
type finding struct {
	File     string `json:"file"` // relative to the current directory when shorter
	Line     int    `json:"line"`
	Col      int    `json:"col"`
	Category string `json:"category"`
	Message  string `json:"message"`
	URL      string `json:"url,omitempty"` // the MIGRATION.md section
	Fixable  bool   `json:"fixable"`       // fix can rewrite it
	// Generated: the fix would edit a generated file, which fix leaves to
	// the generator (so the finding is not fixable).
	Generated bool `json:"generated,omitempty"`
	// Cgo: the finding is in a file that uses cgo. go vet analyzes the
	// cgo-processed copy, so the fix's edits point into a temporary file
	// whose offsets are not the original's: fix leaves it to a person.
	Cgo bool `json:"cgo,omitempty"`
	// Where the value the finding is about comes from, as go vet prints
	// it on the lines after the finding.
	Related []related `json:"related,omitempty"`
	// The edits of the first suggested fix; not part of the output.
	fix []edit
}

// fileKind says what fix must know of a file before it edits it.
type fileKind struct {
	generated bool // "Code generated ... DO NOT EDIT."
	// cgo: it imports "C". go vet analyzes what cgo made of it and
	// reports edit offsets into that, under the original's name.
	cgo bool
}

func fileKindOf(name string) fileKind {
	f, err := parser.ParseFile(token.NewFileSet(), name, nil, parser.ImportsOnly|parser.ParseComments)
	if err != nil {
		return fileKind{}
	}
	k := fileKind{generated: ast.IsGenerated(f)}
	for _, spec := range f.Imports {
		k.cgo = k.cgo || spec.Path.Value == `"C"`
	}
	return k
}

// A related position of a finding.
type related struct {
	File    string `json:"file"`
	Line    int    `json:"line"`
	Col     int    `json:"col"`
	Message string `json:"message"`
}

// An edit replaces the bytes [Start, End) of a file with New, as in the
// go vet JSON protocol.
type edit struct {
	Filename string `json:"filename"` // absolute
	Start    int    `json:"start"`
	End      int    `json:"end"`
	New      string `json:"new"`
}

func (f finding) posn() string { return fmt.Sprintf("%s:%d:%d", f.File, f.Line, f.Col) }

// writeText writes f as go vet does: "posn: message", then each related
// position on a line of its own, "posn: \tmessage".
func (f finding) writeText(w io.Writer) {
	fmt.Fprintf(w, "%s: %s\n", f.posn(), f.Message)
	for _, r := range f.Related {
		fmt.Fprintf(w, "%s:%d:%d: \t%s\n", r.File, r.Line, r.Col, r.Message)
	}
}

// sectionOf maps a diagnostic category to its MIGRATION.md anchor. The vet
// JSON protocol drops Diagnostic.URL, so lint rebuilds it from the category.
var sectionOf = map[string]string{
	"protocols":       "protocols",
	"metadata":        "metadata",
	"latency":         "latency",
	"privkey":         "private-keys",
	"peerstore-value": "passing-the-peerstore",
	"import":          "pstoremem-and-pstoreds",
}

func sectionURL(category string) string {
	base := analyzer.Analyzer.URL
	anchor, ok := sectionOf[category]
	if !ok || base == "" {
		return base
	}
	if i := strings.IndexByte(base, '#'); i >= 0 {
		base = base[:i]
	}
	return base + "#" + anchor
}

// The JSON that unitchecker writes (one object per package):
// package ID -> analyzer name -> either {"error": ...} or a list of these.
type vetDiagnostic struct {
	Category       string `json:"category"`
	Posn           string `json:"posn"`
	Message        string `json:"message"`
	SuggestedFixes []struct {
		Edits []edit `json:"edits"`
	} `json:"suggested_fixes"`
	Related []struct {
		Posn    string `json:"posn"`
		Message string `json:"message"`
	} `json:"related"`
}

// errLoad reports that the go command could not load, build or analyze the
// packages; its text is the go command's own explanation.
type errLoad struct{ detail string }

func (e *errLoad) Error() string { return e.detail }

// collectFindings runs "go vet -vettool=<self> -json" on pkgs and returns
// the findings sorted by position, deduplicated (a file analyzed as part of
// two test variants is reported once).
func collectFindings(inv *invocation, pkgs []string) ([]finding, error) {
	stdout, stderr, err := runGoCtx(inv.ctx(), "", append([]string{"vet", "-vettool=" + inv.Self, "-json"}, pkgs...))
	if err != nil {
		return nil, err
	}
	// The go command succeeded; pass on what it had to say (downloads...).
	inv.Stderr.Write(stderr)
	return parseVetJSON(stdout)
}

// runGo runs the go command in the current directory. A non-zero exit
// becomes an *errLoad carrying the go command's stderr.
func runGo(args []string) (stdout, stderr []byte, err error) { return runGoIn("", args) }

func parseVetJSON(data []byte) ([]finding, error) {
	cwd, _ := os.Getwd()
	dec := json.NewDecoder(bytes.NewReader(data))
	seen := make(map[string]bool)
	kinds := make(map[string]fileKind)
	var out []finding
	var errs []string
	for {
		var tree map[string]map[string]json.RawMessage
		if err := dec.Decode(&tree); err == io.EOF {
			break
		} else if err != nil {
			return nil, fmt.Errorf("reading go vet's JSON output: %w", err)
		}
		for pkg, byAnalyzer := range tree {
			for _, raw := range byAnalyzer {
				if len(raw) > 0 && raw[0] == '{' {
					var e struct {
						Err string `json:"error"`
					}
					if err := json.Unmarshal(raw, &e); err != nil {
						return nil, fmt.Errorf("reading go vet's JSON output for %s: %w", pkg, err)
					}
					errs = append(errs, fmt.Sprintf("%s: %s", pkg, e.Err))
					continue
				}
				var diags []vetDiagnostic
				if err := json.Unmarshal(raw, &diags); err != nil {
					return nil, fmt.Errorf("reading go vet's JSON output for %s: %w", pkg, err)
				}
				for _, d := range diags {
					f, err := toFinding(cwd, d)
					if err != nil {
						return nil, err
					}
					for _, e := range f.fix {
						kind, ok := kinds[e.Filename]
						if !ok {
							kind = fileKindOf(e.Filename)
							kinds[e.Filename] = kind
						}
						if kind.cgo {
							f.Cgo, f.Fixable, f.fix = true, false, nil
							break
						}
						if kind.generated {
							f.Generated, f.Fixable, f.fix = true, false, nil
							break
						}
					}
					key := f.posn() + "\x00" + f.Message
					if seen[key] {
						continue
					}
					seen[key] = true
					out = append(out, f)
				}
			}
		}
	}
	if len(errs) > 0 {
		slices.Sort(errs)
		return nil, &errLoad{detail: strings.Join(errs, "\n")}
	}
	slices.SortFunc(out, func(a, b finding) int {
		return cmp.Or(cmp.Compare(a.File, b.File), cmp.Compare(a.Line, b.Line), cmp.Compare(a.Col, b.Col), cmp.Compare(a.Message, b.Message))
	})
	return out, nil
}

func toFinding(cwd string, d vetDiagnostic) (finding, error) {
	file, line, col, ok := splitPosn(d.Posn)
	if !ok {
		return finding{}, fmt.Errorf("go vet reported a diagnostic without a position (%q): %s", d.Posn, d.Message)
	}
	f := finding{
		File:     shortPath(cwd, file),
		Line:     line,
		Col:      col,
		Category: d.Category,
		Message:  d.Message,
		URL:      sectionURL(d.Category),
		Fixable:  len(d.SuggestedFixes) > 0,
	}
	if f.Fixable {
		f.fix = d.SuggestedFixes[0].Edits
	}
	for _, r := range d.Related {
		file, line, col, ok := splitPosn(r.Posn)
		if !ok {
			continue // go vet drops what it cannot place; so does lint
		}
		f.Related = append(f.Related, related{File: shortPath(cwd, file), Line: line, Col: col, Message: r.Message})
	}
	return f, nil
}

// splitPosn splits "file:line:col".
func splitPosn(s string) (file string, line, col int, ok bool) {
	c2 := strings.LastIndexByte(s, ':')
	if c2 < 0 {
		return "", 0, 0, false
	}
	c1 := strings.LastIndexByte(s[:c2], ':')
	if c1 < 0 {
		return "", 0, 0, false
	}
	line, err1 := strconv.Atoi(s[c1+1 : c2])
	col, err2 := strconv.Atoi(s[c2+1:])
	if err1 != nil || err2 != nil {
		return "", 0, 0, false
	}
	return s[:c1], line, col, true
}

// shortPath is what the go command prints: relative when that is shorter.
func shortPath(cwd, path string) string {
	if cwd == "" {
		return path
	}
	if rel, err := filepath.Rel(cwd, path); err == nil && len(rel) < len(path) {
		return rel
	}
	return path
}

// summarize counts findings by category, in a stable order.
func summarize(fs []finding) (cats []string, counts map[string]int) {
	counts = make(map[string]int)
	for _, f := range fs {
		c := cmp.Or(f.Category, "other")
		if counts[c] == 0 {
			cats = append(cats, c)
		}
		counts[c]++
	}
	slices.Sort(cats)
	return cats, counts
}

func summaryLine(fs []finding) string {
	if len(fs) == 0 {
		return "no legacy Peerstore use found"
	}
	cats, counts := summarize(fs)
	parts := make([]string, len(cats))
	for i, c := range cats {
		parts[i] = fmt.Sprintf("%s %d", c, counts[c])
	}
	fixable := 0
	for _, f := range fs {
		if f.Fixable {
			fixable++
		}
	}
	return fmt.Sprintf("%d %s (%s); %d fixable by 'pstoremigrate fix', %d by hand",
		len(fs), plural(len(fs), "finding", "findings"), strings.Join(parts, ", "), fixable, len(fs)-fixable)
}

func plural(n int, one, many string) string {
	if n == 1 {
		return one
	}
	return many
}
