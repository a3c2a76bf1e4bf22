// Package apicheck compares the exported API of a drop-in package with the
// upstream package it replaces, so that a go-libp2p release that adds to
// pstoremem's or pstoreds' API fails our tests instead of our users' builds.
//
// A drop-in is used by swapping an import path and nothing else, so for each
// exported name of the upstream package the drop-in must offer one that the
// same source compiles against:
//   - a func accepts every argument upstream's accepts (each upstream
//     parameter type is assignable to ours, variadic where upstream's is)
//     and returns as many results, each usable as upstream's: assignable to
//     it, or, where upstream returns one of its unexported types, offering
//     every exported field and method that type offers;
//   - a type is of the same kind (struct, func, interface, ...); a struct
//     has every exported field, each assignable from upstream's field type;
//     every exported method of upstream's type exists on ours, again
//     accepting upstream's arguments;
//   - a var or const is assignable to upstream's type.
//
// One thing is left out on purpose: the methods and fields that upstream's
// stores promote from an embedded sync.Mutex or sync.RWMutex (pstoremem's
// key book and peerstore embed one). They lock upstream's internals, were
// never part of the peerstore contract, and a mutex of ours that locked
// nothing would compile and lie.
//
// Types named in the upstream package are read as the drop-in's type of the
// same name (that is what the import swap does to user code); unexported
// upstream types, which user code cannot name, are compared by structure.
//
// Packages are loaded from the export data that `go list -export` builds, so
// the check uses the module's own build list (the go-libp2p version under
// test, including through GOFLAGS such as -modfile) and needs nothing beyond
// the standard library.
package apicheck

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"go/importer"
	"go/token"
	"go/types"
	"io"
	"os"
	"os/exec"
	"sort"
	"strings"
)

// Load type-checks the packages with the given import paths, as the module
// in dir builds them, from their export data. The go command inherits the
// environment, so GOFLAGS (a -modfile for another go-libp2p version, say)
// select the same versions the test binary was built with.
func Load(dir string, paths ...string) (map[string]*types.Package, error) {
	args := append([]string{"list", "-export", "-deps", "-json=ImportPath,Export,Error"}, paths...)
	cmd := exec.Command("go", args...)
	cmd.Dir = dir
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		return nil, fmt.Errorf("go list -export %s: %w\n%s", strings.Join(paths, " "), err, stderr.Bytes())
	}
	exports := make(map[string]string)
	dec := json.NewDecoder(bytes.NewReader(out))
	for {
		var p struct {
			ImportPath string
			Export     string
			Error      *struct{ Err string }
		}
		if err := dec.Decode(&p); errors.Is(err, io.EOF) {
			break
		} else if err != nil {
			return nil, fmt.Errorf("decoding go list output: %w", err)
		}
		if p.Error != nil {
			return nil, fmt.Errorf("go list: %s: %s", p.ImportPath, p.Error.Err)
		}
		if p.Export != "" {
			exports[p.ImportPath] = p.Export
		}
	}
	fset := token.NewFileSet()
	imp := importer.ForCompiler(fset, "gc", func(path string) (io.ReadCloser, error) {
		file, ok := exports[path]
		if !ok {
			return nil, fmt.Errorf("no export data for %q", path)
		}
		return os.Open(file)
	})
	pkgs := make(map[string]*types.Package, len(paths))
	for _, path := range paths {
		pkg, err := imp.Import(path)
		if err != nil {
			return nil, fmt.Errorf("importing %s: %w", path, err)
		}
		pkgs[path] = pkg
	}
	return pkgs, nil
}

// ModuleVersion returns the version of module path that `go list -m`
// resolves in dir, as Load would load it.
func ModuleVersion(dir, path string) (string, error) {
	cmd := exec.Command("go", "list", "-m", "-f", "{{.Version}}", path)
	cmd.Dir = dir
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		return "", fmt.Errorf("go list -m %s: %w\n%s", path, err, stderr.Bytes())
	}
	return strings.TrimSpace(string(out)), nil
}

