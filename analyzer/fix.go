package analyzer

import (
	"fmt"
	"go/ast"
	"go/token"
	"go/types"
	"slices"
	"strconv"
	"strings"

	"golang.org/x/tools/go/analysis"
)

// report turns findings into diagnostics. The rewrites of one file share a
// compat import name, chosen once so that every fix adds the identical
// import edit and drivers merge them into one.
func (c *checker) report() {
	sites := make(map[*ast.File][]token.Pos)
	for _, f := range c.findings {
		for _, rw := range f.rewrites {
			if file := c.fileOf(rw.call.Pos()); file != nil {
				sites[file] = append(sites[file], rw.call.Pos())
			}
		}
	}
	type fileImport struct {
		name string
		edit *analysis.TextEdit // nil when the file already imports compat
		ok   bool
	}
	imports := make(map[*ast.File]fileImport)
	for file, pos := range sites {
		name, edit, ok := c.compatImport(file, pos)
		imports[file] = fileImport{name, edit, ok}
	}

	for _, f := range c.findings {
		d := analysis.Diagnostic{
			Pos:      f.pos,
			End:      f.end,
			Category: f.category,
			Message:  f.message,
			URL:      categoryURL(f.category),
		}
		edits := slices.Clone(f.edits)
		fixable := true
		importAdded := make(map[*ast.File]bool)
		rewritten := make(map[*ast.CallExpr]bool) // a local may fill a field twice
		for _, rw := range f.rewrites {
			if rewritten[rw.call] {
				continue
			}
			rewritten[rw.call] = true
			file := c.fileOf(rw.call.Pos())
			imp, ok := imports[file]
			if !ok || !imp.ok {
				fixable = false
				break
			}
			if imp.edit != nil && !importAdded[file] {
				importAdded[file] = true
				edits = append(edits, *imp.edit)
			}
			edits = append(edits,
				analysis.TextEdit{Pos: rw.call.Pos(), End: rw.host.Pos(), NewText: []byte(imp.name + ".New(")},
				analysis.TextEdit{Pos: rw.host.End(), End: rw.call.End(), NewText: []byte(")")},
			)
			if line := c.pass.Fset.Position; line(rw.call.Pos()).Line != line(f.pos).Line || file != c.fileOf(f.pos) {
				// The value comes from elsewhere (a local's declaration,
				// where a field is filled): point there.
				d.Related = append(d.Related, analysis.RelatedInformation{
					Pos:     rw.call.Pos(),
					End:     rw.call.End(),
					Message: "the value comes from here; the fix rewrites it",
				})
			}
		}
		if fixable && len(edits) > 0 && nonOverlapping(edits) {
			d.SuggestedFixes = []analysis.SuggestedFix{{Message: fixMessage(f), TextEdits: edits}}
		}
		c.pass.Report(d)
	}
}

// nonOverlapping reports whether edits can be applied together. Drivers
// reject (the checker panics on) a fix whose edits overlap; a finding is
// better reported without a fix than not at all.
func nonOverlapping(edits []analysis.TextEdit) bool {
	sorted := slices.Clone(edits)
	slices.SortFunc(sorted, func(a, b analysis.TextEdit) int {
		if a.Pos != b.Pos {
			return int(a.Pos - b.Pos)
		}
		return int(a.End - b.End)
	})
	for i := 1; i < len(sorted); i++ {
		if sorted[i].Pos < sorted[i-1].End {
			return false
		}
	}
	return true
}

// fixMessage names a fix; drivers group and show fixes by it.
func fixMessage(f finding) string {
	if len(f.rewrites) > 0 {
		return "Replace host.Peerstore() with peerstore.New(host) of compat/peerstore"
	}
	return "Import compat/pstoremem and compat/pstoreds instead of upstream's"
}

// compatImport chooses the name under which file refers to compat/peerstore
// at the given positions, and the edit that imports it if needed. It
// reports false when no name works, which leaves the findings without fix.
func (c *checker) compatImport(file *ast.File, sites []token.Pos) (string, *analysis.TextEdit, bool) {
	info := c.pass.TypesInfo
	for _, spec := range file.Imports {
		if path, _ := strconv.Unquote(spec.Path.Value); path != compatPeerstorePath {
			continue
		}
		if pkgName := info.PkgNameOf(spec); pkgName != nil && pkgName.Name() != "_" && pkgName.Name() != "." &&
			c.refersTo(pkgName.Name(), pkgName, sites) {
			return pkgName.Name(), nil, true
		}
	}
	for i := 1; i < 100; i++ {
		name := "peerstore"
		switch {
		case i == 2:
			name = "compatpeerstore"
		case i > 2:
			name = fmt.Sprintf("compatpeerstore%d", i-1)
		}
		if c.pass.Pkg.Scope().Lookup(name) != nil || info.Scopes[file].Lookup(name) != nil ||
			!c.refersTo(name, nil, sites) {
			continue
		}
		spec := strconv.Quote(compatPeerstorePath)
		if name != "peerstore" { // the package's own name needs no alias
			spec = name + " " + spec
		}
		edit := c.importEdit(file, spec)
		return name, &edit, true
	}
	return "", nil, false
}

