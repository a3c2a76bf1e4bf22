package newstore

import "fmt"

// CheckCounters recounts what the book keeps counters of and reports any
// counter that drifted: the caps and PeersWithAddrs rely on them.
func (ab *AddrBook) CheckCounters() error {
	ab.mu.RLock()
	defer ab.mu.RUnlock()
	var unconn, records, addrless int
	for p, ps := range ab.peers {
		n, _ := evictionVictim(ps.addrs)
		m, _ := evictionVictim(ps.pendingAddrs())
		unconn += n + m
		if ps.record != nil {
			records++
		}
		if ps.numAddrs() == 0 {
			addrless++
			if !ps.hasKey {
				return fmt.Errorf("peer %s is held with neither addresses nor key", p)
			}
		}
		if ps.addrless != (ps.numAddrs() == 0) {
			return fmt.Errorf("peer %s: addrless flag %v with %d addresses", p, ps.addrless, ps.numAddrs())
		}
	}
	if unconn != ab.unconnAddr || records != ab.records || addrless != ab.addrless {
		return fmt.Errorf("counters unconnected %d records %d addrless %d, recounted %d %d %d",
			ab.unconnAddr, ab.records, ab.addrless, unconn, records, addrless)
	}
	return nil
}
