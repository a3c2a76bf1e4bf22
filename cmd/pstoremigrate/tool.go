package main

import (
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"strings"
	"sync"

	"golang.org/x/tools/go/analysis"

	"github.com/pstoremigrate/pstoremigrate/analyzer"
)

// keepFixesEnv is set by lint and fix for the vet tool they run: fix adds
// the requirement on thisModule itself, so every fix stays on offer.
const keepFixesEnv = "PSTOREMIGRATE_KEEP_FIXES"

// toolAnalyzer is the analyzer as "go vet -vettool" and "go fix -fixtool"
// run it. Every fix imports a compat package; "go fix" cannot add the
// requirement that makes it build, so in a module whose build list lacks
// thisModule the fixes are dropped and each diagnostic says what to run.
// Without this, "go fix" would leave a tree that does not build. Under
// "go fix" (fixMode), which prints no diagnostics, the package fails with
// a message that says so, and a non-zero exit status.
//
// For a dependency analyzed only for its facts (factsOnly: the unit's
// VetxOnly), the go command drops the diagnostics, so the analyzer only
// exports facts (analyzer.RunFactsOnly), and no fix is dropped or failed.
func toolAnalyzer(fixMode, factsOnly bool) *analysis.Analyzer {
	if factsOnly {
		a := *analyzer.Analyzer
		a.Run = analyzer.RunFactsOnly
		return &a
	}
	if os.Getenv(keepFixesEnv) != "" {
		return analyzer.Analyzer
	}
	a := *analyzer.Analyzer
	a.Run = func(pass *analysis.Pass) (any, error) {
		inner := *pass
		dropped := 0
		inner.Report = func(d analysis.Diagnostic) {
			if len(d.SuggestedFixes) > 0 && !buildListHasThisModule() {
				d.SuggestedFixes = nil
				d.Message += "; no fix offered: " + whyNoFix
				dropped++
			}
			pass.Report(d)
		}
		res, err := analyzer.Analyzer.Run(&inner)
		if err == nil && fixMode && dropped > 0 {
			// unitchecker applies fixes and prints nothing else under
			// "go fix", not even an analyzer's error: exit non-zero here
			// so that "go fix" fails and shows why.
			fmt.Fprintf(os.Stderr, "%s: %d %s not fixed: %s\n", pass.Pkg.Path(), dropped, plural(dropped, "finding", "findings"), whyNoFix)
			os.Exit(exitError)
		}
		return res, err
	}
	return &a
}

const whyNoFix = "this module cannot build " + thisModule + "/compat yet, which the fixes import" +
	" (run 'pstoremigrate fix', which adds the requirement, or 'go get " + thisModule + "/compat/...' first)"

// buildListHasThisModule reports whether the module of the package being
// analyzed (the go command runs the tool in its directory) can build the
// compat packages the fixes import: its build list has thisModule and
// go.sum has what they need. It asks the go command once per process.
var buildListHasThisModule = sync.OnceValue(func() bool {
	return exec.Command("go", "list", "-deps", thisModule+"/compat/peerstore", thisModule+"/compat/pstoremem", thisModule+"/compat/pstoreds").Run() == nil
})

// factsOnlyUnit reports whether the unit.cfg the go command passes (the
// last argument) asks only for facts: a dependency of the packages named.
// A file that cannot be read is left to unitchecker to report.
func factsOnlyUnit(args []string) bool {
	if len(args) == 0 || !strings.HasSuffix(args[len(args)-1], ".cfg") {
		return false
	}
	data, err := os.ReadFile(args[len(args)-1])
	if err != nil {
		return false
	}
	var cfg struct{ VetxOnly bool }
	return json.Unmarshal(data, &cfg) == nil && cfg.VetxOnly
}
