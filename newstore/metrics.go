package newstore

import (
	"errors"
	"fmt"
	"sync"
	"time"
	"unsafe"

	ma "github.com/multiformats/go-multiaddr"
	"github.com/prometheus/client_golang/prometheus"
)

const metricNamespace = "newstore"

// Store names, the values of the "store" label.
const (
	StoreAddrBook  = "addrbook"
	StoreProtocols = "protocols"
	StorePeerData  = "peerdata"
)

// StoreStats is what a store reports of its size when metrics are scraped.
// No field is per peer: the metrics carry no peer label (cardinality).
type StoreStats struct {
	// Peers is how many peers the store holds something for.
	Peers int
	// ConnectedAddrs and UnconnectedAddrs count the address book's
	// addresses, by whether they are outside the unconnected caps.
	ConnectedAddrs, UnconnectedAddrs int
	// Records counts the address book's signed peer records.
	Records int
	// Values counts per-peer data values.
	Values int
	// Bytes estimates the heap the store holds: its own structures and the
	// bytes it stores (addresses, records, keys, protocols); per-peer data
	// counts its values as its byte budgets charge them.
	Bytes int64
}

// MetricsTracer exports the stores' metrics to Prometheus, in the manner of
// go-libp2p's tracers (p2p/protocol/identify/metrics.go): give it to the
// stores with their WithMetricsTracer options (and to a Persister with
// WithPersisterMetrics). Sizes (peers, addresses, records, bytes) are read
// from the stores when the metrics are scraped, so the hot paths pay
// nothing for them; only drops, evictions and snapshots are counted as they
// happen. No metric has a per-peer label.
//
// A nil *MetricsTracer is valid and records nothing.
type MetricsTracer struct {
	mu      sync.Mutex
	sources map[*statsSource]struct{}

	peers, addrs, records, values, bytes *prometheus.Desc

	dropped   *prometheus.CounterVec
	evictions *prometheus.CounterVec
	// droppedBy and evictedBy hold the counters of the known stores and
	// reasons, resolved once: read-only after construction, they spare
	// the hot paths the label lookup of a vector.
	droppedBy     map[string]map[string]prometheus.Counter
	evictedBy     map[string]prometheus.Counter
	saves         *prometheus.CounterVec
	saveDuration  prometheus.Histogram
	snapshotBytes prometheus.Gauge
	restores      *prometheus.CounterVec
}

type statsSource struct {
	store string
	stats func() StoreStats
}

type metricsTracerSettings struct {
	reg prometheus.Registerer
}

// MetricsTracerOption configures NewMetricsTracer.
type MetricsTracerOption func(*metricsTracerSettings)

// WithRegisterer registers the tracer's metrics with reg instead of
// prometheus.DefaultRegisterer.
func WithRegisterer(reg prometheus.Registerer) MetricsTracerOption {
	return func(s *metricsTracerSettings) {
		if reg != nil {
			s.reg = reg
		}
	}
}

// NewMetricsTracer returns a tracer registered with the registerer of
// WithRegisterer (prometheus.DefaultRegisterer by default). Nothing is
// registered anywhere until it is called. One registry takes one tracer:
// a second is refused with an error, so track all stores with one.
func NewMetricsTracer(opts ...MetricsTracerOption) (*MetricsTracer, error) {
	s := metricsTracerSettings{reg: prometheus.DefaultRegisterer}
	for _, o := range opts {
		o(&s)
	}
	desc := func(name, help string, labels ...string) *prometheus.Desc {
		return prometheus.NewDesc(prometheus.BuildFQName(metricNamespace, "", name), help, labels, nil)
	}
	t := &MetricsTracer{
		sources: make(map[*statsSource]struct{}),
		peers:   desc("peers", "Peers a store holds something for.", "store"),
		addrs:   desc("addrs", "Addresses in the address book, by whether a connection holds them (outside the unconnected caps).", "state"),
		records: desc("signed_records", "Signed peer records in the address book."),
		values:  desc("peerdata_values", "Per-peer data values held."),
		bytes:   desc("bytes", "Estimated heap bytes a store holds: its structures and stored bytes; per-peer data as its byte budgets charge values.", "store"),
		dropped: prometheus.NewCounterVec(prometheus.CounterOpts{
			Namespace: metricNamespace, Name: "dropped_total",
			Help: "What a store refused or dropped because a bound (cap or budget) was reached, or a value could not be persisted.",
		}, []string{"store", "reason"}),
		evictions: prometheus.NewCounterVec(prometheus.CounterOpts{
			Namespace: metricNamespace, Name: "evictions_total",
			Help: "Entries a store gave up to make room for new ones.",
		}, []string{"store"}),
		saves: prometheus.NewCounterVec(prometheus.CounterOpts{
			Namespace: metricNamespace, Name: "snapshot_saves_total",
			Help: "Snapshot saves, by result (ok, error).",
		}, []string{"result"}),
		saveDuration: prometheus.NewHistogram(prometheus.HistogramOpts{
			Namespace: metricNamespace, Name: "snapshot_save_duration_seconds",
			Help:    "How long a snapshot save took, failed ones included.",
			Buckets: prometheus.ExponentialBuckets(0.001, 4, 10), // 1ms to about 4 min
		}),
		snapshotBytes: prometheus.NewGauge(prometheus.GaugeOpts{
			Namespace: metricNamespace, Name: "snapshot_size_bytes",
			Help: "Size of the last snapshot saved.",
		}),
		restores: prometheus.NewCounterVec(prometheus.CounterOpts{
			Namespace: metricNamespace, Name: "snapshot_restores_total",
			Help: "Snapshot loads at start, by result (ok, none: nothing saved yet, error).",
		}, []string{"result"}),
	}
	t.droppedBy = make(map[string]map[string]prometheus.Counter, len(knownDropReasons))
	for store, reasons := range knownDropReasons {
		t.droppedBy[store] = make(map[string]prometheus.Counter, len(reasons))
		for _, r := range reasons {
			t.droppedBy[store][r] = t.dropped.WithLabelValues(store, r)
		}
	}
	t.evictedBy = make(map[string]prometheus.Counter)
	for _, store := range []string{StoreAddrBook, StoreProtocols, StorePeerData} {
		t.evictedBy[store] = t.evictions.WithLabelValues(store)
	}
	if err := s.reg.Register(t); err != nil {
		return nil, fmt.Errorf("newstore: registering metrics: %w", err)
	}
	return t, nil
}

