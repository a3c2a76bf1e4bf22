package datacmd

import (
	"context"
	"fmt"
	"runtime"
	"strings"
	"sync"

	ds "github.com/ipfs/go-datastore"
	"github.com/ipfs/go-datastore/query"

	"github.com/pstoremigrate/pstoremigrate/compat/pstoreds/legacy"
)

// defaultBatchPeers is how many peers' entries are held at once while a
// legacy datastore is streamed: a few megabytes, and enough peers that
// the per-batch cost of legacy.ReadPeers is noise.
const defaultBatchPeers = 1024

// legacyNamespaces are the per-peer namespaces of the legacy layout; in
// each, the peer's base32 ID is the first component after the prefix.
var legacyNamespaces = []ds.Key{legacy.AddrsPrefix, legacy.KeysPrefix, legacy.MetadataPrefix}

// streamLegacy reads the legacy layout of d one batch of peers at a time
// and decodes each batch with legacy.ReadPeers, so that only a few batches
// of peers are in memory, instead of the whole datastore that one ReadPeers
// call over d would hold.
//
// The batches come from the datastore's key order: the three namespaces
// are each queried in order and merged on the peer component of their
// keys (the base32 ID, the same string in all three), so one peer's
// entries always land in the same batch.
//
// Decoding (mostly verifying signed records) is what costs, so batches are
// decoded on every CPU at once; fn and onErr still see them one at a time,
// in order, on the calling goroutine.
//
// onEntry, if not nil, sees the key of every entry read, and says whether
// to decode it: a caller that only counts some entries spares their
// decoding. It is called from another goroutine, and not after
// streamLegacy returns.
func streamLegacy(ctx context.Context, d ds.Read, batchPeers int, onEntry func(key string) (decode bool),
	fn func(*legacy.Peer) error, onErr func(*legacy.EntryError)) error {
	if batchPeers <= 0 {
		batchPeers = defaultBatchPeers
	}
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	workers := runtime.GOMAXPROCS(0)
	jobs := make(chan *decodeJob)
	// In reading order; its buffer bounds the batches in flight.
	ordered := make(chan *decodeJob, workers)
	var wg sync.WaitGroup
	var readErr error
	wg.Add(1)
	go func() {
		defer wg.Done()
		defer close(jobs)
		defer close(ordered)
		readErr = readBatches(ctx, d, batchPeers, onEntry, func(batch ds.Read) bool {
			j := &decodeJob{batch: batch, done: make(chan struct{})}
			select {
			case ordered <- j:
			case <-ctx.Done():
				return false
			}
			select {
			case jobs <- j:
				return true
			case <-ctx.Done():
				return false
			}
		})
	}()
	for range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for j := range jobs {
				j.decode(ctx)
			}
		}()
	}

	err := func() error {
		for j := range ordered {
			if err := ctx.Err(); err != nil {
				return err
			}
			select {
			case <-j.done:
			case <-ctx.Done():
				return ctx.Err()
			}
			if j.err != nil {
				return j.err
			}
			for _, e := range j.errs {
				if onErr != nil {
					onErr(e)
				}
			}
			for _, p := range j.peers {
				if err := fn(p); err != nil {
					return err
				}
			}
		}
		return nil
	}()
	cancel()
	wg.Wait()
	if err == nil {
		err = readErr
	}
	return err
}

// decodeJob is one batch of raw entries and, once done is closed, what
// legacy.ReadPeers made of them.
type decodeJob struct {
	batch ds.Read
	done  chan struct{}
	peers []*legacy.Peer
	errs  []*legacy.EntryError
	err   error
}

func (j *decodeJob) decode(ctx context.Context) {
	defer close(j.done)
	j.err = legacy.ReadPeers(ctx, j.batch, func(p *legacy.Peer) error {
		j.peers = append(j.peers, p)
		return nil
	}, func(e *legacy.EntryError) { j.errs = append(j.errs, e) })
	j.batch = nil // the raw entries are no longer needed
}

