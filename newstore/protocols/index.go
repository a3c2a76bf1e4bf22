package protocols

import "github.com/libp2p/go-libp2p/core/protocol"

// listChunk is how many peers a protocol's supporter list holds in its
// first slice, and in each chunk after it.
const listChunk = 512

// protoEntry is one protocol ID, shared by every set that holds it, and,
// once the store is indexed (see Store.indexed), the peers whose union has
// it (the supporting index). It is in Store.table exactly while some union
// holds it (refs > 0): the string goes the moment the last set lets it go.
// (Package unique would free it only after a collection, through a weak
// pointer and a cleanup per string, which for a peer advertising a
// thousand strings of its own costs the collector more than the store.)
// The list is behind a pointer, nil until the index is built: a hostile
// peer's own protocols are entries of 32 bytes.
type protoEntry struct {
	id protocol.ID
	// refs is how many unions hold the entry, indexed or not.
	refs int32
	list *supporterList
}

// supporterList is a protocol's supporters. It is a slice up to listChunk
// peers, then grows by chunks of listChunk: a protocol every peer speaks
// never copies its list as it grows (appending to a slice of a hundred
// thousand pointers copies them all, and the collector scans the copy).
// Removal moves the last peer into the freed place, so every operation is
// O(1).
type supporterList struct {
	peers []*peerState
	// more holds the supporters past the first listChunk; nil for most
	// protocols.
	more *moreSupporters
}

type moreSupporters struct {
	// chunks are listChunk long; the first n/listChunk are full. One more
	// than needed is kept, so that a list going back and forth across a
	// chunk boundary does not allocate each time.
	chunks [][]*peerState
	n      int
}

// supporters is how many peers h's list holds.
func (h *protoEntry) supporters() int {
	if h.list == nil {
		return 0
	}
	return h.list.len()
}

// supporter returns the peer at i.
func (h *protoEntry) supporter(i int) *peerState { return h.list.at(i) }

func (h *protoEntry) setSupporter(i int, ps *peerState) { h.list.set(i, ps) }

// addSupporter appends ps to h's list.
func (h *protoEntry) addSupporter(ps *peerState) {
	if h.list == nil {
		h.list = new(supporterList)
	}
	h.list.add(ps)
}

// removeLastSupporter drops the last peer of h's list, and the list once
// it is empty.
func (h *protoEntry) removeLastSupporter() {
	h.list.removeLast()
	if h.list.len() == 0 {
		h.list = nil
	}
}

// len is how many peers the list holds.
func (h *supporterList) len() int {
	if h.more == nil {
		return len(h.peers)
	}
	return len(h.peers) + h.more.n
}

// at returns the peer at i.
func (h *supporterList) at(i int) *peerState {
	if i < len(h.peers) {
		return h.peers[i]
	}
	i -= len(h.peers)
	return h.more.chunks[i/listChunk][i%listChunk]
}

func (h *supporterList) set(i int, ps *peerState) {
	if i < len(h.peers) {
		h.peers[i] = ps
		return
	}
	i -= len(h.peers)
	h.more.chunks[i/listChunk][i%listChunk] = ps
}

// add appends ps. The head fills up first: past it, a peer's
// place is listChunk + its place in more, which must not move.
func (h *supporterList) add(ps *peerState) {
	if len(h.peers) < listChunk {
		if cap(h.peers) == len(h.peers) {
			// Grown here so that it stops at listChunk: append could
			// round the capacity past it, memory the list never uses.
			h.peers = append(make([]*peerState, 0, min(listChunk, max(1, 2*len(h.peers)))), h.peers...)
		}
		h.peers = append(h.peers, ps)
		return
	}
	if h.more == nil {
		h.more = new(moreSupporters)
	}
	m := h.more
	if m.n/listChunk == len(m.chunks) {
		m.chunks = append(m.chunks, make([]*peerState, listChunk))
	}
	m.chunks[m.n/listChunk][m.n%listChunk] = ps
	m.n++
}

// removeLast drops the last peer of the list.
func (h *supporterList) removeLast() {
	if m := h.more; m != nil && m.n > 0 {
		m.n--
		m.chunks[m.n/listChunk][m.n%listChunk] = nil
		// Keep the chunk in use and one spare after it.
		if keep := m.n/listChunk + 2; len(m.chunks) > keep {
			m.chunks[len(m.chunks)-1] = nil
			m.chunks = m.chunks[:len(m.chunks)-1]
		}
		return
	}
	last := len(h.peers) - 1
	h.peers[last] = nil
	h.peers = h.peers[:last]
	if 4*len(h.peers) < listChunk {
		h.more = nil // well below a chunk: the spare is not worth keeping
	}
	switch {
	case last == 0:
		h.peers = nil
	case cap(h.peers) > 64 && 4*len(h.peers) < cap(h.peers):
		h.peers = append(make([]*peerState, 0, 2*len(h.peers)), h.peers...)
	}
}
