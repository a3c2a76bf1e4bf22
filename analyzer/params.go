package analyzer

import (
	"fmt"
	"go/ast"
	"go/types"
	"path/filepath"

	"golang.org/x/tools/go/ast/edge"
	"golang.org/x/tools/go/ast/inspector"
)

// A param is a parameter of a function or method declared in this package.
type param struct {
	fn    *types.Func
	index int
	// traceable: the function is unexported, not generic, and its every
	// use in the package is a direct call, so the calls below are all the
	// values the parameter can take.
	traceable bool
}

// calls records the direct calls of one function of the package.
type calls struct {
	sites   []*ast.CallExpr
	escapes bool // used other than by a direct call with one argument per parameter
}

// params is what one walk of the package learns about the parameters of
// its declared functions and the calls of those functions.
type params struct {
	vars  map[*types.Var]*param
	calls map[*types.Func]*calls
	// memo holds each traced parameter's classification; a parameter being
	// traced is unknownSource, which ends recursion conservatively.
	memo map[*types.Var]traced
}

type traced struct {
	kind     sourceKind
	rewrites []*hostRewrite
}

// paramSource classifies a parameter by the arguments of every call of its
// function in the package: compat when they all trace to compat's New,
// hostParam (with the rewrites at the call sites) when they all trace to
// that or X.Peerstore() of a host, unknown otherwise, and always unknown
// for a function that code outside the package may call (exported, a
// method an interface may dispatch to) or that is used as a value.
func (c *checker) paramSource(v *types.Var, hops int) (sourceKind, []*hostRewrite) {
	ps := c.paramsOf()
	p := ps.vars[v]
	if p == nil || !p.traceable || hops <= 0 {
		return unknownSource, nil
	}
	if w := c.localWrites().vars[v]; w != nil && w.other > 0 {
		return unknownSource, nil // assigned in the body: not only the argument
	}
	if t, ok := ps.memo[v]; ok {
		return t.kind, t.rewrites
	}
	ps.memo[v] = traced{kind: unknownSource}
	cs := ps.calls[p.fn]
	if cs == nil || cs.escapes || len(cs.sites) == 0 {
		return unknownSource, nil
	}
	kind := compatSource
	var rewrites []*hostRewrite
	for _, call := range cs.sites {
		switch k, rws := c.traceSource(call.Args[p.index], hops); k {
		case compatSource:
		case hostSource, hostField, hostParam:
			kind = hostParam
			rewrites = append(rewrites, rws...)
		default:
			return unknownSource, nil
		}
	}
	ps.memo[v] = traced{kind, rewrites}
	return kind, rewrites
}

// paramsOf walks the package once, on first use, and records the
// parameters of every declared function and how each function is used.
func (c *checker) paramsOf() *params {
	if c.params != nil {
		return c.params
	}
	info := c.pass.TypesInfo
	ps := &params{
		vars:  make(map[*types.Var]*param),
		calls: make(map[*types.Func]*calls),
		memo:  make(map[*types.Var]traced),
	}
	c.params = ps

	// Unexported method names an interface of this package declares: a
	// call through the interface reaches the method unseen.
	dispatched := make(map[string]bool)
	for _, obj := range info.Defs {
		if fn, ok := obj.(*types.Func); ok {
			if recv := fn.Type().(*types.Signature).Recv(); recv != nil && types.IsInterface(recv.Type()) {
				dispatched[fn.Name()] = true
			}
		}
	}

	for cur := range c.insp.Root().Preorder((*ast.FuncDecl)(nil)) {
		decl := cur.Node().(*ast.FuncDecl)
		fn, ok := info.Defs[decl.Name].(*types.Func)
		if !ok {
			continue
		}
		sig := fn.Type().(*types.Signature)
		traceable := !fn.Exported() && sig.TypeParams().Len() == 0 && sig.RecvTypeParams().Len() == 0 &&
			!(sig.Recv() != nil && dispatched[fn.Name()])
		ps.calls[fn] = &calls{}
		for i := range sig.Params().Len() {
			ps.vars[sig.Params().At(i)] = &param{
				fn:        fn,
				index:     i,
				traceable: traceable && !(sig.Variadic() && i == sig.Params().Len()-1),
			}
		}
	}

	for cur := range c.insp.Root().Preorder((*ast.Ident)(nil)) {
		id := cur.Node().(*ast.Ident)
		fn, ok := info.Uses[id].(*types.Func)
		if !ok {
			continue
		}
		cs := ps.calls[fn]
		if cs == nil {
			continue
		}
		if call := directCall(info, cur); call != nil && len(call.Args) == fn.Type().(*types.Signature).Params().Len() && !call.Ellipsis.IsValid() {
			cs.sites = append(cs.sites, call)
		} else {
			cs.escapes = true
		}
	}
	return ps
}

// directCall returns the call whose callee the identifier at cur names, as
// f(...) or x.m(...): not a method expression, not a value.
func directCall(info *types.Info, cur inspector.Cursor) *ast.CallExpr {
	if cur.ParentEdgeKind() == edge.SelectorExpr_Sel {
		cur = cur.Parent()
		if s := info.Selections[cur.Node().(*ast.SelectorExpr)]; s != nil && s.Kind() != types.MethodVal {
			return nil
		}
	}
	for cur.ParentEdgeKind() == edge.ParenExpr_X {
		cur = cur.Parent()
	}
	if cur.ParentEdgeKind() != edge.CallExpr_Fun {
		return nil
	}
	return cur.Parent().Node().(*ast.CallExpr)
}

