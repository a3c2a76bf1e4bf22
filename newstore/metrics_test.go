package newstore_test

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	mockclock "github.com/benbjohnson/clock"
	"github.com/libp2p/go-libp2p/core/peerstore"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/pstoremigrate/pstoremigrate/newstore"
	"github.com/pstoremigrate/pstoremigrate/newstore/peerdata"
	"github.com/pstoremigrate/pstoremigrate/newstore/protocols"
)

// exportedMetricNames lists the metric names the tracer exports, from its
// descriptors (a vector with no child yet is not in a Gather).
func exportedMetricNames(t *testing.T, tr *newstore.MetricsTracer) map[string]bool {
	t.Helper()
	ch := make(chan *prometheus.Desc, 64)
	tr.Describe(ch)
	close(ch)
	fq := regexp.MustCompile(`fqName: "([^"]+)"`)
	names := make(map[string]bool)
	for d := range ch {
		m := fq.FindStringSubmatch(d.String())
		require.NotNil(t, m, "descriptor %s", d)
		names[m[1]] = true
	}
	return names
}

// Every query of the dashboard names at least one metric, and every metric
// it names is one the tracer exports (a histogram's by its _bucket, _sum and
// _count series).
func TestDashboardQueriesNameExportedMetrics(t *testing.T) {
	tr, err := newstore.NewMetricsTracer(newstore.WithRegisterer(prometheus.NewRegistry()))
	require.NoError(t, err)
	exported := exportedMetricNames(t, tr)

	raw, err := os.ReadFile(filepath.Join("..", "dashboards", "newstore", "newstore.json"))
	require.NoError(t, err)
	var dash struct {
		Panels []struct {
			Title   string `json:"title"`
			Targets []struct {
				Expr string `json:"expr"`
			} `json:"targets"`
		} `json:"panels"`
	}
	require.NoError(t, json.Unmarshal(raw, &dash))
	name := regexp.MustCompile(`\bnewstore_[a-z0-9_]+`)
	queries := 0
	for _, p := range dash.Panels {
		for _, tg := range p.Targets {
			queries++
			found := name.FindAllString(tg.Expr, -1)
			require.NotEmpty(t, found, "panel %q: query %q names no newstore metric", p.Title, tg.Expr)
			for _, n := range found {
				base := n
				for _, suffix := range []string{"_bucket", "_sum", "_count"} {
					if b, ok := strings.CutSuffix(n, suffix); ok && exported[b] {
						base = b
					}
				}
				assert.True(t, exported[base], "panel %q: query %q names %s, which the tracer does not export", p.Title, tg.Expr, n)
			}
		}
	}
	require.Greater(t, queries, 5)
}

func TestNewMetricsTracerRefusesASecondOnOneRegistry(t *testing.T) {
	reg := prometheus.NewRegistry()
	_, err := newstore.NewMetricsTracer(newstore.WithRegisterer(reg))
	require.NoError(t, err)
	_, err = newstore.NewMetricsTracer(newstore.WithRegisterer(reg))
	require.Error(t, err)
}

// failingSink refuses every save.
type failingSink struct{}

func (failingSink) Save(context.Context, func(io.Writer) error) error {
	return errors.New("disk full")
}
func (failingSink) Load(context.Context, func(io.Reader) error) error { return newstore.ErrNoSnapshot }

// sample is one line of the Prometheus text format.
type sample struct {
	name   string
	labels map[string]string
	value  float64
}

var (
	sampleLine = regexp.MustCompile(`^([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{(.*)\})? (\S+)$`)
	labelPair  = regexp.MustCompile(`([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)"`)
)

// scrape reads /metrics over HTTP as Prometheus would, in its text format.
func scrape(t *testing.T, url string) []sample {
	t.Helper()
	resp, err := http.Get(url)
	require.NoError(t, err)
	defer resp.Body.Close()
	require.Equal(t, http.StatusOK, resp.StatusCode)
	body, err := io.ReadAll(resp.Body)
	require.NoError(t, err)
	var out []sample
	for _, line := range strings.Split(string(body), "\n") {
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		m := sampleLine.FindStringSubmatch(line)
		require.NotNil(t, m, "not a sample line: %q", line)
		v, err := strconv.ParseFloat(m[3], 64)
		require.NoError(t, err, "line %q", line)
		s := sample{name: m[1], labels: make(map[string]string), value: v}
		for _, l := range labelPair.FindAllStringSubmatch(m[2], -1) {
			s.labels[l[1]] = l[2]
		}
		out = append(out, s)
	}
	return out
}

// value returns the value of the series named name with the given labels
// (name, value pairs), failing when there is none.
func value(t *testing.T, samples []sample, name string, labels ...string) float64 {
	t.Helper()
next:
	for _, s := range samples {
		if s.name != name {
			continue
		}
		for i := 0; i < len(labels); i += 2 {
			if s.labels[labels[i]] != labels[i+1] {
				continue next
			}
		}
		return s.value
	}
	t.Fatalf("no series %s%v", name, labels)
	return 0
}

