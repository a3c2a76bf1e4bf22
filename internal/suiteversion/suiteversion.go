// Package suiteversion adapts runs of go-libp2p's own peerstore suites
// (p2p/host/peerstore/test) to the go-libp2p version under test: the
// library supports v0.48.0 through v0.52.0 and runs the suites of the
// version it is built with. It is not for production use.
package suiteversion

import (
	"crypto/rand"
	"flag"
	"fmt"
	"slices"
	"time"

	"github.com/libp2p/go-libp2p/core/crypto"
	"github.com/libp2p/go-libp2p/core/peer"
	"github.com/libp2p/go-libp2p/core/record"
	"github.com/libp2p/go-libp2p/p2p/host/peerstore/pstoremem"
	ma "github.com/multiformats/go-multiaddr"
)

// LeaveOutStaleCases makes the testing package leave out the cases of
// upstream's suites that the go-libp2p under test still expects to behave
// as later supported versions no longer do. Call it from TestMain, before
// m.Run, with the -run style pattern of the subtests that hold the suite's
// cases (for example "TestAddrBookSuite" or
// "TestSuite/UpstreamAddrBookSuite/.*").
//
// The one such case: go-libp2p v0.49 (libp2p/go-libp2p#3487) made a newer
// signed peer record drop the addresses the peer no longer advertises, and
// changed the AddrBook suite's CertifiedAddresses case to match; v0.48's
// case still expects the old merge. This store keeps the newer behaviour on
// every version (it closes a stale-address hole), asserted on all of them
// by newstore's TestNewerRecordDropsUnadvertisedAddrs.
func LeaveOutStaleCases(suite string) {
	if !UpstreamMergesRecords() {
		return
	}
	if err := flag.Set("test.skip", suite+"/CertifiedAddresses$"); err != nil {
		panic(fmt.Sprintf("suiteversion: setting -test.skip: %v", err))
	}
}

// UpstreamMergesRecords reports whether the go-libp2p under test still
// keeps the addresses of an older signed record when a newer one no longer
// lists them (v0.48 does; v0.49 and later drop them). It asks upstream's
// own address book, so it needs no version table.
func UpstreamMergesRecords() bool {
	priv, _, err := crypto.GenerateEd25519Key(rand.Reader)
	if err != nil {
		panic(err)
	}
	id, err := peer.IDFromPrivateKey(priv)
	if err != nil {
		panic(err)
	}
	gone, kept := ma.StringCast("/ip4/127.0.0.1/tcp/1"), ma.StringCast("/ip4/127.0.0.1/tcp/2")
	ab := pstoremem.NewAddrBook()
	defer ab.Close()
	for seq, addrs := range [][]ma.Multiaddr{{gone, kept}, {kept}} {
		env, err := record.Seal(&peer.PeerRecord{PeerID: id, Addrs: addrs, Seq: uint64(seq + 1)}, priv)
		if err != nil {
			panic(err)
		}
		if _, err := ab.ConsumePeerRecord(env, time.Hour); err != nil {
			panic(err)
		}
	}
	return slices.ContainsFunc(ab.Addrs(id), gone.Equal)
}
