package main

import (
	"cmp"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"slices"
	"strings"

	"golang.org/x/tools/go/analysis"
	"golang.org/x/tools/go/analysis/checker"
	"golang.org/x/tools/go/packages"

	"github.com/pstoremigrate/pstoremigrate/analyzer"
)

var depsCmd = &command{
	Name:      "deps",
	UsageLine: "deps [-json] [-tags tag,list] [packages]",
	Short:     "report which dependencies use the legacy Peerstore API",
	Long: `Deps reports, for every module in the build list of the named packages
(default ".") other than the main modules, the packages that use the
legacy-only Peerstore API: how many uses per category and the first
position of each. Only packages that the named ones import are looked at
(tests of dependencies are not), and go-libp2p itself, which implements
the legacy store, is left out.

What a use in a dependency means for you: it keeps working while the
host's store is a full legacy store (upstream's, or compat/pstoremem or
compat/pstoreds). Once the host's store is the minimal one, pass that
dependency peerstore.New(h) (compat/peerstore) where it takes a store, or
upgrade it to a version that no longer needs the legacy API.

The -json flag prints one JSON object: {"modules": [{"path", "version",
"packages": [{"path", "uses": [{"category", "count", "first",
"message"}]}]}], "meaning"}. The -tags flag selects build tags, as for the
go command.

Exit status: 0 when the report was made (whatever it found), 1 when the
packages do not load, 2 on bad usage.
`,
}

func init() {
	depsCmd.Run = runDeps
	register(depsCmd)
}

// depsMeaning is what a legacy use in a dependency means for the user.
const depsMeaning = "These keep working while the host's store is a full legacy store (upstream's, or compat/pstoremem or compat/pstoreds). " +
	"Once the host's store is the minimal one, pass them peerstore.New(h) (compat/peerstore) where they take a store, or upgrade them."

// notReported are modules deps leaves out: go-libp2p implements the legacy
// store it is moving off, and this module's compat keeps it on purpose.
var notReported = []string{"github.com/libp2p/go-libp2p", thisModule}

// depsReport is the -json output of deps.
type depsReport struct {
	Modules []depModule `json:"modules"`
	Meaning string      `json:"meaning"`
}

type depModule struct {
	Path     string       `json:"path"`
	Version  string       `json:"version"`
	Packages []depPackage `json:"packages"`
}

type depPackage struct {
	Path string   `json:"path"`
	Uses []depUse `json:"uses"`
}

// A depUse counts the uses of one category in one package.
type depUse struct {
	Category string `json:"category"`
	Count    int    `json:"count"`
	First    string `json:"first"`   // file:line:col of the first use
	Message  string `json:"message"` // the analyzer's message for it
}

func runDeps(inv *invocation, args []string) int {
	fs := newFlagSet(inv, depsCmd)
	asJSON := fs.Bool("json", false, "print the report as one JSON object")
	tags := fs.String("tags", "", "a comma-separated list of build tags, as for the go command")
	if err := fs.Parse(args); err != nil {
		return exitUsage
	}
	patterns := fs.Args()
	if len(patterns) == 0 {
		patterns = []string{"."}
	}
	rep, err := dependencyReport(*tags, patterns)
	if err != nil {
		return reportError(inv, "deps", err)
	}
	if *asJSON {
		enc := json.NewEncoder(inv.Stdout)
		enc.SetIndent("", "\t")
		if err := enc.Encode(rep); err != nil {
			return reportError(inv, "deps", fmt.Errorf("writing JSON: %w", err))
		}
		return exitOK
	}
	rep.writeText(inv.Stdout)
	return exitOK
}

