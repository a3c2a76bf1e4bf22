package analyzer_test

import (
	"os"
	"testing"

	"github.com/stretchr/testify/require"
	"golang.org/x/tools/go/analysis"
	"golang.org/x/tools/go/analysis/checker"
	"golang.org/x/tools/go/analysis/passes/hostport"
	"golang.org/x/tools/go/analysis/passes/inspect"
	"golang.org/x/tools/go/packages"

	"github.com/pstoremigrate/pstoremigrate/analyzer"
)

// BenchmarkAnalyzer runs the analyzer side by side with upstream analyzers
// of the same shape on the same type-checked packages: inspect alone (the
// floor every inspector-based analyzer pays) and x/tools' hostport (the
// model this analyzer follows). Compare ns/op of the sub-benchmarks:
//
//	go test -run '^$' -bench Analyzer ./analyzer/
//
// "libp2p" is real go-libp2p code full of findings; "stdlib" never imports
// core/peerstore and exercises the fast path.
func BenchmarkAnalyzer(b *testing.B) {
	sets := []struct {
		name     string
		patterns []string
	}{
		{"libp2p", []string{
			"github.com/libp2p/go-libp2p/p2p/protocol/identify",
			"github.com/libp2p/go-libp2p/p2p/host/basic",
			"github.com/libp2p/go-libp2p-kad-dht",
			"github.com/libp2p/go-libp2p-pubsub",
		}},
		{"stdlib", []string{"net/http", "encoding/json", "go/types"}},
	}
	analyzers := []*analysis.Analyzer{analyzer.Analyzer, hostport.Analyzer, inspect.Analyzer}
	for _, set := range sets {
		pkgs := loadRoots(b, set.patterns)
		for _, a := range analyzers {
			b.Run(set.name+"/"+a.Name, func(b *testing.B) {
				for b.Loop() {
					graph, err := checker.Analyze([]*analysis.Analyzer{a}, pkgs, nil)
					if err != nil {
						b.Fatal(err)
					}
					for _, act := range graph.Roots {
						if act.Err != nil {
							b.Fatal(act.Err)
						}
					}
				}
			})
		}
	}
}

// loadRoots type-checks the named packages from source, with their
// dependencies from export data, as go vet sees them.
func loadRoots(b *testing.B, patterns []string) []*packages.Package {
	b.Helper()
	cfg := &packages.Config{
		Mode: packages.NeedName | packages.NeedFiles | packages.NeedCompiledGoFiles | packages.NeedImports |
			packages.NeedTypes | packages.NeedTypesSizes | packages.NeedSyntax | packages.NeedTypesInfo |
			packages.NeedModule,
		Dir: "../interop", // a module whose build list has kad-dht and pubsub
		Env: append(os.Environ(), "GOPROXY=off", "GOWORK=off"),
	}
	pkgs, err := packages.Load(cfg, patterns...)
	require.NoError(b, err)
	require.Len(b, pkgs, len(patterns))
	for _, p := range pkgs {
		require.Emptyf(b, p.Errors, "%s", p.PkgPath)
	}
	return pkgs
}
