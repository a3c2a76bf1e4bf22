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
// type but the function uses them only for methods the new store keeps
// (Methods[i] for Params[i]): their type, not their use, asks for the
// legacy interface. A destination finding in another package says so.
type keptOnlyParams struct {
	Params  []int
	Methods [][]string
}

func (*keptOnlyParams) AFact() {}

func (f *keptOnlyParams) String() string {
	s := make([]string, len(f.Params))
	for i, p := range f.Params {
		s[i] = strconv.Itoa(p) + ": " + strings.Join(f.Methods[i], " ")
	}
	return "keptOnlyParams(" + strings.Join(s, "; ") + ")"
}

// keptOnlyField is the fact, about an exported struct field of a store
// interface type, that its package uses it only for Methods, which the
// new store keeps (and never takes its address).
type keptOnlyField struct{ Methods []string }

func (*keptOnlyField) AFact() {}

func (f *keptOnlyField) String() string { return "keptOnlyField(" + strings.Join(f.Methods, " ") + ")" }

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
			var fact keptOnlyParams
			params := fn.Type().(*types.Signature).Params()
			for i := range params.Len() {
				if v := params.At(i); c.storeInterface(v.Type()) && c.keptOnly(v) {
					fact.Params = append(fact.Params, i)
					fact.Methods = append(fact.Methods, c.keptMethods[v])
				}
			}
			if len(fact.Params) > 0 {
				c.pass.ExportObjectFact(fn, &fact)
			}
		case *ast.Field:
			if cur.ParentEdgeKind() != edge.FieldList_List || cur.Parent().ParentEdgeKind() != edge.StructType_Fields {
				continue
			}
			for _, name := range n.Names {
				f, ok := info.Defs[name].(*types.Var)
				if ok && f.IsField() && f.Exported() && c.storeInterface(f.Type()) && c.keptOnly(f) {
					c.pass.ExportObjectFact(f, &keptOnlyField{Methods: c.keptMethods[f]})
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
	var methods []string
	var ok bool
	switch kind, idx := cur.ParentEdge(); kind {
	case edge.CallExpr_Args:
		fn := typeutil.StaticCallee(info, cur.Parent().Node().(*ast.CallExpr))
		if fn == nil {
			return ""
		}
		if methods, ok = c.keptOnlyParam(fn, idx); !ok {
			return ""
		}
		what = fmt.Sprintf("parameter %s of %s", fn.Type().(*types.Signature).Params().At(idx).Name(), c.funcName(fn))
	case edge.KeyValueExpr_Value:
		id, ok := cur.Parent().Node().(*ast.KeyValueExpr).Key.(*ast.Ident)
		if !ok {
			return ""
		}
		f, isVar := info.Uses[id].(*types.Var)
		if !isVar {
			return ""
		}
		if methods, ok = c.keptOnlyFieldOf(f); !ok {
			return ""
		}
		what = c.fieldName(f)
	case edge.AssignStmt_Rhs:
		assign := cur.Parent().Node().(*ast.AssignStmt)
		if len(assign.Lhs) != len(assign.Rhs) {
			return ""
		}
		sel, isSel := ast.Unparen(assign.Lhs[idx]).(*ast.SelectorExpr)
		if !isSel {
			return ""
		}
		f, isVar := info.Uses[sel.Sel].(*types.Var)
		if !isVar {
			return ""
		}
		if methods, ok = c.keptOnlyFieldOf(f); !ok {
			return ""
		}
		what = c.fieldName(f)
	default:
		return ""
	}
	uses := "no method"
	if len(methods) > 0 {
		uses = strings.Join(methods, ", ")
	}
	return fmt.Sprintf("%s uses only %s, which the new store keeps, so its type, not its use, requires the legacy interface: narrowing that type (to %s) is the other way out", what, uses, c.narrower(methods))
}

// narrower names the smallest type a destination using only methods could
// have: a core/peerstore interface the new store keeps whole, or an
// interface of just those methods.
func (c *checker) narrower(methods []string) string {
	if named, ok := types.Unalias(c.peerstore).(*types.Named); ok {
		for _, name := range []string{"AddrBook", "CertifiedAddrBook"} {
			obj, ok := named.Obj().Pkg().Scope().Lookup(name).(*types.TypeName)
			if !ok {
				continue
			}
			iface, ok := obj.Type().Underlying().(*types.Interface)
			if ok && !slices.ContainsFunc(methods, func(m string) bool {
				return !slices.ContainsFunc(slices.Collect(iface.Methods()), func(f *types.Func) bool { return f.Name() == m })
			}) {
				return "peerstore." + name
			}
		}
	}
	return "an interface of just " + strings.Join(methods, " and ")
}

// keptOnlyParam reports whether parameter idx of fn, declared in this
// package or known from a fact, is used only for kept methods, and which.
func (c *checker) keptOnlyParam(fn *types.Func, idx int) ([]string, bool) {
	sig := fn.Type().(*types.Signature)
	if idx >= sig.Params().Len() || sig.Variadic() && idx == sig.Params().Len()-1 {
		return nil, false
	}
	if fn.Pkg() == c.pass.Pkg {
		v := sig.Params().At(idx)
		if v.Name() == "" || v.Name() == "_" || !c.keptOnly(v) {
			return nil, false
		}
		return c.keptMethods[v], true
	}
	var fact keptOnlyParams
	if !c.pass.ImportObjectFact(fn.Origin(), &fact) {
		return nil, false
	}
	if i := slices.Index(fact.Params, idx); i >= 0 {
		return fact.Methods[i], true
	}
	return nil, false
}

// keptOnlyFieldOf reports whether f is a field used only for kept
// methods, and which: an unexported one of this package, or one a fact
// says so of (and this package uses only for kept methods too).
func (c *checker) keptOnlyFieldOf(f *types.Var) ([]string, bool) {
	if !f.IsField() {
		return nil, false
	}
	if f.Pkg() == c.pass.Pkg {
		if f.Exported() || !c.keptOnly(f) {
			return nil, false
		}
		return c.keptMethods[f], true
	}
	var fact keptOnlyField
	if !c.pass.ImportObjectFact(f.Origin(), &fact) || !c.keptOnly(f) {
		return nil, false
	}
	return union(fact.Methods, c.keptMethods[f]), true
}

// union returns the sorted names of a and b, each once.
func union(a, b []string) []string {
	u := slices.Concat(a, b)
	slices.Sort(u)
	return slices.Compact(u)
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
	methods, r := c.keptOnlyUses(v)
	c.kept[v] = r
	if r {
		c.keptMethods[v] = union(methods, nil)
	}
	return r
}

// keptOnlyUses is keptOnly's walk; it returns the methods used.
func (c *checker) keptOnlyUses(v *types.Var) (methods []string, ok bool) {
	if w := c.localWrites().vars[v]; w != nil && w.other > 0 {
		return nil, false
	}
	if w := c.localWrites().fields[v]; w != nil && w.escapes {
		return nil, false
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
			return nil, false
		case edge.SelectorExpr_X:
			sel := cur.Parent().Node().(*ast.SelectorExpr)
			s := info.Selections[sel]
			if s == nil || s.Kind() != types.MethodVal || cur.Parent().ParentEdgeKind() != edge.CallExpr_Fun {
				return nil, false
			}
			fn, isFunc := s.Obj().(*types.Func)
			if !isFunc || c.isLegacyMethod(fn) {
				return nil, false
			}
			methods = append(methods, fn.Name())
		case edge.BinaryExpr_X, edge.BinaryExpr_Y:
			// x == nil and x != nil use no method.
			bin := cur.Parent().Node().(*ast.BinaryExpr)
			if (bin.Op != token.EQL && bin.Op != token.NEQ) || !info.Types[bin.X].IsNil() && !info.Types[bin.Y].IsNil() {
				return nil, false
			}
		case edge.CallExpr_Args:
			// Passed on to a helper that itself uses it only for kept
			// methods, as an interface (a concrete parameter type would
			// not compile with an interface argument).
			fn := typeutil.StaticCallee(info, cur.Parent().Node().(*ast.CallExpr))
			if fn == nil {
				return nil, false
			}
			used, kept := c.keptOnlyParam(fn, idx)
			if !kept {
				return nil, false
			}
			methods = append(methods, used...)
		default:
			return nil, false
		}
	}
	return methods, true
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
