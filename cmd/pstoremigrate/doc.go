// Command pstoremigrate finds and rewrites uses of go-libp2p's legacy
// Peerstore API (go-libp2p issue #2355), and is the entry point of the
// migration that MIGRATION.md describes.
//
// Usage:
//
//	pstoremigrate lint [-json] [-tags tag,list] [packages]
//	pstoremigrate fix [-diff] [-tags tag,list] [packages]
//	pstoremigrate deps [-json] [-tags tag,list] [packages]
//	pstoremigrate data inspect|import|scrub ...
//	pstoremigrate version
//	pstoremigrate help [command]
//
// Packages are named as for the go command (default "."); both commands
// run in the module of the current directory.
//
// lint reports every use of the legacy-only surface (protocols, metadata,
// latency, private keys, the Peerstore passed where a legacy interface is
// needed, upstream pstoremem/pstoreds imports) as "file:line:col: message",
// followed by a one-line summary by category. With -json it prints one JSON
// object instead (see [lintReport]).
//
// fix applies the analyzer's suggested fixes and reports what it changed and
// what it left for a person to do; with -diff it prints the fixes (and the
// go.mod changes they need) as a unified diff and changes nothing. It is all
// or nothing: it decides how each module will require this one before it
// writes anything, and restores every file it touched when a later step
// fails or it is interrupted (SIGINT, SIGTERM).
//
// deps reports which modules of the build list use the legacy-only API in
// the packages the named ones import, and what that means for the user.
//
// data works on what is on disk rather than on code: inspect describes a
// snapshot or a peerstore datastore (go-ds-leveldb or go-ds-pebble, legacy
// pstoreds layout or compat/pstoreds), import converts a legacy pstoreds
// datastore into a snapshot or the compat layout, and scrub removes the
// private keys that upstream pstoreds wrote in clear text. See
// "pstoremigrate help data".
//
// Exit status, for lint and fix alike:
//
//	0  no legacy-only use left (for fix: nothing left that needs a person)
//	1  an error: packages that do not load or type-check, a failed go command
//	2  bad usage (unknown command or flag)
//	3  findings: lint found legacy-only uses; fix left some that it could
//	   not rewrite safely
//
// lint and fix load and analyze packages through "go vet -vettool" with
// this very binary as the tool, so they reuse the build cache and the go
// command's per-package parallelism: lint costs about what go vet costs
// (BenchmarkLintVsGoVet). fix applies the suggested fixes from go vet's JSON
// itself, in rounds, so that overlapping fixes are applied in a later round
// rather than dropped. The binary also speaks the vet/fix tool protocol
// (-V=full, -flags, unit.cfg), and can be used directly:
//
//	go vet -vettool=$(which pstoremigrate) ./...
//	go fix -fixtool=$(which pstoremigrate) ./...
package main
