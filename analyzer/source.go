package analyzer

import (
	"go/ast"
	"go/constant"
	"go/token"
	"go/types"
	"slices"

	"golang.org/x/tools/go/types/typeutil"
)

// sourceKind says where a peerstore value comes from, as far as the
// analyzer can tell without leaving the function.
type sourceKind int

const (
	unknownSource sourceKind = iota // a parameter, field, other store, ...
	hostSource                      // X.Peerstore() of a host.Host: rewritable
	compatSource                    // compat peerstore.New(h): already migrated
	// hostField is an unexported field that is only ever filled with
	// X.Peerstore() or compat's New: the peerstore-value check fixes it
	// where it is filled, after which it holds compat.
	hostField
	// hostParam is a parameter of an unexported function whose every call
	// in the package passes X.Peerstore() or compat's New (directly or
	// through what source traces): the fix goes to the call sites.
	hostParam
)

// maxTrace bounds how many `a := b` hops are followed from a use back to
// the expression that produced the value.
const maxTrace = 8

// source traces e back to the expression that produced its value: through
// parentheses, local variables that are assigned exactly once, in their
// declaration, and unexported fields of this package (see hostField).
func (c *checker) source(e ast.Expr) (sourceKind, []*hostRewrite) {
	return c.traceSource(e, maxTrace)
}

func (c *checker) traceSource(e ast.Expr, hops int) (sourceKind, []*hostRewrite) {
	for ; hops > 0; hops-- {
		switch e1 := ast.Unparen(e).(type) {
		case *ast.CallExpr:
			if host := c.hostPeerstoreCall(e1); host != nil {
				return hostSource, []*hostRewrite{{call: e1, host: host}}
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
				return c.paramSource(v, hops-1)
			}
			e = init
		case *ast.SelectorExpr:
			return c.fieldSource(e1, hops-1)
		default:
			return unknownSource, nil
		}
	}
	return unknownSource, nil
}

// fieldSource classifies the values of the field that sel selects: compat
// when every value stored in it is compat's New, hostField (with the
// rewrites that make it compat) when every value is that or X.Peerstore()
// of a host, unknown otherwise.
func (c *checker) fieldSource(sel *ast.SelectorExpr, hops int) (sourceKind, []*hostRewrite) {
	selection := c.pass.TypesInfo.Selections[sel]
	if selection == nil || selection.Kind() != types.FieldVal {
		return unknownSource, nil
	}
	v := selection.Obj().(*types.Var)
	if v.Pkg() != c.pass.Pkg || v.Exported() {
		return unknownSource, nil // other packages may store anything in it
	}
	w := c.localWrites().fields[v]
	if w == nil || w.escapes || len(w.values) == 0 {
		return unknownSource, nil
	}
	kind := compatSource
	var rewrites []*hostRewrite
	for _, val := range w.values {
		switch k, rws := c.traceSource(val, hops); k {
		case compatSource:
		case hostSource, hostField, hostParam:
			kind = hostField
			rewrites = append(rewrites, rws...)
		default:
			return unknownSource, nil
		}
	}
	return kind, rewrites
}

// hostPeerstoreCall returns X when call is X.Peerstore() or
// X.Network().Peerstore() and X's type implements core/host.Host, so that
// peerstore.New(X) is well typed and has the same type as the call. A
// host's store is its network's: go-libp2p's hosts return
// Network().Peerstore() from Peerstore().
func (c *checker) hostPeerstoreCall(call *ast.CallExpr) ast.Expr {
	x, recv := c.peerstoreAccessor(call)
	if x == nil || c.hostIface == nil {
		return nil
	}
	if types.Implements(recv, c.hostIface) {
		return x
	}
	return c.hostOfNetwork(x)
}

// hostOfNetwork returns X when e is X.Network() on a host.Host X.
func (c *checker) hostOfNetwork(e ast.Expr) ast.Expr {
	call, ok := ast.Unparen(e).(*ast.CallExpr)
	if !ok || len(call.Args) != 0 {
		return nil
	}
	sel, ok := ast.Unparen(call.Fun).(*ast.SelectorExpr)
	if !ok || sel.Sel.Name != "Network" {
		return nil
	}
	selection := c.pass.TypesInfo.Selections[sel]
	if selection == nil || selection.Kind() != types.MethodVal || !types.Implements(selection.Recv(), c.hostIface) {
		return nil
	}
	return sel.X
}

