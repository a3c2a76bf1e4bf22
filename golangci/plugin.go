// Package golangci is the pstoremigrate analyzer as a golangci-lint v2
// module plugin (https://golangci-lint.run/plugins/module-plugins/).
//
// Build a golangci-lint that contains it with "golangci-lint custom" and a
// .custom-gcl.yml that names this module, then enable the linter
// "pstoremigrate" (type: module) in .golangci.yml; MIGRATION.md shows both
// files. golangci-lint --fix applies its fixes, like "go fix": it cannot
// add the requirement on github.com/pstoremigrate/pstoremigrate that the
// fixed code needs, so run 'go get github.com/pstoremigrate/pstoremigrate/compat/...'
// (or 'pstoremigrate fix') first.
package golangci

import (
	"golang.org/x/tools/go/analysis"

	"github.com/golangci/plugin-module-register/register"

	"github.com/pstoremigrate/pstoremigrate/analyzer"
)

// Name is the linter's name in .golangci.yml.
const Name = "pstoremigrate"

func init() {
	register.Plugin(Name, New)
}

// New returns the plugin. It takes no settings: the analyzer has none.
func New(settings any) (register.LinterPlugin, error) {
	if _, err := register.DecodeSettings[struct{}](settings); err != nil && settings != nil {
		return nil, err
	}
	return plugin{}, nil
}

type plugin struct{}

func (plugin) BuildAnalyzers() ([]*analysis.Analyzer, error) {
	return []*analysis.Analyzer{analyzer.Analyzer}, nil
}

// GetLoadMode asks for type information: the analyzer follows values of
// core/peerstore types.
func (plugin) GetLoadMode() string { return register.LoadModeTypesInfo }
