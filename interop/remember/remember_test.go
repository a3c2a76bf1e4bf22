package remember_test

import (
	"bytes"
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"os"
	"path/filepath"
	"sync"
	"testing"
	"time"

	ds "github.com/ipfs/go-datastore"
	dssync "github.com/ipfs/go-datastore/sync"
	"github.com/libp2p/go-libp2p"
	dht "github.com/libp2p/go-libp2p-kad-dht"
	"github.com/libp2p/go-libp2p/core/crypto"
	"github.com/libp2p/go-libp2p/core/host"
	"github.com/libp2p/go-libp2p/core/network"
	"github.com/libp2p/go-libp2p/core/peer"
	"github.com/libp2p/go-libp2p/core/record"
	"github.com/libp2p/go-libp2p/p2p/transport/tcp"
	ma "github.com/multiformats/go-multiaddr"
	manet "github.com/multiformats/go-multiaddr/net"
	"github.com/stretchr/testify/require"
	"go.uber.org/goleak"

	"github.com/pstoremigrate/pstoremigrate/newstore"
	"github.com/pstoremigrate/pstoremigrate/newstore/remember"
)

func TestMain(m *testing.M) {
	goleak.VerifyTestMain(m,
		// The benchmarks compare with a pstoreds host on goleveldb, whose
		// pool drainer lingers for up to a second after Close.
		goleak.IgnoreTopFunction("github.com/syndtr/goleveldb/leveldb.(*DB).mpoolDrain"),
	)
}

// waitFor bounds every wait in these tests; it is a guard against a hang,
// not a measure of speed.
const waitFor = time.Minute

func newKey(t testing.TB) crypto.PrivKey {
	t.Helper()
	k, _, err := crypto.GenerateEd25519Key(rand.Reader)
	require.NoError(t, err)
	return k
}

// newHost starts a host on loopback TCP only, with nothing that reaches
// out. It is closed at the end of the test unless closed before.
func newHost(t testing.TB, key crypto.PrivKey) host.Host {
	t.Helper()
	h := startHost(t, key)
	t.Cleanup(func() { _ = h.Close() })
	return h
}

// startHost is newHost without the cleanup, for benchmarks that start and
// stop hundreds of hosts; opts come after the loopback-only ones.
func startHost(t testing.TB, key crypto.PrivKey, opts ...libp2p.Option) host.Host {
	t.Helper()
	h, err := libp2p.New(append([]libp2p.Option{
		libp2p.Identity(key),
		libp2p.ListenAddrStrings("/ip4/127.0.0.1/tcp/0"),
		libp2p.Transport(tcp.NewTCPTransport),
		libp2p.DisableRelay(),
		libp2p.DisableMetrics(),
	}, opts...)...)
	require.NoError(t, err)
	return h
}

func newDHT(t testing.TB, h host.Host) *dht.IpfsDHT {
	t.Helper()
	d, err := dht.New(h, dht.Mode(dht.ModeServer))
	require.NoError(t, err)
	t.Cleanup(func() { _ = d.Close() })
	return d
}

func connect(t testing.TB, a, b host.Host) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), waitFor)
	defer cancel()
	require.NoError(t, a.Connect(ctx, peer.AddrInfo{ID: b.ID(), Addrs: b.Addrs()}))
}

// logBuffer collects what the rememberer logs, so tests can check that it
// says why.
type logBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *logBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *logBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

func (l *logBuffer) logger() *slog.Logger {
	return slog.New(slog.NewTextHandler(l, &slog.HandlerOptions{Level: slog.LevelDebug}))
}

func rejoined(t testing.TB, r *remember.Rememberer) remember.RejoinResult {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), waitFor)
	defer cancel()
	res, err := r.Rejoined(ctx)
	require.NoError(t, err)
	return res
}

// rememberOne is a first run: a rememberer on a new host with key, saving
// to path, that has met other and remembers it. The caller closes both, in
// the order its test is about.
func rememberOne(t testing.TB, key crypto.PrivKey, path string, other host.Host) (host.Host, *remember.Rememberer) {
	t.Helper()
	h := newHost(t, key)
	r, err := remember.Attach(h, remember.WithFile(path))
	require.NoError(t, err)
	rejoined(t, r)
	connect(t, h, other)
	require.Eventually(t, func() bool { return len(r.Remembered()) == 1 }, waitFor, 10*time.Millisecond)
	return h, r
}

func remembered(r *remember.Rememberer) map[peer.ID]bool {
	out := make(map[peer.ID]bool)
	for _, ai := range r.Remembered() {
		out[ai.ID] = true
	}
	return out
}

