package analyzer

import (
	"fmt"
	"go/ast"
	"go/token"
	"go/types"

	"golang.org/x/tools/go/ast/edge"
	"golang.org/x/tools/go/ast/inspector"
)

// checkPeerstoreValues reports h.Peerstore() flowing, directly or through a
// local variable, into a place whose type needs a legacy-only interface:
// the host's store will not satisfy it, peerstore.New(h) does.
func (c *checker) checkPeerstoreValues() {
	if c.peerstore == nil {
		return
	}
	info := c.pass.TypesInfo
	for cur := range c.insp.Root().Preorder((*ast.CallExpr)(nil), (*ast.Ident)(nil)) {
		var rw *hostRewrite
		var owner ast.Expr // X of X.Peerstore() when X is not a host: no fix
		switch n := cur.Node().(type) {
		case *ast.CallExpr:
			x, _ := c.peerstoreAccessor(n)
			if x == nil {
				continue
			}
			if host := c.hostPeerstoreCall(n); host != nil {
				rw = &hostRewrite{call: n, host: host}
			} else {
				owner = x
			}
		case *ast.Ident:
			// Only locals that may hold the host's store: `ps := h.Peerstore()`.
			v, ok := info.Uses[n].(*types.Var)
			if !ok || v.IsField() || !types.Identical(v.Type(), c.peerstore) {
				continue
			}
		}
		dest, how := c.destination(cur)
		if dest == nil || !c.legacyOnly(dest) {
			continue
		}
		if rw == nil && owner == nil {
			kind, rws := c.source(cur.Node().(*ast.Ident))
			if kind != hostSource {
				continue
			}
			rw = rws[0]
		}
		expr := cur.Node().(ast.Expr)
		f := finding{
			pos:      expr.Pos(),
			end:      expr.End(),
			category: CategoryPeerstoreValue,
		}
		what := fmt.Sprintf("%s is %s of type %s: the legacy-only Peerstore API it needs is going away from the host's store",
			types.ExprString(expr), how, types.TypeString(dest, c.qualifier))
		if why := c.typeOnly(cur); why != "" {
			what += "; " + why
		}
		var why string
		if rw != nil {
			why = c.changesAssertion([]*hostRewrite{rw})
		}
		if why != "" {
			f.message = fmt.Sprintf("%s; not rewritten: %s", what, why)
		} else if rw != nil {
			f.rewrites = []*hostRewrite{rw}
			f.message = fmt.Sprintf("%s; fix: pass peerstore.New(%s) of compat/peerstore instead", what, types.ExprString(rw.host))
			if view := c.reusableView(rw); view != "" {
				f.message = fmt.Sprintf("%s; fix: %s instead", what, c.reuseMessage(view, rw))
			}
		} else {
			f.message = fmt.Sprintf("%s; not rewritten: %s is not a host.Host, so pass peerstore.New(h) of compat/peerstore for the host it belongs to", what, types.ExprString(owner))
		}
		c.findings = append(c.findings, f)
	}
}

// legacyOnly reports whether t is an interface that needs a legacy-only
// method: one of core/peerstore's (Peerstore, ProtoBook, Metrics,
// PeerMetadata, KeyBook, or an interface embedding them), or an interface
// that redeclares one with the same signature.
func (c *checker) legacyOnly(t types.Type) bool {
	iface, ok := t.Underlying().(*types.Interface)
	if !ok {
		return false
	}
	for m := range iface.Methods() {
		if _, _, ok := legacyMethodOf(m); ok {
			return true
		}
		if sig := c.legacySigs[m.Name()]; sig != nil && types.Identical(m.Type(), sig) {
			return true
		}
	}
	return false
}

