package newstore

import "fmt"

// CheckCounters recounts what the book keeps counters of and reports any
// counter that drifted: the caps and PeersWithAddrs rely on them.
func (ab *AddrBook) CheckCounters() error {
	ab.mu.RLock()
	defer ab.mu.RUnlock()
	var unconn, records, withAddrs int
	for p, ps := range ab.peers {
		n, _ := evictionVictim(ps.addrs)
		m, _ := evictionVictim(ps.pendingAddrs())
		unconn += n + m
		if ps.record != nil {
			records++
		}
		switch {
		case ps.numAddrs() > 0:
			withAddrs++
			if ps.slot < 1 || int(ps.slot) > len(ab.listed) || ab.listed[ps.slot-1] != p {
				return fmt.Errorf("peer %s with %d addresses is not listed at its slot %d", p, ps.numAddrs(), ps.slot)
			}
		case !ps.hasKey:
			return fmt.Errorf("peer %s is held with neither addresses nor key", p)
		case ps.slot != 0:
			return fmt.Errorf("peer %s without addresses has slot %d", p, ps.slot)
		}
	}
	if unconn != ab.unconnAddr || records != ab.records || withAddrs != len(ab.listed) {
		return fmt.Errorf("counters unconnected %d records %d listed %d, recounted %d %d %d",
			ab.unconnAddr, ab.records, len(ab.listed), unconn, records, withAddrs)
	}
	return nil
}