// The scenario of the issue: a node restarts with no bootstrap list and
// finds the network again through the peers it remembered, and its DHT
// routing table refills.
func TestRestartRejoinsWithoutBootstrappers(t *testing.T) {
	const others, direct = 11, 6
	hosts := make([]host.Host, others)
	for i := range hosts {
		hosts[i] = newHost(t, newKey(t))
		newDHT(t, hosts[i])
	}
	// The others know each other, so the network exists without X.
	for i := range hosts {
		connect(t, hosts[i], hosts[(i+1)%others])
	}

	path := filepath.Join(t.TempDir(), "peers")
	key := newKey(t)
	x := newHost(t, key)
	xdht := newDHT(t, x)
	r, err := remember.Attach(x, remember.WithFile(path), remember.WithSaveInterval(time.Hour))
	require.NoError(t, err)
	first := rejoined(t, r)
	require.ErrorIs(t, first.LoadErr, newstore.ErrNoSnapshot, "a first start has nothing saved")
	require.Zero(t, first.Remembered)

	for _, h := range hosts[:direct] {
		connect(t, x, h)
	}
	require.Eventually(t, func() bool { return xdht.RoutingTable().Size() >= direct },
		waitFor, 10*time.Millisecond, "X's routing table holds the peers it connected to")
	before := remembered(r)
	for _, h := range hosts[:direct] {
		require.True(t, before[h.ID()], "peer %s X is connected to is remembered", h.ID())
	}
	require.False(t, before[x.ID()], "X does not remember itself")
	// Identify's records reach the rememberer through its own event
	// subscription; wait until it has them all.
	require.Eventually(t, func() bool {
		if r.Save(context.Background()) != nil {
			return false
		}
		saved, err := savedPeers(path)
		if err != nil {
			return false
		}
		for _, h := range hosts[:direct] {
			if !saved[h.ID()] {
				return false
			}
		}
		return true
	}, waitFor, 10*time.Millisecond, "the peers X connected to are saved with their signed records")

	require.NoError(t, r.Close())
	require.NoError(t, xdht.Close())
	require.NoError(t, x.Close())
	info, err := os.Stat(path)
	require.NoError(t, err, "Close saved the peers")
	saved := readSaved(t, path)
	for _, h := range hosts[:direct] {
		require.True(t, saved[h.ID()], "peer %s saved with its signed record on Close", h.ID())
	}
	t.Logf("saved %d peers in %d bytes (%.0f bytes per peer)", len(saved), info.Size(), float64(info.Size())/float64(len(saved)))

	// Two of the remembered peers go away while X is down.
	gone := hosts[:2]
	for _, h := range gone {
		require.NoError(t, h.Close())
	}

	logs := &logBuffer{}
	x2 := newHost(t, key)
	require.Equal(t, x.ID(), x2.ID())
	x2dht := newDHT(t, x2)
	r2, err := remember.Attach(x2, remember.WithFile(path), remember.WithLogger(logs.logger()))
	require.NoError(t, err)
	defer func() { require.NoError(t, r2.Close()) }()
	res := rejoined(t, r2)
	require.NoError(t, res.LoadErr)
	require.Equal(t, len(saved), res.Remembered)
	require.Equal(t, res.Remembered, res.Dialed, "DialAlways dials every remembered peer")
	require.Equal(t, res.Remembered-len(gone), res.Answered, "every remembered peer still up answered, the gone ones did not")
	require.GreaterOrEqual(t, res.Answered, 3)
	require.Positive(t, res.FirstAnswer)
	require.Zero(t, res.BootstrapDialed)
	require.Contains(t, logs.String(), "rejoined the network")
	for _, h := range gone {
		require.NotEqual(t, network.Connected, x2.Network().Connectedness(h.ID()))
	}
	require.Eventually(t, func() bool { return x2dht.RoutingTable().Size() >= 3 },
		waitFor, 10*time.Millisecond, "X's routing table refills from the remembered peers")
	t.Logf("restart: %d of %d remembered peers answered, first after %v; routing table size %d",
		res.Answered, res.Remembered, res.FirstAnswer, x2dht.RoutingTable().Size())
}

