package peerstore

import (
	"testing"
	"time"

	"github.com/libp2p/go-libp2p/core/protocol"
)

// BenchmarkReads puts the common legacy reads side by side on two real
// hosts connected over loopback, identified, with a latency recorded:
//
//   - host: h.Peerstore(), the legacy store itself (upstream);
//   - view: a view made once, v := New(h);
//   - new: New(h) per call, as code the analyzer fixed calls it.
//
// Run: go test -run '^$' -bench Reads -benchmem ./compat/peerstore/
func BenchmarkReads(b *testing.B) {
	h, other := newHost(b, hostConfig{}), newHost(b, hostConfig{Agent: "bench/1.0"})
	connect(b, h, other)
	p := other.ID()
	h.Peerstore().RecordLatency(p, 10*time.Millisecond)
	v := New(h)
	asked := []protocol.ID{"/not/spoken/1.0.0", "/ipfs/id/1.0.0", "/ipfs/ping/1.0.0"}
	// Wait until identify's answers are in both the store and the view.
	for range 1000 {
		got, _ := v.SupportsProtocols(p, asked...)
		agent, _ := v.Get(p, "AgentVersion")
		if len(got) == 2 && agent != nil {
			break
		}
		time.Sleep(5 * time.Millisecond)
	}

	b.Run("LatencyEWMA/host", func(b *testing.B) {
		for range b.N {
			if h.Peerstore().LatencyEWMA(p) == 0 {
				b.Fatal("no latency")
			}
		}
	})
	b.Run("LatencyEWMA/view", func(b *testing.B) {
		for range b.N {
			if v.LatencyEWMA(p) == 0 {
				b.Fatal("no latency")
			}
		}
	})
	b.Run("LatencyEWMA/new", func(b *testing.B) {
		for range b.N {
			if New(h).LatencyEWMA(p) == 0 {
				b.Fatal("no latency")
			}
		}
	})
	// The world after the migration: the host's store keeps no latency, the
	// view answers what was recorded through a view.
	mh := newHost(b, hostConfig{Minimal: true})
	connect(b, mh, other)
	mv := New(mh)
	mv.RecordLatency(p, 10*time.Millisecond)
	b.Run("LatencyEWMA/view-minimal-store", func(b *testing.B) {
		for range b.N {
			if mv.LatencyEWMA(p) == 0 {
				b.Fatal("no latency")
			}
		}
	})
	b.Run("LatencyEWMA/new-minimal-store", func(b *testing.B) {
		for range b.N {
			if New(mh).LatencyEWMA(p) == 0 {
				b.Fatal("no latency")
			}
		}
	})
	b.Run("SupportsProtocols/host", func(b *testing.B) {
		for range b.N {
			if got, _ := h.Peerstore().SupportsProtocols(p, asked...); len(got) != 2 {
				b.Fatalf("got %v", got)
			}
		}
	})
	b.Run("SupportsProtocols/view", func(b *testing.B) {
		for range b.N {
			if got, _ := v.SupportsProtocols(p, asked...); len(got) != 2 {
				b.Fatalf("got %v", got)
			}
		}
	})
	b.Run("FirstSupportedProtocol/host", func(b *testing.B) {
		for range b.N {
			if got, _ := h.Peerstore().FirstSupportedProtocol(p, asked...); got != asked[1] {
				b.Fatalf("got %v", got)
			}
		}
	})
	b.Run("FirstSupportedProtocol/view", func(b *testing.B) {
		for range b.N {
			if got, _ := v.FirstSupportedProtocol(p, asked...); got != asked[1] {
				b.Fatalf("got %v", got)
			}
		}
	})
	b.Run("GetAgentVersion/host", func(b *testing.B) {
		for range b.N {
			if got, _ := h.Peerstore().Get(p, "AgentVersion"); got == nil {
				b.Fatal("no agent")
			}
		}
	})
	b.Run("GetAgentVersion/view", func(b *testing.B) {
		for range b.N {
			if got, _ := v.Get(p, "AgentVersion"); got == nil {
				b.Fatal("no agent")
			}
		}
	})
}
