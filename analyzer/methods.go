package analyzer

import (
	"fmt"
	"go/ast"
	"go/constant"
	"go/types"
	"strings"

	"golang.org/x/tools/go/ast/edge"
)

// legacyMethod describes one method of core/peerstore that the new store
// drops.
type legacyMethod struct {
	iface    string // the core/peerstore interface that declares it
	category string
}

// legacyMethods is the legacy-only surface of DESIGN.md's table, by method
// name. RemovePeer is declared by every book and stays meaningful for the
// address book, so it is not listed.
var legacyMethods = map[string]legacyMethod{
	"GetProtocols":           {"ProtoBook", CategoryProtocols},
	"AddProtocols":           {"ProtoBook", CategoryProtocols},
	"SetProtocols":           {"ProtoBook", CategoryProtocols},
	"RemoveProtocols":        {"ProtoBook", CategoryProtocols},
	"SupportsProtocols":      {"ProtoBook", CategoryProtocols},
	"FirstSupportedProtocol": {"ProtoBook", CategoryProtocols},
	"Get":                    {"PeerMetadata", CategoryMetadata},
	"Put":                    {"PeerMetadata", CategoryMetadata},
	"RecordLatency":          {"Metrics", CategoryLatency},
	"LatencyEWMA":            {"Metrics", CategoryLatency},
	"PrivKey":                {"KeyBook", CategoryPrivKey},
	"AddPrivKey":             {"KeyBook", CategoryPrivKey},
	"PeersWithKeys":          {"KeyBook", CategoryPrivKey},
}

// whyGone says, per category, why the data leaves the peerstore and where it
// lives natively; the compat shortcut is added by the message builder.
var whyGone = map[string]string{
	CategoryProtocols: "protocols belong to the connection (identify's EvtPeerIdentificationCompleted and EvtPeerProtocolsUpdated, newstore's per-connection protocols)",
	CategoryMetadata:  "identify's EvtPeerIdentificationCompleted carries AgentVersion and ProtocolVersion, other per-peer data goes to newstore's per-peer data store",
	CategoryLatency:   "RTT belongs to the connection (measure it per connection, e.g. with p2p/protocol/ping)",
	CategoryPrivKey:   "the new store keeps public keys only, whoever creates a private key keeps it",
}

// legacyMethodOf reports whether fn is a legacy-only method of a
// core/peerstore interface, or of the concrete stores of upstream pstoremem
// and pstoreds (fromStore).
func legacyMethodOf(fn *types.Func) (m legacyMethod, fromStore, ok bool) {
	m, ok = legacyMethods[fn.Name()]
	if !ok || fn.Pkg() == nil {
		return legacyMethod{}, false, false
	}
	sig, isMethod := fn.Type().(*types.Signature)
	if !isMethod || sig.Recv() == nil {
		return legacyMethod{}, false, false
	}
	switch fn.Pkg().Path() {
	case corePeerstorePath:
		return m, false, types.IsInterface(sig.Recv().Type())
	case upstreamPstoremem, upstreamPstoreds:
		return m, true, true
	}
	return legacyMethod{}, false, false
}

// isUpstreamStore reports whether t is (a pointer to) a type of upstream
// pstoremem or pstoreds, such as the store pstoremem.NewPeerstore returns.
func isUpstreamStore(t types.Type) bool {
	if ptr, ok := t.(*types.Pointer); ok {
		t = ptr.Elem()
	}
	named, ok := t.(*types.Named)
	if !ok || named.Obj().Pkg() == nil {
		return false
	}
	path := named.Obj().Pkg().Path()
	return path == upstreamPstoremem || path == upstreamPstoreds
}

