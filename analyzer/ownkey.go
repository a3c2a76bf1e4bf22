package analyzer

import (
	"fmt"
	"go/ast"
	"go/token"
	"go/types"

	"golang.org/x/tools/go/analysis"
	"golang.org/x/tools/go/ast/edge"
	"golang.org/x/tools/go/ast/inspector"
	"golang.org/x/tools/go/types/typeutil"
)

// ownKey handles the private key a program adds to a store only to read it
// back, typically to build the host's identity before the host exists:
//
//	if err := ps.AddPrivKey(self, sk); err != nil { return err }
//	...
//	h, err := libp2p.New(libp2p.Identity(ps.PrivKey(self)), libp2p.Peerstore(ps))
//
// The new store keeps no private keys; the program keeps sk and passes
// libp2p.Identity(sk) (libp2p.New adds it to the store it is given).
//
// ownKey returns, for a PrivKey or AddPrivKey call that is not otherwise
// rewritten, the advice to add to the message and, for PrivKey(self) read
// back in the function that added it, the edits of the fix: the read
// becomes the key, and the AddPrivKey statement goes too when nothing
// else can read the store's private key (see removableAdd). The
// AddPrivKey finding then carries the same edits, so that either fix
// makes the whole change.
func (c *checker) ownKey(method string, call *ast.CallExpr) (advice string, edits []analysis.TextEdit) {
	if call == nil {
		return "", nil
	}
	switch method {
	case "AddPrivKey":
		if len(call.Args) != 2 {
			return "", nil
		}
		if k := c.ownKeys()[call]; k != nil {
			get := c.pass.Fset.Position(k.get.Pos()).Line
			if k.kept != "" {
				return fmt.Sprintf("the key is read back on line %d, which the fix replaces by %s; this call stays because %s", get, k.sk.Name, k.kept), nil
			}
			return fmt.Sprintf("nothing else reads %s's private keys: %s; remove the call, and use %s instead of reading it back on line %d",
				types.ExprString(ast.Unparen(call.Fun).(*ast.SelectorExpr).X), k.why, k.sk.Name, get), k.edits()
		}
		sk := types.ExprString(call.Args[1])
		return fmt.Sprintf("if %s is the key of the host being built, keep %s and pass libp2p.Identity(%s) to libp2p.New (which adds it to the store given with libp2p.Peerstore) instead of adding it here", sk, sk, sk), nil
	case "PrivKey":
		if len(call.Args) != 1 {
			return "", nil
		}
	default:
		return "", nil
	}
	add, sk := c.addedBefore(call)
	if add == nil {
		return "if it is the host's own key, keep the key where it is created and pass it to libp2p.Identity instead of reading it back", nil
	}
	line := c.pass.Fset.Position(add.Pos()).Line
	if sk == nil {
		return fmt.Sprintf("the key read back is %s, added with AddPrivKey on line %d: keep it and pass libp2p.Identity(%s) instead of reading it back", types.ExprString(add.Args[1]), line, types.ExprString(add.Args[1])), nil
	}
	k := c.ownKeys()[add]
	if k == nil || k.get != call {
		return fmt.Sprintf("the key read back is %s, added with AddPrivKey on line %d", sk.Name, line),
			[]analysis.TextEdit{{Pos: call.Pos(), End: call.End(), NewText: []byte(sk.Name)}}
	}
	if k.kept != "" {
		return fmt.Sprintf("the key read back is %s, added with AddPrivKey on line %d (which stays: %s)", sk.Name, line, k.kept), k.edits()[:1]
	}
	return fmt.Sprintf("the key read back is %s, added with AddPrivKey on line %d, which the fix removes (%s)", sk.Name, line, k.why), k.edits()
}

// An ownKeyRead is a PrivKey(self) read back after a checked
// AddPrivKey(self, sk) in one function, replaceable by sk.
type ownKeyRead struct {
	get *ast.CallExpr
	sk  *ast.Ident
	// why says why the AddPrivKey statement can go; kept says why it
	// stays (one of them is set).
	why, kept string
	remove    analysis.TextEdit // deletes the lines of the if statement around AddPrivKey, when why is set
}

// edits is the fix: the read becomes sk, and the add goes if it can.
func (k *ownKeyRead) edits() []analysis.TextEdit {
	e := []analysis.TextEdit{{Pos: k.get.Pos(), End: k.get.End(), NewText: []byte(k.sk.Name)}}
	if k.kept == "" {
		e = append(e, k.remove)
	}
	return e
}

