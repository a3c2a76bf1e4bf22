// Package legacytest gives the tests of compat/pstoreds the helpers of
// internal/datacmd/legacytest, which fill datastores with upstream's
// deprecated pstoreds, under the import path they already use. There is
// one implementation, there; new code should import it directly.
package legacytest

import (
	"testing"

	ds "github.com/ipfs/go-datastore"
	"github.com/libp2p/go-libp2p/core/peer"

	impl "github.com/pstoremigrate/pstoremigrate/internal/datacmd/legacytest"
)

// Backend opens an on-disk datastore in a directory.
type Backend = impl.Backend

// Peer is what Fill stored about one peer.
type Peer = impl.Peer

// AgentVersion is what each filled peer's metadata says it runs.
const AgentVersion = impl.AgentVersion

var (
	// Backends are the on-disk datastores legacy nodes used.
	Backends = impl.Backends
	// Protocols is the set of protocols each filled peer advertises.
	Protocols = impl.Protocols
	// LeakOptions are the goleak exceptions for tests using Backends.
	LeakOptions = impl.LeakOptions
)

// Fill stores n peers into d with upstream's pstoreds; see
// internal/datacmd/legacytest.Fill.
func Fill(t testing.TB, d ds.Batching, n int) []Peer { return impl.Fill(t, d, n) }

// Corrupt writes entries of the legacy layout that do not decode, for the
// existing peer p, and returns how many it wrote.
func Corrupt(t testing.TB, d ds.Datastore, p peer.ID) int { return impl.Corrupt(t, d, p) }