// checkMethods reports calls, method values and method expressions of the
// legacy-only methods, whatever the receiver.
func (c *checker) checkMethods() {
	info := c.pass.TypesInfo
	for cur := range c.insp.Root().Preorder((*ast.SelectorExpr)(nil)) {
		sel := cur.Node().(*ast.SelectorExpr)
		selection := info.Selections[sel]
		if selection == nil {
			continue // a qualified identifier or a field
		}
		fn, ok := selection.Obj().(*types.Func)
		if !ok {
			continue
		}
		m, fromStore, ok := legacyMethodOf(fn)
		if !ok {
			continue
		}
		fromStore = fromStore || isUpstreamStore(selection.Recv())
		var call *ast.CallExpr
		if cur.ParentEdgeKind() == edge.CallExpr_Fun {
			call = cur.Parent().Node().(*ast.CallExpr)
		}

		f := finding{
			pos:      sel.Sel.Pos(),
			end:      sel.Sel.End(),
			category: m.category,
		}
		what := fmt.Sprintf("%s.%s is going away", m.iface, fn.Name())
		if key := metadataKey(info, m, call); key != "" {
			what = fmt.Sprintf("%s.%s(%q) is going away", m.iface, fn.Name(), key)
		}

		var manual, fix string
		switch {
		case selection.Kind() == types.MethodExpr:
			manual = "a method expression has no receiver to rewrite: call it on peerstore.New(h) of compat/peerstore, or move to the native replacement"
		case fromStore && c.swapBlocked:
			manual = "the store comes from upstream pstoremem/pstoreds, and the import swap that would keep this call working is held back: compat lacks names this package uses (see the import finding)"
		case fromStore:
			if len(c.swaps) == 0 {
				manual = "it is called on an upstream pstoremem/pstoreds store created in another package, where swapping the import for compat/pstoremem or compat/pstoreds keeps it working"
				break
			}
			f.edits = c.swaps
			fix = "import compat/pstoremem and compat/pstoreds instead of upstream's, whose stores keep the legacy API"
		case len(selection.Index()) > 1:
			// Promoted through an embedded field: sel.X holds the store, it is not one.
			manual = "the method is promoted from an embedded peerstore: fill the embedded field with peerstore.New(h) of compat/peerstore, or move to the native replacement"
		default:
			kind, rws := c.source(sel.X)
			if why := c.changesAssertion(rws); why != "" {
				manual = why
				break
			}
			switch kind {
			case compatSource:
				continue // already the compat shortcut
			case hostSource:
				if manual = c.privKeyManual(fn.Name(), call, rws[0]); manual == "" {
					f.rewrites = rws
					fix = fmt.Sprintf("rewrite to peerstore.New(%s) of compat/peerstore, which keeps it working", types.ExprString(rws[0].host))
					if view := c.reusableView(rws[0]); view != "" {
						fix = c.reuseMessage(view, rws[0]) + ", which keeps it working"
					}
				}
			case hostField:
				f.rewrites = rws
				fix = "where the field it is called on is filled, rewrite h.Peerstore() to peerstore.New(h) of compat/peerstore, which keeps it working"
			case hostParam:
				f.rewrites = rws
				fix = fmt.Sprintf("every call of %s in the package passes the host's store: rewrite h.Peerstore() to peerstore.New(h) of compat/peerstore there, which keeps it working", c.paramFunc(sel.X))
			default:
				manual = c.untraced(sel.X)
			}
		}
		if manual != "" && m.category == CategoryPrivKey {
			if advice, edits := c.ownKey(fn.Name(), call); edits != nil {
				manual = ""
				f.edits = edits
				f.fixMessage = "Use the private key added before instead of reading it back"
				fix = advice
				if fn.Name() == "PrivKey" {
					fix += ": use it instead of reading it back (and pass libp2p.Identity of it where the host is built)"
				}
			} else if advice != "" {
				manual += "; " + advice
			}
		}
		if manual != "" {
			f.message = fmt.Sprintf("%s: %s; not rewritten: %s", what, whyGone[m.category], manual)
		} else {
			f.message = fmt.Sprintf("%s: %s; fix: %s", what, whyGone[m.category], fix)
		}
		c.findings = append(c.findings, f)
	}
}

// privKeyManual returns why a private-key method on h.Peerstore() cannot be
// rewritten, or "" when it can: compat serves the host's own key only.
func (c *checker) privKeyManual(method string, call *ast.CallExpr, rw *hostRewrite) string {
	switch method {
	case "PrivKey", "AddPrivKey":
	case "PeersWithKeys":
		return "no store lists private keys any more: keep track of the keys you own yourself"
	default:
		return ""
	}
	if call == nil || len(call.Args) == 0 {
		return "a method value may be called with any peer: call it with h.ID() on peerstore.New(h) of compat/peerstore, which serves the host's own key only"
	}
	if !c.isHostID(call.Args[0], rw.host) {
		return "the key is not provably the host's own (the peer is not " + types.ExprString(rw.host) + ".ID()): keep a private key where it is created; compat serves the host's own key only"
	}
	return ""
}

// isHostID reports whether e is host.ID() for the same host.
func (c *checker) isHostID(e ast.Expr, host ast.Expr) bool {
	call, ok := ast.Unparen(e).(*ast.CallExpr)
	if !ok || len(call.Args) != 0 {
		return false
	}
	sel, ok := ast.Unparen(call.Fun).(*ast.SelectorExpr)
	if !ok || sel.Sel.Name != "ID" {
		return false
	}
	selection := c.pass.TypesInfo.Selections[sel]
	if selection == nil || selection.Kind() != types.MethodVal || c.hostIface == nil ||
		!types.Implements(selection.Recv(), c.hostIface) {
		return false
	}
	return c.sameHost(sel.X, host)
}

// metadataKey returns the constant key of a PeerMetadata call, to name
// "AgentVersion" and friends in the message.
func metadataKey(info *types.Info, m legacyMethod, call *ast.CallExpr) string {
	if m.category != CategoryMetadata || call == nil || len(call.Args) < 2 {
		return ""
	}
	tv := info.Types[call.Args[1]]
	if tv.Value == nil || tv.Value.Kind() != constant.String {
		return ""
	}
	return constant.StringVal(tv.Value)
}

// reuseMessage says which view the fix uses instead of calling New again.
func (c *checker) reuseMessage(view string, rw *hostRewrite) string {
	host := types.ExprString(rw.host)
	if strings.Contains(view, ".") {
		return fmt.Sprintf("use %s, the field that holds the compat/peerstore view of %s (the two are only ever set together)", view, host)
	}
	return fmt.Sprintf("use %s, the compat/peerstore view of %s already in scope", view, host)
}