// Describe implements prometheus.Collector.
func (t *MetricsTracer) Describe(ch chan<- *prometheus.Desc) {
	for _, d := range []*prometheus.Desc{t.peers, t.addrs, t.records, t.values, t.bytes} {
		ch <- d
	}
	for _, c := range t.counters() {
		c.Describe(ch)
	}
}

func (t *MetricsTracer) counters() []prometheus.Collector {
	return []prometheus.Collector{t.dropped, t.evictions, t.saves, t.saveDuration, t.snapshotBytes, t.restores}
}

// Collect implements prometheus.Collector: it asks every tracked store for
// its size now.
func (t *MetricsTracer) Collect(ch chan<- prometheus.Metric) {
	t.mu.Lock()
	sources := make([]*statsSource, 0, len(t.sources))
	for s := range t.sources {
		sources = append(sources, s)
	}
	t.mu.Unlock()
	perStore := map[string]*StoreStats{StoreAddrBook: {}, StoreProtocols: {}, StorePeerData: {}}
	for _, s := range sources {
		st := s.stats()
		sum := perStore[s.store]
		if sum == nil {
			sum = &StoreStats{}
			perStore[s.store] = sum
		}
		sum.Peers += st.Peers
		sum.ConnectedAddrs += st.ConnectedAddrs
		sum.UnconnectedAddrs += st.UnconnectedAddrs
		sum.Records += st.Records
		sum.Values += st.Values
		sum.Bytes += st.Bytes
	}
	gauge := func(d *prometheus.Desc, v float64, labels ...string) {
		ch <- prometheus.MustNewConstMetric(d, prometheus.GaugeValue, v, labels...)
	}
	for name, st := range perStore {
		gauge(t.peers, float64(st.Peers), name)
		gauge(t.bytes, float64(st.Bytes), name)
	}
	ab := perStore[StoreAddrBook]
	gauge(t.addrs, float64(ab.ConnectedAddrs), "connected")
	gauge(t.addrs, float64(ab.UnconnectedAddrs), "unconnected")
	gauge(t.records, float64(ab.Records))
	gauge(t.values, float64(perStore[StorePeerData].Values))
	for _, c := range t.counters() {
		c.Collect(ch)
	}
}

// Track adds a store whose stats are read at every scrape, under the store
// name given (StoreAddrBook, StoreProtocols, StorePeerData); the stores'
// WithMetricsTracer options call it. The returned function stops tracking,
// as a store's Close does. stats must be safe to call at any time.
func (t *MetricsTracer) Track(store string, stats func() StoreStats) (untrack func()) {
	if t == nil {
		return func() {}
	}
	s := &statsSource{store: store, stats: stats}
	t.mu.Lock()
	t.sources[s] = struct{}{}
	t.mu.Unlock()
	return func() {
		t.mu.Lock()
		delete(t.sources, s)
		t.mu.Unlock()
	}
}

// Dropped counts n things a store refused or dropped for reason (a short
// snake_case name of the bound, like "max_unconnected_addrs").
func (t *MetricsTracer) Dropped(store, reason string, n int) {
	if t == nil || n <= 0 {
		return
	}
	if c, ok := t.droppedBy[store][reason]; ok {
		c.Add(float64(n))
		return
	}
	t.dropped.WithLabelValues(store, reason).Add(float64(n))
}

