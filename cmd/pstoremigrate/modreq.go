package main

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"go/parser"
	"go/token"
	"maps"
	"os"
	"os/exec"
	"path/filepath"
	"runtime/debug"
	"slices"
	"strconv"
	"strings"

	"golang.org/x/mod/modfile"
	"golang.org/x/mod/semver"
)

// thisModule is the module whose compat packages the fixes import.
const thisModule = "github.com/pstoremigrate/pstoremigrate"

// zeroPseudoVersion is what the go command itself writes for a module that
// a replace directive provides without a version.
const zeroPseudoVersion = "v0.0.0-00010101000000-000000000000"

// A modRequirement is how fix will make one module require thisModule,
// decided before any file is written.
type modRequirement struct {
	Dir     string // the module's root directory
	Path    string // its module path
	Version string // of thisModule that it will require
	How     string // in words: "a replace directive in go.mod", ...
	// The new content of go.mod and go.sum (nil: unchanged), computed
	// without touching the originals.
	GoMod, GoSum []byte
	// getAfterWrite: the new go.mod is only go.mod with the require line;
	// 'go get' in Dir completes it (and go.sum) once the files are written.
	// Only a workspace needs this: 'go get -modfile' is not allowed there.
	getAfterWrite bool
}

// errCannotRequire says which module cannot require thisModule and what the
// user runs to fix that; fix has written nothing when it returns one.
type errCannotRequire struct {
	Dir, Path string
	Command   string // the command to run in Dir
	Why       string // the go command's explanation, or ours
}

func (e *errCannotRequire) Error() string {
	return fmt.Sprintf("module %s (%s) cannot require %s: %s\nRun this in %s, then run fix again:\n\t%s",
		e.Path, e.Dir, thisModule, e.Why, e.Dir, e.Command)
}

// workspace is what fix needs to know of a go.work file.
type workspace struct {
	File    string            // the go.work file; "" outside a workspace
	uses    map[string]bool   // module paths of its use directives
	replace map[string]string // module path -> version its replace names ("" for none)
}

// loadWorkspace reads the go.work file that the go command uses in the
// current directory, if any.
func loadWorkspace() (*workspace, error) {
	out, _, err := runGo([]string{"env", "GOWORK"})
	if err != nil {
		return nil, err
	}
	ws := &workspace{File: strings.TrimSpace(string(out))}
	if ws.File == "" || ws.File == "off" {
		ws.File = ""
		return ws, nil
	}
	data, err := os.ReadFile(ws.File)
	if err != nil {
		return nil, fmt.Errorf("reading the workspace file: %w", err)
	}
	wf, err := modfile.ParseWork(ws.File, data, nil)
	if err != nil {
		return nil, fmt.Errorf("reading the workspace file: %w", err)
	}
	ws.uses, ws.replace = make(map[string]bool), make(map[string]string)
	for _, u := range wf.Use {
		dir := u.Path
		if !filepath.IsAbs(dir) {
			dir = filepath.Join(filepath.Dir(ws.File), dir)
		}
		if path, err := modulePathOf(dir); err == nil {
			ws.uses[path] = true
		}
	}
	for _, r := range wf.Replace {
		ws.replace[r.Old.Path] = r.Old.Version
	}
	return ws, nil
}

func modulePathOf(dir string) (string, error) {
	data, err := os.ReadFile(filepath.Join(dir, "go.mod"))
	if err != nil {
		return "", err
	}
	if p := modfile.ModulePath(data); p != "" {
		return p, nil
	}
	return "", fmt.Errorf("%s has no module line", filepath.Join(dir, "go.mod"))
}

// moduleRoot returns the directory of the go.mod that governs file.
func moduleRoot(file string) (string, error) {
	for dir := filepath.Dir(file); ; {
		if _, err := os.Stat(filepath.Join(dir, "go.mod")); err == nil {
			return dir, nil
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			return "", fmt.Errorf("%s is in no module (no go.mod above it)", file)
		}
		dir = parent
	}
}

// importsThisModule reports whether Go source src imports a package of
// thisModule.
func importsThisModule(src []byte) bool {
	f, err := parser.ParseFile(token.NewFileSet(), "", src, parser.ImportsOnly)
	if err != nil {
		return false
	}
	for _, spec := range f.Imports {
		if p, _ := strconv.Unquote(spec.Path.Value); strings.HasPrefix(p, thisModule+"/") {
			return true
		}
	}
	return false
}

// planRequirements decides, for every module whose fixed files import
// thisModule, how it will require it, and returns the changes that takes.
// It writes nothing. A module that cannot require it yields an
// *errCannotRequire (all of them, joined).
func planRequirements(ws *workspace, plan *fixPlan) ([]*modRequirement, error) {
	var dirs []string
	for _, name := range plan.changed() {
		if !importsThisModule(plan.files[name]) {
			continue
		}
		dir, err := moduleRoot(name)
		if err != nil {
			return nil, err
		}
		if !slices.Contains(dirs, dir) {
			dirs = append(dirs, dir)
		}
	}
	var reqs []*modRequirement
	var errs []error
	for _, dir := range dirs {
		r, err := planRequirement(ws, dir)
		if err != nil {
			errs = append(errs, err)
		} else if r != nil {
			reqs = append(reqs, r)
		}
	}
	return reqs, errors.Join(errs...)
}