// peerstoreAccessor returns X and its type when call is X.Peerstore()
// returning core/peerstore.Peerstore: a host's, a network's, or any other
// owner's store.
func (c *checker) peerstoreAccessor(call *ast.CallExpr) (ast.Expr, types.Type) {
	if c.peerstore == nil || len(call.Args) != 0 {
		return nil, nil
	}
	sel, ok := ast.Unparen(call.Fun).(*ast.SelectorExpr)
	if !ok || sel.Sel.Name != "Peerstore" {
		return nil, nil
	}
	selection := c.pass.TypesInfo.Selections[sel]
	if selection == nil || selection.Kind() != types.MethodVal {
		return nil, nil
	}
	fn, ok := typeutil.Callee(c.pass.TypesInfo, call).(*types.Func)
	if !ok || fn != selection.Obj() {
		return nil, nil
	}
	sig := fn.Type().(*types.Signature)
	if sig.Results().Len() != 1 || !types.Identical(sig.Results().At(0).Type(), c.peerstore) {
		return nil, nil
	}
	return sel.X, selection.Recv()
}

// isCompatNew reports whether call is peerstore.New(h) of the compat
// package, the result of a previous fix.
func (c *checker) isCompatNew(call *ast.CallExpr) bool {
	fn, ok := typeutil.Callee(c.pass.TypesInfo, call).(*types.Func)
	return ok && fn.Name() == "New" && fn.Pkg() != nil && fn.Pkg().Path() == compatPeerstorePath &&
		fn.Type().(*types.Signature).Recv() == nil
}

// varWrites records how a local variable gets its value.
type varWrites struct {
	init  ast.Expr // the value in its declaration, when 1:1
	other int      // assignments besides the declaration, or &v
}

// fieldWrites records the values stored in a struct field.
type fieldWrites struct {
	values  []ast.Expr
	escapes bool // written in a way not recorded in values, or &x.f
}

// writes is what one walk of the package learns about assignments.
type writes struct {
	vars   map[*types.Var]*varWrites
	fields map[*types.Var]*fieldWrites
}

// singleInit returns the expression a local variable was declared with
// when that is its only value, and nil otherwise.
func (c *checker) singleInit(v *types.Var) ast.Expr {
	if v.Pkg() != c.pass.Pkg || v.IsField() || v.Parent() == nil || v.Parent() == c.pass.Pkg.Scope() {
		return nil // package-level variables can be written anywhere
	}
	w := c.localWrites().vars[v]
	if w == nil || w.other > 0 {
		return nil
	}
	return w.init
}