func TestMissingStateStartsNormally(t *testing.T) {
	h := newHost(t, newKey(t))
	other := newHost(t, newKey(t))
	logs := &logBuffer{}
	path := filepath.Join(t.TempDir(), "never-written")
	r, err := remember.Attach(h, remember.WithFile(path), remember.WithLogger(logs.logger()),
		remember.WithBootstrapPeers(peer.AddrInfo{ID: other.ID(), Addrs: other.Addrs()}))
	require.NoError(t, err)
	res := rejoined(t, r)
	require.ErrorIs(t, res.LoadErr, newstore.ErrNoSnapshot)
	require.Contains(t, logs.String(), "no remembered peers saved yet")
	require.Equal(t, 1, res.BootstrapAnswered, "the host still starts and bootstraps")
	require.Zero(t, res.Dialed)
	require.NoError(t, r.Close())
	_, err = os.Stat(path)
	require.NoError(t, err, "Close writes the state a missing one is replaced by")
}

func TestCorruptStateStartsNormally(t *testing.T) {
	// A valid state, saved by a rememberer that knew one peer.
	key := newKey(t)
	path := filepath.Join(t.TempDir(), "peers")
	h, r := rememberOne(t, key, path, newHost(t, newKey(t)))
	require.NoError(t, r.Close())
	good, err := os.ReadFile(path)
	require.NoError(t, err)
	require.NoError(t, h.Close())

	for name, tc := range map[string]struct {
		data []byte
		want error
	}{
		"foreign":   {[]byte("this is not a snapshot at all, just text\n"), newstore.ErrBadMagic},
		"flipped":   {flipByte(good, len(good)/2), newstore.ErrChecksum},
		"truncated": {good[:len(good)-3], newstore.ErrTruncated},
		"empty":     {nil, nil},
	} {
		t.Run(name, func(t *testing.T) {
			require.NoError(t, os.WriteFile(path, tc.data, 0o600))
			logs := &logBuffer{}
			h := newHost(t, key)
			r, err := remember.Attach(h, remember.WithFile(path), remember.WithLogger(logs.logger()))
			require.NoError(t, err, "a corrupt state does not stop the host")
			res := rejoined(t, r)
			require.Error(t, res.LoadErr)
			if tc.want != nil {
				require.ErrorIs(t, res.LoadErr, tc.want)
			}
			require.Zero(t, res.Remembered, "nothing from a corrupt state is used")
			require.Zero(t, res.Dialed)
			require.Contains(t, logs.String(), "saved peers are unreadable")
			require.Contains(t, logs.String(), res.LoadErr.Error(), "the log says why")
			require.NoError(t, r.Close())
		})
	}
}

func flipByte(b []byte, i int) []byte {
	out := bytes.Clone(b)
	out[i] ^= 0xff
	return out
}

func TestDialModeIfBootstrapFails(t *testing.T) {
	key := newKey(t)
	rememberedPeer := newHost(t, newKey(t))
	bootstrapper := newHost(t, newKey(t))
	path := filepath.Join(t.TempDir(), "peers")

	// A first run remembers one peer.
	h, r := rememberOne(t, key, path, rememberedPeer)
	require.NoError(t, r.Close())
	require.NoError(t, h.Close())

	saved, err := os.ReadFile(path)
	require.NoError(t, err)
	restart := func(t *testing.T, boot peer.AddrInfo) (host.Host, remember.RejoinResult) {
		// Each restart starts from the first run's state.
		path := filepath.Join(t.TempDir(), "peers")
		require.NoError(t, os.WriteFile(path, saved, 0o600))
		h := newHost(t, key)
		r, err := remember.Attach(h, remember.WithFile(path),
			remember.WithDialMode(remember.DialIfBootstrapFails),
			remember.WithBootstrapPeers(boot))
		require.NoError(t, err)
		res := rejoined(t, r)
		require.NoError(t, r.Close())
		return h, res
	}

	t.Run("bootstrap answers", func(t *testing.T) {
		h, res := restart(t, peer.AddrInfo{ID: bootstrapper.ID(), Addrs: bootstrapper.Addrs()})
		require.Equal(t, 1, res.Remembered)
		require.Equal(t, 1, res.BootstrapAnswered)
		require.Zero(t, res.Dialed, "remembered peers are only a fallback")
		require.NotEqual(t, network.Connected, h.Network().Connectedness(rememberedPeer.ID()))
		require.NoError(t, h.Close())
	})
	t.Run("bootstrap does not answer", func(t *testing.T) {
		dead := newHost(t, newKey(t))
		deadInfo := peer.AddrInfo{ID: dead.ID(), Addrs: dead.Addrs()}
		require.NoError(t, dead.Close())
		h, res := restart(t, deadInfo)
		require.Equal(t, 1, res.BootstrapDialed)
		require.Zero(t, res.BootstrapAnswered)
		require.Equal(t, 1, res.Dialed)
		require.Equal(t, 1, res.Answered)
		require.Equal(t, network.Connected, h.Network().Connectedness(rememberedPeer.ID()))
		require.NoError(t, h.Close())
	})
}