// Compare returns, sorted, every way in which code written against upstream
// would stop compiling if its import of upstream were swapped for ours. None
// means ours is a drop-in for upstream.
func Compare(upstream, ours *types.Package) []string {
	c := &comparer{upstream: upstream, ours: ours}
	for _, name := range upstream.Scope().Names() {
		if !token.IsExported(name) {
			continue
		}
		up := upstream.Scope().Lookup(name)
		our := ours.Scope().Lookup(name)
		if our == nil {
			c.errorf("%s: missing", name)
			continue
		}
		c.object(name, up, our)
	}
	sort.Strings(c.problems)
	return c.problems
}

type comparer struct {
	upstream, ours *types.Package
	problems       []string
}

func (c *comparer) errorf(format string, args ...any) {
	c.problems = append(c.problems, fmt.Sprintf(format, args...))
}

func (c *comparer) object(name string, up, our types.Object) {
	switch up := up.(type) {
	case *types.Func:
		ourFn, ok := our.(*types.Func)
		if !ok {
			c.errorf("%s: upstream's is a func, ours a %s", name, objectKind(our))
			return
		}
		c.signature(name, up.Type().(*types.Signature), ourFn.Type().(*types.Signature))
	case *types.TypeName:
		ourTN, ok := our.(*types.TypeName)
		if !ok {
			c.errorf("%s: upstream's is a type, ours a %s", name, objectKind(our))
			return
		}
		c.typeName(name, up, ourTN)
	case *types.Var, *types.Const:
		if objectKind(up) != objectKind(our) {
			c.errorf("%s: upstream's is a %s, ours a %s", name, objectKind(up), objectKind(our))
			return
		}
		if want := c.translate(up.Type()); !types.AssignableTo(our.Type(), want) {
			c.errorf("%s: ours is a %s, not assignable to upstream's %s", name, our.Type(), up.Type())
		}
	}
}

func objectKind(o types.Object) string {
	switch o.(type) {
	case *types.Func:
		return "func"
	case *types.TypeName:
		return "type"
	case *types.Var:
		return "var"
	case *types.Const:
		return "const"
	}
	return fmt.Sprintf("%T", o)
}

// signature checks that every call of up compiles against our.
func (c *comparer) signature(name string, up, our *types.Signature) {
	if up.Params().Len() != our.Params().Len() || up.Variadic() != our.Variadic() {
		c.errorf("%s: upstream's is %s, ours %s", name, up, our)
		return
	}
	for i := range up.Params().Len() {
		want := c.translate(up.Params().At(i).Type())
		got := our.Params().At(i).Type()
		if !types.AssignableTo(want, got) {
			c.errorf("%s: argument %d: upstream's accepts %s, ours only %s", name, i+1, up.Params().At(i).Type(), got)
		}
	}
	if up.Results().Len() != our.Results().Len() {
		c.errorf("%s: upstream's is %s, ours %s", name, up, our)
		return
	}
	for i := range up.Results().Len() {
		c.result(fmt.Sprintf("%s: result %d", name, i+1), up.Results().At(i).Type(), our.Results().At(i).Type())
	}
}

// result checks that what our func returns can be used wherever upstream's
// result can. An upstream result of an unexported type can only be used
// through its fields and methods (or passed on as an interface it
// implements), so ours must have them all.
func (c *comparer) result(where string, up, our types.Type) {
	if c.isUnexportedUpstream(up) {
		c.members(where, up, our)
		return
	}
	if !types.AssignableTo(our, c.translate(up)) {
		c.errorf("%s: ours is a %s, not assignable to upstream's %s", where, our, up)
		return
	}
	// Assignable to an exported named type of the package means it is that
	// type, whose members are checked with the type itself.
}

// isUnexportedUpstream reports whether t is (a pointer to) an unexported
// named type of the upstream package.
func (c *comparer) isUnexportedUpstream(t types.Type) bool {
	if p, ok := t.(*types.Pointer); ok {
		t = p.Elem()
	}
	n, ok := t.(*types.Named)
	return ok && n.Obj().Pkg() == c.upstream && !n.Obj().Exported()
}

