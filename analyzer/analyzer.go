package analyzer

import (
	"go/ast"
	"go/token"
	"go/types"
	"strings"

	"golang.org/x/tools/go/analysis"
	"golang.org/x/tools/go/analysis/passes/inspect"
	"golang.org/x/tools/go/ast/inspector"
)

// Doc is the analyzer's documentation, shown by drivers such as
// `go vet -vettool` and `pstoremigrate help`.
const Doc = `find and fix uses of the legacy go-libp2p Peerstore

go-libp2p is shrinking the peerstore to what is needed to dial (issue
#2355): protocols, metadata, latency and private keys leave it. This
analyzer reports every use of that legacy-only surface, whatever the value
it is called on, and every import of upstream pstoremem and pstoreds:

    protos, _ := h.Peerstore().GetProtocols(p)  // reported
    rt, _ := kbucket.NewRoutingTable(20, id, time.Minute,
        h.Peerstore(), time.Hour, nil)           // reported: needs Metrics

The fix keeps behaviour by taking the legacy view from the compat package:

    protos, _ := peerstore.New(h).GetProtocols(p)
    rt, _ := kbucket.NewRoutingTable(20, id, time.Minute,
        peerstore.New(h), time.Hour, nil)

where peerstore is github.com/pstoremigrate/pstoremigrate/compat/peerstore,
and swaps upstream pstoremem/pstoreds imports for compat/pstoremem and
compat/pstoreds. Addresses, certified records and public keys stay in the
new store and are never reported.`

// Analyzer reports legacy-only Peerstore use and suggests the compat
// rewrite. cmd/pstoremigrate runs it for lint and fix.
var Analyzer = &analysis.Analyzer{
	Name:     "pstoremigrate",
	Doc:      Doc,
	URL:      migrationURL,
	Requires: []*analysis.Analyzer{inspect.Analyzer},
	Run:      run,
	// Facts say which exported parameters and fields of a store interface
	// type are used only for kept methods, for destination messages in
	// other packages (narrow.go).
	FactTypes: []analysis.Fact{new(keptOnlyParams), new(keptOnlyField)},
}

const (
	corePeerstorePath = "github.com/libp2p/go-libp2p/core/peerstore"
	coreHostPath      = "github.com/libp2p/go-libp2p/core/host"
	upstreamPstoremem = "github.com/libp2p/go-libp2p/p2p/host/peerstore/pstoremem"
	upstreamPstoreds  = "github.com/libp2p/go-libp2p/p2p/host/peerstore/pstoreds"

	modulePath          = "github.com/pstoremigrate/pstoremigrate"
	compatPeerstorePath = modulePath + "/compat/peerstore"
	compatPstoremem     = modulePath + "/compat/pstoremem"
	compatPstoreds      = modulePath + "/compat/pstoreds"

	migrationURL = "https://github.com/pstoremigrate/pstoremigrate/blob/main/MIGRATION.md"
)

// implementers are the package trees that implement the legacy Peerstore
// rather than use it: upstream's stores and their suites, and compat.
var implementers = []string{
	"github.com/libp2p/go-libp2p/p2p/host/peerstore",
	modulePath + "/compat/",
}

// Diagnostic categories; doc.go lists the MIGRATION.md anchor of each.
const (
	CategoryProtocols      = "protocols"
	CategoryMetadata       = "metadata"
	CategoryLatency        = "latency"
	CategoryPrivKey        = "privkey"
	CategoryPeerstoreValue = "peerstore-value"
	CategoryImport         = "import"
)

var anchors = map[string]string{
	CategoryProtocols:      "protocols",
	CategoryMetadata:       "metadata",
	CategoryLatency:        "latency",
	CategoryPrivKey:        "private-keys",
	CategoryPeerstoreValue: "passing-the-peerstore",
	CategoryImport:         "pstoremem-and-pstoreds",
}

func categoryURL(category string) string {
	return migrationURL + "#" + anchors[category]
}

func run(pass *analysis.Pass) (any, error) {
	c := checkerFor(pass)
	if c == nil {
		return nil, nil
	}
	c.exportKeptOnly()
	c.checkImports()
	c.checkMethods()
	c.checkPeerstoreValues()
	c.report()
	return nil, nil
}

// RunFactsOnly is the analyzer's Run for a package analyzed only for the
// facts its importers need, as "go vet" and "go fix" do for every
// dependency of the packages named (unitchecker's VetxOnly): it exports
// the facts and skips the checks, whose diagnostics would be dropped.
func RunFactsOnly(pass *analysis.Pass) (any, error) {
	if c := checkerFor(pass); c != nil {
		c.exportKeptOnly()
	}
	return nil, nil
}