// readBatches merges the namespaces' ordered streams into batches of
// batchPeers peers' entries and hands each to emit, until the entries run
// out or emit returns false (when ctx is done).
func readBatches(ctx context.Context, d ds.Read, batchPeers int, onEntry func(string) bool, emit func(ds.Read) bool) error {
	streams := make([]*orderedStream, 0, len(legacyNamespaces))
	defer func() {
		for _, s := range streams {
			s.res.Close()
		}
	}()
	for _, ns := range legacyNamespaces {
		s, err := newOrderedStream(ctx, d, ns)
		if err != nil {
			return err
		}
		streams = append(streams, s)
	}

	batch := ds.NewMapDatastore()
	inBatch := 0
	for {
		if err := ctx.Err(); err != nil {
			return err
		}
		// The smallest peer component among the streams' heads is the
		// next peer; take all its entries from every stream.
		next, found := "", false
		for _, s := range streams {
			if !s.done && (!found || s.peer < next) {
				next, found = s.peer, true
			}
		}
		if !found {
			if inBatch > 0 && !emit(batch) {
				return ctx.Err()
			}
			return nil
		}
		for _, s := range streams {
			for !s.done && s.peer == next {
				if onEntry == nil || onEntry(s.key) {
					if err := batch.Put(ctx, ds.RawKey(s.key), s.value); err != nil {
						return err
					}
				}
				if err := s.advance(); err != nil {
					return err
				}
			}
		}
		inBatch++
		if inBatch == batchPeers {
			if !emit(batch) {
				return ctx.Err()
			}
			batch, inBatch = ds.NewMapDatastore(), 0
		}
	}
}

// orderedStream is one namespace's entries in key order, with the peer
// component of the current key.
type orderedStream struct {
	prefix string // with its trailing slash
	res    query.Results
	done   bool
	key    string
	peer   string
	value  []byte
	// lastValid is the last base32 peer component seen.
	lastValid string
}

func newOrderedStream(ctx context.Context, d ds.Read, ns ds.Key) (*orderedStream, error) {
	res, err := d.Query(ctx, query.Query{Prefix: ns.String(), Orders: []query.Order{query.OrderByKey{}}})
	if err != nil {
		return nil, fmt.Errorf("querying legacy peerstore entries under %s: %w", ns, err)
	}
	s := &orderedStream{prefix: ns.String() + "/", res: res}
	if err := s.advance(); err != nil {
		res.Close()
		return nil, err
	}
	return s, nil
}

func (s *orderedStream) advance() error {
	r, ok := s.res.NextSync()
	if !ok {
		s.done = true
		return nil
	}
	if r.Error != nil {
		return fmt.Errorf("reading legacy peerstore entries under %s: %w", s.prefix, r.Error)
	}
	rest, found := strings.CutPrefix(r.Key, s.prefix)
	if !found {
		return fmt.Errorf("datastore answered a query for %s with key %s", s.prefix, r.Key)
	}
	p, _, _ := strings.Cut(rest, "/")
	// Grouping relies on the order: a datastore that does not keep it
	// would split a peer across batches. '/' sorts before every base32
	// character, so key order is peer order for every component that is
	// base32; the others are not peer IDs and only ever yield an
	// EntryError, wherever they land.
	if isBase32(p) {
		if p < s.lastValid {
			return fmt.Errorf("datastore returned %s after peer %s: keys out of order, cannot stream", r.Key, s.lastValid)
		}
		s.lastValid = p
	}
	s.key, s.peer, s.value = r.Key, p, r.Value
	return nil
}

// isBase32 reports whether s uses only the unpadded base32 alphabet that
// legacy keys encode peer IDs with.
func isBase32(s string) bool {
	for i := 0; i < len(s); i++ {
		c := s[i]
		if (c < 'A' || c > 'Z') && (c < '2' || c > '7') {
			return false
		}
	}
	return s != ""
}