// ownKeys finds, once per package, every PrivKey(self) read that
// addedBefore can replace by its key, keyed by its AddPrivKey call. When
// several reads follow one add, the add stays (each fix replaces one).
func (c *checker) ownKeys() map[*ast.CallExpr]*ownKeyRead {
	if c.ownKeyReads != nil {
		return c.ownKeyReads
	}
	c.ownKeyReads = make(map[*ast.CallExpr]*ownKeyRead)
	for cur := range c.insp.Root().Preorder((*ast.CallExpr)(nil)) {
		get := cur.Node().(*ast.CallExpr)
		sel, ok := ast.Unparen(get.Fun).(*ast.SelectorExpr)
		if !ok || sel.Sel.Name != "PrivKey" || len(get.Args) != 1 {
			continue
		}
		fn, ok := c.pass.TypesInfo.Uses[sel.Sel].(*types.Func)
		if !ok || !c.isLegacyMethod(fn) {
			continue
		}
		add, sk := c.addedBefore(get)
		if add == nil || sk == nil {
			continue
		}
		if prev := c.ownKeyReads[add]; prev != nil {
			prev.why, prev.kept = "", fmt.Sprintf("the key is read back more than once (also on line %d)", c.pass.Fset.Position(get.Pos()).Line)
			continue
		}
		k := &ownKeyRead{get: get, sk: sk}
		k.why, k.kept = c.removableAdd(add, get, sk, k)
		c.ownKeyReads[add] = k
	}
	return c.ownKeyReads
}

// removableAdd says why the statement of add (AddPrivKey(self, sk) on store
// S, read back by get) can be deleted, or why it must stay. It can go
// when the flow of the store and of the key is local to the function:
//   - S is a local variable of the function, written once, with
//     NewPeerstore of pstoremem (upstream or compat), so no other code
//     holds the store;
//   - every use of S is a call of a method the new store keeps, add, get,
//     or libp2p.Peerstore(S) passed to a libp2p.New call that also gets
//     libp2p.Identity(get) (libp2p.New adds that key to the store itself),
//     so nothing else reads its private keys;
//   - self is peer.IDFromPrivateKey(sk), so the check AddPrivKey makes
//     (that sk is self's key) cannot fail, and the in-memory store cannot
//     fail otherwise.
func (c *checker) removableAdd(add, get *ast.CallExpr, sk *ast.Ident, k *ownKeyRead) (why, kept string) {
	info := c.pass.TypesInfo
	addSel := ast.Unparen(add.Fun).(*ast.SelectorExpr)
	store := c.unchangedVarOrAssignedOnce(addSel.X)
	name := types.ExprString(addSel.X)
	if store == nil {
		return "", fmt.Sprintf("%s is not a variable of this function, so other code may hold the store and read the key from it", name)
	}
	if c.paramsOf().vars[store] != nil {
		return "", fmt.Sprintf("%s is a parameter, so its callers hold the store and may read the key from it", name)
	}
	ctor := c.storeCtor(store)
	if ctor == "" {
		return "", fmt.Sprintf("%s is not created here by pstoremem.NewPeerstore, so other code may hold the store and read the key from it", name)
	}
	addCur, ok := c.insp.Root().FindNode(add)
	if !ok {
		return "", "the call could not be located"
	}
	others := 0 // uses that stay after the fix: the variable must stay used
	for _, use := range c.usesOf(store) {
		line := c.pass.Fset.Position(use.Node().Pos()).Line
		switch use.ParentEdgeKind() {
		case edge.AssignStmt_Lhs, edge.ValueSpec_Names:
			continue // its one write, checked by storeCtor
		case edge.SelectorExpr_X:
			if use.Parent().ParentEdgeKind() != edge.CallExpr_Fun {
				return "", fmt.Sprintf("%s's method is used as a value on line %d", name, line)
			}
			call := use.Parent().Parent().Node().(*ast.CallExpr)
			if call == add || call == get {
				continue
			}
			others++
			s := info.Selections[use.Parent().Node().(*ast.SelectorExpr)]
			if fn, ok := s.Obj().(*types.Func); ok && s.Kind() == types.MethodVal && !c.isLegacyMethod(fn) {
				continue
			}
			return "", fmt.Sprintf("%s is also used for %s on line %d", name, use.Parent().Node().(*ast.SelectorExpr).Sel.Name, line)
		case edge.CallExpr_Args:
			if c.peerstoreOptionWithIdentity(use, get) {
				others++
				continue
			}
		}
		return "", fmt.Sprintf("%s is used on line %d in a way the fix does not follow (passed on, stored or returned), and that code may read the key", name, line)
	}
	if others == 0 {
		return "", fmt.Sprintf("without it and the read, %s would be declared and not used", name)
	}
	if selfVar := c.unchangedVar(add.Args[0]); selfVar != nil {
		uses := 0
		for cur := range c.insp.Root().Preorder((*ast.Ident)(nil)) {
			id := cur.Node().(*ast.Ident)
			if info.Uses[id] == selfVar && !(add.Pos() <= id.Pos() && id.End() <= add.End()) && !(get.Pos() <= id.Pos() && id.End() <= get.End()) {
				uses++
			}
		}
		if uses == 0 {
			return "", fmt.Sprintf("without it and the read, %s would be declared and not used", types.ExprString(add.Args[0]))
		}
	}
	if !c.idOf(add.Args[0], sk) {
		return "", fmt.Sprintf("AddPrivKey also checks that %s is the key of %s, and %s is not peer.IDFromPrivateKey(%s)", sk.Name, types.ExprString(add.Args[0]), types.ExprString(add.Args[0]), sk.Name)
	}
	// Delete the if statement's lines.
	stmt, ok := addCur.Parent().Parent().Node().(*ast.IfStmt) // call <- assign <- if
	if !ok {
		return "", "the call is not the statement's only expression"
	}
	tok := c.pass.Fset.File(stmt.Pos())
	first, last := tok.Line(stmt.Pos()), tok.Line(stmt.End())
	end := token.Pos(tok.Base() + tok.Size())
	if last < tok.LineCount() {
		end = tok.LineStart(last + 1)
	}
	k.remove = analysis.TextEdit{Pos: tok.LineStart(first), End: end}
	return fmt.Sprintf("%s is created here by %s and only used for kept methods and by libp2p.New, which adds the key given with libp2p.Identity itself", name, ctor), ""
}

