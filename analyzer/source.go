package analyzer

import (
	"go/ast"
	"go/token"
	"go/types"

	"golang.org/x/tools/go/types/typeutil"
)

// sourceKind says where a peerstore value comes from, as far as the
// analyzer can tell without leaving the function.
type sourceKind int

const (
	unknownSource sourceKind = iota // a parameter, field, other store, ...
	hostSource                      // X.Peerstore() of a host.Host: rewritable
	compatSource                    // compat peerstore.New(h): already migrated
)

// maxTrace bounds how many `a := b` hops are followed from a use back to
// the expression that produced the value.
const maxTrace = 8

// source traces e back to the expression that produced its value: through
// parentheses and local variables that are assigned exactly once, in their
// declaration.
func (c *checker) source(e ast.Expr) (sourceKind, *hostRewrite) {
	for range maxTrace {
		switch e1 := ast.Unparen(e).(type) {
		case *ast.CallExpr:
			if host := c.hostPeerstoreCall(e1); host != nil {
				return hostSource, &hostRewrite{call: e1, host: host}
			}
			if c.isCompatNew(e1) {
				return compatSource, nil
			}
			return unknownSource, nil
		case *ast.Ident:
			v, ok := c.pass.TypesInfo.Uses[e1].(*types.Var)
			if !ok {
				return unknownSource, nil
			}
			init := c.singleInit(v)
			if init == nil {
				return unknownSource, nil
			}
			e = init
		default:
			return unknownSource, nil
		}
	}
	return unknownSource, nil
}

// hostPeerstoreCall returns X when call is X.Peerstore() and X's type
// implements core/host.Host, so that peerstore.New(X) is well typed and
// has the same type as the call.
func (c *checker) hostPeerstoreCall(call *ast.CallExpr) ast.Expr {
	if c.hostIface == nil || c.peerstore == nil || len(call.Args) != 0 {
		return nil
	}
	sel, ok := ast.Unparen(call.Fun).(*ast.SelectorExpr)
	if !ok || sel.Sel.Name != "Peerstore" {
		return nil
	}
	selection := c.pass.TypesInfo.Selections[sel]
	if selection == nil || selection.Kind() != types.MethodVal {
		return nil
	}
	fn, ok := typeutil.Callee(c.pass.TypesInfo, call).(*types.Func)
	if !ok || fn != selection.Obj() {
		return nil
	}
	sig := fn.Type().(*types.Signature)
	if sig.Results().Len() != 1 || !types.Identical(sig.Results().At(0).Type(), c.peerstore) {
		return nil
	}
	if !types.Implements(selection.Recv(), c.hostIface) {
		return nil
	}
	return sel.X
}

// isCompatNew reports whether call is peerstore.New(h) of the compat
// package, the result of a previous fix.
func (c *checker) isCompatNew(call *ast.CallExpr) bool {
	fn, ok := typeutil.Callee(c.pass.TypesInfo, call).(*types.Func)
	return ok && fn.Name() == "New" && fn.Pkg() != nil && fn.Pkg().Path() == compatPeerstorePath &&
		fn.Type().(*types.Signature).Recv() == nil
}

// localWrites records how a local variable gets its value.
type localWrites struct {
	init  ast.Expr // the value in its declaration, when 1:1
	other int      // assignments besides the declaration, or &v
}

// singleInit returns the expression a local variable was declared with
// when that is its only value, and nil otherwise.
func (c *checker) singleInit(v *types.Var) ast.Expr {
	if v.Pkg() != c.pass.Pkg || v.IsField() || v.Parent() == nil || v.Parent() == c.pass.Pkg.Scope() {
		return nil // package-level variables can be written anywhere
	}
	if c.writes == nil {
		c.writes = c.collectWrites()
	}
	w := c.writes[v]
	if w == nil || w.other > 0 {
		return nil
	}
	return w.init
}

// collectWrites walks the package once and records, for every local
// variable, its declared value and how often it is written otherwise.
func (c *checker) collectWrites() map[*types.Var]*localWrites {
	info := c.pass.TypesInfo
	writes := make(map[*types.Var]*localWrites)
	get := func(id *ast.Ident) *localWrites {
		obj := info.ObjectOf(id)
		v, ok := obj.(*types.Var)
		if !ok {
			return nil
		}
		w := writes[v]
		if w == nil {
			w = new(localWrites)
			writes[v] = w
		}
		return w
	}
	written := func(lhs ast.Expr) {
		if id, ok := ast.Unparen(lhs).(*ast.Ident); ok {
			if w := get(id); w != nil {
				w.other++
			}
		}
	}
	nodes := []ast.Node{
		(*ast.AssignStmt)(nil),
		(*ast.ValueSpec)(nil),
		(*ast.UnaryExpr)(nil),
		(*ast.RangeStmt)(nil),
		(*ast.IncDecStmt)(nil),
	}
	c.insp.Preorder(nodes, func(n ast.Node) {
		switch n := n.(type) {
		case *ast.AssignStmt:
			for i, lhs := range n.Lhs {
				id, ok := lhs.(*ast.Ident)
				if n.Tok == token.DEFINE && ok && info.Defs[id] != nil {
					if w := get(id); w != nil && len(n.Lhs) == len(n.Rhs) {
						w.init = n.Rhs[i]
					}
					continue
				}
				written(lhs)
			}
		case *ast.ValueSpec:
			for i, id := range n.Names {
				if w := get(id); w != nil && len(n.Names) == len(n.Values) {
					w.init = n.Values[i]
				}
			}
		case *ast.UnaryExpr:
			if n.Op == token.AND {
				written(n.X) // &v may be written through
			}
		case *ast.RangeStmt:
			if n.Tok == token.ASSIGN {
				if n.Key != nil {
					written(n.Key)
				}
				if n.Value != nil {
					written(n.Value)
				}
			}
		case *ast.IncDecStmt:
			written(n.X)
		}
	})
	return writes
}

// sameHost reports whether a and b denote the same host: the same variable,
// or the same chain of fields from one variable. Calls are never the same,
// since each may return a different host.
func (c *checker) sameHost(a, b ast.Expr) bool {
	a, b = ast.Unparen(a), ast.Unparen(b)
	switch a := a.(type) {
	case *ast.Ident:
		b, ok := b.(*ast.Ident)
		obj := c.pass.TypesInfo.Uses[a]
		return ok && obj != nil && obj == c.pass.TypesInfo.Uses[b]
	case *ast.SelectorExpr:
		b, ok := b.(*ast.SelectorExpr)
		if !ok {
			return false
		}
		sa, sb := c.pass.TypesInfo.Selections[a], c.pass.TypesInfo.Selections[b]
		if sa == nil || sb == nil || sa.Kind() != types.FieldVal || sa.Obj() != sb.Obj() {
			return false
		}
		return c.sameHost(a.X, b.X)
	}
	return false
}
