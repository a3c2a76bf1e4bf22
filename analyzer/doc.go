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
//     stored where a legacy-only interface is needed ("peerstore-value").
//   - imports.go: imports of upstream pstoremem and pstoreds ("import").
//
// Everything the new store keeps (addresses, certified records, public
// keys) is never reported.
//
// # Fixes
//
// Where the value comes from X.Peerstore() on a host.Host (directly, or
// through a local variable assigned exactly once), the fix rewrites that
// expression to peerstore.New(X) of package
// github.com/pstoremigrate/pstoremigrate/compat/peerstore. New returns the
// core interface type, so no expression changes type. The import is added
// under "peerstore" when that name is free in the file, otherwise under
// "compatpeerstore" (then "compatpeerstore2", ...), checking the file,
// package and every rewritten position for clashes. Import swaps replace the
// path in place; drivers that format the result (go fix, the checker's
// -fix) then sort the import block.
//
// Fixed code is a fixed point: calls on a value that comes from the compat
// package's New (directly, through a local, or through an unexported field
// that only ever holds it) are the compat shortcut and are not reported, so
// a second run neither reports nor changes them. A call through an
// unexported field that only ever holds h.Peerstore() is reported without a
// fix of its own: the fix where h.Peerstore() is stored settles it.
//
// No fix is offered, and the message says what to do by hand, when:
//   - the receiver is not traceable to X.Peerstore() of a host (a parameter,
//     an exported or escaping struct field, an embedded interface, a variable
//     assigned more than once, a method expression): the code that creates
//     the value must pass peerstore.New(h);
//   - PrivKey or AddPrivKey is called with a peer other than the host's own
//     X.ID(), or PeersWithKeys is called: the new store keeps no private
//     keys, the owner of a key keeps it;
//   - a method is called on an upstream pstoremem or pstoreds store: the
//     import swap (which is fixed) moves it to compat, whose stores keep the
//     legacy API on purpose and are not reported.
//
// When the fix rewrites a local's declaration rather than the reported
// expression, the diagnostic's Related information points at it.
//
// Packages under github.com/pstoremigrate/pstoremigrate/compat/ and
// github.com/libp2p/go-libp2p/p2p/host/peerstore implement the legacy API on
// purpose and are not checked, and neither is a host's own Peerstore method
// returning the store it wraps. A package that does not depend
// on github.com/libp2p/go-libp2p/core/peerstore costs one walk of its import
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
