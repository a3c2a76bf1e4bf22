package remember

import (
	"strconv"
	"testing"
	"time"

	"github.com/libp2p/go-libp2p/core/peer"
	ma "github.com/multiformats/go-multiaddr"
	"github.com/stretchr/testify/require"
)

func ids(cands []candidate) []peer.ID {
	out := make([]peer.ID, len(cands))
	for i, c := range cands {
		out[i] = c.id
	}
	return out
}

func TestRankPrefersLongAndRecentConnections(t *testing.T) {
	now := time.Date(2026, 1, 2, 12, 0, 0, 0, time.UTC)
	hl := time.Hour
	cands := []candidate{
		// Long ago and long: 10h connected, gone for 10 half-lives.
		{id: "stale", hist: history{connectedFor: 10 * time.Hour, lastSeen: now.Add(-10 * time.Hour)}},
		// Connected now, for 30 minutes: not discounted.
		{id: "current", hist: history{connectedSince: now.Add(-30 * time.Minute)}},
		// Two hours connected, left an hour ago: counts one hour.
		{id: "loyal", hist: history{connectedFor: 2 * time.Hour, lastSeen: now.Add(-time.Hour)}},
		// A brief connection just now.
		{id: "brief", hist: history{connectedFor: time.Second, lastSeen: now}},
	}
	for i := range cands {
		cands[i].lastSeen = cands[i].hist.lastSeen
	}
	rank(cands, now, hl)
	require.Equal(t, []peer.ID{"loyal", "current", "stale", "brief"}, ids(cands))
}

func TestRankCertifiedRecordCountsDouble(t *testing.T) {
	now := time.Date(2026, 1, 2, 12, 0, 0, 0, time.UTC)
	seen := now.Add(-time.Minute)
	cands := []candidate{
		{id: "plain", hist: history{connectedFor: 50 * time.Minute, lastSeen: seen}, lastSeen: seen},
		{id: "signed", hist: history{connectedFor: 30 * time.Minute, lastSeen: seen}, lastSeen: seen, certified: true},
		{id: "signed-short", hist: history{connectedFor: 20 * time.Minute, lastSeen: seen}, lastSeen: seen, certified: true},
	}
	rank(cands, now, time.Hour)
	require.Equal(t, []peer.ID{"signed", "plain", "signed-short"}, ids(cands))
}

func TestRankBreaksTiesByRecencyThenRecordThenID(t *testing.T) {
	now := time.Date(2026, 1, 2, 12, 0, 0, 0, time.UTC)
	// No connected time at all: every score is zero.
	cands := []candidate{
		{id: "b", lastSeen: now.Add(-time.Hour)},
		{id: "a", lastSeen: now.Add(-time.Hour)},
		{id: "c", lastSeen: now.Add(-time.Hour), certified: true},
		{id: "d", lastSeen: now},
	}
	rank(cands, now, time.Hour)
	require.Equal(t, []peer.ID{"d", "c", "a", "b"}, ids(cands))
}

func TestDialableAddrsSkipsRelaysAndStripsPeerIDs(t *testing.T) {
	const relayed = "/ip4/1.2.3.4/tcp/4001/p2p/QmcgpsyWgH8Y8ajJz1Cu72KnS5uo2Aa2LpzU7kinSupNKC/p2p-circuit"
	got := dialableAddrs(
		[]ma.Multiaddr{
			ma.StringCast("/ip4/10.0.0.1/tcp/4001"),
			ma.StringCast(relayed),
			ma.StringCast("/ip4/10.0.0.1/tcp/4001/p2p/QmcgpsyWgH8Y8ajJz1Cu72KnS5uo2Aa2LpzU7kinSupNKC"),
			nil,
		},
		[]ma.Multiaddr{ma.StringCast("/ip6/::1/udp/4001/quic-v1")},
	)
	require.Equal(t, []string{"/ip4/10.0.0.1/tcp/4001", "/ip6/::1/udp/4001/quic-v1"}, addrStrings(got))

	require.Empty(t, dialableAddrs([]ma.Multiaddr{ma.StringCast(relayed)}), "a peer known only by relay addresses has nothing to remember")
}

func TestDialableAddrsIsBounded(t *testing.T) {
	var many []ma.Multiaddr
	for port := range 3 * maxAddrsPerPeer {
		many = append(many, ma.StringCast("/ip4/10.0.0.1/tcp/"+strconv.Itoa(4000+port)))
	}
	got := dialableAddrs(many)
	require.Len(t, got, maxAddrsPerPeer)
	require.Equal(t, "/ip4/10.0.0.1/tcp/4000", got[0].String(), "the first addresses, the peerstore's, are kept")
}

func addrStrings(as []ma.Multiaddr) []string {
	out := make([]string, len(as))
	for i, a := range as {
		out[i] = a.String()
	}
	return out
}
