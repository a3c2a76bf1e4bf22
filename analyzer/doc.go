// Package analyzer defines an analysis.Analyzer that finds every use of the
// legacy-only part of go-libp2p's Peerstore (go-libp2p issue #2355) and
// rewrites what can be rewritten without changing behaviour.
//
// # Analyzer pstoremigrate
//
// pstoremigrate: find and fix uses of the legacy go-libp2p Peerstore
//
// The checks, one file each:
//
//   - methods.go: calls and method values of ProtoBook, PeerMetadata,
//     Metrics and the private-key half of KeyBook, on any value of a
//     core/peerstore type however it was obtained (categories "protocols",
//     "metadata", "latency", "privkey").
//   - peerstorevalue.go: h.Peerstore() passed, assigned, returned or
//     stored where a legacy-only interface is needed ("peerstore-value");
//     the Peerstore() of an owner that is not a host (a bare network, say)
//     is reported too, without a fix. When the destination is a parameter
//     or field used only for kept methods, the message says that its type,
//     not its use, needs the legacy interface, and that narrowing the type
//     is the other way out (narrow.go). Within the package this is seen
//     directly (unexported fields; parameters, also through helpers they
//     are passed on to); across packages the analyzer exports facts
//     (keptOnlyParams on exported functions and methods, keptOnlyField on
//     exported struct fields of a store interface type), so drivers run it
//     on dependencies too. A field's fact holds only if the package of the
//     finding also uses the field for kept methods only.
//   - imports.go: imports of upstream pstoremem and pstoreds ("import").
//
// Everything the new store keeps (addresses, certified records, public
// keys) is never reported.
//
// # Fixes
//
// Where the value comes from X.Peerstore() or X.Network().Peerstore() on a
// host.Host, the fix rewrites that expression to peerstore.New(X) of package
// github.com/pstoremigrate/pstoremigrate/compat/peerstore, at the place the
// value comes from: the chain, or the declaration of a local variable
// assigned exactly once, or every place an unexported field of the package
// is filled when it is only ever filled that way (or with compat), or every
// call site of an unexported, non-generic function whose parameter it is,
// when the function is only ever called directly and every call passes such
// a value (params.go). New returns the core interface type, so no
// expression changes type. When a local declared once with peerstore.New of
// the same, never reassigned host variable is in scope, the fix uses it
// instead; so it does with a view held in an unexported field beside the
// unexported host field it reads (x.host.Peerstore() becomes x.view) when
// both fields are only ever written together, the host to a variable x
// never reassigned and the view to peerstore.New(x): by a composite literal
// of their struct that sets both, or by two adjacent assignment statements
// on the same variable. When the rewritten expression is not on the reported line, the
// diagnostic's Related information points at it.
//
// PrivKey(self) read back, in the function that added it, after
// `if err := S.AddPrivKey(self, sk); err != nil { return ... }` on the same
// store is rewritten to sk (ownkey.go). The AddPrivKey statement is
// removed too, by the fixes of both findings, when the flow is local to
// the function: the store is a variable of the function written once with
// pstoremem.NewPeerstore, used otherwise only for kept methods and as
// libp2p.Peerstore(S) beside libp2p.Identity(the read) in libp2p.New (which
// adds the key itself), self is peer.IDFromPrivateKey(sk), and both stay
// used; otherwise the AddPrivKey finding says why it stays (a parameter,
// passed on, self not derived from sk, ...). Other private-key findings
// say to keep the key and pass libp2p.Identity.
//
// The import is added under one name for the whole package: a name another
// file already imports compat/peerstore under, else "peerstore" when that
// name is free in every file that needs the import, otherwise
// "compatpeerstore" (then "compatpeerstore2", ...), checking the files, the
// package and every rewritten position for clashes; an existing import of
// compat/peerstore is reused where its name is not shadowed. It goes in sorted position in the third-party group. Import
// swaps of upstream pstoremem and pstoreds replace the path in place (also
// the fix of calls on those stores); drivers that format the result (go
// fix, the checker's -fix) then sort the block.
//
// Fixed code is a fixed point: a value that comes from the compat package's
// New, through the same chains, locals and fields, is the compat shortcut
// and is not reported, so a second run neither reports nor changes it.
//
// No fix is offered, and the message says what to do by hand, when:
//   - the receiver is not traceable to X.Peerstore() of a host (a parameter
//     of an exported function or of one used as a value, an exported or
//     address-taken field, an embedded field or interface, a variable
//     assigned more than once, a method expression): the message names the
//     value, where it is declared and why it is not traced (for an exported
//     field: code outside the package, such as uber-go/fx, fills it; the
//     store is then constructed with compat/pstoremem or compat/pstoreds
//     where it is provided);
//   - PrivKey or AddPrivKey is called on X.Peerstore() (or a local holding
//     it) with a peer other than the host's own X.ID(), a method value of
//     them is taken, or PeersWithKeys is called: the new store keeps no
//     private keys, the owner of a key keeps it;
//   - a method is called on an upstream pstoremem or pstoreds store created
//     in another package: the import swap there moves it to compat, whose
//     stores keep the legacy API on purpose and are not reported.
//   - the host's store the fix would replace also reaches, through the
//     same locals, fields and parameters, a type assertion or type switch
//     of the package to a type that a compat view does not pass exactly as
//     the host's store does (an application's wrapper such as op-node's
//     ExtendedPeerstore; core/peerstore interfaces, and interfaces every
//     Peerstore implements, are passed alike): the view is another value,
//     and the rewrite would change what that code finds (assert.go). An
//     assertion on a store whose origin is not traced holds back every
//     rewrite whose view would be stored rather than used only as the
//     receiver of method calls. An assertion on an untraced value of an
//     empty interface type (any) is not considered: a store that reaches
//     one through any in the same package is not seen.
//
// Packages under github.com/pstoremigrate/pstoremigrate/compat/ and
// github.com/libp2p/go-libp2p/p2p/host/peerstore implement the legacy API on
// purpose and are not checked, and neither is a host's own Peerstore method
// returning the store it wraps. A package that does not depend on
// github.com/libp2p/go-libp2p/core/peerstore costs one walk of its import
// graph.
//
// # MIGRATION.md anchors
//
// Each diagnostic's URL is
// https://github.com/pstoremigrate/pstoremigrate/blob/main/MIGRATION.md#<anchor>
// with these anchors (MIGRATION.md must have a section for each):
//
//	category          anchor
//	protocols         #protocols
//	metadata          #metadata
//	latency           #latency
//	privkey           #private-keys
//	peerstore-value   #passing-the-peerstore
//	import            #pstoremem-and-pstoreds
package analyzer