// planRequirement decides how the module in dir will require thisModule:
// nil when it does already (a require line, or a workspace that uses the
// module itself).
func planRequirement(ws *workspace, dir string) (*modRequirement, error) {
	gomodName := filepath.Join(dir, "go.mod")
	data, err := os.ReadFile(gomodName)
	if err != nil {
		return nil, fmt.Errorf("reading go.mod: %w", err)
	}
	mf, err := modfile.Parse(gomodName, data, nil)
	if err != nil {
		return nil, fmt.Errorf("reading go.mod: %w", err)
	}
	if mf.Module == nil {
		return nil, fmt.Errorf("%s has no module line", gomodName)
	}
	path := mf.Module.Mod.Path
	if path == thisModule || slices.ContainsFunc(mf.Require, func(r *modfile.Require) bool { return r.Mod.Path == thisModule }) {
		return nil, nil
	}
	if ws.File != "" && ws.uses[thisModule] {
		return nil, nil // the workspace builds it from its own folder
	}
	r := &modRequirement{Dir: dir, Path: path}
	cannot := func(why string) error {
		return &errCannotRequire{Dir: dir, Path: path, Command: "go get " + thisModule + "@" + r.Version, Why: why}
	}

	replaced := false
	if v, ok := ws.replace[thisModule]; ok && ws.File != "" {
		r.Version, r.How, replaced = v, "a replace directive in "+ws.File, true
	} else if i := slices.IndexFunc(mf.Replace, func(rep *modfile.Replace) bool { return rep.Old.Path == thisModule }); i >= 0 {
		r.Version, r.How, replaced = mf.Replace[i].Old.Version, "a replace directive in go.mod", true
	}
	if replaced && r.Version == "" {
		r.Version = zeroPseudoVersion
	}
	if !replaced {
		r.Version, r.How = binaryVersion(), "the module proxy"
	}

	if ws.File == "" {
		if _, err := os.Stat(filepath.Join(dir, "vendor", "modules.txt")); err == nil {
			return nil, &errCannotRequire{Dir: dir, Path: path,
				Command: "go get " + thisModule + "@" + r.Version + " && go mod vendor",
				Why:     "the module vendors its dependencies (vendor/modules.txt) and vendor/ lacks it"}
		}
		// 'go get -modfile' computes the new go.mod and go.sum exactly as
		// 'go get' would, on copies.
		tmp, err := os.MkdirTemp("", "pstoremigrate-gomod-")
		if err != nil {
			return nil, err
		}
		defer os.RemoveAll(tmp)
		if err := os.WriteFile(filepath.Join(tmp, "go.mod"), data, 0o600); err != nil {
			return nil, err
		}
		sum, err := os.ReadFile(filepath.Join(dir, "go.sum"))
		if err != nil && !errors.Is(err, os.ErrNotExist) {
			return nil, err
		}
		if err := os.WriteFile(filepath.Join(tmp, "go.sum"), sum, 0o600); err != nil {
			return nil, err
		}
		if _, _, err := runGoIn(dir, []string{"get", "-modfile=" + filepath.Join(tmp, "go.mod"), thisModule + "@" + r.Version}); err != nil {
			return nil, cannot(err.Error())
		}
		if r.GoMod, err = os.ReadFile(filepath.Join(tmp, "go.mod")); err != nil {
			return nil, err
		}
		// Nothing imports it yet, so 'go get' marked it indirect; the
		// fixed code will import it directly.
		if r.GoMod, err = requireDirectly(r.GoMod); err != nil {
			return nil, err
		}
		if r.GoSum, err = os.ReadFile(filepath.Join(tmp, "go.sum")); err != nil {
			return nil, err
		}
		if r.Version == "latest" {
			r.Version = requiredVersion(r.GoMod)
		}
		return r, nil
	}

	// In a workspace: a replace needs no download; otherwise the version
	// must resolve now, or nothing is written.
	if !replaced {
		out, _, err := runGoIn(dir, []string{"list", "-m", "-f", "{{.Version}}", thisModule + "@" + r.Version})
		if err != nil {
			return nil, cannot(err.Error())
		}
		r.Version = strings.TrimSpace(string(out))
		r.getAfterWrite = true
	}
	if r.GoMod, _, err = runGoIn(dir, []string{"mod", "edit", "-require=" + thisModule + "@" + r.Version, "-print"}); err != nil {
		return nil, fmt.Errorf("adding the requirement to %s: %w", gomodName, err)
	}
	return r, nil
}

