package main

import (
	"encoding/json"
	"errors"
	"fmt"
	"go/parser"
	"go/token"
	"runtime/debug"
	"slices"
	"strconv"
	"strings"

	"golang.org/x/mod/semver"
)

// thisModule is the module whose compat packages the fixes import.
const thisModule = "github.com/pstoremigrate/pstoremigrate"

// zeroPseudoVersion is what the go command itself writes for a module that
// a replace directive provides without a version.
const zeroPseudoVersion = "v0.0.0-00010101000000-000000000000"

// needsThisModule reports whether a load failed only because go.mod does not
// require thisModule yet, which is what the first fixes of a project cause.
func needsThisModule(err error) bool {
	le, ok := errors.AsType[*errLoad](err)
	if !ok || !strings.Contains(le.detail, thisModule+"/") {
		return false
	}
	return strings.Contains(le.detail, "no required module provides package") ||
		strings.Contains(le.detail, "is replaced but not required")
}

// requireThisModule runs "go get" for the compat packages that files import,
// at the version a replace directive names, or this binary's own version,
// or the latest. "go get" of the packages (not just the module) also records
// the go.sum entries of their dependencies, so the fixed code builds.
func requireThisModule(files []string) (version string, err error) {
	var pkgs []string
	for _, name := range files {
		f, err := parser.ParseFile(token.NewFileSet(), name, nil, parser.ImportsOnly)
		if err != nil {
			return "", fmt.Errorf("reading the imports of a fixed file: %w", err)
		}
		for _, imp := range f.Imports {
			p, err := strconv.Unquote(imp.Path.Value)
			if err == nil && strings.HasPrefix(p, thisModule+"/") && !slices.Contains(pkgs, p) {
				pkgs = append(pkgs, p)
			}
		}
	}
	if len(pkgs) == 0 {
		return "", fmt.Errorf("go.mod does not require %s, but no fixed file imports it", thisModule)
	}
	version, err = versionToRequire()
	if err != nil {
		return "", err
	}
	args := []string{"get"}
	for _, p := range pkgs {
		args = append(args, p+"@"+version)
	}
	if _, _, err := runGo(args); err != nil {
		return "", fmt.Errorf("adding %s to go.mod: %w", thisModule, err)
	}
	return version, nil
}

func versionToRequire() (string, error) {
	out, _, err := runGo([]string{"mod", "edit", "-json"})
	if err != nil {
		return "", fmt.Errorf("reading go.mod: %w", err)
	}
	var mod struct {
		Replace []struct {
			Old struct{ Path, Version string }
		}
	}
	if err := json.Unmarshal(out, &mod); err != nil {
		return "", fmt.Errorf("reading go.mod: %w", err)
	}
	for _, r := range mod.Replace {
		if r.Old.Path == thisModule {
			if r.Old.Version != "" {
				return r.Old.Version, nil
			}
			return zeroPseudoVersion, nil
		}
	}
	if bi, ok := debug.ReadBuildInfo(); ok && bi.Main.Path == thisModule && semver.IsValid(bi.Main.Version) {
		return bi.Main.Version, nil
	}
	return "latest", nil
}
