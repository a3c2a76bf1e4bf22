package analyzer

import (
	"go/ast"
	"go/parser"
	"go/token"
	"go/types"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
)

// TestCompatExportsMatchCompatSource keeps compatExports, from which the
// import finding says what the swap keeps, equal to the names the drop-ins
// declare. It reads their source in this repository: the analyzer module
// does not require the library.
func TestCompatExportsMatchCompatSource(t *testing.T) {
	for compat, listed := range compatExports {
		dir := filepath.Join("..", strings.TrimPrefix(compat, modulePath+"/"))
		entries, err := os.ReadDir(dir)
		require.NoError(t, err, "the drop-in's source is read from the repository")
		var declared []string
		fset := token.NewFileSet()
		for _, e := range entries {
			name := e.Name()
			if !strings.HasSuffix(name, ".go") || strings.HasSuffix(name, "_test.go") {
				continue
			}
			f, err := parser.ParseFile(fset, filepath.Join(dir, name), nil, parser.SkipObjectResolution)
			require.NoError(t, err)
			for _, decl := range f.Decls {
				switch d := decl.(type) {
				case *ast.FuncDecl:
					if d.Recv == nil && d.Name.IsExported() {
						declared = append(declared, d.Name.Name)
					}
				case *ast.GenDecl:
					for _, spec := range d.Specs {
						switch s := spec.(type) {
						case *ast.TypeSpec:
							if s.Name.IsExported() {
								declared = append(declared, s.Name.Name)
							}
						case *ast.ValueSpec:
							for _, n := range s.Names {
								if n.IsExported() {
									declared = append(declared, n.Name)
								}
							}
						}
					}
				}
			}
		}
		slices.Sort(declared)
		require.Equal(t, declared, slices.Sorted(slices.Values(listed)), "compatExports[%s] must list what %s declares", compat, dir)
	}
}

// TestImportMessageSaysWhatCompatLacks: the finding claims the same names
// only when upstream has no exported name that compat lacks; when the
// package uses one, it offers no swap.
func TestImportMessageSaysWhatCompatLacks(t *testing.T) {
	up := types.NewPackage(upstreamPstoreds, "pstoreds")
	for _, name := range append(slices.Clone(compatExports[compatPstoreds]), "NewFancyBook", "unexported") {
		up.Scope().Insert(types.NewFunc(token.NoPos, up, name, types.NewSignatureType(nil, nil, nil, nil, nil, false)))
	}
	same := types.NewPackage(upstreamPstoreds, "pstoreds")
	same.Scope().Insert(types.NewFunc(token.NoPos, same, "NewPeerstore", types.NewSignatureType(nil, nil, nil, nil, nil, false)))

	sc := checkSwap(nil, same, compatPstoreds)
	require.Empty(t, sc.lacks)
	require.Contains(t, sc.message(upstreamPstoreds, compatPstoreds), "same package name and exported names")

	sc = checkSwap(nil, up, compatPstoreds)
	require.Equal(t, []string{"NewFancyBook"}, sc.lacks)
	require.Empty(t, sc.used)
	msg := sc.message(upstreamPstoreds, compatPstoreds)
	require.NotContains(t, msg, "same package name and exported names")
	require.Contains(t, msg, "it lacks NewFancyBook, which this package does not use")

	uses := map[*ast.Ident]types.Object{ast.NewIdent("NewFancyBook"): up.Scope().Lookup("NewFancyBook")}
	sc = checkSwap(uses, up, compatPstoreds)
	require.Equal(t, []string{"NewFancyBook"}, sc.used)
	require.Contains(t, sc.message(upstreamPstoreds, compatPstoreds), "instead once it exports NewFancyBook, which this package uses")
}