// unchangedVarOrAssignedOnce returns the local variable e names when it is
// written once: declared with its value, or declared without one and
// assigned once.
func (c *checker) unchangedVarOrAssignedOnce(e ast.Expr) *types.Var {
	if v := c.unchangedVar(e); v != nil {
		return v
	}
	v := c.localVar(e)
	if v == nil {
		return nil
	}
	if w := c.localWrites().vars[v]; w == nil || w.other != 1 || w.init != nil {
		return nil
	}
	return v
}

// storeCtor returns "pstoremem.NewPeerstore" when the one write of v is
// a direct call of it (upstream's or compat's), and "" otherwise. Such a
// store is new, held by no other code, and keeps keys in memory.
func (c *checker) storeCtor(v *types.Var) string {
	var value ast.Expr
	var writes int
	for cur := range c.insp.Root().Preorder((*ast.AssignStmt)(nil), (*ast.ValueSpec)(nil)) {
		switch n := cur.Node().(type) {
		case *ast.AssignStmt:
			for i, lhs := range n.Lhs {
				id, ok := lhs.(*ast.Ident)
				if !ok || c.pass.TypesInfo.ObjectOf(id) != v {
					continue
				}
				writes++
				switch {
				case len(n.Lhs) == len(n.Rhs):
					value = n.Rhs[i]
				case len(n.Rhs) == 1 && i == 0:
					value = n.Rhs[0]
				}
			}
		case *ast.ValueSpec:
			for i, id := range n.Names {
				if c.pass.TypesInfo.Defs[id] != v {
					continue
				}
				if len(n.Values) > 0 {
					writes++
					if len(n.Values) == len(n.Names) {
						value = n.Values[i]
					} else if i == 0 {
						value = n.Values[0]
					}
				}
			}
		}
	}
	call, ok := ast.Unparen(value).(*ast.CallExpr)
	if writes != 1 || !ok {
		return ""
	}
	fn, ok := typeutil.Callee(c.pass.TypesInfo, call).(*types.Func)
	if !ok || fn.Name() != "NewPeerstore" || fn.Pkg() == nil {
		return ""
	}
	if p := fn.Pkg().Path(); p != upstreamPstoremem && p != compatPstoremem {
		return ""
	}
	return "pstoremem.NewPeerstore"
}

