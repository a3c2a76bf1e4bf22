package datacmd

import (
	"bytes"
	"testing"

	"github.com/stretchr/testify/require"
)

func TestImportSummaryText(t *testing.T) {
	s := &ImportSummary{
		From: "/var/lib/node/peerstore", To: "peers.snapshot", Format: FormatSnapshot,
		Imported: Counts{Peers: 3},
		Skipped: []Skip{
			{Reason: "legacy entries that do not decode", Count: 1},
			{Reason: "peers with no live address", Count: 2},
		},
		Errors: []string{"/peers/addrs/XYZ: proto: cannot parse invalid wire-format data"},
		Left:   Left{ExpiredAddrs: 1, PeersWithProtocols: 1, MetadataValues: 1},
	}
	var buf bytes.Buffer
	require.NoError(t, s.WriteText(&buf))
	require.Equal(t, `imported /var/lib/node/peerstore into peers.snapshot (snapshot)
  peers 3, live addresses 0, public keys 0, signed peer records 0
skipped:
  2 peers with no live address
  1 legacy entries that do not decode
entries that do not decode (the first 1):
  /peers/addrs/XYZ: proto: cannot parse invalid wire-format data
left behind (not part of the new store):
  1 expired address
  protocols of 1 peer and 1 other metadata value: identify reports them again
  no private keys: nothing to scrub
`, buf.String())

	s.Left = Left{ExpiredAddrs: 2, PeersWithProtocols: 2, MetadataValues: 2, PrivKeys: 2}
	buf.Reset()
	require.NoError(t, s.WriteText(&buf))
	require.Contains(t, buf.String(), "  2 expired addresses\n  protocols of 2 peers and 2 other metadata values")
	require.Contains(t, buf.String(), "  2 private keys, still in clear text in /var/lib/node/peerstore: run 'pstoremigrate data scrub /var/lib/node/peerstore'\n")
}