// binaryVersion is the version of thisModule this binary was built from,
// when it is a release; else "latest".
func binaryVersion() string {
	if bi, ok := debug.ReadBuildInfo(); ok {
		for _, m := range append([]*debug.Module{&bi.Main}, bi.Deps...) {
			if m.Path == thisModule && semver.IsValid(m.Version) && m.Replace == nil {
				return m.Version
			}
		}
	}
	return "latest"
}

// requireDirectly drops the "// indirect" of thisModule's requirement and
// puts it with the direct ones, as 'go mod tidy' would.
func requireDirectly(gomod []byte) ([]byte, error) {
	mf, err := modfile.Parse("go.mod", gomod, nil)
	if err != nil {
		return nil, err
	}
	reqs := make([]*modfile.Require, 0, len(mf.Require))
	for _, r := range mf.Require {
		req := &modfile.Require{Mod: r.Mod, Indirect: r.Indirect && r.Mod.Path != thisModule}
		reqs = append(reqs, req)
	}
	mf.SetRequireSeparateIndirect(reqs)
	mf.Cleanup()
	return modfile.Format(mf.Syntax), nil
}

func requiredVersion(gomod []byte) string {
	mf, err := modfile.Parse("go.mod", gomod, nil)
	if err == nil {
		for _, r := range mf.Require {
			if r.Mod.Path == thisModule {
				return r.Mod.Version
			}
		}
	}
	return "latest"
}

// runGoIn is runGo in dir.
func runGoIn(dir string, args []string) (stdout, stderr []byte, err error) {
	return runGoCtx(context.Background(), dir, args)
}

// runGoCtx is runGoIn, killing the go command when ctx is done.
func runGoCtx(ctx context.Context, dir string, args []string) (stdout, stderr []byte, err error) {
	var outBuf, errBuf bytes.Buffer
	cmd := exec.CommandContext(ctx, "go", args...)
	cmd.Dir = dir
	if len(args) > 0 && args[0] == "vet" {
		cmd.Env = append(os.Environ(), keepFixesEnv+"=1")
	}
	cmd.Stdout = &outBuf
	cmd.Stderr = &errBuf
	err = cmd.Run()
	if ctx.Err() != nil {
		return nil, nil, fmt.Errorf("go %s: %w", args[0], ctx.Err())
	}
	if exitErr, ok := errors.AsType[*exec.ExitError](err); ok {
		detail := strings.TrimSpace(errBuf.String())
		if detail == "" {
			detail = fmt.Sprintf("go %s: %v", args[0], exitErr)
		}
		return outBuf.Bytes(), errBuf.Bytes(), &errLoad{detail: detail}
	}
	if err != nil {
		return nil, nil, fmt.Errorf("running the go command: %w", err)
	}
	return outBuf.Bytes(), errBuf.Bytes(), nil
}

// A backup holds the content of every file fix is about to change, so that
// a failure after the first write can put them all back.
type backup struct {
	orig map[string][]byte // nil content: the file did not exist
	mode map[string]os.FileMode
}

func newBackup() *backup {
	return &backup{orig: make(map[string][]byte), mode: make(map[string]os.FileMode)}
}

// save records name's current content unless it is recorded already.
func (b *backup) save(name string) error {
	if _, ok := b.orig[name]; ok {
		return nil
	}
	data, err := os.ReadFile(name)
	switch {
	case errors.Is(err, os.ErrNotExist):
		b.orig[name] = nil
		return nil
	case err != nil:
		return err
	}
	info, err := os.Stat(name)
	if err != nil {
		return err
	}
	b.orig[name], b.mode[name] = data, info.Mode().Perm()
	return nil
}

// write saves name's content, then replaces it with data.
func (b *backup) write(name string, data []byte) error {
	if err := b.save(name); err != nil {
		return fmt.Errorf("reading %s before changing it: %w", name, err)
	}
	mode, ok := b.mode[name]
	if !ok {
		mode = 0o644
	}
	if err := os.WriteFile(name, data, mode); err != nil {
		return fmt.Errorf("writing %s: %w", name, err)
	}
	return nil
}

// restore puts back every saved file whose content changed and returns the
// names it restored; files that did not exist are removed.
func (b *backup) restore() (restored []string, err error) {
	var errs []error
	for _, name := range slices.Sorted(maps.Keys(b.orig)) {
		want := b.orig[name]
		now, rerr := os.ReadFile(name)
		if want == nil {
			if rerr == nil {
				if err := os.Remove(name); err != nil {
					errs = append(errs, err)
					continue
				}
				restored = append(restored, name)
			}
			continue
		}
		if rerr == nil && bytes.Equal(now, want) {
			continue
		}
		if err := os.WriteFile(name, want, b.mode[name]); err != nil {
			errs = append(errs, fmt.Errorf("restoring %s: %w", name, err))
			continue
		}
		restored = append(restored, name)
	}
	return restored, errors.Join(errs...)
}

// describe is the line fix prints for a requirement it adds.
func (r *modRequirement) describe(cwd string) string {
	return fmt.Sprintf("%s now requires %s %s (via %s)", shortPath(cwd, filepath.Join(r.Dir, "go.mod")), thisModule, r.Version, r.How)
}
