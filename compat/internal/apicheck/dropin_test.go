package apicheck_test

import (
	"testing"

	"github.com/stretchr/testify/require"

	// Imported so that upstream's packages stay in this module's build
	// list (and go.sum), where go list finds them.
	_ "github.com/libp2p/go-libp2p/p2p/host/peerstore/pstoreds"
	_ "github.com/libp2p/go-libp2p/p2p/host/peerstore/pstoremem"

	"github.com/pstoremigrate/pstoremigrate/compat/internal/apicheck"
)

// TestDropInsExportEveryUpstreamName compares compat/pstoremem and
// compat/pstoreds with upstream's packages of the go-libp2p version this
// module builds with: a go-libp2p release that adds to their API fails here.
func TestDropInsExportEveryUpstreamName(t *testing.T) {
	const (
		upstream = "github.com/libp2p/go-libp2p/p2p/host/peerstore/"
		ours     = "github.com/pstoremigrate/pstoremigrate/compat/"
	)
	names := []string{"pstoremem", "pstoreds"}
	var paths []string
	for _, n := range names {
		paths = append(paths, upstream+n, ours+n)
	}
	pkgs, err := apicheck.Load(".", paths...)
	require.NoError(t, err)
	for _, n := range names {
		t.Run(n, func(t *testing.T) {
			problems := apicheck.Compare(pkgs[upstream+n], pkgs[ours+n])
			require.Empty(t, problems, "code written against upstream's %s would not compile against compat/%s", n, n)
		})
	}
}
