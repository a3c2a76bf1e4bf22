package pstoremem

import "github.com/pstoremigrate/pstoremigrate/newstore"

// AddrSubManager is upstream's pub-sub manager for address streams, for
// address books of one's own: AddrStream subscribes to a peer's addresses,
// BroadcastAddr publishes one. It is the one that feeds the AddrStream of
// this package's stores.
type AddrSubManager = newstore.AddrSubManager

// NewAddrSubManager returns an AddrSubManager with no subscribers.
func NewAddrSubManager() *AddrSubManager { return newstore.NewAddrSubManager() }
