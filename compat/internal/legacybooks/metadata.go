package legacybooks

import (
	"fmt"
	"sync"
	"unique"

	"github.com/libp2p/go-libp2p/core/peer"
	pstore "github.com/libp2p/go-libp2p/core/peerstore"
)

// Bounds on per-peer metadata. Upstream's metadata book is unbounded, and
// identify stores strings a remote peer chose (AgentVersion,
// ProtocolVersion), so a hostile peer could otherwise make us hold
// arbitrary amounts of memory.
const (
	// MaxMetadataKeysPerPeer is the number of distinct keys one peer may
	// have; go-libp2p itself uses two or three.
	MaxMetadataKeysPerPeer = 64
	// MaxMetadataKeyLen is the longest key accepted, in bytes.
	MaxMetadataKeyLen = 256
	// MaxMetadataValueLen is the longest string or []byte value accepted,
	// in bytes. Identify's agent and protocol versions are far shorter.
	MaxMetadataValueLen = 8 << 10
)

type metaEntry struct {
	key string
	val any
}

type metaShard struct {
	sync.RWMutex
	// A short slice per peer: go-libp2p stores two or three keys, for
	// which a linear scan beats a map and costs a fraction of its memory.
	entries map[peer.ID][]metaEntry
}

// Metadata is a bounded, in-memory core/peerstore.PeerMetadata.
type Metadata struct {
	shards [shardCount]metaShard
}

var _ pstore.PeerMetadata = (*Metadata)(nil)

// NewMetadata returns an empty metadata book.
func NewMetadata() *Metadata {
	m := &Metadata{}
	for i := range m.shards {
		m.shards[i].entries = make(map[peer.ID][]metaEntry)
	}
	return m
}

func (m *Metadata) shard(p peer.ID) *metaShard {
	return &m.shards[shardIndex(p)]
}

// Put stores val under key for p. It fails, storing nothing, when the key or
// a string/[]byte value is longer than the bounds above or when p already has
// MaxMetadataKeysPerPeer other keys.
func (m *Metadata) Put(p peer.ID, key string, val any) error {
	if len(key) > MaxMetadataKeyLen {
		return fmt.Errorf("peer metadata key of %d bytes for %s: longer than the %d allowed", len(key), p, MaxMetadataKeyLen)
	}
	switch v := val.(type) {
	case string:
		if len(v) > MaxMetadataValueLen {
			return fmt.Errorf("peer metadata %q for %s: value of %d bytes is longer than the %d allowed", key, p, len(v), MaxMetadataValueLen)
		}
		// Many peers run the same agent: share its bytes.
		val = unique.Make(v).Value()
	case []byte:
		if len(v) > MaxMetadataValueLen {
			return fmt.Errorf("peer metadata %q for %s: value of %d bytes is longer than the %d allowed", key, p, len(v), MaxMetadataValueLen)
		}
	}
	s := m.shard(p)
	s.Lock()
	defer s.Unlock()
	entries := s.entries[p]
	for i := range entries {
		if entries[i].key == key {
			entries[i].val = val
			return nil
		}
	}
	if len(entries) >= MaxMetadataKeysPerPeer {
		return fmt.Errorf("peer metadata %q for %s: peer already has the %d keys allowed", key, p, MaxMetadataKeysPerPeer)
	}
	s.entries[p] = append(entries, metaEntry{key: unique.Make(key).Value(), val: val})
	return nil
}

// Get returns the value stored under key for p, or pstore.ErrNotFound.
func (m *Metadata) Get(p peer.ID, key string) (any, error) {
	s := m.shard(p)
	s.RLock()
	defer s.RUnlock()
	for _, e := range s.entries[p] {
		if e.key == key {
			return e.val, nil
		}
	}
	return nil, pstore.ErrNotFound
}

// RemovePeer forgets p's metadata.
func (m *Metadata) RemovePeer(p peer.ID) {
	s := m.shard(p)
	s.Lock()
	delete(s.entries, p)
	s.Unlock()
}