func TestMaxPeersAndDatastore(t *testing.T) {
	store := dssync.MutexWrap(ds.NewMapDatastore())
	key := newKey(t)
	h := newHost(t, key)
	r, err := remember.Attach(h, remember.WithDatastore(store, ds.NewKey("/remembered")), remember.WithMaxPeers(2))
	require.NoError(t, err)
	rejoined(t, r)
	for range 4 {
		connect(t, h, newHost(t, newKey(t)))
	}
	require.Eventually(t, func() bool { return len(h.Network().Peers()) == 4 }, waitFor, 10*time.Millisecond)
	require.Len(t, r.Remembered(), 2, "at most WithMaxPeers are remembered")
	require.NoError(t, r.Save(context.Background()))
	require.NoError(t, r.Close())
	require.NoError(t, h.Close())

	h2 := newHost(t, key)
	r2, err := remember.Attach(h2, remember.WithDatastore(store, ds.NewKey("/remembered")))
	require.NoError(t, err)
	res := rejoined(t, r2)
	require.NoError(t, res.LoadErr)
	require.Equal(t, 2, res.Remembered)
	require.Equal(t, 2, res.Answered)
	require.NoError(t, r2.Close())
}

func TestAttachRejectsBadOptions(t *testing.T) {
	h := newHost(t, newKey(t))
	path := filepath.Join(t.TempDir(), "peers")
	for name, opts := range map[string][]remember.Option{
		"no sink":          nil,
		"empty path":       {remember.WithFile("")},
		"zero max peers":   {remember.WithFile(path), remember.WithMaxPeers(0)},
		"zero interval":    {remember.WithFile(path), remember.WithSaveInterval(0)},
		"zero dials":       {remember.WithFile(path), remember.WithDialConcurrency(0)},
		"negative timeout": {remember.WithFile(path), remember.WithDialTimeout(-time.Second)},
		"unknown mode":     {remember.WithFile(path), remember.WithDialMode(remember.DialMode(7))},
		"bad bootstrap":    {remember.WithFile(path), remember.WithBootstrapPeers(peer.AddrInfo{})},
		"nil datastore":    {remember.WithDatastore(nil, ds.NewKey("/x"))},
	} {
		t.Run(name, func(t *testing.T) {
			r, err := remember.Attach(h, opts...)
			require.Error(t, err)
			require.Nil(t, r)
			require.Contains(t, err.Error(), "remember: ")
		})
	}
	_, err := remember.Attach(nil, remember.WithFile(path))
	require.Error(t, err)
}

// readSaved reads the saved state: every peer in it, true for those saved
// with a signed record.
func readSaved(t *testing.T, path string) map[peer.ID]bool {
	t.Helper()
	saved, err := savedPeers(path)
	require.NoError(t, err)
	return saved
}

// savedPeers is readSaved without testing.T, for polling: it checks that
// every saved peer has addresses and every saved record is the peer's own.
func savedPeers(path string) (map[peer.ID]bool, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	sr, err := newstore.NewSnapshotReader(f)
	if err != nil {
		return nil, err
	}
	saved := make(map[peer.ID]bool)
	for {
		e, err := sr.Next()
		if errors.Is(err, io.EOF) {
			return saved, nil
		}
		if err != nil {
			return nil, err
		}
		if len(e.Addrs) == 0 {
			return nil, fmt.Errorf("peer %s saved without addresses", e.ID)
		}
		saved[e.ID] = e.Record != nil
		if e.Record == nil {
			continue
		}
		env, rec, err := record.ConsumeEnvelope(e.Record, peer.PeerRecordEnvelopeDomain)
		if err != nil {
			return nil, fmt.Errorf("peer %s: %w", e.ID, err)
		}
		if pr, ok := rec.(*peer.PeerRecord); !ok || pr.PeerID != e.ID || !e.ID.MatchesPublicKey(env.PublicKey) {
			return nil, fmt.Errorf("peer %s saved with a record that is not its own", e.ID)
		}
	}
}

// silentListener accepts TCP connections on loopback and never says a
// word, so a libp2p dial to it hangs in the handshake until its context
// ends. It counts the connections it accepted.
type silentListener struct {
	ln       net.Listener
	mu       sync.Mutex
	accepted int
	conns    []net.Conn
	done     chan struct{}
}

