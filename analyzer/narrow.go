package analyzer

import (
	"fmt"
	"go/ast"
	"go/token"
	"go/types"
	"slices"
	"strconv"
	"strings"

	"golang.org/x/tools/go/ast/edge"
	"golang.org/x/tools/go/ast/inspector"
	"golang.org/x/tools/go/types/typeutil"
)

// keptOnlyParams is the fact, about an exported function or method, that
// the parameters at Params (indices, in order) are of a store interface
// type but the function uses them only for methods the new store keeps:
// their type, not their use, asks for the legacy interface. A destination
// finding in another package says so.
type keptOnlyParams struct{ Params []int }

func (*keptOnlyParams) AFact() {}

func (f *keptOnlyParams) String() string {
	s := make([]string, len(f.Params))
	for i, p := range f.Params {
		s[i] = strconv.Itoa(p)
	}
	return "keptOnlyParams(" + strings.Join(s, ",") + ")"
}

// keptOnlyField is the fact, about an exported struct field of a store
// interface type, that its package uses it only for methods the new store
// keeps (and never takes its address).
type keptOnlyField struct{}

func (*keptOnlyField) AFact() {}

func (*keptOnlyField) String() string { return "keptOnlyField" }

// exportKeptOnly exports the facts of this package's exported functions
// and fields: only they can be destinations in other packages.
func (c *checker) exportKeptOnly() {
	info := c.pass.TypesInfo
	for cur := range c.insp.Root().Preorder((*ast.FuncDecl)(nil), (*ast.Field)(nil)) {
		switch n := cur.Node().(type) {
		case *ast.FuncDecl:
			fn, ok := info.Defs[n.Name].(*types.Func)
			if !ok || !fn.Exported() {
				continue
			}
			var kept []int
			params := fn.Type().(*types.Signature).Params()
			for i := range params.Len() {
				if v := params.At(i); c.storeInterface(v.Type()) && c.keptOnly(v) {
					kept = append(kept, i)
				}
			}
			if len(kept) > 0 {
				c.pass.ExportObjectFact(fn, &keptOnlyParams{Params: kept})
			}
		case *ast.Field:
			if cur.ParentEdgeKind() != edge.FieldList_List || cur.Parent().ParentEdgeKind() != edge.StructType_Fields {
				continue
			}
			for _, name := range n.Names {
				f, ok := info.Defs[name].(*types.Var)
				if ok && f.IsField() && f.Exported() && c.storeInterface(f.Type()) && c.keptOnly(f) {
					c.pass.ExportObjectFact(f, new(keptOnlyField))
				}
			}
		}
	}
}

// storeInterface reports whether t is an interface through which a store
// is used: a core/peerstore interface, or one that needs a legacy-only
// method.
func (c *checker) storeInterface(t types.Type) bool {
	if !types.IsInterface(t) {
		return false
	}
	if named, ok := types.Unalias(t).(*types.Named); ok && named.Obj().Pkg() != nil && named.Obj().Pkg().Path() == corePeerstorePath {
		return true
	}
	return c.legacyOnly(t)
}

// typeOnly returns, for a destination finding at cur, a sentence saying
// that the destination's type, not its use, needs the legacy interface:
// the value goes to a parameter or field that is only ever used for
// methods the new store keeps, declared in this package or, known from
// its facts, in another. It returns "" otherwise. The finding stands
// either way: the value must still satisfy the type.
func (c *checker) typeOnly(cur inspector.Cursor) string {
	for cur.ParentEdgeKind() == edge.ParenExpr_X {
		cur = cur.Parent()
	}
	info := c.pass.TypesInfo
	var what string
	switch kind, idx := cur.ParentEdge(); kind {
	case edge.CallExpr_Args:
		fn := typeutil.StaticCallee(info, cur.Parent().Node().(*ast.CallExpr))
		if fn == nil || !c.keptOnlyParam(fn, idx) {
			return ""
		}
		what = fmt.Sprintf("parameter %s of %s", fn.Type().(*types.Signature).Params().At(idx).Name(), c.funcName(fn))
	case edge.KeyValueExpr_Value:
		id, ok := cur.Parent().Node().(*ast.KeyValueExpr).Key.(*ast.Ident)
		if !ok {
			return ""
		}
		f, ok := info.Uses[id].(*types.Var)
		if !ok || !c.keptOnlyFieldOf(f) {
			return ""
		}
		what = c.fieldName(f)
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
		if !ok || !c.keptOnlyFieldOf(f) {
			return ""
		}
		what = c.fieldName(f)
	default:
		return ""
	}
	return fmt.Sprintf("%s uses only methods the new store keeps, so its type, not its use, requires the legacy interface: narrowing that type (to peerstore.AddrBook, say) is the other way out", what)
}