// destination returns the type that the expression at cur is converted to
// by its context (a parameter, an assignment to a typed variable or field,
// a result, a composite literal element, a channel send), and says which.
// Declarations whose type is inferred are not destinations: the variable's
// uses are checked instead.
func (c *checker) destination(cur inspector.Cursor) (types.Type, string) {
	info := c.pass.TypesInfo
	for cur.ParentEdgeKind() == edge.ParenExpr_X {
		cur = cur.Parent()
	}
	kind, idx := cur.ParentEdge()
	parent := cur.Parent().Node()
	switch kind {
	case edge.CallExpr_Args:
		call := parent.(*ast.CallExpr)
		tv := info.Types[call.Fun]
		if tv.Type == nil {
			return nil, ""
		}
		if tv.IsType() {
			return tv.Type, "converted to a value"
		}
		sig, ok := tv.Type.Underlying().(*types.Signature)
		if !ok || sig.Params().Len() == 0 {
			return nil, ""
		}
		params := sig.Params()
		if sig.Variadic() && idx >= params.Len()-1 {
			last := params.At(params.Len() - 1).Type()
			if call.Ellipsis.IsValid() {
				return last, "passed as an argument"
			}
			if s, ok := last.Underlying().(*types.Slice); ok {
				return s.Elem(), "passed as an argument"
			}
			return nil, ""
		}
		if idx < params.Len() {
			return params.At(idx).Type(), "passed as an argument"
		}

	case edge.AssignStmt_Rhs:
		assign := parent.(*ast.AssignStmt)
		if assign.Tok != token.ASSIGN || len(assign.Lhs) != len(assign.Rhs) {
			return nil, ""
		}
		lhs := assign.Lhs[idx]
		if id, ok := lhs.(*ast.Ident); ok && id.Name == "_" {
			return nil, ""
		}
		return info.TypeOf(lhs), "assigned to a variable or field"

	case edge.ValueSpec_Values:
		spec := parent.(*ast.ValueSpec)
		if spec.Type == nil {
			return nil, ""
		}
		return info.TypeOf(spec.Type), "declared as a variable"

	case edge.ReturnStmt_Results:
		for fn := range cur.Enclosing((*ast.FuncDecl)(nil), (*ast.FuncLit)(nil)) {
			var sig *types.Signature
			switch fn := fn.Node().(type) {
			case *ast.FuncDecl:
				if fn.Recv != nil && fn.Name.Name == "Peerstore" {
					return nil, "" // a host wrapper forwarding its store is the host's contract
				}
				if obj, ok := info.Defs[fn.Name].(*types.Func); ok {
					sig = obj.Type().(*types.Signature)
				}
			case *ast.FuncLit:
				sig, _ = info.TypeOf(fn).(*types.Signature)
			}
			if sig == nil || sig.Results().Len() != len(parent.(*ast.ReturnStmt).Results) {
				return nil, ""
			}
			return sig.Results().At(idx).Type(), "returned as a result"
		}

	case edge.CompositeLit_Elts:
		lit := parent.(*ast.CompositeLit)
		switch t := typeOfLit(info, lit).(type) {
		case *types.Struct:
			if idx < t.NumFields() {
				return t.Field(idx).Type(), "stored in a field"
			}
		case *types.Slice:
			return t.Elem(), "stored in a slice"
		case *types.Array:
			return t.Elem(), "stored in an array"
		}

	case edge.KeyValueExpr_Value:
		kv := parent.(*ast.KeyValueExpr)
		lit, ok := cur.Parent().Parent().Node().(*ast.CompositeLit)
		if !ok {
			return nil, ""
		}
		switch t := typeOfLit(info, lit).(type) {
		case *types.Struct:
			if id, ok := kv.Key.(*ast.Ident); ok {
				if field, ok := info.Uses[id].(*types.Var); ok {
					return field.Type(), "stored in a field"
				}
			}
		case *types.Map:
			return t.Elem(), "stored in a map"
		case *types.Slice:
			return t.Elem(), "stored in a slice"
		case *types.Array:
			return t.Elem(), "stored in an array"
		}

	case edge.SendStmt_Value:
		ch, ok := info.TypeOf(parent.(*ast.SendStmt).Chan).Underlying().(*types.Chan)
		if ok {
			return ch.Elem(), "sent on a channel"
		}
	}
	return nil, ""
}

// typeOfLit returns the core type of a composite literal, looking through
// pointers for the &T{...} elided in nested literals.
func typeOfLit(info *types.Info, lit *ast.CompositeLit) types.Type {
	t := info.TypeOf(lit)
	if t == nil {
		return nil
	}
	t = t.Underlying()
	if ptr, ok := t.(*types.Pointer); ok {
		t = ptr.Elem().Underlying()
	}
	return t
}