// peerstoreOptionWithIdentity reports whether the store at use is the
// argument of libp2p.Peerstore(S), itself an argument of a libp2p.New call
// that also gets libp2p.Identity(get).
func (c *checker) peerstoreOptionWithIdentity(use inspector.Cursor, get *ast.CallExpr) bool {
	opt := use.Parent().Node().(*ast.CallExpr)
	if !c.isLibp2pFunc(opt, "Peerstore") || len(opt.Args) != 1 || use.Parent().ParentEdgeKind() != edge.CallExpr_Args {
		return false
	}
	newCall := use.Parent().Parent().Node().(*ast.CallExpr)
	if !c.isLibp2pFunc(newCall, "New") {
		return false
	}
	for _, arg := range newCall.Args {
		if id, ok := ast.Unparen(arg).(*ast.CallExpr); ok && c.isLibp2pFunc(id, "Identity") && len(id.Args) == 1 && ast.Unparen(id.Args[0]) == get {
			return true
		}
	}
	return false
}

// isLibp2pFunc reports whether call calls the function name of package
// github.com/libp2p/go-libp2p.
func (c *checker) isLibp2pFunc(call *ast.CallExpr, name string) bool {
	fn, ok := typeutil.Callee(c.pass.TypesInfo, call).(*types.Func)
	return ok && fn.Name() == name && fn.Pkg() != nil && fn.Pkg().Path() == "github.com/libp2p/go-libp2p" &&
		fn.Type().(*types.Signature).Recv() == nil
}

// idOf reports whether e is a variable declared as the ID of sk:
// `self, err := peer.IDFromPrivateKey(sk)` (or with a single result).
func (c *checker) idOf(e ast.Expr, sk *ast.Ident) bool {
	v := c.unchangedVar(e)
	skVar := c.pass.TypesInfo.Uses[sk]
	if v == nil || skVar == nil {
		return false
	}
	for cur := range c.insp.Root().Preorder((*ast.AssignStmt)(nil)) {
		n := cur.Node().(*ast.AssignStmt)
		if n.Tok != token.DEFINE || len(n.Rhs) != 1 || len(n.Lhs) == 0 {
			continue
		}
		if id, ok := n.Lhs[0].(*ast.Ident); !ok || c.pass.TypesInfo.Defs[id] != v {
			continue
		}
		call, ok := ast.Unparen(n.Rhs[0]).(*ast.CallExpr)
		if !ok || len(call.Args) != 1 {
			return false
		}
		fn, ok := typeutil.Callee(c.pass.TypesInfo, call).(*types.Func)
		arg, isID := ast.Unparen(call.Args[0]).(*ast.Ident)
		return ok && fn.Name() == "IDFromPrivateKey" && fn.Pkg() != nil && fn.Pkg().Path() == "github.com/libp2p/go-libp2p/core/peer" &&
			isID && c.pass.TypesInfo.Uses[arg] == skVar
	}
	return false
}

// addedBefore finds, in the function around the PrivKey(self) call get,
// the statement `if err := S.AddPrivKey(self, sk); err != nil { return ... }`
// on the same store S and peer self, that runs before get on every path
// (it is in a block that encloses get, before it). It returns that
// AddPrivKey call, and sk when replacing get by sk keeps behaviour: sk is
// a variable visible at get and never reassigned, self and the store are
// variables never reassigned, and between the two the store is used only
// for methods the new store keeps.
func (c *checker) addedBefore(get *ast.CallExpr) (*ast.CallExpr, *ast.Ident) {
	getCur, ok := c.insp.Root().FindNode(get)
	if !ok {
		return nil, nil
	}
	getSel, ok := ast.Unparen(get.Fun).(*ast.SelectorExpr)
	if !ok {
		return nil, nil
	}
	// A store variable declared without a value may be assigned once: it
	// holds no other store, and a write between the add and the read is a
	// use onlyKeptUses rejects.
	store, self := c.unchangedVarOrAssignedOnce(getSel.X), c.unchangedVar(get.Args[0])
	if store == nil || self == nil {
		return nil, nil
	}
	info := c.pass.TypesInfo
	for blockCur := range getCur.Enclosing((*ast.BlockStmt)(nil)) {
		block := blockCur.Node().(*ast.BlockStmt)
		for _, stmt := range block.List {
			if stmt.End() > get.Pos() {
				break
			}
			add := checkedAddPrivKey(stmt)
			if add == nil {
				continue
			}
			addSel := ast.Unparen(add.Fun).(*ast.SelectorExpr)
			fn, ok := info.Uses[addSel.Sel].(*types.Func)
			if !ok || fn.Name() != "AddPrivKey" {
				continue
			}
			if _, _, legacy := legacyMethodOf(fn); !legacy && !c.isLegacyMethod(fn) {
				continue
			}
			if c.unchangedVarOrAssignedOnce(addSel.X) != store || c.unchangedVar(add.Args[0]) != self {
				continue
			}
			if !c.onlyKeptUses(store, stmt.End(), get.Pos()) {
				return add, nil
			}
			sk, ok := ast.Unparen(add.Args[1]).(*ast.Ident)
			if !ok {
				return add, nil
			}
			skVar := c.unchangedVar(sk)
			if skVar == nil {
				return add, nil
			}
			if _, obj := c.pass.Pkg.Scope().Innermost(get.Pos()).LookupParent(sk.Name, get.Pos()); obj != skVar {
				return add, nil
			}
			if !types.AssignableTo(skVar.Type(), info.TypeOf(get)) {
				return add, nil
			}
			return add, sk
		}
		if k := blockCur.ParentEdgeKind(); k == edge.FuncDecl_Body || k == edge.FuncLit_Body {
			break
		}
	}
	return nil, nil
}

