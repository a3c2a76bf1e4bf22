package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"os"
	"slices"
	"strings"

	"golang.org/x/tools/go/analysis/unitchecker"
)

// Exit codes; see doc.go.
const (
	exitOK       = 0
	exitError    = 1
	exitUsage    = 2
	exitFindings = 3
)

// A command is one subcommand of pstoremigrate. New subcommands (the data
// commands of issue 6, say) register themselves with [register] from an
// init function in their own file, so adding one touches no other file.
type command struct {
	Name      string // as typed after "pstoremigrate"
	UsageLine string // "lint [-json] [packages]"
	Short     string // one line for the command list
	Long      string // the text of "pstoremigrate help <name>"
	// Run runs the command with the arguments that follow its name and
	// returns the process exit code.
	Run func(inv *invocation, args []string) int
}

// An invocation is what a command may use of the process: where to write,
// and where its own executable is (lint and fix hand it to the go command).
type invocation struct {
	Stdout, Stderr io.Writer
	Self           string // path of this executable
	// Ctx, when set, stops the go commands the invocation runs once it is
	// done (fix sets it to end on an interrupt, and then undoes its work).
	Ctx context.Context
}

// ctx returns the invocation's context, or the background.
func (inv *invocation) ctx() context.Context {
	if inv.Ctx == nil {
		return context.Background()
	}
	return inv.Ctx
}

var commands []*command

// register adds cmd to the command table; it is meant for init functions.
func register(cmd *command) {
	if slices.ContainsFunc(commands, func(c *command) bool { return c.Name == cmd.Name }) {
		panic("pstoremigrate: command registered twice: " + cmd.Name)
	}
	commands = append(commands, cmd)
}

func lookup(name string) *command {
	for _, c := range commands {
		if c.Name == name {
			return c
		}
	}
	return nil
}

func main() {
	args := os.Args[1:]
	if isToolProtocol(args) {
		// Invoked by "go vet -vettool" or "go fix -fixtool": unitchecker
		// owns the command line and the process from here on.
		unitchecker.Main(toolAnalyzer(slices.Contains(args, "-fix"), factsOnlyUnit(args)))
		return
	}
	self, err := os.Executable()
	if err != nil {
		fmt.Fprintf(os.Stderr, "pstoremigrate: cannot locate own executable: %v\n", err)
		os.Exit(exitError)
	}
	inv := &invocation{Stdout: os.Stdout, Stderr: os.Stderr, Self: self}
	os.Exit(run(inv, args))
}

// isToolProtocol reports whether args are those the go command passes to a
// vet or fix tool: "-V=full", "-flags", or flags followed by one unit.cfg.
func isToolProtocol(args []string) bool {
	if len(args) == 0 {
		return false
	}
	if args[0] == "-flags" || strings.HasPrefix(args[0], "-V") {
		return true
	}
	last := args[len(args)-1]
	if !strings.HasSuffix(last, ".cfg") {
		return false
	}
	for _, a := range args[:len(args)-1] {
		if !strings.HasPrefix(a, "-") {
			return false
		}
	}
	return true
}

func run(inv *invocation, args []string) int {
	if len(args) == 0 {
		printUsage(inv.Stderr)
		return exitUsage
	}
	name := args[0]
	if name == "-h" || name == "-help" || name == "--help" {
		name = "help"
	}
	cmd := lookup(name)
	if cmd == nil {
		fmt.Fprintf(inv.Stderr, "pstoremigrate %s: unknown command\nRun 'pstoremigrate help' for usage.\n", name)
		return exitUsage
	}
	return cmd.Run(inv, args[1:])
}

func printUsage(w io.Writer) {
	fmt.Fprintf(w, "pstoremigrate moves go-libp2p code off the legacy Peerstore.\n\nUsage:\n\n\tpstoremigrate <command> [arguments]\n\nThe commands are:\n\n")
	for _, c := range commands {
		fmt.Fprintf(w, "\t%-8s %s\n", c.Name, c.Short)
	}
	fmt.Fprintf(w, "\nUse \"pstoremigrate help <command>\" for more information about a command.\n")
}

// newFlagSet returns a flag set in the go command's style: errors and usage
// go to stderr as "usage: pstoremigrate <usage line>".
func newFlagSet(inv *invocation, cmd *command) *flag.FlagSet {
	fs := flag.NewFlagSet(cmd.Name, flag.ContinueOnError)
	fs.SetOutput(inv.Stderr)
	fs.Usage = func() {
		fmt.Fprintf(inv.Stderr, "usage: pstoremigrate %s\nRun 'pstoremigrate help %s' for details.\n", cmd.UsageLine, cmd.Name)
	}
	return fs
}
