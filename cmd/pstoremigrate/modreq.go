package main

import (
	"encoding/json"
	"errors"
	"fmt"
	"runtime/debug"
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

// requireThisModule adds thisModule to go.mod, at the version a replace
// directive names, or this binary's own version, or the latest, and records
// the go.sum entries that the fixed packages pkgs now need. It is the
// targeted form of what "go mod tidy" would do.
func requireThisModule(pkgs []string) (version string, err error) {
	version, err = versionToRequire()
	if err != nil {
		return "", err
	}
	if _, _, err := runGo([]string{"get", thisModule + "@" + version}); err != nil {
		return "", fmt.Errorf("adding %s to go.mod: %w", thisModule, err)
	}
	// -mod=mod lets the go command write the checksums of the modules
	// that the compat packages import.
	args := append([]string{"list", "-mod=mod", "-deps", "-test"}, pkgs...)
	if _, _, err := runGo(args); err != nil {
		return "", fmt.Errorf("recording go.sum entries for %s: %w", thisModule, err)
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