// localWrites walks the package once, on first use, and records every
// local variable's declared value and other writes, and every value stored
// in a struct field.
func (c *checker) localWrites() *writes {
	if c.writes != nil {
		return c.writes
	}
	info := c.pass.TypesInfo
	w := &writes{
		vars:   make(map[*types.Var]*varWrites),
		fields: make(map[*types.Var]*fieldWrites),
	}
	c.writes = w
	varOf := func(id *ast.Ident) *varWrites {
		v, ok := info.ObjectOf(id).(*types.Var)
		if !ok || v.IsField() {
			return nil
		}
		if w.vars[v] == nil {
			w.vars[v] = new(varWrites)
		}
		return w.vars[v]
	}
	fieldOf := func(v *types.Var) *fieldWrites {
		if w.fields[v] == nil {
			w.fields[v] = new(fieldWrites)
		}
		return w.fields[v]
	}
	selectedField := func(e ast.Expr) *types.Var {
		sel, ok := ast.Unparen(e).(*ast.SelectorExpr)
		if !ok {
			return nil
		}
		if s := info.Selections[sel]; s != nil && s.Kind() == types.FieldVal {
			return s.Obj().(*types.Var)
		}
		return nil
	}
	// written records a write whose value is not known.
	written := func(lhs ast.Expr) {
		if id, ok := ast.Unparen(lhs).(*ast.Ident); ok {
			if vw := varOf(id); vw != nil {
				vw.other++
			}
		} else if f := selectedField(lhs); f != nil {
			fieldOf(f).escapes = true
		}
	}
	nodes := []ast.Node{
		(*ast.AssignStmt)(nil),
		(*ast.ValueSpec)(nil),
		(*ast.UnaryExpr)(nil),
		(*ast.RangeStmt)(nil),
		(*ast.IncDecStmt)(nil),
		(*ast.CompositeLit)(nil),
	}
	c.insp.Preorder(nodes, func(n ast.Node) {
		switch n := n.(type) {
		case *ast.AssignStmt:
			oneToOne := len(n.Lhs) == len(n.Rhs)
			for i, lhs := range n.Lhs {
				id, isIdent := lhs.(*ast.Ident)
				switch {
				case n.Tok == token.DEFINE && isIdent && info.Defs[id] != nil:
					if vw := varOf(id); vw != nil && oneToOne {
						vw.init = n.Rhs[i]
					}
				case n.Tok == token.ASSIGN && oneToOne && selectedField(lhs) != nil:
					fw := fieldOf(selectedField(lhs))
					fw.values = append(fw.values, n.Rhs[i])
				default:
					written(lhs)
				}
			}
		case *ast.ValueSpec:
			for i, id := range n.Names {
				if vw := varOf(id); vw != nil && len(n.Names) == len(n.Values) {
					vw.init = n.Values[i]
				}
			}
		case *ast.CompositeLit:
			st, ok := typeOfLit(info, n).(*types.Struct)
			if !ok {
				return
			}
			for i, elt := range n.Elts {
				if kv, ok := elt.(*ast.KeyValueExpr); ok {
					if id, ok := kv.Key.(*ast.Ident); ok {
						if f, ok := info.Uses[id].(*types.Var); ok {
							fieldOf(f).values = append(fieldOf(f).values, kv.Value)
						}
					}
				} else if i < st.NumFields() {
					f := st.Field(i)
					fieldOf(f).values = append(fieldOf(f).values, elt)
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
	return w
}

// sameHost reports whether a and b denote the same host: the same variable,
// or the same chain of fields or index expressions from one variable. Calls are never the same,
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
	case *ast.IndexExpr:
		// hosts[i] twice: the same element while neither the container
		// nor the index changes (a variable never reassigned, or the same
		// constant).
		b, ok := b.(*ast.IndexExpr)
		if !ok || !c.sameHost(a.X, b.X) {
			return false
		}
		ta, tb := c.pass.TypesInfo.Types[a.Index], c.pass.TypesInfo.Types[b.Index]
		if ta.Value != nil && tb.Value != nil {
			return constant.Compare(ta.Value, token.EQL, tb.Value)
		}
		ia := c.unchangedVar(a.Index)
		return ia != nil && ia == c.unchangedVar(b.Index)
	}
	return false
}

// reusableView returns the expression of a compat view of rw's host that
// the fix can use instead of calling New again: a view held in a field
// beside the host's (see viewFields), or a local variable in scope at rw,
// declared once with peerstore.New of the same host and of the core
// Peerstore type. For a local, the host must be a variable that is never
// reassigned, so that both name the same host.
func (c *checker) reusableView(rw *hostRewrite) string {
	if sel, ok := ast.Unparen(rw.host).(*ast.SelectorExpr); ok {
		if s := c.pass.TypesInfo.Selections[sel]; s != nil && s.Kind() == types.FieldVal && len(s.Index()) == 1 {
			if view := c.viewFields()[s.Obj().(*types.Var)]; view != nil {
				return types.ExprString(sel.X) + "." + view.Name()
			}
		}
	}
	hostID, ok := ast.Unparen(rw.host).(*ast.Ident)
	if !ok {
		return ""
	}
	hv, ok := c.pass.TypesInfo.Uses[hostID].(*types.Var)
	if !ok || hv.Pkg() != c.pass.Pkg || hv.Parent() == c.pass.Pkg.Scope() {
		return ""
	}
	if w := c.localWrites().vars[hv]; w != nil && w.other > 0 {
		return ""
	}
	pos := rw.call.Pos()
	inner := c.pass.Pkg.Scope().Innermost(pos)
	for s := inner; s != nil && s != c.pass.Pkg.Scope(); s = s.Parent() {
		for _, name := range s.Names() {
			v, ok := s.Lookup(name).(*types.Var)
			if !ok || v.Pos() >= pos || !types.Identical(v.Type(), c.peerstore) {
				continue
			}
			if _, obj := inner.LookupParent(name, pos); obj != v {
				continue // shadowed, or not yet declared at pos
			}
			init, ok := ast.Unparen(c.singleInit(v)).(*ast.CallExpr)
			if !ok || !c.isCompatNew(init) || len(init.Args) != 1 || !c.sameHost(init.Args[0], rw.host) {
				continue
			}
			if init.Pos() <= pos && pos < init.End() {
				continue
			}
			return name
		}
	}
	return ""
}

// viewFields returns, for each unexported host field of a struct of this
// package, the unexported field of the same struct that provably holds
// peerstore.New of the same host: both fields are only ever written
// together (never addressed), the host to a variable x that is never
// reassigned and the view to peerstore.New(x), by a composite literal of
// the struct that sets both, or by two adjacent assignment statements on
// the same variable (see assignedPair). Then wherever s.host is read,
// s.view is a view of that host.
func (c *checker) viewFields() map[*types.Var]*types.Var {
	if c.views != nil {
		return c.views
	}
	c.views = make(map[*types.Var]*types.Var)
	info := c.pass.TypesInfo
	// setsOf[field] counts the literals that set field; pairs[view] the
	// host field each literal pairs it with (nil: no provable pair).
	setsOf := make(map[*types.Var]int)
	literals := make(map[*types.Var]int) // literals that set the view
	pairs := make(map[*types.Var][]*types.Var)
	for cur := range c.insp.Root().Preorder((*ast.CompositeLit)(nil)) {
		lit := cur.Node().(*ast.CompositeLit)
		st, ok := typeOfLit(info, lit).(*types.Struct)
		if !ok {
			continue
		}
		values := make(map[*types.Var]ast.Expr)
		for i, elt := range lit.Elts {
			if kv, ok := elt.(*ast.KeyValueExpr); ok {
				if id, ok := kv.Key.(*ast.Ident); ok {
					if f, ok := info.Uses[id].(*types.Var); ok {
						values[f] = kv.Value
					}
				}
			} else if i < st.NumFields() {
				values[st.Field(i)] = elt
			}
		}
		for f := range values {
			setsOf[f]++
		}
		for view, val := range values {
			call, ok := ast.Unparen(val).(*ast.CallExpr)
			if !ok || !c.isCompatNew(call) || len(call.Args) != 1 {
				continue
			}
			x := c.unchangedVar(call.Args[0])
			var host *types.Var // the first field in declaration order set to x
			for i := range st.NumFields() {
				if f := st.Field(i); f != view && x != nil && values[f] != nil && c.unchangedVar(values[f]) == x {
					host = f
					break
				}
			}
			pairs[view] = append(pairs[view], host)
			literals[view]++
		}
	}
	// Two adjacent statements `x.host = v` and `x.view = peerstore.New(v)`
	// (either order) on the same variable x, with v never reassigned, set
	// both too: nothing runs between them that could read the pair.
	for cur := range c.insp.Root().Preorder((*ast.BlockStmt)(nil), (*ast.CaseClause)(nil), (*ast.CommClause)(nil)) {
		var list []ast.Stmt
		switch n := cur.Node().(type) {
		case *ast.BlockStmt:
			list = n.List
		case *ast.CaseClause:
			list = n.Body
		case *ast.CommClause:
			list = n.Body
		}
		for i := 0; i+1 < len(list); i++ {
			if view, host := c.assignedPair(list[i], list[i+1]); view != nil {
				pairs[view] = append(pairs[view], host)
				i++ // a statement belongs to one pair
			}
		}
	}
	for view, hosts := range pairs {
		host := hosts[0]
		if host == nil || slices.Contains(hosts, nil) || slices.ContainsFunc(hosts, func(h *types.Var) bool { return h != host }) {
			continue
		}
		if view.Exported() || host.Exported() || view.Pkg() != c.pass.Pkg || !types.Identical(view.Type(), c.peerstore) ||
			c.hostIface == nil || !types.Implements(host.Type(), c.hostIface) {
			continue
		}
		// Written only by the literals counted: every write of either is one
		// of the paired ones.
		vw, hw := c.localWrites().fields[view], c.localWrites().fields[host]
		if vw == nil || hw == nil || vw.escapes || hw.escapes ||
			len(vw.values) != len(hosts) || len(hw.values) != len(hosts) || setsOf[host] != literals[view] {
			continue
		}
		c.views[host] = view
	}
	return c.views
}

// assignedPair returns the view and host fields when a and b are
// `x.host = v` and `x.view = peerstore.New(v)`, in either order, on the same
// variable x, with x and v never reassigned.
func (c *checker) assignedPair(a, b ast.Stmt) (view, host *types.Var) {
	type write struct {
		x, field *types.Var
		value    ast.Expr
	}
	parse := func(s ast.Stmt) *write {
		as, ok := s.(*ast.AssignStmt)
		if !ok || as.Tok != token.ASSIGN || len(as.Lhs) != 1 || len(as.Rhs) != 1 {
			return nil
		}
		sel, ok := ast.Unparen(as.Lhs[0]).(*ast.SelectorExpr)
		if !ok {
			return nil
		}
		sn := c.pass.TypesInfo.Selections[sel]
		x := c.unchangedVar(sel.X)
		if sn == nil || sn.Kind() != types.FieldVal || len(sn.Index()) != 1 || x == nil {
			return nil
		}
		return &write{x, sn.Obj().(*types.Var), as.Rhs[0]}
	}
	wa, wb := parse(a), parse(b)
	if wa == nil || wb == nil || wa.x != wb.x || wa.field == wb.field {
		return nil, nil
	}
	for _, w := range [][2]*write{{wa, wb}, {wb, wa}} {
		v, h := w[0], w[1]
		call, ok := ast.Unparen(v.value).(*ast.CallExpr)
		if !ok || !c.isCompatNew(call) || len(call.Args) != 1 {
			continue
		}
		if hv := c.unchangedVar(h.value); hv != nil && hv == c.unchangedVar(call.Args[0]) {
			return v.field, h.field
		}
	}
	return nil, nil
}
