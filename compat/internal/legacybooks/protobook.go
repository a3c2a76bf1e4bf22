package legacybooks

import (
	"errors"
	"slices"
	"sync"
	"unique"

	"github.com/libp2p/go-libp2p/core/peer"
	pstore "github.com/libp2p/go-libp2p/core/peerstore"
	"github.com/libp2p/go-libp2p/core/protocol"
)

// ErrTooManyProtocols is returned when a peer would exceed the per-peer
// protocol cap. Its text is upstream's, which callers and upstream's test
// suites compare against.
var ErrTooManyProtocols = errors.New("too many protocols")

// DefaultMaxProtocols is upstream pstoremem's per-peer protocol cap.
const DefaultMaxProtocols = 128

// shardCount spreads peers over independent locks, as upstream does, so that
// identify on many connections does not serialise on one mutex.
const shardCount = 256

// protoID is an interned protocol ID: one pointer per stored protocol, the
// string itself shared by every peer that advertises it. The interning map
// is weak, so IDs nobody holds any more are freed and a peer inventing
// protocol names cannot pin memory beyond its own per-peer cap.
type protoID = unique.Handle[protocol.ID]

type protoShard struct {
	sync.RWMutex
	protos map[peer.ID][]protoID
}

// ProtoBook is a bounded, in-memory core/peerstore.ProtoBook.
type ProtoBook struct {
	shards    [shardCount]protoShard
	maxProtos int
}

var _ pstore.ProtoBook = (*ProtoBook)(nil)

// NewProtoBook returns a ProtoBook holding at most maxProtos protocols per
// peer. A cap <= 0 means DefaultMaxProtocols.
func NewProtoBook(maxProtos int) *ProtoBook {
	if maxProtos <= 0 {
		maxProtos = DefaultMaxProtocols
	}
	pb := &ProtoBook{maxProtos: maxProtos}
	for i := range pb.shards {
		pb.shards[i].protos = make(map[peer.ID][]protoID)
	}
	return pb
}

func (pb *ProtoBook) shard(p peer.ID) *protoShard {
	return &pb.shards[shardIndex(p)]
}

// shardIndex picks p's shard by the last byte of its ID: a multihash
// digest's, evenly spread, and shardCount is 256 so any byte fits.
func shardIndex(p peer.ID) int {
	if len(p) == 0 {
		return 0
	}
	return int(p[len(p)-1])
}

// appendUnique interns protos and appends those not yet in set.
func appendUnique(set []protoID, protos []protocol.ID) []protoID {
	for _, proto := range protos {
		h := unique.Make(proto)
		if !slices.Contains(set, h) {
			set = append(set, h)
		}
	}
	return set
}

// SetProtocols replaces p's protocols. Like upstream it rejects more than the
// cap before looking for duplicates.
func (pb *ProtoBook) SetProtocols(p peer.ID, protos ...protocol.ID) error {
	if len(protos) > pb.maxProtos {
		return ErrTooManyProtocols
	}
	set := appendUnique(make([]protoID, 0, len(protos)), protos)
	s := pb.shard(p)
	s.Lock()
	defer s.Unlock()
	if len(set) == 0 {
		delete(s.protos, p)
		return nil
	}
	s.protos[p] = slices.Clip(set)
	return nil
}

// AddProtocols adds to p's protocols. Like upstream, the cap is checked
// against the stored count plus the number given, duplicates included.
func (pb *ProtoBook) AddProtocols(p peer.ID, protos ...protocol.ID) error {
	s := pb.shard(p)
	s.Lock()
	defer s.Unlock()
	cur := s.protos[p]
	if len(cur)+len(protos) > pb.maxProtos {
		return ErrTooManyProtocols
	}
	if len(protos) == 0 {
		return nil
	}
	s.protos[p] = appendUnique(cur, protos)
	return nil
}

// GetProtocols returns p's protocols in no particular order, as upstream.
func (pb *ProtoBook) GetProtocols(p peer.ID) ([]protocol.ID, error) {
	s := pb.shard(p)
	s.RLock()
	defer s.RUnlock()
	set := s.protos[p]
	out := make([]protocol.ID, 0, len(set))
	for _, h := range set {
		out = append(out, h.Value())
	}
	return out, nil
}

// RemoveProtocols removes the given protocols from p's set.
func (pb *ProtoBook) RemoveProtocols(p peer.ID, protos ...protocol.ID) error {
	s := pb.shard(p)
	s.Lock()
	defer s.Unlock()
	set, ok := s.protos[p]
	if !ok {
		return nil
	}
	for _, proto := range protos {
		h := unique.Make(proto)
		set = slices.DeleteFunc(set, func(x protoID) bool { return x == h })
	}
	if len(set) == 0 {
		delete(s.protos, p)
		return nil
	}
	s.protos[p] = set
	return nil
}

// SupportsProtocols returns those of protos that p supports, in the order
// asked.
func (pb *ProtoBook) SupportsProtocols(p peer.ID, protos ...protocol.ID) ([]protocol.ID, error) {
	s := pb.shard(p)
	s.RLock()
	defer s.RUnlock()
	set := s.protos[p]
	out := make([]protocol.ID, 0, len(protos))
	for _, proto := range protos {
		if containsProto(set, proto) {
			out = append(out, proto)
		}
	}
	return out, nil
}

// FirstSupportedProtocol returns the first of protos that p supports, or ""
// if none.
func (pb *ProtoBook) FirstSupportedProtocol(p peer.ID, protos ...protocol.ID) (protocol.ID, error) {
	s := pb.shard(p)
	s.RLock()
	defer s.RUnlock()
	set := s.protos[p]
	for _, proto := range protos {
		if containsProto(set, proto) {
			return proto, nil
		}
	}
	return "", nil
}

// containsProto compares by value so that a query never interns (and so never
// grows the interning map with) IDs nobody stored.
func containsProto(set []protoID, proto protocol.ID) bool {
	for _, h := range set {
		if h.Value() == proto {
			return true
		}
	}
	return false
}

// RemovePeer forgets p's protocols.
func (pb *ProtoBook) RemovePeer(p peer.ID) {
	s := pb.shard(p)
	s.Lock()
	delete(s.protos, p)
	s.Unlock()
}

// Peers returns the peers with at least one protocol.
func (pb *ProtoBook) Peers() peer.IDSlice {
	var out peer.IDSlice
	for i := range pb.shards {
		s := &pb.shards[i]
		s.RLock()
		for p := range s.protos {
			out = append(out, p)
		}
		s.RUnlock()
	}
	return out
}

// MaxProtocols is the per-peer protocol cap.
func (pb *ProtoBook) MaxProtocols() int { return pb.maxProtos }