// keptOnlyParam reports whether parameter idx of fn, declared in this
// package or known from a fact, is used only for kept methods.
func (c *checker) keptOnlyParam(fn *types.Func, idx int) bool {
	sig := fn.Type().(*types.Signature)
	if idx >= sig.Params().Len() || sig.Variadic() && idx == sig.Params().Len()-1 {
		return false
	}
	if fn.Pkg() == c.pass.Pkg {
		v := sig.Params().At(idx)
		return v.Name() != "" && v.Name() != "_" && c.keptOnly(v)
	}
	var fact keptOnlyParams
	return c.pass.ImportObjectFact(fn.Origin(), &fact) && slices.Contains(fact.Params, idx)
}

// keptOnlyFieldOf reports whether f is a field used only for kept
// methods: an unexported one of this package, or one a fact says so of.
func (c *checker) keptOnlyFieldOf(f *types.Var) bool {
	if !f.IsField() {
		return false
	}
	if f.Pkg() == c.pass.Pkg {
		return !f.Exported() && c.keptOnly(f)
	}
	// Its package uses it only for kept methods; so must this one.
	return c.pass.ImportObjectFact(f.Origin(), new(keptOnlyField)) && c.keptOnly(f)
}

// funcName names fn for a message: pkg.F, T.M or pkg.T.M.
func (c *checker) funcName(fn *types.Func) string {
	if recv := fn.Type().(*types.Signature).Recv(); recv != nil {
		t := recv.Type()
		if ptr, ok := t.(*types.Pointer); ok {
			t = ptr.Elem()
		}
		return types.TypeString(t, c.qualifier) + "." + fn.Name()
	}
	if q := c.qualifier(fn.Pkg()); q != "" {
		return q + "." + fn.Name()
	}
	return fn.Name()
}

// fieldName names a field for a message, with its struct when it is of
// another package.
func (c *checker) fieldName(f *types.Var) string {
	if f.Pkg() == c.pass.Pkg {
		return "field " + f.Name()
	}
	return fmt.Sprintf("field %s of package %s", f.Name(), f.Pkg().Path())
}

// keptOnly reports whether every use of v (a parameter, or a field of this
// package) is a call of a method the new store keeps, a comparison with
// nil, an argument for a parameter that is itself used only so, or, for a
// field, a write.
func (c *checker) keptOnly(v *types.Var) bool {
	if r, ok := c.kept[v]; ok {
		return r // a cycle of calls ends here as false (set below)
	}
	c.kept[v] = false
	r := c.keptOnlyUses(v)
	c.kept[v] = r
	return r
}

func (c *checker) keptOnlyUses(v *types.Var) bool {
	if w := c.localWrites().vars[v]; w != nil && w.other > 0 {
		return false
	}
	if w := c.localWrites().fields[v]; w != nil && w.escapes {
		return false
	}
	info := c.pass.TypesInfo
	for _, cur := range c.usesOf(v) {
		if cur.ParentEdgeKind() == edge.SelectorExpr_Sel {
			cur = cur.Parent() // x.field
		}
		for cur.ParentEdgeKind() == edge.ParenExpr_X {
			cur = cur.Parent()
		}
		switch kind, idx := cur.ParentEdge(); kind {
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
		case edge.BinaryExpr_X, edge.BinaryExpr_Y:
			// x == nil and x != nil use no method.
			bin := cur.Parent().Node().(*ast.BinaryExpr)
			if (bin.Op != token.EQL && bin.Op != token.NEQ) || !info.Types[bin.X].IsNil() && !info.Types[bin.Y].IsNil() {
				return false
			}
		case edge.CallExpr_Args:
			// Passed on to a helper that itself uses it only for kept
			// methods, as an interface (a concrete parameter type would
			// not compile with an interface argument).
			fn := typeutil.StaticCallee(info, cur.Parent().Node().(*ast.CallExpr))
			if fn == nil || !c.keptOnlyParam(fn, idx) {
				return false
			}
		default:
			return false
		}
	}
	return true
}

// usesOf returns the identifiers that use v, from one walk of the package
// that indexes every use of a variable of a store interface type.
func (c *checker) usesOf(v *types.Var) []inspector.Cursor {
	if c.uses == nil {
		c.uses = make(map[*types.Var][]inspector.Cursor)
		info := c.pass.TypesInfo
		for cur := range c.insp.Root().Preorder((*ast.Ident)(nil)) {
			if u, ok := info.Uses[cur.Node().(*ast.Ident)].(*types.Var); ok && types.IsInterface(u.Type()) {
				c.uses[u] = append(c.uses[u], cur)
			}
		}
	}
	return c.uses[v]
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