// A known workload, scraped over HTTP on 127.0.0.1: every number is the one
// the workload implies.
func TestMetricsServedOverHTTP(t *testing.T) {
	reg := prometheus.NewRegistry()
	tr, err := newstore.NewMetricsTracer(newstore.WithRegisterer(reg))
	require.NoError(t, err)
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	srv := &http.Server{Handler: promhttp.HandlerFor(reg, promhttp.HandlerOpts{})}
	go srv.Serve(ln)
	defer srv.Close()
	url := "http://" + ln.Addr().String() + "/metrics"

	fams := scrape(t, url)
	assert.Zero(t, value(t, fams, "newstore_peers", "store", "addrbook"), "nothing tracked yet")

	clk := mockclock.NewMock()
	ab := newBook(t, newstore.WithClock(clk), newstore.WithMetricsTracer(tr),
		newstore.WithMaxAddrsPerPeer(2), newstore.WithMaxUnconnectedAddrs(6))
	priv, f := newPeer(t)
	_, err = ab.ConsumePeerRecord(sealRecord(t, priv, f, 1, addrs(t, 1, 10)), time.Hour) // 1 unconnected, 1 record
	require.NoError(t, err)
	_, a := newPeer(t)
	ab.AddAddrs(a, addrs(t, 3, 20), time.Hour) // the per-peer cap evicts 1: 3 unconnected
	_, b := newPeer(t)
	ab.AddAddrs(b, addrs(t, 2, 30), time.Hour) // 5
	_, c := newPeer(t)
	ab.AddAddrs(c, addrs(t, 2, 40), time.Hour) // 7: the total cap is checked per call
	_, d := newPeer(t)
	ab.AddAddrs(d, addrs(t, 1, 50), time.Hour) // dropped by the total cap
	_, e := newPeer(t)
	ab.AddAddrs(e, addrs(t, 1, 60), peerstore.PermanentAddrTTL) // 1 connected

	pd := peerdata.New(peerdata.WithClock(clk), peerdata.WithMetricsTracer(tr), peerdata.WithMaxEntriesPerPeer(1))
	defer pd.Close()
	type k1 struct{}
	type k2 struct{}
	require.NoError(t, pd.Put(a, k1{}, 1, time.Hour))
	require.ErrorIs(t, pd.Put(a, k2{}, 2, time.Hour), peerdata.ErrTooManyEntries)
	require.NoError(t, pd.Put(b, k1{}, 3, time.Hour))
	ps := protocols.New(protocols.WithClock(clk), protocols.WithMetricsTracer(tr))
	defer ps.Close()

	dir := t.TempDir()
	pers := newstore.NewPersister(ab, newstore.NewFileSink(filepath.Join(dir, "snap")), newstore.WithPersisterMetrics(tr))
	require.NoError(t, pers.Save(context.Background()))
	info, err := os.Stat(filepath.Join(dir, "snap"))
	require.NoError(t, err)
	fresh := newBook(t, newstore.WithClock(clk))
	require.NoError(t, newstore.NewPersister(fresh, newstore.NewFileSink(filepath.Join(dir, "snap")), newstore.WithPersisterMetrics(tr)).Load(context.Background()))
	require.ErrorIs(t, newstore.NewPersister(fresh, newstore.NewFileSink(filepath.Join(dir, "none")), newstore.WithPersisterMetrics(tr)).Load(context.Background()), newstore.ErrNoSnapshot)
	require.Error(t, newstore.NewPersister(ab, failingSink{}, newstore.WithPersisterMetrics(tr)).Save(context.Background()))

	fams = scrape(t, url)
	assert.Equal(t, 5.0, value(t, fams, "newstore_peers", "store", "addrbook"))
	assert.Equal(t, 1.0, value(t, fams, "newstore_addrs", "state", "connected"))
	assert.Equal(t, 7.0, value(t, fams, "newstore_addrs", "state", "unconnected"))
	assert.Equal(t, 1.0, value(t, fams, "newstore_signed_records"))
	assert.Equal(t, 1.0, value(t, fams, "newstore_evictions_total", "store", "addrbook"))
	assert.Equal(t, 1.0, value(t, fams, "newstore_dropped_total", "store", "addrbook", "reason", "max_unconnected_addrs"))
	assert.Equal(t, 2.0, value(t, fams, "newstore_peers", "store", "peerdata"))
	assert.Equal(t, 2.0, value(t, fams, "newstore_peerdata_values"))
	assert.Equal(t, 1.0, value(t, fams, "newstore_dropped_total", "store", "peerdata", "reason", "max_entries_per_peer"))
	assert.Zero(t, value(t, fams, "newstore_peers", "store", "protocols"))
	for _, store := range []string{"addrbook", "peerdata"} {
		assert.Positive(t, value(t, fams, "newstore_bytes", "store", store), "bytes of %s", store)
	}
	assert.Zero(t, value(t, fams, "newstore_bytes", "store", "protocols"), "an empty store holds nothing")
	assert.Equal(t, 1.0, value(t, fams, "newstore_snapshot_saves_total", "result", "ok"))
	assert.Equal(t, 1.0, value(t, fams, "newstore_snapshot_saves_total", "result", "error"))
	assert.Equal(t, 2.0, value(t, fams, "newstore_snapshot_save_duration_seconds_count"), "both saves timed")
	assert.Equal(t, float64(info.Size()), value(t, fams, "newstore_snapshot_size_bytes"))
	assert.Equal(t, 1.0, value(t, fams, "newstore_snapshot_restores_total", "result", "ok"))
	assert.Equal(t, 1.0, value(t, fams, "newstore_snapshot_restores_total", "result", "none"))

	// A closed store is no longer read.
	require.NoError(t, ab.Close())
	require.NoError(t, pd.Close())
	fams = scrape(t, url)
	assert.Zero(t, value(t, fams, "newstore_peers", "store", "addrbook"))
	assert.Zero(t, value(t, fams, "newstore_peerdata_values"))
}
