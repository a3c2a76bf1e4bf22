package pstoreds

import (
	"context"
	"runtime"

	ds "github.com/ipfs/go-datastore"
	ic "github.com/libp2p/go-libp2p/core/crypto"
	"github.com/libp2p/go-libp2p/core/peer"
	pstore "github.com/libp2p/go-libp2p/core/peerstore"

	"github.com/pstoremigrate/pstoremigrate/compat/internal/legacybooks"
)

// addrBook is what AddrBook offers of the shared address book: upstream's
// address book and certified address book methods, and nothing that would
// reach the keys kept beside the addresses.
type addrBook interface {
	pstore.AddrBook
	pstore.CertifiedAddrBook
}

// AddrBook is the address book NewAddrBook returns: a core/peerstore
// AddrBook and CertifiedAddrBook over the datastore's shared state.
type AddrBook struct {
	addrBook
	ref *viewRef
}

var (
	_ pstore.AddrBook          = (*AddrBook)(nil)
	_ pstore.CertifiedAddrBook = (*AddrBook)(nil)
)

// NewAddrBook opens the address book kept in store, as upstream's does: its
// addresses and certified records survive Close and a later open. It shares
// the datastore's state with the other books and peerstores opened on it
// (see the package doc); Clock, MaxAddrsPerPeer and PersistInterval of opts
// apply, and must match those of any view already open on store.
func NewAddrBook(ctx context.Context, store ds.Batching, opts Options) (*AddrBook, error) {
	s, err := acquire(ctx, store, opts, "NewAddrBook", true, false)
	if err != nil {
		return nil, err
	}
	return &AddrBook{addrBook: s.store.AddrBook, ref: &viewRef{state: s}}, nil
}

// Close releases the datastore; the last view of it to close saves the
// state a last time and stops its background work. It does not close the
// datastore.
func (ab *AddrBook) Close() error { return ab.ref.close() }

// KeyBook is the key book NewKeyBook returns. Public keys are kept in the
// datastore's shared state and saved with it; private keys are held in
// memory only, never written (upstream wrote them in clear text).
type KeyBook struct {
	store *legacybooks.Store
	ref   *viewRef
}

var _ pstore.KeyBook = (*KeyBook)(nil)

// NewKeyBook opens the key book kept in store. opts are ignored, as by
// upstream's, unless it is the first view of store (then they configure
// the shared state, see NewAddrBook). store need not batch.
//
// Upstream's key book has no Close; this one has, to release the shared
// state. One that is dropped without Close releases it once the garbage
// collector finds it unreachable.
func NewKeyBook(ctx context.Context, store ds.Datastore, opts Options) (*KeyBook, error) {
	s, err := acquire(ctx, asBatching(store), opts, "NewKeyBook", false, false)
	if err != nil {
		return nil, err
	}
	kb := &KeyBook{store: s.store, ref: &viewRef{state: s}}
	releaseWhenUnreachable(kb, kb.ref)
	return kb, nil
}

// PubKey returns p's public key: the stored one, else the one p's ID
// inlines, else nil.
func (kb *KeyBook) PubKey(p peer.ID) ic.PubKey { return kb.store.AddrBook.PubKey(p) }

// AddPubKey stores pk for p after checking that it is p's key.
func (kb *KeyBook) AddPubKey(p peer.ID, pk ic.PubKey) error {
	return kb.store.AddrBook.AddPubKey(p, pk)
}

// PrivKey returns p's private key, nil if none.
func (kb *KeyBook) PrivKey(p peer.ID) ic.PrivKey { return kb.store.PrivKey(p) }

// AddPrivKey keeps sk in memory after checking that it is p's key; it never
// reaches the datastore.
func (kb *KeyBook) AddPrivKey(p peer.ID, sk ic.PrivKey) error { return kb.store.AddPrivKey(p, sk) }

// PeersWithKeys returns the peers with a public or a private key.
func (kb *KeyBook) PeersWithKeys() peer.IDSlice { return kb.store.PeersWithKeys() }

// RemovePeer forgets p's keys, and nothing else of p.
func (kb *KeyBook) RemovePeer(p peer.ID) { kb.store.RemoveKeys(p) }

// Close releases the datastore, as AddrBook.Close does.
func (kb *KeyBook) Close() error { return kb.ref.close() }

// PeerMetadata is the metadata book NewPeerMetadata returns: bounded as
// compat/pstoremem's, and held in memory only (identify puts it back after
// a restart). What a legacy pstoreds layout held is imported when the
// datastore's state is opened.
type PeerMetadata struct {
	*legacybooks.Metadata
	store *legacybooks.Store
	ref   *viewRef
}

var _ pstore.PeerMetadata = (*PeerMetadata)(nil)

// NewPeerMetadata opens the metadata book of store; opts as for NewKeyBook,
// and like KeyBook it has a Close that upstream's lacks.
func NewPeerMetadata(ctx context.Context, store ds.Datastore, opts Options) (*PeerMetadata, error) {
	s, err := acquire(ctx, asBatching(store), opts, "NewPeerMetadata", false, false)
	if err != nil {
		return nil, err
	}
	md := &PeerMetadata{Metadata: s.store.Metadata, store: s.store, ref: &viewRef{state: s}}
	releaseWhenUnreachable(md, md.ref)
	return md, nil
}

// Close releases the datastore, as AddrBook.Close does.
func (md *PeerMetadata) Close() error { return md.ref.close() }

// releaseWhenUnreachable releases ref once view is garbage: upstream's key
// and metadata books need no Close, so code written for them never calls
// ours, and the state must not stay open (saving in the background) for
// ever because of that.
func releaseWhenUnreachable[T any](view *T, ref *viewRef) {
	runtime.AddCleanup(view, func(ref *viewRef) {
		// Cleanups run one at a time on one goroutine; the last
		// release saves, which must not hold up the others.
		go func() {
			if err := ref.close(); err != nil {
				log.Warn("closing the peerstore state of a key or metadata book that was never closed", "err", err)
			}
		}()
	}, ref)
}

// ProtoBookOption configures NewProtoBook.
type ProtoBookOption func(*protoBookConfig) error

type protoBookConfig struct {
	maxProtos int
}

// WithMaxProtocols caps the protocols stored per peer (default 128, as
// upstream's NewProtoBook).
func WithMaxProtocols(num int) ProtoBookOption {
	return func(c *protoBookConfig) error {
		c.maxProtos = num
		return nil
	}
}

// ProtoBook is the protocol book NewProtoBook returns.
type ProtoBook = legacybooks.ProtoBook

// NewProtoBook returns a protocol book, bounded per peer. Upstream's kept
// protocols inside meta; this one keeps them itself, in memory (identify
// puts them back after a restart), so two protocol books are two sets.
// When meta is a PeerMetadata of this package, the book starts with the
// protocols its datastore's state holds: those the legacy layout listed,
// and those a Peerstore open on it has learned.
func NewProtoBook(meta pstore.PeerMetadata, opts ...ProtoBookOption) (*ProtoBook, error) {
	cfg := protoBookConfig{maxProtos: legacybooks.DefaultMaxProtocols}
	for _, opt := range opts {
		if err := opt(&cfg); err != nil {
			return nil, err
		}
	}
	pb := legacybooks.NewProtoBook(cfg.maxProtos)
	if md, ok := meta.(*PeerMetadata); ok {
		from := md.store.ProtoBook
		for _, p := range from.Peers() {
			protos, _ := from.GetProtocols(p)
			// The cap may be lower than the state's.
			_ = pb.SetProtocols(p, protos[:min(len(protos), pb.MaxProtocols())]...)
		}
	}
	return pb, nil
}