// paramFunc names the function whose parameter e traces to, for messages.
func (c *checker) paramFunc(e ast.Expr) string {
	if v := c.paramVar(c.traceRoot(e)); v != nil {
		return c.paramsOf().vars[v].fn.Name()
	}
	return "the function"
}

// paramVar returns the parameter e names, if it is one of a function
// declared in the package.
func (c *checker) paramVar(e ast.Expr) *types.Var {
	id, ok := e.(*ast.Ident)
	if !ok {
		return nil
	}
	v, ok := c.pass.TypesInfo.Uses[id].(*types.Var)
	if !ok || c.paramsOf().vars[v] == nil {
		return nil
	}
	return v
}

// traceRoot follows e through parentheses and locals assigned once to the
// expression the value comes from.
func (c *checker) traceRoot(e ast.Expr) ast.Expr {
	for range maxTrace {
		e = ast.Unparen(e)
		id, ok := e.(*ast.Ident)
		if !ok {
			return e
		}
		v, ok := c.pass.TypesInfo.Uses[id].(*types.Var)
		if !ok {
			return e
		}
		init := c.singleInit(v)
		if init == nil {
			return e
		}
		e = init
	}
	return e
}

// untraced says why a receiver is not traced to a host's store: which value
// it is, where it comes from, and the ways out.
func (c *checker) untraced(e ast.Expr) string {
	return "the receiver is " + c.describe(e, maxTrace)
}

// describe names the value e, where it comes from, and the ways out.
func (c *checker) describe(e ast.Expr, hops int) string {
	const out = "create the value with peerstore.New(h) of compat/peerstore, or move to the native replacement"
	root := c.traceRoot(e)
	if v := c.paramVar(root); v != nil {
		p := c.paramsOf().vars[v]
		fn := p.fn.Name()
		if recv := p.fn.Type().(*types.Signature).Recv(); recv != nil {
			fn = types.TypeString(recv.Type(), c.qualifier) + "." + fn
		}
		switch {
		case p.fn.Exported():
			return fmt.Sprintf("parameter %s of exported %s, whose callers in other packages choose its value: pass peerstore.New(h) of compat/peerstore where %s is called, or move to the native replacement", v.Name(), fn, p.fn.Name())
		case !p.traceable:
			return fmt.Sprintf("parameter %s of %s, which may be called from where the analyzer cannot see (through an interface, as a generic or variadic function): pass peerstore.New(h) of compat/peerstore where it is called, or move to the native replacement", v.Name(), fn)
		}
		cs := c.paramsOf().calls[p.fn]
		switch {
		case cs.escapes:
			return fmt.Sprintf("parameter %s of %s, which is used as a value, not only called, so not every call is seen: pass peerstore.New(h) of compat/peerstore where it is called, or move to the native replacement", v.Name(), fn)
		case c.localWrites().vars[v] != nil && c.localWrites().vars[v].other > 0:
			return fmt.Sprintf("parameter %s of %s, which is assigned in its body: %s", v.Name(), fn, out)
		case len(cs.sites) == 0:
			return fmt.Sprintf("parameter %s of %s, which is never called in the package: %s", v.Name(), fn, out)
		}
		for _, call := range cs.sites {
			arg := call.Args[p.index]
			if k, _ := c.traceSource(arg, maxTrace); k == unknownSource && hops > 0 {
				at := c.pass.Fset.Position(call.Pos())
				return fmt.Sprintf("parameter %s of %s, and the call on line %d of %s passes %s", v.Name(), fn,
					at.Line, filepath.Base(at.Filename), c.describe(arg, hops-1))
			}
		}
		return fmt.Sprintf("parameter %s of %s, and not every call of %s in the package passes h.Peerstore() of a host.Host or peerstore.New(h): %s", v.Name(), fn, p.fn.Name(), out)
	}
	if sel, ok := root.(*ast.SelectorExpr); ok {
		if s := c.pass.TypesInfo.Selections[sel]; s != nil && s.Kind() == types.FieldVal {
			field := s.Obj().(*types.Var)
			owner := s.Recv()
			if ptr, ok := owner.(*types.Pointer); ok {
				owner = ptr.Elem()
			}
			at := c.pass.Fset.Position(field.Pos())
			what := fmt.Sprintf("%s, field %s of %s (declared at %s:%d)", types.ExprString(root), field.Name(),
				types.TypeString(owner, c.qualifier), filepath.Base(at.Filename), at.Line)
			if field.Exported() || field.Pkg() != c.pass.Pkg {
				return what + ", which code outside this package can fill (another package, or dependency injection such as uber-go/fx), so no trace reaches where the store is made: construct that store with compat/pstoremem or compat/pstoreds where it is provided (the legacy calls then keep working), or move to the native replacement (MIGRATION.md, \"Apps wired with uber-go/fx\")"
			}
			if w := c.localWrites().fields[field]; hops > 0 && w != nil && !w.escapes && len(w.values) == 1 {
				return fmt.Sprintf("%s, filled only with %s", what, c.describe(w.values[0], hops-1))
			}
			return what + ", which is filled with other values than h.Peerstore() of a host.Host or peerstore.New(h), or whose address is taken: " + out
		}
	}
	return types.ExprString(root) + ", not h.Peerstore() of a host.Host (a package variable, a call's result, an embedded interface, or a variable assigned more than once): " + out
}