// checkedAddPrivKey returns the call of `if err := X.AddPrivKey(a, b); err
// != nil { ...; return ... }` (no else): after it, the key is in the store.
func checkedAddPrivKey(stmt ast.Stmt) *ast.CallExpr {
	ifs, ok := stmt.(*ast.IfStmt)
	if !ok || ifs.Else != nil || ifs.Init == nil || len(ifs.Body.List) == 0 {
		return nil
	}
	if _, ok := ifs.Body.List[len(ifs.Body.List)-1].(*ast.ReturnStmt); !ok {
		return nil
	}
	assign, ok := ifs.Init.(*ast.AssignStmt)
	if !ok || len(assign.Lhs) != 1 || len(assign.Rhs) != 1 {
		return nil
	}
	errID, ok := assign.Lhs[0].(*ast.Ident)
	if !ok {
		return nil
	}
	cond, ok := ifs.Cond.(*ast.BinaryExpr)
	if !ok || cond.Op != token.NEQ {
		return nil
	}
	if x, ok := cond.X.(*ast.Ident); !ok || x.Name != errID.Name {
		return nil
	}
	if y, ok := cond.Y.(*ast.Ident); !ok || y.Name != "nil" {
		return nil
	}
	call, ok := ast.Unparen(assign.Rhs[0]).(*ast.CallExpr)
	if !ok || len(call.Args) != 2 {
		return nil
	}
	if sel, ok := ast.Unparen(call.Fun).(*ast.SelectorExpr); !ok || sel.Sel.Name != "AddPrivKey" {
		return nil
	}
	return call
}

// unchangedVar returns the variable e names if it is a local or parameter
// of this package that is never assigned after its declaration.
func (c *checker) unchangedVar(e ast.Expr) *types.Var {
	v := c.localVar(e)
	if v == nil {
		return nil
	}
	if w := c.localWrites().vars[v]; w != nil && w.other > 0 {
		return nil
	}
	return v
}

// localVar returns the variable e names if it is a local or parameter of
// this package (not a field, not a package-level variable).
func (c *checker) localVar(e ast.Expr) *types.Var {
	id, ok := ast.Unparen(e).(*ast.Ident)
	if !ok {
		return nil
	}
	v, ok := c.pass.TypesInfo.Uses[id].(*types.Var)
	if !ok || v.IsField() || v.Pkg() != c.pass.Pkg || v.Parent() == c.pass.Pkg.Scope() {
		return nil
	}
	return v
}

// onlyKeptUses reports whether, between from and to, v is used only as the
// receiver of calls of methods the new store keeps (or of PrivKey).
func (c *checker) onlyKeptUses(v *types.Var, from, to token.Pos) bool {
	info := c.pass.TypesInfo
	for cur := range c.insp.Root().Preorder((*ast.Ident)(nil)) {
		id := cur.Node().(*ast.Ident)
		if id.Pos() < from || id.Pos() >= to || info.Uses[id] != v {
			continue
		}
		if cur.ParentEdgeKind() != edge.SelectorExpr_X || cur.Parent().ParentEdgeKind() != edge.CallExpr_Fun {
			return false
		}
		s := info.Selections[cur.Parent().Node().(*ast.SelectorExpr)]
		if s == nil || s.Kind() != types.MethodVal {
			return false
		}
		if fn, ok := s.Obj().(*types.Func); !ok || c.isLegacyMethod(fn) && fn.Name() != "PrivKey" {
			return false
		}
	}
	return true
}
