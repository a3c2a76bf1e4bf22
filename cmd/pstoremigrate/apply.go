package main

import (
	"bytes"
	"cmp"
	"errors"
	"fmt"
	"go/ast"
	"go/format"
	"go/parser"
	"go/token"
	"os"
	"slices"
)

// A fixPlan is the result of merging the findings' suggested fixes: the new
// content of every file they change.
//
// Fix applies edits itself, from the go vet JSON, rather than through
// "go fix -fixtool": when two fixes of a package overlap, the unitchecker
// under "go fix" exits with an error and the go command then drops every fix
// of that package, so a re-run never makes progress. Here an overlapping fix
// is only deferred to the next round, where it is computed afresh on the
// fixed code.
type fixPlan struct {
	files    map[string][]byte // absolute file name -> new content
	old      map[string][]byte // and its content before
	applied  int               // fixes merged into files
	deferred int               // fixes that overlap an applied one
	// findings whose fix edits a generated file: left to the generator.
	generated []finding
}

// planFixes merges the first suggested fix of each finding, in order. A
// fix is taken whole or not at all: it is deferred when one of its edits
// overlaps an edit already taken, except an identical edit (two fixes that
// add the same import), which is merged.
func planFixes(findings []finding) (*fixPlan, error) {
	plan := &fixPlan{files: make(map[string][]byte), old: make(map[string][]byte)}
	taken := make(map[string][]edit)
	generated := make(map[string]bool)
	for _, f := range findings {
		if len(f.fix) == 0 {
			continue
		}
		var add []edit
		conflict, gen := false, false
		for _, e := range f.fix {
			if _, ok := plan.old[e.Filename]; !ok {
				data, err := os.ReadFile(e.Filename)
				if err != nil {
					return nil, fmt.Errorf("reading a file to fix: %w", err)
				}
				plan.old[e.Filename] = data
				generated[e.Filename] = isGenerated(e.Filename, data)
			}
			if e.Start < 0 || e.Start > e.End || e.End > len(plan.old[e.Filename]) {
				return nil, fmt.Errorf("the fix for %s: %s edits bytes [%d,%d) of %s, which has %d",
					f.posn(), f.Message, e.Start, e.End, e.Filename, len(plan.old[e.Filename]))
			}
			gen = gen || generated[e.Filename]
			dup := false
			for _, t := range append(taken[e.Filename], add...) {
				if t == e {
					dup = true
				} else if t.Filename == e.Filename && overlap(t, e) {
					conflict = true
				}
			}
			if !dup {
				add = append(add, e)
			}
		}
		switch {
		case gen:
			plan.generated = append(plan.generated, f)
		case conflict:
			plan.deferred++
		default:
			for _, e := range add {
				taken[e.Filename] = append(taken[e.Filename], e)
			}
			plan.applied++
		}
	}
	for name, edits := range taken {
		// Stable: insertions at one offset keep the order they were taken in.
		slices.SortStableFunc(edits, func(a, b edit) int {
			return cmp.Or(cmp.Compare(a.Start, b.Start), cmp.Compare(a.End, b.End))
		})
		old := plan.old[name]
		var buf bytes.Buffer
		at := 0
		for _, e := range edits {
			buf.Write(old[at:e.Start])
			buf.WriteString(e.New)
			at = e.End
		}
		buf.Write(old[at:])
		out, err := format.Source(buf.Bytes())
		if err != nil {
			return nil, fmt.Errorf("the fixes to %s do not produce valid Go (%w); nothing was changed", name, err)
		}
		if !bytes.Equal(out, old) {
			plan.files[name] = out
		}
	}
	return plan, nil
}

// overlap reports whether two edits of one file touch the same bytes, or
// insert different text at the same offset (their order would be a guess).
func overlap(a, b edit) bool {
	if a.Start == a.End && b.Start == b.End {
		return a.Start == b.Start
	}
	return a.Start < b.End && b.Start < a.End
}

func isGenerated(name string, src []byte) bool {
	f, err := parser.ParseFile(token.NewFileSet(), name, src, parser.PackageClauseOnly|parser.ParseComments)
	return err == nil && ast.IsGenerated(f)
}

// changed returns the names of the files the plan changes, sorted.
func (p *fixPlan) changed() []string {
	names := make([]string, 0, len(p.files))
	for name := range p.files {
		names = append(names, name)
	}
	slices.Sort(names)
	return names
}

// write writes the planned content, keeping each file's mode. It stops at
// the first failure and says which files it had written.
func (p *fixPlan) write() error {
	var done []string
	for _, name := range p.changed() {
		info, err := os.Stat(name)
		if err == nil {
			err = os.WriteFile(name, p.files[name], info.Mode().Perm())
		}
		if err != nil {
			return errors.Join(fmt.Errorf("writing fixed file: %w", err), fmt.Errorf("files already written: %v", done))
		}
		done = append(done, name)
	}
	return nil
}
