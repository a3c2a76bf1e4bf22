// Package datacmd is the logic of "pstoremigrate data": inspect, import and
// scrub the peerstore data an operator has on disk, testable without the
// binary.
//
// It understands three things on disk:
//
//   - a snapshot file written by newstore (a file sink, or an import);
//   - a go-ds-leveldb or go-ds-pebble datastore in the layout go-libp2p's
//     deprecated pstoreds wrote ("legacy": /peers/addrs, /peers/keys with
//     private keys in clear text, /peers/metadata);
//   - such a datastore in the layout of compat/pstoreds (a snapshot under
//     /pstoremigrate/peerstore/snapshot), possibly beside a legacy one.
//
// The backend is recognised by its files (pebble writes OPTIONS-* files,
// leveldb does not), the layout by its keys. Legacy datastores are read
// through compat/pstoreds/legacy, in batches of peers taken from the
// datastore's key order, so memory stays bounded whatever the datastore's
// size.
//
// Every function refuses bad input with an error that says what is wrong
// and writes nothing: an import that fails removes what it had begun to
// write, and a datastore another process holds open is refused with
// ErrInUse.
package datacmd
