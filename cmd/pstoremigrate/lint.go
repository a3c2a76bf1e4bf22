package main

import (
	"encoding/json"
	"errors"
	"fmt"
)

var lintCmd = &command{
	Name:      "lint",
	UsageLine: "lint [-json] [-tags tag,list] [packages]",
	Short:     "report uses of the legacy Peerstore API",
	Long: `Lint reports every use of the legacy-only Peerstore API in the named packages
(default "."), test files included, as "file:line:col: message", then a
one-line summary by category. Each message names the replacement; the
sections of MIGRATION.md explain them.

The -json flag prints one JSON object instead: {"findings": [{"file",
"line", "col", "category", "message", "url", "fixable", "generated",
"related": [{"file", "line", "col", "message"}]}...], "summary":
{category: count}, "total": n, "fixable": n}. The -tags flag selects build
tags, as for the go command.

Exit status: 0 when nothing is found, 3 when there are findings, 1 when the
packages do not load (the go command's explanation is printed), 2 on bad
usage.
`,
}

func init() {
	lintCmd.Run = runLint
	register(lintCmd)
}

// lintReport is the -json output of lint.
type lintReport struct {
	Findings []finding      `json:"findings"`
	Summary  map[string]int `json:"summary"`
	Total    int            `json:"total"`
	Fixable  int            `json:"fixable"`
}

func runLint(inv *invocation, args []string) int {
	fs := newFlagSet(inv, lintCmd)
	asJSON := fs.Bool("json", false, "print the findings as one JSON object")
	tags := fs.String("tags", "", "a comma-separated list of build tags, as for the go command")
	if err := fs.Parse(args); err != nil {
		return exitUsage
	}
	findings, err := collectFindings(inv, targets(*tags, fs.Args()))
	if err != nil {
		return reportError(inv, "lint", err)
	}
	if *asJSON {
		rep := lintReport{Findings: findings, Total: len(findings)}
		_, rep.Summary = summarize(findings)
		if rep.Findings == nil {
			rep.Findings = []finding{}
		}
		for _, f := range findings {
			if f.Fixable {
				rep.Fixable++
			}
		}
		enc := json.NewEncoder(inv.Stdout)
		enc.SetIndent("", "\t")
		if err := enc.Encode(rep); err != nil {
			return reportError(inv, "lint", fmt.Errorf("writing JSON: %w", err))
		}
	} else {
		for _, f := range findings {
			f.writeText(inv.Stdout)
		}
		fmt.Fprintf(inv.Stdout, "pstoremigrate: %s\n", summaryLine(findings))
	}
	if len(findings) > 0 {
		return exitFindings
	}
	return exitOK
}

// targets returns what lint and fix pass to the go command after its own
// flags: the build flags, then the package patterns (default ".").
func targets(tags string, patterns []string) []string {
	var out []string
	if tags != "" {
		out = append(out, "-tags="+tags)
	}
	if len(patterns) == 0 {
		return append(out, ".")
	}
	return append(out, patterns...)
}

// reportError prints err for the named command and returns exitError.
func reportError(inv *invocation, cmd string, err error) int {
	var le *errLoad
	if errors.As(err, &le) {
		fmt.Fprintf(inv.Stderr, "pstoremigrate %s: the packages did not load or type-check:\n%s\n", cmd, le.detail)
	} else {
		fmt.Fprintf(inv.Stderr, "pstoremigrate %s: %v\n", cmd, err)
	}
	return exitError
}
