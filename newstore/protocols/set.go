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
// how many of them advertise the protocol (aux.count). Both move with list.
//
// What only large sets and counted unions need lives behind aux, so that
// the set of a peer's only connection, the common case, is three words
// lighter: every connection has one.
type protoSet struct {
	list []handle
	pos  []int32
	aux  *setAux
}

// setAux is the part of a set that most sets do without.
type setAux struct {
	// at finds a handle's slot in a set over smallSet entries.
	at map[handle]int32
	// count is, for a counted union, how many connections advertise each
	// entry.
	count []int32
}

func (s *protoSet) find(h handle) int {
	if s.aux != nil && s.aux.at != nil {
		if i, ok := s.aux.at[h]; ok {
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

// counts is the union's per-entry connection count, nil for a set that does
// not count.
func (s *protoSet) counts() []int32 {
	if s.aux == nil {
		return nil
	}
	return s.aux.count
}

// startCounting makes s count, every entry advertised by one connection.
func (s *protoSet) startCounting() {
	count := make([]int32, len(s.list))
	for i := range count {
		count[i] = 1
	}
	s.auxiliary().count = count
}

// stopCounting drops the counts, and aux if nothing else needs it.
func (s *protoSet) stopCounting() {
	if s.aux == nil {
		return
	}
	s.aux.count = nil
	s.trimAux()
}

func (s *protoSet) auxiliary() *setAux {
	if s.aux == nil {
		s.aux = new(setAux)
	}
	return s.aux
}

func (s *protoSet) trimAux() {
	if s.aux != nil && s.aux.at == nil && s.aux.count == nil {
		s.aux = nil
	}
}

// add appends h, which must not be in s.
func (s *protoSet) add(h handle) {
	s.list = append(s.list, h)
	switch {
	case s.aux != nil && s.aux.at != nil:
		s.aux.at[h] = int32(len(s.list) - 1)
	case len(s.list) > smallSet:
		s.index()
	}
}

func (s *protoSet) index() {
	at := make(map[handle]int32, len(s.list))
	for i, x := range s.list {
		at[x] = int32(i)
	}
	s.auxiliary().at = at
}

// removeAt drops the entry at slot i, moving the last entry into it.
func (s *protoSet) removeAt(i int) {
	last := len(s.list) - 1
	h := s.list[i]
	count := s.counts()
	if i != last {
		moved := s.list[last]
		s.list[i] = moved
		if s.pos != nil {
			s.pos[i] = s.pos[last]
		}
		if count != nil {
			count[i] = count[last]
		}
		if s.aux != nil && s.aux.at != nil {
			s.aux.at[moved] = int32(i)
		}
	}
	s.list[last] = nil // the handle keeps its string alive
	s.list = s.list[:last]
	if s.pos != nil {
		s.pos = s.pos[:last]
	}
	if count != nil {
		s.aux.count = count[:last]
	}
	if s.aux != nil && s.aux.at != nil {
		delete(s.aux.at, h)
		if len(s.list) <= smallSet/2 {
			s.aux.at = nil // small again: a map never shrinks, a scan of this many is cheaper
			s.trimAux()
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
	if count := s.counts(); count != nil {
		s.aux.count = append(make([]int32, 0, len(count)), count...)
	}
	if s.aux != nil && s.aux.at != nil {
		s.index()
	}
}
