package pstoremem

import (
	"fmt"

	ic "github.com/libp2p/go-libp2p/core/crypto"
	"github.com/libp2p/go-libp2p/core/peer"
	pstore "github.com/libp2p/go-libp2p/core/peerstore"
	logging "github.com/libp2p/go-libp2p/gologshim"

	"github.com/pstoremigrate/pstoremigrate/compat/internal/legacybooks"
	"github.com/pstoremigrate/pstoremigrate/newstore"
)

var log = logging.Logger("pstoremigrate/pstoremem")

// Peerstore is an in-memory core/peerstore.Peerstore and
// core/peerstore.CertifiedAddrBook. Its address book is a
// *newstore.AddrBook, so Snapshot and the other newstore methods are
// available on it too.
type Peerstore struct {
	*legacybooks.Store
}

var (
	_ pstore.Peerstore         = (*Peerstore)(nil)
	_ pstore.CertifiedAddrBook = (*Peerstore)(nil)
)

// NewPeerstore creates an in-memory, thread-safe collection of peers. As
// with upstream, calling RemovePeer for peers no longer of interest is the
// caller's job; unlike upstream, every per-peer book is bounded.
func NewPeerstore(opts ...Option) (*Peerstore, error) {
	var abOpts []AddrBookOption
	var pbOpts []ProtoBookOption
	for _, opt := range opts {
		switch o := opt.(type) {
		case AddrBookOption:
			abOpts = append(abOpts, o)
		case ProtoBookOption:
			pbOpts = append(pbOpts, o)
		default:
			return nil, fmt.Errorf("unexpected peer store option: %v", o)
		}
	}
	pcfg, err := newProtoBookConfig(pbOpts)
	if err != nil {
		return nil, err
	}
	var acfg addrBookConfig
	for _, opt := range abOpts {
		if err := opt(&acfg); err != nil {
			return nil, err
		}
	}
	ab, err := newstore.New(acfg.opts...)
	if err != nil {
		return nil, fmt.Errorf("creating the address book: %w", err)
	}
	return &Peerstore{Store: legacybooks.NewStore(ab, pcfg.maxProtos)}, nil
}

// AddrBook is the address book NewAddrBook returns: addresses, public keys
// and certified records.
type AddrBook = newstore.AddrBook

// NewAddrBook returns a standalone address book, for protocols that keep one
// of their own. Like upstream's, it returns no error: an option that fails
// is logged and ignored.
func NewAddrBook(opts ...AddrBookOption) *AddrBook {
	var cfg addrBookConfig
	for _, opt := range opts {
		if err := opt(&cfg); err != nil {
			log.Error("ignoring address book option", "err", err)
		}
	}
	ab, err := newstore.New(cfg.opts...)
	if err != nil {
		log.Error("ignoring address book options", "err", err)
		// The defaults are always valid.
		ab, _ = newstore.New()
	}
	return ab
}

// ProtoBook is the protocol book NewProtoBook returns.
type ProtoBook = legacybooks.ProtoBook

// NewProtoBook returns a standalone protocol book.
func NewProtoBook(opts ...ProtoBookOption) (*ProtoBook, error) {
	cfg, err := newProtoBookConfig(opts)
	if err != nil {
		return nil, err
	}
	return legacybooks.NewProtoBook(cfg.maxProtos), nil
}

// PeerMetadata is the metadata book NewPeerMetadata returns.
type PeerMetadata = legacybooks.Metadata

// NewPeerMetadata returns a standalone metadata book, bounded as described in
// compat/internal/legacybooks.
func NewPeerMetadata() *PeerMetadata { return legacybooks.NewMetadata() }

// KeyBook is the key book NewKeyBook returns.
type KeyBook struct {
	*legacybooks.PubKeys
	privs *legacybooks.PrivKeys
}

var _ pstore.KeyBook = (*KeyBook)(nil)

// NewKeyBook returns a standalone in-memory key book.
func NewKeyBook() *KeyBook {
	return &KeyBook{PubKeys: legacybooks.NewPubKeys(), privs: legacybooks.NewPrivKeys()}
}

// PrivKey returns p's private key, nil if none.
func (kb *KeyBook) PrivKey(p peer.ID) ic.PrivKey { return kb.privs.PrivKey(p) }

// AddPrivKey stores sk for p after checking that it is p's key.
func (kb *KeyBook) AddPrivKey(p peer.ID, sk ic.PrivKey) error { return kb.privs.AddPrivKey(p, sk) }

// PeersWithKeys returns the peers with a public or a private key.
func (kb *KeyBook) PeersWithKeys() peer.IDSlice {
	out := kb.PubKeys.PeersWithKeys()
	seen := make(map[peer.ID]struct{}, len(out))
	for _, p := range out {
		seen[p] = struct{}{}
	}
	for _, p := range kb.privs.Peers() {
		if _, ok := seen[p]; !ok {
			out = append(out, p)
		}
	}
	return out
}

// RemovePeer forgets both of p's keys.
func (kb *KeyBook) RemovePeer(p peer.ID) {
	kb.PubKeys.RemovePeer(p)
	kb.privs.RemovePeer(p)
}
