// Package v1fixture names the peers of the version-1 snapshot files in
// newstore/testdata/v1, for the tests that restore them. Those files were
// written by the code of commit 62b5214 (newstore/testdata/v1/README.md
// says how); each fixture peer's Ed25519 key is seeded by sha256 of its
// name, so a test can know its ID without the key being stored anywhere.
package v1fixture

import (
	"bytes"
	"crypto/sha256"
	"testing"

	"github.com/libp2p/go-libp2p/core/crypto"
	"github.com/libp2p/go-libp2p/core/peer"
)

// The names of the fixture peers.
const (
	RememberedB = "pstoremigrate v1 fixture: remembered peer B"
	RememberedC = "pstoremigrate v1 fixture: remembered peer C"
	AddrBookX   = "pstoremigrate v1 fixture: address book peer X"
)

// ID is the ID of the fixture peer called name.
func ID(t testing.TB, name string) peer.ID {
	t.Helper()
	seed := sha256.Sum256([]byte(name))
	k, _, err := crypto.GenerateEd25519Key(bytes.NewReader(seed[:]))
	if err != nil {
		t.Fatalf("fixture key %q: %v", name, err)
	}
	id, err := peer.IDFromPrivateKey(k)
	if err != nil {
		t.Fatalf("fixture ID %q: %v", name, err)
	}
	return id
}