func newSilentListener(t *testing.T) *silentListener {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	s := &silentListener{ln: ln, done: make(chan struct{})}
	go func() {
		defer close(s.done)
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			s.mu.Lock()
			s.accepted++
			s.conns = append(s.conns, c)
			s.mu.Unlock()
		}
	}()
	t.Cleanup(func() {
		_ = ln.Close()
		<-s.done
		s.mu.Lock()
		defer s.mu.Unlock()
		for _, c := range s.conns {
			_ = c.Close()
		}
	})
	return s
}

func (s *silentListener) addr(t *testing.T) ma.Multiaddr {
	t.Helper()
	a, err := manet.FromNetAddr(s.ln.Addr())
	require.NoError(t, err)
	return a
}

func (s *silentListener) count() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.accepted
}

// writeState saves a state listing n peers that all live at addr.
func writeState(t *testing.T, path string, n int, addr ma.Multiaddr) {
	t.Helper()
	f, err := os.Create(path)
	require.NoError(t, err)
	defer f.Close()
	now := time.Now()
	sw, err := newstore.NewSnapshotWriterOfKind(f, newstore.KindRememberedPeers, now)
	require.NoError(t, err)
	for range n {
		id, err := peer.IDFromPrivateKey(newKey(t))
		require.NoError(t, err)
		require.NoError(t, sw.WritePeer(&newstore.PeerEntry{ID: id, Addrs: []newstore.AddrEntry{
			{Addr: addr, TTL: time.Hour, Expires: now.Add(time.Hour)},
		}}))
	}
	require.NoError(t, sw.Close())
}

// Peers that never answer are given up at the deadline, and no more than
// the concurrency limit are dialed at once: with every dial hanging, only
// the first two are ever started.
func TestDialsAreBoundedByConcurrencyAndDeadline(t *testing.T) {
	silent := newSilentListener(t)
	path := filepath.Join(t.TempDir(), "peers")
	writeState(t, path, 5, silent.addr(t))

	h := newHost(t, newKey(t))
	logs := &logBuffer{}
	r, err := remember.Attach(h, remember.WithFile(path), remember.WithLogger(logs.logger()),
		remember.WithDialConcurrency(2), remember.WithDialTimeout(500*time.Millisecond))
	require.NoError(t, err)
	res := rejoined(t, r)
	require.NoError(t, res.LoadErr)
	require.Equal(t, 5, res.Remembered)
	require.Equal(t, 2, res.Dialed, "two dials in flight until the deadline, the rest never started")
	require.Zero(t, res.Answered)
	require.Zero(t, res.FirstAnswer)
	require.Equal(t, 2, silent.count())
	require.Contains(t, logs.String(), "no remembered or bootstrap peer answered")
	require.NoError(t, r.Close())
}

// Close does not wait for the dial deadline: it stops the dials.
func TestCloseStopsDials(t *testing.T) {
	silent := newSilentListener(t)
	path := filepath.Join(t.TempDir(), "peers")
	writeState(t, path, 3, silent.addr(t))

	h := newHost(t, newKey(t))
	r, err := remember.Attach(h, remember.WithFile(path), remember.WithDialTimeout(24*time.Hour))
	require.NoError(t, err)
	require.Eventually(t, func() bool { return silent.count() == 3 }, waitFor, 10*time.Millisecond)
	require.NoError(t, r.Close())
	res := rejoined(t, r)
	require.Equal(t, 3, res.Dialed)
	require.Zero(t, res.Answered)
	require.NoError(t, r.Close(), "Close twice is harmless")
}

// Closing the host first still saves what the rememberer knew.
func TestCloseAfterHost(t *testing.T) {
	key := newKey(t)
	path := filepath.Join(t.TempDir(), "peers")
	h, r := rememberOne(t, key, path, newHost(t, newKey(t)))
	require.NoError(t, h.Close())
	require.NoError(t, r.Close())

	h2 := newHost(t, key)
	r2, err := remember.Attach(h2, remember.WithFile(path))
	require.NoError(t, err)
	res := rejoined(t, r2)
	require.Equal(t, 1, res.Remembered)
	require.Equal(t, 1, res.Answered)
	require.NoError(t, r2.Close())
}

// The state is saved on the interval, not only on Close.
func TestSavesPeriodically(t *testing.T) {
	h := newHost(t, newKey(t))
	path := filepath.Join(t.TempDir(), "peers")
	r, err := remember.Attach(h, remember.WithFile(path), remember.WithSaveInterval(10*time.Millisecond))
	require.NoError(t, err)
	defer func() { require.NoError(t, r.Close()) }()
	require.Eventually(t, func() bool {
		_, err := os.Stat(path)
		return err == nil
	}, waitFor, 10*time.Millisecond)
}
