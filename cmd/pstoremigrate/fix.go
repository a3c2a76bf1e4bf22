package main

import (
	"bytes"
	"fmt"
	"io"
	"os"
	"slices"

	"github.com/pstoremigrate/pstoremigrate/cmd/pstoremigrate/internal/diff"
)

var fixCmd = &command{
	Name:      "fix",
	UsageLine: "fix [-diff] [-tags tag,list] [packages]",
	Short:     "rewrite legacy Peerstore uses where that keeps behaviour",
	Long: `Fix applies the analyzer's suggested fixes to the named packages (default
"."), test files included: upstream pstoremem/pstoreds imports become
compat/pstoremem and compat/pstoreds, and h.Peerstore() becomes
peerstore.New(h) (package compat/peerstore) where it feeds legacy-only use.
It then prints the files it changed and every finding it could not fix,
which need a person (MIGRATION.md explains each).

Fixes that overlap are applied in further rounds, so one run is enough.
When the fixed code imports compat packages from a module that go.mod does
not require yet, fix adds it with 'go get' (at the version a replace
directive names, else this binary's version, else the latest) and records
the go.sum entries the fixed packages need.

The -diff flag prints the fixes as a unified diff on stdout, the report on
stderr, and changes nothing. The -tags flag selects build tags, as for the
go command.

Exit status: 0 when nothing is left to do by hand, 3 when findings remain
that fix cannot rewrite, 1 on errors (packages that do not load), 2 on bad
usage.
`,
}

func init() {
	fixCmd.Run = runFix
	register(fixCmd)
}

// maxFixRounds bounds the rounds that apply fixes deferred because they
// overlapped others; each round must make progress.
const maxFixRounds = 4

func runFix(inv *invocation, args []string) int {
	fs := newFlagSet(inv, fixCmd)
	diff := fs.Bool("diff", false, "print a unified diff of the fixes and change nothing")
	tags := fs.String("tags", "", "a comma-separated list of build tags, as for the go command")
	if err := fs.Parse(args); err != nil {
		return exitUsage
	}
	pkgs := targets(*tags, fs.Args())

	before, err := collectFindings(inv, pkgs)
	if err != nil {
		return reportError(inv, "fix", err)
	}
	if len(before) == 0 {
		fmt.Fprintf(inv.Stdout, "pstoremigrate: %s, nothing to fix\n", summaryLine(before))
		return exitOK
	}
	if *diff {
		return fixDiff(inv, before)
	}

	originals := make(map[string][]byte) // content before the first round
	after := before
	var generated []finding
	var added string // the version of thisModule that fix added to go.mod
	for round := 0; round < maxFixRounds && countFixable(after) > len(generated); round++ {
		plan, err := planFixes(after)
		if err != nil {
			return reportError(inv, "fix", err)
		}
		generated = plan.generated
		if plan.applied == 0 {
			break
		}
		for name, data := range plan.old {
			if _, ok := originals[name]; !ok {
				originals[name] = data
			}
		}
		if err := plan.write(); err != nil {
			return reportError(inv, "fix", err)
		}
		after, err = collectFindings(inv, pkgs)
		if needsThisModule(err) && added == "" {
			// The fixes import compat packages that go.mod does not
			// provide yet: add them, as the go command suggests.
			if added, err = requireThisModule(pkgs); err == nil {
				after, err = collectFindings(inv, pkgs)
			}
		}
		if err != nil {
			// Files have changed already: say which before failing.
			if changed, cerr := changedFiles(originals); cerr == nil && len(changed) > 0 {
				fmt.Fprint(inv.Stdout, "pstoremigrate: ")
				printChanged(inv, changed)
			}
			return reportError(inv, "fix", fmt.Errorf("checking the fixed code: %w", err))
		}
	}

	changed, err := changedFiles(originals)
	if err != nil {
		return reportError(inv, "fix", err)
	}
	fixed := max(len(before)-len(after), 0)
	fmt.Fprintf(inv.Stdout, "pstoremigrate: fixed %d of %d %s, ", fixed, len(before), plural(len(before), "finding", "findings"))
	printChanged(inv, changed)
	if added != "" {
		fmt.Fprintf(inv.Stdout, "pstoremigrate: go.mod now requires %s %s (the fixes import its compat packages)\n", thisModule, added)
	}
	reportGenerated(inv.Stdout, generated)
	return reportLeft(inv.Stdout, after)
}

// printChanged lists the files fix changed.
func printChanged(inv *invocation, changed []string) {
	cwd, _ := os.Getwd()
	fmt.Fprintf(inv.Stdout, "changed %d %s\n", len(changed), plural(len(changed), "file", "files"))
	for _, f := range changed {
		fmt.Fprintf(inv.Stdout, "\t%s\n", shortPath(cwd, f))
	}
}

// fixDiff prints what one round of fix would change as a unified diff.
func fixDiff(inv *invocation, findings []finding) int {
	plan, err := planFixes(findings)
	if err != nil {
		return reportError(inv, "fix", err)
	}
	cwd, _ := os.Getwd()
	for _, name := range plan.changed() {
		short := shortPath(cwd, name)
		inv.Stdout.Write(diff.Diff(short+" (old)", plan.old[name], short+" (new)", plan.files[name]))
	}
	var manual []finding
	for _, f := range findings {
		if !f.Fixable {
			manual = append(manual, f)
		}
	}
	fmt.Fprintf(inv.Stderr, "pstoremigrate: the diff fixes %d of %d %s; nothing was changed (run without -diff to apply)\n",
		plan.applied, len(findings), plural(len(findings), "finding", "findings"))
	if plan.deferred > 0 {
		fmt.Fprintf(inv.Stderr, "pstoremigrate: %d more %s overlap those and would be applied in a further round\n",
			plan.deferred, plural(plan.deferred, "fix", "fixes"))
	}
	reportGenerated(inv.Stderr, plan.generated)
	return reportLeft(inv.Stderr, manual)
}

// reportGenerated lists findings whose fix would edit a generated file.
func reportGenerated(w io.Writer, gen []finding) {
	if len(gen) == 0 {
		return
	}
	fmt.Fprintf(w, "pstoremigrate: not fixed, in generated files (change the generator, or re-generate with compat):\n")
	for _, f := range gen {
		fmt.Fprintf(w, "%s: %s\n", f.posn(), f.Message)
	}
}

// reportLeft lists the findings fix leaves to a person and returns the exit
// code that says whether any are left.
func reportLeft(w io.Writer, left []finding) int {
	if len(left) == 0 {
		fmt.Fprintf(w, "pstoremigrate: nothing left to do by hand\n")
		return exitOK
	}
	fmt.Fprintf(w, "pstoremigrate: could not fix %d %s; these need a person (see MIGRATION.md):\n", len(left), plural(len(left), "finding", "findings"))
	for _, f := range left {
		fmt.Fprintf(w, "%s: %s\n", f.posn(), f.Message)
	}
	return exitFindings
}

func countFixable(fs []finding) int {
	n := 0
	for _, f := range fs {
		if f.Fixable {
			n++
		}
	}
	return n
}

func changedFiles(orig map[string][]byte) ([]string, error) {
	var changed []string
	for name, data := range orig {
		now, err := os.ReadFile(name)
		if err != nil {
			return nil, fmt.Errorf("reading a fixed file: %w", err)
		}
		if !bytes.Equal(now, data) {
			changed = append(changed, name)
		}
	}
	slices.Sort(changed)
	return changed, nil
}
