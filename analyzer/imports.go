package analyzer

import (
	"fmt"
	"strconv"

	"golang.org/x/tools/go/analysis"
)

// compatStores maps the upstream store packages to their drop-ins, which keep
// the package name and exported API, so swapping the path is the whole fix.
var compatStores = map[string]string{
	upstreamPstoremem: compatPstoremem,
	upstreamPstoreds:  compatPstoreds,
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
			swap := analysis.TextEdit{
				Pos:     spec.Path.Pos(),
				End:     spec.Path.End(),
				NewText: []byte(strconv.Quote(compat)),
			}
			c.swaps = append(c.swaps, swap)
			c.findings = append(c.findings, finding{
				pos:      spec.Path.Pos(),
				end:      spec.Path.End(),
				category: CategoryImport,
				message: fmt.Sprintf("%s is going away with the legacy Peerstore: import %s instead (same package name, constructors and options, backed by the new store)",
					path, compat),
				edits: []analysis.TextEdit{swap},
			})
		}
	}
}
