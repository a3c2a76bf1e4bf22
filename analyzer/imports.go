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

// compatStores maps the upstream store packages to their drop-ins, which keep
// the package name and exported API, so swapping the path is the whole fix.
var compatStores = map[string]string{
	upstreamPstoremem: compatPstoremem,
	upstreamPstoreds:  compatPstoreds,
}

// compatExports lists the exported names of the drop-ins, as their source
// declares them (TestCompatExportsMatchCompatSource keeps the two equal).
// The analyzer compares it with the exported names of the upstream package
// the code under analysis is built with, so that what the import finding
// says about the swap is true for that go-libp2p version: the library's own
// API test checks that the drop-ins export every upstream name, with the
// same argument types, for the go-libp2p versions it supports.
var compatExports = map[string][]string{
	compatPstoremem: {
		"AddrBook", "AddrBookOption", "AddrSubManager", "KeyBook", "NewAddrBook",
		"NewAddrSubManager", "NewKeyBook", "NewPeerMetadata", "NewPeerstore",
		"NewProtoBook", "Option", "PeerMetadata", "Peerstore", "ProtoBook",
		"ProtoBookOption", "WithClock", "WithMaxAddresses", "WithMaxAddressesPerPeer",
		"WithMaxProtocols", "WithMaxSignedPeerRecords", "WithMetricsTracer",
	},
	compatPstoreds: {
		"AddrBook", "Compacter", "DefaultOpts", "KeyBook", "LegacyImportedKey",
		"MigrationReport", "NewAddrBook", "NewKeyBook", "NewPeerMetadata", "NewPeerstore", "NewProtoBook",
		"Options", "PeerMetadata", "Peerstore", "ProtoBook", "ProtoBookOption",
		"SnapshotPrefix", "WithMaxProtocols",
	},
}

// swapCheck is what the import finding says about swapping an upstream
// store package for its drop-in in one package under analysis.
type swapCheck struct {
	lacks []string // upstream's exported names compat does not export
	used  []string // those of lacks the package uses: the swap would break it
}

func checkSwap(uses map[*ast.Ident]types.Object, upstream *types.Package, compat string) swapCheck {
	var sc swapCheck
	if upstream == nil {
		return sc
	}
	have := compatExports[compat]
	for _, name := range upstream.Scope().Names() {
		if token.IsExported(name) && !slices.Contains(have, name) {
			sc.lacks = append(sc.lacks, name)
		}
	}
	if len(sc.lacks) == 0 {
		return sc
	}
	used := make(map[string]bool)
	for _, obj := range uses {
		if obj.Pkg() == upstream && slices.Contains(sc.lacks, obj.Name()) && obj.Parent() == upstream.Scope() {
			used[obj.Name()] = true
		}
	}
	for _, name := range sc.lacks {
		if used[name] {
			sc.used = append(sc.used, name)
		}
	}
	return sc
}

// message is the import finding's: it says "same exported names" only
// when that is true of the go-libp2p the package is built with.
func (sc swapCheck) message(path, compat string) string {
	switch {
	case len(sc.used) > 0:
		return fmt.Sprintf("%s is going away with the legacy Peerstore: import %s instead once it exports %s, which this package uses",
			path, compat, strings.Join(sc.used, ", "))
	case len(sc.lacks) > 0:
		return fmt.Sprintf("%s is going away with the legacy Peerstore: import %s instead (same package name, backed by the new store; of this go-libp2p's exported names it lacks %s, which this package does not use)",
			path, compat, strings.Join(sc.lacks, ", "))
	}
	return fmt.Sprintf("%s is going away with the legacy Peerstore: import %s instead (same package name and exported names, backed by the new store)",
		path, compat)
}

// importedPackage returns the package path names among the direct imports
// of the package under analysis, nil if it is not one.
func importedPackage(pass *analysis.Pass, path string) *types.Package {
	for _, p := range pass.Pkg.Imports() {
		if p.Path() == path {
			return p
		}
	}
	return nil
}

// checkImports reports imports of upstream pstoremem and pstoreds and swaps
// them for compat's. It runs first: calls on the upstream stores are fixed
// by the same swaps.
func (c *checker) checkImports() {
	for _, file := range c.pass.Files {
		for _, spec := range file.Imports {
			path, err := strconv.Unquote(spec.Path.Value)
			if err != nil {
				continue
			}
			compat, ok := compatStores[path]
			if !ok {
				continue
			}
			f := finding{
				pos:      spec.Path.Pos(),
				end:      spec.Path.End(),
				category: CategoryImport,
			}
			sc := checkSwap(c.pass.TypesInfo.Uses, importedPackage(c.pass, path), compat)
			f.message = sc.message(path, compat)
			if len(sc.used) > 0 {
				// No fix: the swap would not compile.
				c.swapBlocked = true
			} else {
				swap := analysis.TextEdit{
					Pos:     spec.Path.Pos(),
					End:     spec.Path.End(),
					NewText: []byte(strconv.Quote(compat)),
				}
				c.swaps = append(c.swaps, swap)
				f.edits = []analysis.TextEdit{swap}
			}
			c.findings = append(c.findings, f)
		}
	}
}
