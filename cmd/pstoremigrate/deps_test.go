package main

import (
	"encoding/json"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
)

// The dependency report on a module that uses kad-dht and pubsub (at the
// versions the interop module pins) names their legacy-only uses.
func TestDepsReportNamesKadDHTAndPubsubUses(t *testing.T) {
	bin := tool(t)
	dir := guideModule(t, map[string]string{"main.go": `package main

import (
	dht "github.com/libp2p/go-libp2p-kad-dht"
	pubsub "github.com/libp2p/go-libp2p-pubsub"
)

var (
	_ = dht.New
	_ = pubsub.NewGossipSub
)

func main() {}
`})
	r := runIn(t, dir, bin, "deps", "-json", "./...")
	require.Equal(t, exitOK, r.code, "stdout:\n%s\nstderr:\n%s", r.stdout, r.stderr)
	var rep depsReport
	require.NoError(t, json.Unmarshal([]byte(r.stdout), &rep), r.stdout)
	require.Equal(t, depsMeaning, rep.Meaning)

	// messages returns every use message of the module, with its category.
	messages := func(module string) string {
		var b strings.Builder
		for _, m := range rep.Modules {
			if m.Path != module {
				continue
			}
			require.NotEmpty(t, m.Version)
			for _, p := range m.Packages {
				require.True(t, strings.HasPrefix(p.Path, module), "%s is in %s", p.Path, module)
				for _, u := range p.Uses {
					require.Positive(t, u.Count)
					require.Regexp(t, `\.go:\d+:\d+$`, u.First)
					b.WriteString(u.Category + ": " + u.Message + "\n")
				}
			}
		}
		return b.String()
	}
	kad := messages("github.com/libp2p/go-libp2p-kad-dht")
	require.Contains(t, kad, "RecordLatency", "kad-dht records latency in the peerstore:\n%s", kad)
	require.Contains(t, kad, "FirstSupportedProtocol")
	require.Contains(t, kad, "peerstore-value: h.Peerstore() is stored in a field", "kad-dht keeps h.Peerstore() and hands it to its routing table as peerstore.Metrics")
	kbucket := messages("github.com/libp2p/go-libp2p-kbucket")
	require.Contains(t, kbucket, "Metrics.LatencyEWMA", "the routing table reads latency from those metrics:\n%s", kbucket)
	ps := messages("github.com/libp2p/go-libp2p-pubsub")
	require.Contains(t, ps, "privkey: KeyBook.PrivKey", "pubsub signs with h.Peerstore().PrivKey:\n%s", ps)
	for _, m := range rep.Modules {
		require.NotContains(t, notReported, m.Path)
	}

	r = runIn(t, dir, bin, "deps", "./...")
	require.Equal(t, exitOK, r.code, r.stderr)
	require.Regexp(t, `(?m)^github\.com/libp2p/go-libp2p-kad-dht v\S+: \d+ legacy-only uses in \d+ packages?$`, r.stdout)
	require.Regexp(t, `(?m)^\t\tprivkey 1, first at .*\.go:\d+:\d+: KeyBook\.PrivKey`, r.stdout)
	require.Contains(t, r.stdout, depsMeaning)
}