// knownDropReasons are the reasons the stores of this module drop for; their
// series exist from the start, at zero, so that rate() sees the first drop.
var knownDropReasons = map[string][]string{
	StoreAddrBook: {"max_unconnected_addrs", "max_addrs_per_peer", "max_signed_records"},
	StoreProtocols: {"max_protocols_per_conn", "max_bytes_per_peer", "max_retained_bytes_per_peer",
		"max_retained_bytes", "retained_peer_evicted"},
	StorePeerData: {"max_peers", "max_entries_per_peer", "max_bytes_per_peer", "max_retained_bytes", "encode_failed", "decode_failed", "private_key",
		"value_too_large", "persist_budget", "invalid_entry", "restore_refused", "unknown_key"},
}

// Evicted counts n entries a store gave up to make room.
func (t *MetricsTracer) Evicted(store string, n int) {
	if t == nil || n <= 0 {
		return
	}
	if c, ok := t.evictedBy[store]; ok {
		c.Add(float64(n))
		return
	}
	t.evictions.WithLabelValues(store).Add(float64(n))
}

// bookCounters are the counters the address book's hot paths add to; nil
// ones (no tracer) count nothing.
type bookCounters struct {
	unconnected, perPeer, records, evicted prometheus.Counter
}

func (t *MetricsTracer) bookCounters() bookCounters {
	if t == nil {
		return bookCounters{}
	}
	dropped := t.droppedBy[StoreAddrBook]
	return bookCounters{
		unconnected: dropped["max_unconnected_addrs"],
		perPeer:     dropped["max_addrs_per_peer"],
		records:     dropped["max_signed_records"],
		evicted:     t.evictedBy[StoreAddrBook],
	}
}

// countAdd adds n to c, if there is a c.
func countAdd(c prometheus.Counter, n int) {
	if c != nil && n > 0 {
		c.Add(float64(n))
	}
}

// snapshotSaved records one save.
func (t *MetricsTracer) snapshotSaved(took time.Duration, size int64, err error) {
	if t == nil {
		return
	}
	t.saveDuration.Observe(took.Seconds())
	if err != nil {
		t.saves.WithLabelValues("error").Inc()
		return
	}
	t.saves.WithLabelValues("ok").Inc()
	t.snapshotBytes.Set(float64(size))
}

// snapshotRestored records one load.
func (t *MetricsTracer) snapshotRestored(err error) {
	if t == nil {
		return
	}
	switch {
	case err == nil:
		t.restores.WithLabelValues("ok").Inc()
	case errors.Is(err, ErrNoSnapshot):
		t.restores.WithLabelValues("none").Inc()
	default:
		t.restores.WithLabelValues("error").Inc()
	}
}

// Sizes behind the address book's byte estimate: what one peer, one address
// slot and one map entry cost beyond the bytes they point to.
const (
	peerStateSize = int64(unsafe.Sizeof(peerState{}))
	addrEntrySize = int64(unsafe.Sizeof(addrEntry{}))
	pendingSize   = int64(unsafe.Sizeof(pendingAddr{}))
	componentSize = int64(unsafe.Sizeof(ma.Component{}))
	// mapEntrySize approximates a Go map slot holding a peer.ID and a
	// pointer, with the table's overhead.
	mapEntrySize = 48
)

// stats reads the book's size for the tracer. It scans every peer under
// the read lock: O(peers) at each scrape (a few milliseconds at 100k
// peers), nothing on the hot paths.
func (ab *AddrBook) stats() StoreStats {
	ab.mu.RLock()
	defer ab.mu.RUnlock()
	st := StoreStats{
		Peers:            len(ab.peers),
		UnconnectedAddrs: ab.unconnAddr,
		Records:          ab.records,
	}
	total := 0
	b := int64(len(ab.peers))*(mapEntrySize+peerStateSize) + int64(cap(ab.listed))*16
	for p, ps := range ab.peers {
		b += int64(len(p))
		total += ps.numAddrs()
		b += int64(cap(ps.addrs))*addrEntrySize + int64(len(ps.record))
		for i := range ps.addrs {
			// A component's bytes are not readable without a copy; 8 is
			// typical (an IPv4 address or a port with its code).
			b += int64(cap(ps.addrs[i].addr)) * (componentSize + 8)
		}
		if ps.extra != nil {
			b += int64(unsafe.Sizeof(peerExtra{}))
			for _, a := range ps.extra.pending {
				b += pendingSize + int64(len(a.raw))
			}
		}
	}
	st.ConnectedAddrs = total - ab.unconnAddr
	st.Bytes = b
	return st
}