// refersTo reports whether name, used at each of the positions, would
// resolve to want (nil: to nothing declared in the file or package yet).
func (c *checker) refersTo(name string, want types.Object, sites []token.Pos) bool {
	for _, pos := range sites {
		scope := c.pass.Pkg.Scope().Innermost(pos)
		if scope == nil {
			return false
		}
		_, obj := scope.LookupParent(name, pos)
		if want != nil && obj != want || want == nil && obj != nil && obj.Parent() != types.Universe {
			return false
		}
	}
	return true
}

// importEdit inserts an import spec where gofmt and goimports would keep
// it: in sorted position in the group of third-party imports (the one with
// go-libp2p if there are several), as a new group after the standard
// library, or as a new declaration.
func (c *checker) importEdit(file *ast.File, spec string) analysis.TextEdit {
	tok := c.pass.Fset.File(file.FileStart)
	line := func(pos token.Pos) int { return tok.Line(pos) }
	insert := func(pos token.Pos, text string) analysis.TextEdit {
		return analysis.TextEdit{Pos: pos, End: pos, NewText: []byte(text)}
	}

	var decl *ast.GenDecl
	var last *ast.GenDecl
	for _, d := range file.Decls {
		gd, ok := d.(*ast.GenDecl)
		if !ok || gd.Tok != token.IMPORT {
			continue
		}
		last = gd
		if decl == nil && gd.Lparen.IsValid() && len(gd.Specs) > 0 && onePerLine(gd, line) {
			decl = gd
		}
	}
	if decl == nil {
		if last != nil {
			return insert(last.End(), "\nimport "+spec)
		}
		return insert(file.Name.End(), "\n\nimport "+spec)
	}

	// Split the block into groups separated by blank lines.
	var groups [][]*ast.ImportSpec
	prevEnd := 0
	for _, s := range decl.Specs {
		is := s.(*ast.ImportSpec)
		start := line(specStart(is))
		if len(groups) == 0 || start > prevEnd+1 {
			groups = append(groups, nil)
		}
		groups[len(groups)-1] = append(groups[len(groups)-1], is)
		prevEnd = line(specEnd(is))
	}
	group := -1
	for i, g := range groups {
		for _, is := range g {
			path, _ := strconv.Unquote(is.Path.Value)
			if strings.HasPrefix(path, "github.com/libp2p/") {
				group = i
			} else if group < 0 && strings.Contains(strings.Split(path, "/")[0], ".") {
				group = i
			}
		}
		if group == i {
			break
		}
	}
	if group < 0 { // only the standard library: a new group at the end
		return insert(tok.LineStart(line(decl.Rparen)), "\n\t"+spec+"\n")
	}
	g := groups[group]
	path := compatPeerstorePath
	i := slices.IndexFunc(g, func(is *ast.ImportSpec) bool {
		p, _ := strconv.Unquote(is.Path.Value)
		return p > path
	})
	if i >= 0 {
		return insert(tok.LineStart(line(specStart(g[i]))), "\t"+spec+"\n")
	}
	return insert(tok.LineStart(line(specEnd(g[len(g)-1]))+1), "\t"+spec+"\n")
}

// onePerLine reports whether an import block has the layout gofmt gives it:
// parentheses on their own lines and one spec per line, so that lines can be
// inserted.
func onePerLine(decl *ast.GenDecl, line func(token.Pos) int) bool {
	prev := line(decl.Lparen)
	for _, s := range decl.Specs {
		is := s.(*ast.ImportSpec)
		if line(specStart(is)) <= prev {
			return false
		}
		prev = line(specEnd(is))
	}
	return line(decl.Rparen) > prev
}

func specStart(is *ast.ImportSpec) token.Pos {
	if is.Doc != nil {
		return is.Doc.Pos()
	}
	return is.Pos()
}

func specEnd(is *ast.ImportSpec) token.Pos {
	if is.Comment != nil {
		return is.Comment.End()
	}
	return is.End()
}
