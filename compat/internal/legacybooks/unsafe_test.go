package legacybooks

import (
	"unsafe"

	"github.com/libp2p/go-libp2p/core/protocol"
)

// unsafeData returns the address of a string's bytes, to tell shared
// strings from equal copies.
func unsafeData(s protocol.ID) *byte { return unsafe.StringData(string(s)) }