func (c *comparer) typeName(name string, up, our *types.TypeName) {
	upU, ourU := up.Type().Underlying(), our.Type().Underlying()
	if kind(upU) != kind(ourU) {
		c.errorf("%s: upstream's is a %s type, ours a %s type", name, kind(upU), kind(ourU))
		return
	}
	if upI, ok := upU.(*types.Interface); ok {
		// A value of any type that satisfies upstream's interface must
		// satisfy ours, and ours must offer upstream's methods.
		if !types.AssignableTo(c.translate(upI), ourU) {
			c.errorf("%s: a type implementing upstream's interface does not implement ours", name)
		}
		if !types.AssignableTo(ourU, c.translate(upI)) {
			c.errorf("%s: our interface lacks some of upstream's methods", name)
		}
		return
	}
	c.members(name, types.NewPointer(up.Type()), types.NewPointer(our.Type()))
}

// members checks that every exported field and method reachable from up is
// reachable from our under the same name, as usable.
func (c *comparer) members(where string, up, our types.Type) {
	for _, f := range exportedFields(up) {
		obj, _, _ := types.LookupFieldOrMethod(our, true, c.ours, f.Name())
		field, ok := obj.(*types.Var)
		if !ok {
			c.errorf("%s: field %s: missing", where, f.Name())
			continue
		}
		// Code may read the field (ours assignable to upstream's type)
		// or set it (upstream's assignable to ours).
		want := c.translate(f.Type())
		if !types.AssignableTo(want, field.Type()) && !types.AssignableTo(field.Type(), want) {
			c.errorf("%s: field %s: ours is a %s, upstream's a %s", where, f.Name(), field.Type(), f.Type())
		}
	}
	mset := types.NewMethodSet(up)
	for i := range mset.Len() {
		m := mset.At(i).Obj().(*types.Func)
		if !m.Exported() || viaSyncLock(up, mset.At(i).Index()) {
			continue
		}
		obj, _, _ := types.LookupFieldOrMethod(our, true, c.ours, m.Name())
		ourM, ok := obj.(*types.Func)
		if !ok {
			c.errorf("%s: method %s: missing", where, m.Name())
			continue
		}
		c.signature(fmt.Sprintf("%s: method %s", where, m.Name()),
			m.Type().(*types.Signature), ourM.Type().(*types.Signature))
	}
}

// exportedFields returns the exported fields of t's struct, promoted ones
// included (the shallowest of each name, as selectors resolve them).
func exportedFields(t types.Type) []*types.Var {
	if p, ok := t.(*types.Pointer); ok {
		t = p.Elem()
	}
	var out []*types.Var
	seen := make(map[string]bool)
	level := []types.Type{t}
	visited := make(map[types.Type]bool)
	for len(level) > 0 {
		var next []types.Type
		for _, t := range level {
			if visited[t] {
				continue
			}
			visited[t] = true
			s, ok := t.Underlying().(*types.Struct)
			if !ok {
				continue
			}
			for i := range s.NumFields() {
				f := s.Field(i)
				if f.Exported() && !seen[f.Name()] && !isSyncLock(f.Type()) {
					seen[f.Name()] = true
					out = append(out, f)
				}
				if f.Embedded() && !isSyncLock(f.Type()) {
					ft := f.Type()
					if p, ok := ft.(*types.Pointer); ok {
						ft = p.Elem()
					}
					next = append(next, ft)
				}
			}
		}
		level = next
	}
	return out
}

// viaSyncLock reports whether the selection path index, from t, goes
// through an embedded sync.Mutex or sync.RWMutex.
func viaSyncLock(t types.Type, index []int) bool {
	for _, i := range index[:len(index)-1] {
		if p, ok := t.(*types.Pointer); ok {
			t = p.Elem()
		}
		s, ok := t.Underlying().(*types.Struct)
		if !ok {
			return false
		}
		t = s.Field(i).Type()
		if isSyncLock(t) {
			return true
		}
	}
	return false
}

