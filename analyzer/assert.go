package analyzer

import (
	"fmt"
	"go/ast"
	"go/token"
	"go/types"
	"path/filepath"

	"golang.org/x/tools/go/ast/edge"
	"golang.org/x/tools/go/ast/inspector"
)

// A compat view is another value than the host's store. Code that asks a
// store for its dynamic type, with a type assertion or a type switch, may
// find the host's store's type (an application's wrapper such as
// op-node's ExtendedPeerstore) and not the view's: rewriting a store that
// reaches such code would change what it finds. These rewrites stay
// manual.

// An assertion is a type assertion, or a type switch, on a value that may
// hold a store.
type assertion struct {
	pos  token.Pos
	what string // "the type assertion to T" or "the type switch"
}

// assertions is what one walk of the package learns about them.
type assertions struct {
	// reached maps each X.Peerstore() whose value the tracer follows into
	// an assertion's operand to the first such assertion.
	reached map[*ast.CallExpr]*assertion
	// untraced is the first assertion on a store-typed value whose origin
	// is not traced: a stored view might reach it unseen.
	untraced *assertion
}

// assertionsOf walks the package once, on first use. An assertion matters
// unless a view passes it exactly when the host's store does: a
// core/peerstore interface (the view is a Peerstore, and a
// CertifiedAddrBook when the host's store is one), or an interface every
// Peerstore implements.
func (c *checker) assertionsOf() *assertions {
	if c.asserts != nil {
		return c.asserts
	}
	a := &assertions{reached: make(map[*ast.CallExpr]*assertion)}
	c.asserts = a
	info := c.pass.TypesInfo
	for cur := range c.insp.Root().Preorder((*ast.TypeAssertExpr)(nil), (*ast.TypeSwitchStmt)(nil)) {
		var x ast.Expr
		var at assertion
		switch n := cur.Node().(type) {
		case *ast.TypeAssertExpr:
			if n.Type == nil || c.viewPasses(info.TypeOf(n.Type)) {
				continue // x.(type) is handled with its switch
			}
			x = n.X
			at = assertion{n.Pos(), "the type assertion to " + types.ExprString(n.Type)}
		case *ast.TypeSwitchStmt:
			x = typeSwitchOperand(n)
			if x == nil || c.switchCasesPass(n) {
				continue
			}
			at = assertion{n.Pos(), "the type switch"}
		}
		kind, rws := c.source(x)
		switch kind {
		case hostSource, hostField, hostParam:
			for _, rw := range rws {
				if a.reached[rw.call] == nil {
					a.reached[rw.call] = &at
				}
			}
		case unknownSource:
			if a.untraced == nil && c.storeTyped(info.TypeOf(x)) {
				a.untraced = &at
			}
		}
	}
	return a
}

// typeSwitchOperand returns x of `switch x.(type)` or `switch v := x.(type)`.
func typeSwitchOperand(sw *ast.TypeSwitchStmt) ast.Expr {
	var e ast.Expr
	switch s := sw.Assign.(type) {
	case *ast.ExprStmt:
		e = s.X
	case *ast.AssignStmt:
		if len(s.Rhs) == 1 {
			e = s.Rhs[0]
		}
	}
	if ta, ok := ast.Unparen(e).(*ast.TypeAssertExpr); ok {
		return ta.X
	}
	return nil
}

// switchCasesPass reports whether every case of sw is nil or a type a view
// passes exactly when the host's store does.
func (c *checker) switchCasesPass(sw *ast.TypeSwitchStmt) bool {
	for _, stmt := range sw.Body.List {
		for _, e := range stmt.(*ast.CaseClause).List {
			if tv := c.pass.TypesInfo.Types[e]; !tv.IsNil() && !c.viewPasses(tv.Type) {
				return false
			}
		}
	}
	return true
}

// viewPasses reports whether asserting t on a compat view succeeds exactly
// when it does on the host's store.
func (c *checker) viewPasses(t types.Type) bool {
	if t == nil || c.peerstore == nil {
		return false
	}
	if named, ok := t.(*types.Named); ok && named.Obj().Pkg() != nil && named.Obj().Pkg().Path() == corePeerstorePath && types.IsInterface(t) {
		return true
	}
	iface, ok := t.Underlying().(*types.Interface)
	return ok && types.Implements(c.peerstore, iface)
}

