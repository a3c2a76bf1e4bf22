package legacybooks

import (
	"fmt"
	"strings"
	"testing"

	"github.com/libp2p/go-libp2p/core/peer"
	"github.com/libp2p/go-libp2p/core/protocol"
)

// BenchmarkSetProtocols stores 20 protocols, freshly decoded strings as
// identify hands them over, for ever new peers.
func BenchmarkSetProtocols(b *testing.B) {
	protos := make([]protocol.ID, 20)
	for i := range protos {
		protos[i] = protocol.ID(strings.Clone(fmt.Sprintf("/proto/%d/1.0.0", i)))
	}
	ids := make([]peer.ID, 4096)
	for i := range ids {
		ids[i] = peer.ID(fmt.Sprintf("peer-%d", i))
	}
	pb := NewProtoBook(0)
	b.ReportAllocs()
	for i := 0; b.Loop(); i++ {
		if err := pb.SetProtocols(ids[i%len(ids)], protos...); err != nil {
			b.Fatal(err)
		}
	}
}