// checkerFor returns the checker for pass, or nil when the package needs
// no analysis: it implements the legacy API on purpose, or no value of a
// core/peerstore type can occur in it (the fast path).
func checkerFor(pass *analysis.Pass) *checker {
	for _, prefix := range implementers {
		if strings.HasPrefix(pass.Pkg.Path(), prefix) {
			return nil
		}
	}
	deps := findDeps(pass.Pkg)
	if deps[corePeerstorePath] == nil {
		return nil
	}
	return newChecker(pass, deps)
}

// findDeps returns the packages this analyzer cares about among pkg and
// its transitive imports, keyed by path.
func findDeps(pkg *types.Package) map[string]*types.Package {
	wanted := map[string]bool{corePeerstorePath: true, coreHostPath: true}
	found := make(map[string]*types.Package)
	seen := make(map[*types.Package]bool)
	var visit func(p *types.Package)
	visit = func(p *types.Package) {
		if seen[p] {
			return
		}
		seen[p] = true
		if wanted[p.Path()] {
			found[p.Path()] = p
		}
		for _, imp := range p.Imports() {
			visit(imp)
		}
	}
	visit(pkg)
	return found
}

// A finding is one diagnostic before fixes are built: fixes that add the
// compat import are completed per file in report, once the import name
// is known for every rewritten position of that file.
type finding struct {
	pos, end token.Pos
	category string
	message  string
	edits    []analysis.TextEdit // a fix needing no new import (import swaps, own keys)
	// fixMessage names the fix of edits when it is not an import swap.
	fixMessage string
	rewrites   []*hostRewrite // X.Peerstore() -> peerstore.New(X)
}

// hostRewrite is the rewrite of one X.Peerstore() call.
type hostRewrite struct {
	call *ast.CallExpr // X.Peerstore()
	host ast.Expr      // X
}

type checker struct {
	pass      *analysis.Pass
	insp      *inspector.Inspector
	hostIface *types.Interface // core/host.Host, nil when not a dependency
	peerstore types.Type       // core/peerstore.Peerstore
	// legacySigs holds the signature of each legacy-only method of
	// core/peerstore, to recognise user interfaces that redeclare them.
	legacySigs map[string]*types.Signature
	writes     *writes     // built on first use
	params     *params     // built on first use
	asserts    *assertions // built on first use
	// kept memoises keptOnly; uses indexes the uses of interface-typed
	// variables for it (built on first use).
	kept        map[*types.Var]bool
	keptMethods map[*types.Var][]string // the kept methods used, when kept
	uses        map[*types.Var][]inspector.Cursor
	views       map[*types.Var]*types.Var // host field -> view field, see viewFields
	// ownKeyReads: see ownKeys, built on first use.
	ownKeyReads map[*ast.CallExpr]*ownKeyRead
	swaps       []analysis.TextEdit // upstream store imports -> compat
	// swapBlocked is set when an upstream store import cannot be swapped:
	// compat lacks a name the package uses.
	swapBlocked bool
	findings    []finding
}

func newChecker(pass *analysis.Pass, deps map[string]*types.Package) *checker {
	c := &checker{
		pass:        pass,
		insp:        pass.ResultOf[inspect.Analyzer].(*inspector.Inspector),
		legacySigs:  make(map[string]*types.Signature),
		kept:        make(map[*types.Var]bool),
		keptMethods: make(map[*types.Var][]string),
	}
	if obj, ok := deps[corePeerstorePath].Scope().Lookup("Peerstore").(*types.TypeName); ok {
		c.peerstore = obj.Type()
		if iface, ok := obj.Type().Underlying().(*types.Interface); ok {
			for m := range iface.Methods() {
				if _, legacy := legacyMethods[m.Name()]; legacy {
					c.legacySigs[m.Name()] = m.Type().(*types.Signature)
				}
			}
		}
	}
	if hostPkg := deps[coreHostPath]; hostPkg != nil {
		if obj, ok := hostPkg.Scope().Lookup("Host").(*types.TypeName); ok {
			c.hostIface, _ = obj.Type().Underlying().(*types.Interface)
		}
	}
	return c
}

// fileOf returns the syntax tree of the file that contains pos.
func (c *checker) fileOf(pos token.Pos) *ast.File {
	for _, f := range c.pass.Files {
		if f.FileStart <= pos && pos <= f.FileEnd {
			return f
		}
	}
	return nil
}

// qualifier prints package names as the file would, for messages.
func (c *checker) qualifier(p *types.Package) string {
	if p == c.pass.Pkg {
		return ""
	}
	return p.Name()
}