// storeTyped reports whether a value of type t may be a store: an
// interface with methods, all of which Peerstore has.
func (c *checker) storeTyped(t types.Type) bool {
	iface, ok := t.Underlying().(*types.Interface)
	return ok && iface.NumMethods() > 0 && c.peerstore != nil && types.Implements(c.peerstore, iface)
}

// changesAssertion says why rewriting rws would change what a type
// assertion of the package finds, or returns "".
func (c *checker) changesAssertion(rws []*hostRewrite) string {
	a := c.assertionsOf()
	for _, rw := range rws {
		if at := a.reached[rw.call]; at != nil {
			return fmt.Sprintf("%s reaches %s on %s, which a compat view does not pass as the host's store does (the view is another value): peerstore.New(%s) there would change what that code finds; keep the host's store for it and take peerstore.New(%s) of compat/peerstore separately for the legacy calls, or move to the native replacement",
				types.ExprString(rw.call), at.what, c.lineOf(at.pos), types.ExprString(rw.host), types.ExprString(rw.host))
		}
	}
	if at := a.untraced; at != nil {
		for _, rw := range rws {
			if !c.receiverOnly(rw.call) {
				return fmt.Sprintf("%s on %s is on a store whose origin the analyzer cannot trace, and the view the fix would put in place of %s may reach it, where it would not pass as the host's store does: keep the host's store there and take peerstore.New(%s) of compat/peerstore separately for the legacy calls, or move to the native replacement",
					at.what, c.lineOf(at.pos), types.ExprString(rw.call), types.ExprString(rw.host))
			}
		}
	}
	return ""
}

// lineOf names the line of pos: "line 12 of file.go".
func (c *checker) lineOf(pos token.Pos) string {
	p := c.pass.Fset.Position(pos)
	return fmt.Sprintf("line %d of %s", p.Line, filepath.Base(p.Filename))
}

// receiverOnly reports whether the value of call is used only as the
// receiver of method calls: directly (X.Peerstore().M()), or through the
// local it initialises, written nowhere else. No other code sees it.
func (c *checker) receiverOnly(call *ast.CallExpr) bool {
	cur, ok := c.insp.Root().FindNode(call)
	if !ok {
		return false
	}
	for cur.ParentEdgeKind() == edge.ParenExpr_X {
		cur = cur.Parent()
	}
	if methodReceiver(c.pass.TypesInfo, cur) {
		return true
	}
	var lhs ast.Expr
	switch kind, idx := cur.ParentEdge(); kind {
	case edge.AssignStmt_Rhs:
		as := cur.Parent().Node().(*ast.AssignStmt)
		if as.Tok != token.DEFINE || len(as.Lhs) != len(as.Rhs) {
			return false
		}
		lhs = as.Lhs[idx]
	case edge.ValueSpec_Values:
		vs := cur.Parent().Node().(*ast.ValueSpec)
		if len(vs.Names) != len(vs.Values) {
			return false
		}
		lhs = vs.Names[idx]
	default:
		return false
	}
	v, ok := c.pass.TypesInfo.Defs[lhs.(*ast.Ident)].(*types.Var)
	if !ok || c.singleInit(v) == nil {
		return false
	}
	for _, use := range c.usesOf(v) {
		if !methodReceiver(c.pass.TypesInfo, use) {
			return false
		}
	}
	return true
}

// methodReceiver reports whether the expression at cur is x in a method
// call x.M(...).
func methodReceiver(info *types.Info, cur inspector.Cursor) bool {
	for cur.ParentEdgeKind() == edge.ParenExpr_X {
		cur = cur.Parent()
	}
	if cur.ParentEdgeKind() != edge.SelectorExpr_X {
		return false
	}
	sel := cur.Parent()
	s := info.Selections[sel.Node().(*ast.SelectorExpr)]
	return s != nil && s.Kind() == types.MethodVal && sel.ParentEdgeKind() == edge.CallExpr_Fun
}
