package protocols

// smallSet is the size up to which a set finds its entries by scanning:
// honest peers advertise tens of protocols, and a scan of that many handles
// costs less than a map and none of its memory. Past it a set keeps an
// index, so a hostile set of a thousand entries still costs O(1) a lookup.
const smallSet = 32

// protoSet is a set of interned protocol IDs: a slice, plus a map from
// handle to slot once it is large. Removal moves the last entry into the
// freed slot, so every operation is O(1).
//
// A set that is a peer's union also keeps, per slot, the peer's position in
// the supporting index (pos) and, while the peer has several connections,
// how many of them advertise the protocol (count). Both move with list.
type protoSet struct {
	list  []handle
	at    map[handle]int32
	pos   []int32
	count []int32
}

func (s *protoSet) find(h handle) int {
	if s.at != nil {
		if i, ok := s.at[h]; ok {
			return int(i)
		}
		return -1
	}
	for i, x := range s.list {
		if x == h {
			return i
		}
	}
	return -1
}

func (s *protoSet) has(h handle) bool { return s.find(h) >= 0 }

// add appends h, which must not be in s.
func (s *protoSet) add(h handle) {
	s.list = append(s.list, h)
	switch {
	case s.at != nil:
		s.at[h] = int32(len(s.list) - 1)
	case len(s.list) > smallSet:
		s.index()
	}
}

func (s *protoSet) index() {
	s.at = make(map[handle]int32, len(s.list))
	for i, x := range s.list {
		s.at[x] = int32(i)
	}
}

// removeAt drops the entry at slot i, moving the last entry into it.
func (s *protoSet) removeAt(i int) {
	last := len(s.list) - 1
	h := s.list[i]
	if i != last {
		moved := s.list[last]
		s.list[i] = moved
		if s.pos != nil {
			s.pos[i] = s.pos[last]
		}
		if s.count != nil {
			s.count[i] = s.count[last]
		}
		if s.at != nil {
			s.at[moved] = int32(i)
		}
	}
	s.list[last] = nil // the handle keeps its string alive
	s.list = s.list[:last]
	if s.pos != nil {
		s.pos = s.pos[:last]
	}
	if s.count != nil {
		s.count = s.count[:last]
	}
	if s.at != nil {
		delete(s.at, h)
		if len(s.list) <= smallSet/2 {
			s.at = nil // small again: a map never shrinks, a scan of this many is cheaper
		}
	}
	if cap(s.list) > 2*smallSet && 4*len(s.list) < cap(s.list) {
		s.compact()
	}
}

// compact gives the set backing arrays of its size: a slice keeps the
// capacity it once needed, a map its buckets.
func (s *protoSet) compact() {
	s.list = append(make([]handle, 0, len(s.list)), s.list...)
	if s.pos != nil {
		s.pos = append(make([]int32, 0, len(s.pos)), s.pos...)
	}
	if s.count != nil {
		s.count = append(make([]int32, 0, len(s.count)), s.count...)
	}
	if s.at != nil {
		s.index()
	}
}
