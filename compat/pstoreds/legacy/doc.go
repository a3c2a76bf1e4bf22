// Package legacy reads, counts and scrubs the datastore layout that
// go-libp2p's deprecated pstoreds wrote:
//
//	/peers/addrs/<b32 peer ID>            protobuf AddrBookRecord (addresses, certified record)
//	/peers/keys/<b32 peer ID>/pub         marshalled public key
//	/peers/keys/<b32 peer ID>/priv        marshalled PRIVATE key, in clear text
//	/peers/metadata/<b32 peer ID>/<key>   gob-encoded value ("protocols", "AgentVersion", ...)
//
// compat/pstoreds imports such a datastore on open; the pstoremigrate CLI
// uses the same functions for `data import`, `data scrub` and
// `data inspect`. Reading never stops at an entry that does not decode: the
// entry is handed to an error callback and skipped, so one corrupt value
// never costs the rest of a node's peers.
package legacy
