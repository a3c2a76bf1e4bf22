package pstoremem

import (
	"errors"

	"github.com/pstoremigrate/pstoremigrate/compat/internal/legacybooks"
	"github.com/pstoremigrate/pstoremigrate/newstore"
)

// Option is an option of NewPeerstore: an AddrBookOption or a
// ProtoBookOption. As upstream's, it is untyped, and anything else is an
// error.
type Option any

// AddrBookOption configures the address book.
type AddrBookOption func(*addrBookConfig) error

type addrBookConfig struct {
	opts []newstore.Option
}

// ProtoBookOption configures the protocol book.
type ProtoBookOption func(*protoBookConfig) error

type protoBookConfig struct {
	maxProtos int
}

// WithClock sets the clock address expiry is measured against; the mock
// clock of github.com/benbjohnson/clock fits, as with upstream.
func WithClock(clock newstore.Clock) AddrBookOption {
	return func(c *addrBookConfig) error {
		if clock == nil {
			return errors.New("pstoremem: WithClock: nil clock")
		}
		c.opts = append(c.opts, newstore.WithClock(clock))
		return nil
	}
}

// WithMaxAddresses caps the unconnected addresses stored in total (default
// 1,000,000). Connected addresses are bounded by the host's connection
// limits instead.
func WithMaxAddresses(n int) AddrBookOption {
	return func(c *addrBookConfig) error {
		c.opts = append(c.opts, newstore.WithMaxUnconnectedAddrs(max(n, 0)))
		return nil
	}
}

// WithMaxSignedPeerRecords caps the certified peer records stored (default
// 100,000).
func WithMaxSignedPeerRecords(n int) AddrBookOption {
	return func(c *addrBookConfig) error {
		c.opts = append(c.opts, newstore.WithMaxSignedRecords(max(n, 0)))
		return nil
	}
}

// WithMaxAddressesPerPeer caps the unconnected addresses stored per peer
// (default 64); past it, a new address evicts the one expiring first.
// Addresses of a live connection bypass the cap. 0 or less disables it.
func WithMaxAddressesPerPeer(n int) AddrBookOption {
	return func(c *addrBookConfig) error {
		c.opts = append(c.opts, newstore.WithMaxAddrsPerPeer(n))
		return nil
	}
}

// WithMaxProtocols caps the protocols stored per peer (default 128).
func WithMaxProtocols(num int) ProtoBookOption {
	return func(c *protoBookConfig) error {
		c.maxProtos = num
		return nil
	}
}

func newProtoBookConfig(opts []ProtoBookOption) (protoBookConfig, error) {
	cfg := protoBookConfig{maxProtos: legacybooks.DefaultMaxProtocols}
	for _, opt := range opts {
		if err := opt(&cfg); err != nil {
			return cfg, err
		}
	}
	return cfg, nil
}

// WithMetricsTracer exports the address book's metrics through t (see
// newstore.MetricsTracer): sizes read at scrape time, evictions and what
// the caps dropped. Upstream has no such option.
func WithMetricsTracer(t *newstore.MetricsTracer) AddrBookOption {
	return func(c *addrBookConfig) error {
		c.opts = append(c.opts, newstore.WithMetricsTracer(t))
		return nil
	}
}