// dependencyReport loads the named packages and every package they import,
// and runs the analyzer on those of non-main modules that can see a
// core/peerstore value (they import it, directly or not).
func dependencyReport(tags string, patterns []string) (*depsReport, error) {
	cfg := &packages.Config{
		Mode: packages.LoadAllSyntax | packages.NeedModule,
	}
	if tags != "" {
		cfg.BuildFlags = []string{"-tags=" + tags}
	}
	roots, err := packages.Load(cfg, patterns...)
	if err != nil {
		return nil, &errLoad{detail: err.Error()}
	}
	var loadErrs []string
	var deps []*packages.Package
	seesPeerstore := make(map[*packages.Package]bool)
	packages.Visit(roots, nil, func(p *packages.Package) {
		for _, e := range p.Errors {
			loadErrs = append(loadErrs, e.Error())
		}
		see := p.PkgPath == "github.com/libp2p/go-libp2p/core/peerstore"
		for _, imp := range p.Imports {
			see = see || seesPeerstore[imp]
		}
		seesPeerstore[p] = see
		if see && p.Module != nil && !p.Module.Main && !slices.Contains(notReported, p.Module.Path) {
			deps = append(deps, p)
		}
	})
	if len(loadErrs) > 0 {
		return nil, &errLoad{detail: strings.Join(loadErrs, "\n")}
	}
	rep := &depsReport{Modules: []depModule{}, Meaning: depsMeaning}
	if len(deps) == 0 {
		return rep, nil
	}
	graph, err := checker.Analyze([]*analysis.Analyzer{analyzer.Analyzer}, deps, nil)
	if err != nil {
		return nil, fmt.Errorf("analyzing the dependencies: %w", err)
	}
	byModule := make(map[string]*depModule)
	var errs []error
	for act := range graph.All() {
		if !act.IsRoot || act.Analyzer != analyzer.Analyzer {
			continue
		}
		if act.Err != nil {
			errs = append(errs, fmt.Errorf("%s: %w", act.Package.PkgPath, act.Err))
			continue
		}
		if len(act.Diagnostics) == 0 {
			continue
		}
		pkg := depPackage{Path: act.Package.PkgPath}
		diags := slices.Clone(act.Diagnostics)
		fset := act.Package.Fset
		slices.SortFunc(diags, func(a, b analysis.Diagnostic) int {
			pa, pb := fset.Position(a.Pos), fset.Position(b.Pos)
			return cmp.Or(cmp.Compare(pa.Filename, pb.Filename), cmp.Compare(pa.Offset, pb.Offset))
		})
		for _, d := range diags {
			i := slices.IndexFunc(pkg.Uses, func(u depUse) bool { return u.Category == d.Category })
			if i < 0 {
				pkg.Uses = append(pkg.Uses, depUse{Category: d.Category, First: fset.Position(d.Pos).String(), Message: d.Message})
				i = len(pkg.Uses) - 1
			}
			pkg.Uses[i].Count++
		}
		slices.SortFunc(pkg.Uses, func(a, b depUse) int { return cmp.Compare(a.Category, b.Category) })
		m := act.Package.Module
		dm, ok := byModule[m.Path]
		if !ok {
			dm = &depModule{Path: m.Path, Version: m.Version}
			byModule[m.Path] = dm
		}
		dm.Packages = append(dm.Packages, pkg)
	}
	if len(errs) > 0 {
		return nil, errors.Join(errs...)
	}
	for _, m := range byModule {
		slices.SortFunc(m.Packages, func(a, b depPackage) int { return cmp.Compare(a.Path, b.Path) })
		rep.Modules = append(rep.Modules, *m)
	}
	slices.SortFunc(rep.Modules, func(a, b depModule) int { return cmp.Compare(a.Path, b.Path) })
	return rep, nil
}

// writeText writes the report for people, one module after another.
func (r *depsReport) writeText(w io.Writer) {
	if len(r.Modules) == 0 {
		fmt.Fprintf(w, "pstoremigrate: no dependency uses the legacy-only Peerstore API\n")
		return
	}
	for _, m := range r.Modules {
		n := 0
		for _, p := range m.Packages {
			for _, u := range p.Uses {
				n += u.Count
			}
		}
		fmt.Fprintf(w, "%s %s: %d legacy-only %s in %d %s\n", m.Path, m.Version, n, plural(n, "use", "uses"),
			len(m.Packages), plural(len(m.Packages), "package", "packages"))
		for _, p := range m.Packages {
			fmt.Fprintf(w, "\t%s\n", p.Path)
			for _, u := range p.Uses {
				fmt.Fprintf(w, "\t\t%s %d, first at %s: %s\n", u.Category, u.Count, u.First, u.Message)
			}
		}
	}
	fmt.Fprintf(w, "pstoremigrate: %d %s use the legacy-only Peerstore API. %s\n",
		len(r.Modules), plural(len(r.Modules), "dependency", "dependencies"), r.Meaning)
}
