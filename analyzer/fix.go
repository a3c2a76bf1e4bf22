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
	var need []*ast.File
	for file, pos := range sites {
		if name, ok := c.existingCompatImport(file, pos); ok {
			imports[file] = fileImport{name: name, ok: true}
		} else {
			need = append(need, file)
		}
	}
	// One name for every file that needs the import, so that the package
	// reads the same everywhere: a name the package already uses for
	// compat, else the first that is free in all of them.
	for _, name := range c.compatNames() {
		if !slices.ContainsFunc(need, func(file *ast.File) bool { return !c.freeName(file, name, sites[file]) }) {
			for _, file := range need {
				edit := c.importEdit(file, c.importSpec(name))
				imports[file] = fileImport{name, &edit, true}
			}
			need = nil
			break
		}
	}
	for _, file := range need { // no common name: one per file
		name, edit, ok := c.compatImport(file, sites[file])
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
			if name := c.reusableView(rw); name != "" {
				edits = append(edits, analysis.TextEdit{Pos: rw.call.Pos(), End: rw.call.End(), NewText: []byte(name)})
				c.pointAt(&d, f, rw)
				continue
			}
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
			c.pointAt(&d, f, rw)
		}
		if fixable && len(edits) > 0 && nonOverlapping(edits) {
			d.SuggestedFixes = []analysis.SuggestedFix{{Message: fixMessage(f), TextEdits: edits}}
		}
		c.pass.Report(d)
	}
}

// pointAt adds to d the place rw rewrites, when the value comes from
// elsewhere than the reported line (a local's declaration, where a field is
// filled, a call site).
func (c *checker) pointAt(d *analysis.Diagnostic, f finding, rw *hostRewrite) {
	line := c.pass.Fset.Position
	if line(rw.call.Pos()).Line != line(f.pos).Line || c.fileOf(rw.call.Pos()) != c.fileOf(f.pos) {
		d.Related = append(d.Related, analysis.RelatedInformation{
			Pos:     rw.call.Pos(),
			End:     rw.call.End(),
			Message: "the value comes from here; the fix rewrites it",
		})
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
	if f.fixMessage != "" {
		return f.fixMessage
	}
	return "Import compat/pstoremem and compat/pstoreds instead of upstream's"
}

// existingCompatImport returns the name under which file already imports
// compat/peerstore, if that name refers to it at every site.
func (c *checker) existingCompatImport(file *ast.File, sites []token.Pos) (string, bool) {
	for _, spec := range file.Imports {
		if path, _ := strconv.Unquote(spec.Path.Value); path != compatPeerstorePath {
			continue
		}
		if pkgName := c.pass.TypesInfo.PkgNameOf(spec); pkgName != nil && pkgName.Name() != "_" && pkgName.Name() != "." &&
			c.refersTo(pkgName.Name(), pkgName, sites) {
			return pkgName.Name(), true
		}
	}
	return "", false
}

// compatNames lists the names to try for a new compat import: those other
// files of the package already import it under, then peerstore,
// compatpeerstore, compatpeerstore2, ...
func (c *checker) compatNames() []string {
	var names []string
	for _, file := range c.pass.Files {
		for _, spec := range file.Imports {
			if path, _ := strconv.Unquote(spec.Path.Value); path == compatPeerstorePath {
				if pkgName := c.pass.TypesInfo.PkgNameOf(spec); pkgName != nil && pkgName.Name() != "_" &&
					pkgName.Name() != "." && !slices.Contains(names, pkgName.Name()) {
					names = append(names, pkgName.Name())
				}
			}
		}
	}
	names = append(names, "peerstore", "compatpeerstore")
	for i := 2; i < 100; i++ {
		names = append(names, fmt.Sprintf("compatpeerstore%d", i))
	}
	return names
}

// freeName reports whether a new import of compat under name would be
// referred to at every site of file: nothing of that name in the package,
// the file or a scope around a site.
func (c *checker) freeName(file *ast.File, name string, sites []token.Pos) bool {
	return c.pass.Pkg.Scope().Lookup(name) == nil && c.pass.TypesInfo.Scopes[file].Lookup(name) == nil &&
		c.refersTo(name, nil, sites)
}

// importSpec is the import spec of compat/peerstore under name.
func (c *checker) importSpec(name string) string {
	spec := strconv.Quote(compatPeerstorePath)
	if name != "peerstore" { // the package's own name needs no alias
		spec = name + " " + spec
	}
	return spec
}

// compatImport chooses the name under which file refers to compat/peerstore
// at the given positions, and the edit that imports it if needed. It
// reports false when no name works, which leaves the findings without fix.
func (c *checker) compatImport(file *ast.File, sites []token.Pos) (string, *analysis.TextEdit, bool) {
	if name, ok := c.existingCompatImport(file, sites); ok {
		return name, nil, true
	}
	for _, name := range c.compatNames() {
		if c.freeName(file, name, sites) {
			edit := c.importEdit(file, c.importSpec(name))
			return name, &edit, true
		}
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
