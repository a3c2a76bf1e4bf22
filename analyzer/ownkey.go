package analyzer

import (
	"fmt"
	"go/ast"
	"go/token"
	"go/types"

	"golang.org/x/tools/go/analysis"
	"golang.org/x/tools/go/ast/edge"
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
// rewritten, the advice to add to the message, and for PrivKey(self) read
// back in the function that added it the edit that replaces the call by
// the key.
func (c *checker) ownKey(method string, call *ast.CallExpr) (advice string, edit *analysis.TextEdit) {
	if call == nil {
		return "", nil
	}
	switch method {
	case "AddPrivKey":
		if len(call.Args) != 2 {
			return "", nil
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
	return fmt.Sprintf("the key read back is %s, added with AddPrivKey on line %d", sk.Name, line),
		&analysis.TextEdit{Pos: call.Pos(), End: call.End(), NewText: []byte(sk.Name)}
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
	store, self := c.unchangedVar(getSel.X), c.unchangedVar(get.Args[0])
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
			if c.unchangedVar(addSel.X) != store || c.unchangedVar(add.Args[0]) != self {
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
	id, ok := ast.Unparen(e).(*ast.Ident)
	if !ok {
		return nil
	}
	v, ok := c.pass.TypesInfo.Uses[id].(*types.Var)
	if !ok || v.IsField() || v.Pkg() != c.pass.Pkg || v.Parent() == c.pass.Pkg.Scope() {
		return nil
	}
	if w := c.localWrites().vars[v]; w != nil && w.other > 0 {
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
