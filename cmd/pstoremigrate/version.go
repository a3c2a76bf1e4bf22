package main

import (
	"fmt"
	"io"
	"runtime"
	"runtime/debug"
)

// cmdModule is the module of this command.
const cmdModule = thisModule + "/cmd/pstoremigrate"

var versionCmd = &command{
	Name:      "version",
	UsageLine: "version",
	Short:     "print the version this binary was built from",
	Long: `Version prints what the build info of this binary records: the module
it was built from and its version ("(devel)" when built from a clone),
the versions of the library and analyzer modules it contains, the VCS
revision and time of the checkout it was built in (when the go command
recorded them: a build inside a git work tree, without -buildvcs=false),
and the Go version.

"pstoremigrate -V=full" prints the tool identity that "go vet -vettool"
and "go fix -fixtool" ask for; it does not change.
`,
}

func init() {
	versionCmd.Run = runVersion
	register(versionCmd)
}

func runVersion(inv *invocation, args []string) int {
	fs := newFlagSet(inv, versionCmd)
	if err := fs.Parse(args); err != nil {
		return exitUsage
	}
	if fs.NArg() > 0 {
		fs.Usage()
		return exitUsage
	}
	bi, ok := debug.ReadBuildInfo()
	if !ok {
		fmt.Fprintf(inv.Stderr, "pstoremigrate version: this binary carries no build info (built without module support)\n")
		return exitError
	}
	printVersion(inv.Stdout, bi)
	return exitOK
}

// printVersion writes what bi says of this binary, one fact a line.
func printVersion(w io.Writer, bi *debug.BuildInfo) {
	// Under "go tool" the main module is the user's; this command is one
	// of its dependencies.
	mods := append([]*debug.Module{&bi.Main}, bi.Deps...)
	for _, m := range mods {
		if m.Path == cmdModule {
			fmt.Fprintf(w, "pstoremigrate %s\n", moduleVersion(m))
		}
	}
	for _, m := range mods {
		if m.Path == thisModule || m.Path == thisModule+"/analyzer" {
			fmt.Fprintf(w, "\tcontains %s\n", moduleVersion(m))
		}
	}
	settings := make(map[string]string)
	for _, s := range bi.Settings {
		settings[s.Key] = s.Value
	}
	if rev := settings["vcs.revision"]; rev != "" {
		modified := ""
		if settings["vcs.modified"] == "true" {
			modified = " with uncommitted changes"
		}
		fmt.Fprintf(w, "\tbuilt from %s revision %s (%s)%s\n", settings["vcs"], rev, settings["vcs.time"], modified)
	} else {
		fmt.Fprintf(w, "\tno VCS revision recorded (not built in a checkout, or with -buildvcs=false)\n")
	}
	fmt.Fprintf(w, "\tbuilt with %s for %s/%s\n", bi.GoVersion, runtime.GOOS, runtime.GOARCH)
}

// moduleVersion is "path version", with "=> replacement" when replaced.
func moduleVersion(m *debug.Module) string {
	s := m.Path + " " + m.Version
	if m.Replace != nil {
		s += " => " + m.Replace.Path
		if v := m.Replace.Version; v != "" && v != "(devel)" { // a folder has no version
			s += " " + m.Replace.Version
		}
	}
	return s
}
