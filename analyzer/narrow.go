package analyzer

import (
	"fmt"
	"go/ast"
	"go/types"

	"golang.org/x/tools/go/ast/edge"
	"golang.org/x/tools/go/ast/inspector"
	"golang.org/x/tools/go/types/typeutil"
)

// typeOnly returns, for a destination finding at cur, a sentence saying
// that the destination's type, not its use, needs the legacy interface:
// the value goes to a parameter or field declared in this package that is
// only ever used for methods the new store keeps. It returns "" otherwise.
// The finding stands either way: the value must still satisfy the type.
func (c *checker) typeOnly(cur inspector.Cursor) string {
	for cur.ParentEdgeKind() == edge.ParenExpr_X {
		cur = cur.Parent()
	}
	info := c.pass.TypesInfo
	var v *types.Var
	var what string
	switch kind, idx := cur.ParentEdge(); kind {
	case edge.CallExpr_Args:
		fn := typeutil.StaticCallee(info, cur.Parent().Node().(*ast.CallExpr))
		if fn == nil || fn.Pkg() != c.pass.Pkg {
			return ""
		}
		sig := fn.Type().(*types.Signature)
		if idx >= sig.Params().Len() || sig.Variadic() && idx == sig.Params().Len()-1 {
			return ""
		}
		v = sig.Params().At(idx)
		what = fmt.Sprintf("parameter %s of %s", v.Name(), fn.Name())
	case edge.KeyValueExpr_Value:
		id, ok := cur.Parent().Node().(*ast.KeyValueExpr).Key.(*ast.Ident)
		if !ok {
			return ""
		}
		f, ok := info.Uses[id].(*types.Var)
		if !ok || !f.IsField() || f.Pkg() != c.pass.Pkg || f.Exported() {
			return ""
		}
		v, what = f, "field "+f.Name()
	case edge.AssignStmt_Rhs:
		assign := cur.Parent().Node().(*ast.AssignStmt)
		if len(assign.Lhs) != len(assign.Rhs) {
			return ""
		}
		sel, ok := ast.Unparen(assign.Lhs[idx]).(*ast.SelectorExpr)
		if !ok {
			return ""
		}
		f, ok := info.Uses[sel.Sel].(*types.Var)
		if !ok || !f.IsField() || f.Pkg() != c.pass.Pkg || f.Exported() {
			return ""
		}
		v, what = f, "field "+f.Name()
	default:
		return ""
	}
	if v.Pkg() != c.pass.Pkg || v.Name() == "" || v.Name() == "_" || !c.keptOnly(v) {
		return ""
	}
	return fmt.Sprintf("%s uses only methods the new store keeps, so its type, not its use, requires the legacy interface: narrowing that type (to peerstore.AddrBook, say) is the other way out", what)
}

// keptOnly reports whether every use of v (a parameter, or an unexported
// field of this package) is a call of a method the new store keeps, or, for
// a field, a write.
func (c *checker) keptOnly(v *types.Var) bool {
	if w := c.localWrites().vars[v]; w != nil && w.other > 0 {
		return false
	}
	if w := c.localWrites().fields[v]; w != nil && w.escapes {
		return false
	}
	info := c.pass.TypesInfo
	for cur := range c.insp.Root().Preorder((*ast.Ident)(nil)) {
		if info.Uses[cur.Node().(*ast.Ident)] != v {
			continue
		}
		if cur.ParentEdgeKind() == edge.SelectorExpr_Sel {
			cur = cur.Parent() // x.field
		}
		switch cur.ParentEdgeKind() {
		case edge.KeyValueExpr_Key, edge.AssignStmt_Lhs:
			if v.IsField() {
				continue // a write, recorded by localWrites
			}
			return false
		case edge.SelectorExpr_X:
			sel := cur.Parent().Node().(*ast.SelectorExpr)
			s := info.Selections[sel]
			if s == nil || s.Kind() != types.MethodVal || cur.Parent().ParentEdgeKind() != edge.CallExpr_Fun {
				return false
			}
			if fn, ok := s.Obj().(*types.Func); !ok || c.isLegacyMethod(fn) {
				return false
			}
		default:
			return false
		}
	}
	return true
}

// isLegacyMethod reports whether fn is a legacy-only method, of
// core/peerstore or redeclared by an interface with the same signature.
func (c *checker) isLegacyMethod(fn *types.Func) bool {
	if _, _, ok := legacyMethodOf(fn); ok {
		return true
	}
	sig := c.legacySigs[fn.Name()]
	return sig != nil && types.Identical(fn.Type(), sig)
}
