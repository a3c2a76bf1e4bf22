package twofiles

import (
	"time"

	"github.com/libp2p/go-libp2p/core/peer"
)

// Only the standard library is grouped here besides peer; this file has no
// finding and must not be touched.
func since(p peer.ID, t time.Time) time.Duration { return time.Since(t) }
