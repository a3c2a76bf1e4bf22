package main

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/signal"
	"path/filepath"
	"slices"
	"syscall"

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

The fixed code imports compat packages of github.com/pstoremigrate/pstoremigrate.
Before writing anything, fix decides how each module it changes will require
that module: a require line it has; a go.work that uses the module's folder;
a replace directive (go.mod or go.work), at the version it names; else the
module proxy, at this binary's version or the latest. If a module cannot
(offline, vendor/, a proxy without it), fix writes nothing and prints the
command to run there first. Fix is all or nothing: when a step fails after
the first write (a file that cannot be written, go.mod, fixed code that does
not type-check, an interrupt: SIGINT or SIGTERM), it restores every file it
touched and says which. Findings
in generated files and in files that use cgo are listed apart, not fixed.

The -diff flag prints the fixes as a unified diff on stdout, go.mod changes
included, the report on stderr, and changes nothing. The -tags flag selects
build tags, as for the go command. In a go.work workspace, name each module's
packages (./a/... ./b/...): each module gets its own requirement.

Exit status: 0 when nothing is left to do by hand, 3 when findings remain
that fix cannot rewrite, 1 on errors (packages that do not load, a module
that cannot require the library, a failed step, undone), 2 on bad usage.
`,
}

func init() {
	fixCmd.Run = runFix
	register(fixCmd)
}

// errInterrupted is why fix stops on a signal.
var errInterrupted = errors.New("interrupted by a signal")

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

	// An interrupt (Ctrl-C, or SIGTERM from a CI job's timeout) stops the
	// go command under way and takes the failure path below, which puts
	// back every file already written, instead of killing fix between two
	// writes. Only SIGKILL can still leave a half-fixed tree.
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	inv = &invocation{Stdout: inv.Stdout, Stderr: inv.Stderr, Self: inv.Self, Ctx: ctx}

	before, err := collectFindings(inv, pkgs)
	if err != nil {
		return reportError(inv, "fix", err)
	}
	if len(before) == 0 {
		fmt.Fprintf(inv.Stdout, "pstoremigrate: %s, nothing to fix\n", summaryLine(before))
		return exitOK
	}
	ws, err := loadWorkspace()
	if err != nil {
		return reportError(inv, "fix", err)
	}
	plan, err := planFixes(before)
	if err != nil {
		return reportError(inv, "fix", err)
	}
	// Decide how each module will require the library before writing
	// anything: a fix that leaves a tree that does not build is worse than
	// none.
	reqs, err := planRequirements(ws, plan)
	if err != nil {
		fmt.Fprintf(inv.Stderr, "pstoremigrate fix: nothing was changed: the fixes import packages of %s, and\n%v\n", thisModule, err)
		return exitError
	}
	if *diff {
		return fixDiff(inv, before, plan, reqs)
	}

	bk := newBackup()
	// write checks for an interrupt before each file it changes.
	write := func(name string, data []byte) error {
		if ctx.Err() != nil {
			return errInterrupted
		}
		return bk.write(name, data)
	}
	fail := func(err error) int {
		if ctx.Err() != nil {
			err = errInterrupted // whatever the step under way made of it
		}
		fmt.Fprintf(inv.Stderr, "pstoremigrate fix: %v\n", err)
		restored, rerr := bk.restore()
		cwd, _ := os.Getwd()
		if rerr != nil {
			fmt.Fprintf(inv.Stderr, "pstoremigrate fix: could NOT restore every file: %v\n", rerr)
		}
		if len(restored) == 0 && rerr == nil {
			fmt.Fprintf(inv.Stderr, "pstoremigrate fix: nothing was changed\n")
		} else if len(restored) > 0 {
			fmt.Fprintf(inv.Stderr, "pstoremigrate fix: restored %d %s to their content before this run:\n", len(restored), plural(len(restored), "file", "files"))
			for _, f := range restored {
				fmt.Fprintf(inv.Stderr, "\t%s\n", shortPath(cwd, f))
			}
		}
		return exitError
	}
	if ws.File != "" {
		if err := bk.save(ws.File + ".sum"); err != nil {
			return fail(err)
		}
	}
	for _, r := range reqs {
		if err := write(filepath.Join(r.Dir, "go.mod"), r.GoMod); err != nil {
			return fail(err)
		}
		sum := filepath.Join(r.Dir, "go.sum")
		if err := bk.save(sum); err != nil {
			return fail(err)
		}
		if r.GoSum != nil {
			if err := write(sum, r.GoSum); err != nil {
				return fail(err)
			}
		}
		if r.getAfterWrite {
			if _, _, err := runGoCtx(ctx, r.Dir, []string{"get", thisModule + "@" + r.Version}); err != nil {
				return fail(fmt.Errorf("adding %s to %s: %w", thisModule, filepath.Join(r.Dir, "go.mod"), err))
			}
		}
	}

	after := before
	for round := 0; round < maxFixRounds && countFixable(after) > 0; round++ {
		if round > 0 {
			if plan, err = planFixes(after); err != nil {
				return fail(err)
			}
		}
		if plan.applied == 0 {
			break
		}
		for _, name := range plan.changed() {
			if err := write(name, plan.files[name]); err != nil {
				return fail(err)
			}
		}
		if round == 0 && len(reqs) > 0 && ws.File == "" {
			// -mod=mod lets the go command write the checksums of the
			// modules that the compat packages import.
			if _, _, err := runGoCtx(ctx, "", append([]string{"list", "-mod=mod", "-deps", "-test"}, pkgs...)); err != nil {
				return fail(fmt.Errorf("recording go.sum entries for %s: %w", thisModule, err))
			}
		}
		if after, err = collectFindings(inv, pkgs); err != nil {
			return fail(fmt.Errorf("the fixed code does not load or type-check:\n%w", err))
		}
	}

	if ctx.Err() != nil {
		return fail(errInterrupted)
	}
	changed, err := changedFiles(bk.orig)
	if err != nil {
		return reportError(inv, "fix", err)
	}
	fixed := max(len(before)-len(after), 0)
	fmt.Fprintf(inv.Stdout, "pstoremigrate: fixed %d of %d %s, ", fixed, len(before), plural(len(before), "finding", "findings"))
	printChanged(inv, changed)
	cwd, _ := os.Getwd()
	for _, r := range reqs {
		fmt.Fprintf(inv.Stdout, "pstoremigrate: %s\n", r.describe(cwd))
	}
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
// The go.mod changes that applying it takes come first.
func fixDiff(inv *invocation, findings []finding, plan *fixPlan, reqs []*modRequirement) int {
	cwd, _ := os.Getwd()
	for _, r := range reqs {
		name := filepath.Join(r.Dir, "go.mod")
		old, err := os.ReadFile(name)
		if err != nil {
			return reportError(inv, "fix", err)
		}
		short := shortPath(cwd, name)
		inv.Stdout.Write(diff.Diff(short+" (old)", old, short+" (new)", r.GoMod))
	}
	for _, name := range plan.changed() {
		short := shortPath(cwd, name)
		inv.Stdout.Write(diff.Diff(short+" (old)", plan.old[name], short+" (new)", plan.files[name]))
	}
	for _, r := range reqs {
		fmt.Fprintf(inv.Stderr, "pstoremigrate: applying it, %s; go.sum gets the matching checksums\n", r.describe(cwd))
	}
	var left []finding
	for _, f := range findings {
		if !f.Fixable {
			left = append(left, f)
		}
	}
	fmt.Fprintf(inv.Stderr, "pstoremigrate: the diff fixes %d of %d %s; nothing was changed (run without -diff to apply)\n",
		plan.applied, len(findings), plural(len(findings), "finding", "findings"))
	if plan.deferred > 0 {
		fmt.Fprintf(inv.Stderr, "pstoremigrate: %d more %s overlap those and would be applied in a further round\n",
			plan.deferred, plural(plan.deferred, "fix", "fixes"))
	}
	return reportLeft(inv.Stderr, left)
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

// reportLeft lists the findings fix leaves, each once: those in generated
// files, then those that need a person. It returns the exit code that says
// whether any are left.
func reportLeft(w io.Writer, left []finding) int {
	var gen, cgo, manual []finding
	for _, f := range left {
		switch {
		case f.Generated:
			gen = append(gen, f)
		case f.Cgo:
			cgo = append(cgo, f)
		default:
			manual = append(manual, f)
		}
	}
	reportGenerated(w, gen)
	if len(cgo) > 0 {
		fmt.Fprintf(w, "pstoremigrate: not fixed, in files that use cgo (go vet sees them only as cgo rewrote them, so fix cannot place its edits; make the change the message names by hand):\n")
		for _, f := range cgo {
			fmt.Fprintf(w, "%s: %s\n", f.posn(), f.Message)
		}
	}
	if len(left) == 0 {
		fmt.Fprintf(w, "pstoremigrate: nothing left to do by hand\n")
		return exitOK
	}
	if len(manual) > 0 {
		fmt.Fprintf(w, "pstoremigrate: could not fix %d %s; these need a person (see MIGRATION.md):\n", len(manual), plural(len(manual), "finding", "findings"))
		for _, f := range manual {
			fmt.Fprintf(w, "%s: %s\n", f.posn(), f.Message)
		}
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
		if data == nil && errors.Is(err, os.ErrNotExist) {
			continue // did not exist and still does not
		} else if err != nil {
			return nil, fmt.Errorf("reading a fixed file: %w", err)
		}
		if !bytes.Equal(now, data) {
			changed = append(changed, name)
		}
	}
	slices.Sort(changed)
	return changed, nil
}