func isSyncLock(t types.Type) bool {
	if p, ok := t.(*types.Pointer); ok {
		t = p.Elem()
	}
	n, ok := t.(*types.Named)
	if !ok || n.Obj().Pkg() == nil || n.Obj().Pkg().Path() != "sync" {
		return false
	}
	return n.Obj().Name() == "Mutex" || n.Obj().Name() == "RWMutex"
}

func kind(t types.Type) string {
	switch t.(type) {
	case *types.Basic:
		return "basic"
	case *types.Pointer:
		return "pointer"
	case *types.Array:
		return "array"
	case *types.Slice:
		return "slice"
	case *types.Map:
		return "map"
	case *types.Chan:
		return "chan"
	case *types.Struct:
		return "struct"
	case *types.Interface:
		return "interface"
	case *types.Signature:
		return "func"
	}
	return fmt.Sprintf("%T", t)
}

// translate rewrites t as user code sees it after the import swap: the
// upstream package's exported types become ours of the same name, its
// unexported ones their structure.
func (c *comparer) translate(t types.Type) types.Type {
	return c.translateDepth(t, 0)
}

// maxDepth stops translating self-referential unexported types; no type of
// the packages compared comes near it.
const maxDepth = 16

func (c *comparer) translateDepth(t types.Type, depth int) types.Type {
	if depth > maxDepth {
		return t
	}
	tr := func(t types.Type) types.Type { return c.translateDepth(t, depth+1) }
	switch t := t.(type) {
	case *types.Named:
		if t.Obj().Pkg() != c.upstream {
			return t
		}
		if t.Obj().Exported() {
			if ours, ok := c.ours.Scope().Lookup(t.Obj().Name()).(*types.TypeName); ok {
				return ours.Type()
			}
			return t // reported as missing by name
		}
		return tr(t.Underlying())
	case *types.Alias:
		return tr(types.Unalias(t))
	case *types.Pointer:
		return types.NewPointer(tr(t.Elem()))
	case *types.Slice:
		return types.NewSlice(tr(t.Elem()))
	case *types.Array:
		return types.NewArray(tr(t.Elem()), t.Len())
	case *types.Map:
		return types.NewMap(tr(t.Key()), tr(t.Elem()))
	case *types.Chan:
		return types.NewChan(t.Dir(), tr(t.Elem()))
	case *types.Signature:
		return types.NewSignatureType(nil, nil, nil, c.tuple(t.Params(), depth), c.tuple(t.Results(), depth), t.Variadic())
	case *types.Struct:
		fields := make([]*types.Var, t.NumFields())
		tags := make([]string, t.NumFields())
		for i := range t.NumFields() {
			f := t.Field(i)
			fields[i] = types.NewField(f.Pos(), f.Pkg(), f.Name(), tr(f.Type()), f.Embedded())
			tags[i] = t.Tag(i)
		}
		return types.NewStruct(fields, tags)
	case *types.Interface:
		methods := make([]*types.Func, t.NumExplicitMethods())
		for i := range t.NumExplicitMethods() {
			m := t.ExplicitMethod(i)
			methods[i] = types.NewFunc(m.Pos(), m.Pkg(), m.Name(), tr(m.Type()).(*types.Signature))
		}
		embeddeds := make([]types.Type, t.NumEmbeddeds())
		for i := range t.NumEmbeddeds() {
			embeddeds[i] = tr(t.EmbeddedType(i))
		}
		return types.NewInterfaceType(methods, embeddeds).Complete()
	}
	return t
}

func (c *comparer) tuple(t *types.Tuple, depth int) *types.Tuple {
	vars := make([]*types.Var, t.Len())
	for i := range t.Len() {
		v := t.At(i)
		vars[i] = types.NewParam(v.Pos(), v.Pkg(), v.Name(), c.translateDepth(v.Type(), depth+1))
	}
	return types.NewTuple(vars...)
}
