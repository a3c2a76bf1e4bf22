package legacy

import (
	"bytes"
	"context"
	"encoding/gob"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	ds "github.com/ipfs/go-datastore"
	"github.com/ipfs/go-datastore/query"
	ic "github.com/libp2p/go-libp2p/core/crypto"
	"github.com/libp2p/go-libp2p/core/peer"
	pstore "github.com/libp2p/go-libp2p/core/peerstore"
	"github.com/libp2p/go-libp2p/core/protocol"
	"github.com/libp2p/go-libp2p/core/record"
	"github.com/libp2p/go-libp2p/p2p/host/peerstore/pstoreds/pb"
	b32 "github.com/multiformats/go-base32"
	ma "github.com/multiformats/go-multiaddr"
	"google.golang.org/protobuf/proto"

	"github.com/pstoremigrate/pstoremigrate/newstore"
)

// The namespaces of the legacy layout.
var (
	Root           = ds.NewKey("/peers")
	AddrsPrefix    = ds.NewKey("/peers/addrs")
	KeysPrefix     = ds.NewKey("/peers/keys")
	MetadataPrefix = ds.NewKey("/peers/metadata")
)

const (
	pubSuffix  = "pub"
	privSuffix = "priv"
	// protocolsKey is where pstoreds' proto book kept a peer's protocols,
	// as a gob-encoded map[protocol.ID]struct{}.
	protocolsKey = "protocols"
)

func init() {
	// pstoreds stored protocols as this type inside an interface value;
	// gob can decode it only once it is registered (under the same name
	// as upstream's init does, so both packages may be linked together).
	gob.Register(make(map[protocol.ID]struct{}))
}

// Peer is everything the legacy layout held about one peer, decoded.
type Peer struct {
	ID peer.ID
	// Addrs are the stored addresses, expired ones included: see
	// Unexpired.
	Addrs []Addr
	// PubKey is the stored public key, nil if none.
	PubKey ic.PubKey
	// Record is the certified peer record's signed envelope, nil if none;
	// RecordBytes is its marshalled form.
	Record      *record.Envelope
	RecordBytes []byte
	// RecordSeq is the record's sequence number as pstoreds stored it.
	RecordSeq uint64
	// Protocols the peer advertised.
	Protocols []protocol.ID
	// Metadata holds the other decodable metadata values of basic types
	// (identify's "AgentVersion" and "ProtocolVersion" among them).
	Metadata map[string]any
	// HasPrivKey reports that a private key entry exists. Its value is
	// never read into memory by this package.
	HasPrivKey bool
}

// Addr is one legacy address entry.
type Addr struct {
	Addr ma.Multiaddr
	// TTL is the TTL the address was last given.
	TTL time.Duration
	// Expires is when it expires; pstoreds kept it with a one-second
	// resolution.
	Expires time.Time
}

// Connected reports whether the address was held by a live connection
// (peerstore.ConnectedAddrTTL or longer), which its expiry does not reflect.
func (a Addr) Connected() bool { return a.TTL >= pstore.ConnectedAddrTTL }

// Unexpired returns the addresses still valid at now: connected and
// permanent ones, and the others whose expiry is after now.
func (p *Peer) Unexpired(now time.Time) []Addr {
	var out []Addr
	for _, a := range p.Addrs {
		if a.Connected() || a.TTL == pstore.PermanentAddrTTL || a.Expires.After(now) {
			out = append(out, a)
		}
	}
	return out
}

// Entry returns p as a newstore snapshot entry (the minimal store's view:
// addresses, public key, record; expired addresses are left to the reader,
// which drops them).
func (p *Peer) Entry() (*newstore.PeerEntry, error) {
	e := &newstore.PeerEntry{ID: p.ID, Record: p.RecordBytes}
	if p.PubKey != nil {
		raw, err := ic.MarshalPublicKey(p.PubKey)
		if err != nil {
			return nil, fmt.Errorf("marshalling the public key of %s: %w", p.ID, err)
		}
		e.PubKey = raw
	}
	e.Addrs = make([]newstore.AddrEntry, len(p.Addrs))
	for i, a := range p.Addrs {
		ttl := a.TTL
		if a.Connected() && ttl != pstore.PermanentAddrTTL {
			// Legacy stores kept connected addresses at TTLs of their
			// own between ConnectedAddrTTL and PermanentAddrTTL; the
			// snapshot knows only ConnectedAddrTTL.
			ttl = pstore.ConnectedAddrTTL
		}
		e.Addrs[i] = newstore.AddrEntry{Addr: a.Addr, TTL: ttl, Expires: a.Expires}
	}
	return e, nil
}

// EntryError is one datastore entry that could not be decoded.
type EntryError struct {
	Key ds.Key
	Err error
}

func (e *EntryError) Error() string {
	return fmt.Sprintf("legacy peerstore entry %s: %v", e.Key, e.Err)
}
func (e *EntryError) Unwrap() error { return e.Err }

// ReadPeers decodes every peer of the legacy layout in d and calls fn for
// each, in peer ID order. An entry that does not decode is passed to onErr
// (which may be nil) and skipped; the peer's other entries are still read.
// ReadPeers stops at the first error fn returns, or a failing query, and
// returns it.
//
// It holds all peers in memory before the first fn call: the layout spreads
// one peer over several keys that a datastore may return in any order.
func ReadPeers(ctx context.Context, d ds.Read, fn func(*Peer) error, onErr func(*EntryError)) error {
	report := func(k ds.Key, err error) {
		if onErr != nil {
			onErr(&EntryError{Key: k, Err: err})
		}
	}
	res, err := d.Query(ctx, query.Query{Prefix: Root.String()})
	if err != nil {
		return fmt.Errorf("querying legacy peerstore entries under %s: %w", Root, err)
	}
	defer res.Close()

	peers := make(map[peer.ID]*Peer)
	get := func(id peer.ID) *Peer {
		p := peers[id]
		if p == nil {
			p = &Peer{ID: id}
			peers[id] = p
		}
		return p
	}
	for r := range res.Next() {
		if r.Error != nil {
			return fmt.Errorf("reading legacy peerstore entries under %s: %w", Root, r.Error)
		}
		if err := ctx.Err(); err != nil {
			return err
		}
		k := ds.RawKey(r.Key)
		ns := k.Namespaces()
		if len(ns) < 3 {
			continue // not an entry of the layout
		}
		id, err := decodePeerID(ns[2])
		if err != nil {
			report(k, err)
			continue
		}
		switch {
		case ns[1] == "addrs" && len(ns) == 3:
			decodeAddrs(get(id), k, r.Value, report)
		case ns[1] == "keys" && len(ns) == 4 && ns[3] == pubSuffix:
			pk, err := decodePubKey(id, r.Value)
			if err != nil {
				report(k, err)
				continue
			}
			get(id).PubKey = pk
		case ns[1] == "keys" && len(ns) == 4 && ns[3] == privSuffix:
			get(id).HasPrivKey = true
		case ns[1] == "metadata" && len(ns) >= 4:
			// A metadata key may itself contain slashes.
			mkey := strings.Join(ns[3:], "/")
			if err := decodeMetadata(get(id), mkey, r.Value); err != nil {
				report(k, err)
			}
		}
	}

	ids := make([]peer.ID, 0, len(peers))
	for id := range peers {
		ids = append(ids, id)
	}
	slices.Sort(ids)
	for _, id := range ids {
		if err := ctx.Err(); err != nil {
			return err
		}
		if err := fn(peers[id]); err != nil {
			return err
		}
	}
	return nil
}

func decodePeerID(s string) (peer.ID, error) {
	raw, err := b32.RawStdEncoding.DecodeString(s)
	if err != nil {
		return "", fmt.Errorf("peer ID %q is not unpadded base32: %w", s, err)
	}
	id, err := peer.IDFromBytes(raw)
	if err != nil {
		return "", fmt.Errorf("peer ID %q does not decode: %w", s, err)
	}
	return id, nil
}

func decodePubKey(id peer.ID, v []byte) (ic.PubKey, error) {
	pk, err := ic.UnmarshalPublicKey(v)
	if err != nil {
		return nil, fmt.Errorf("public key does not decode: %w", err)
	}
	if !id.MatchesPublicKey(pk) {
		return nil, errors.New("public key does not match the peer ID it is stored under")
	}
	return pk, nil
}

// decodeAddrs reports each bad part of the record separately so that one
// bad address does not cost the peer its other addresses or its record.
func decodeAddrs(p *Peer, k ds.Key, v []byte, report func(ds.Key, error)) {
	var rec pb.AddrBookRecord
	if err := proto.Unmarshal(v, &rec); err != nil {
		report(k, fmt.Errorf("address record does not decode: %w", err))
		return
	}
	if peer.ID(rec.Id) != p.ID {
		report(k, fmt.Errorf("address record names peer %s, stored under %s", peer.ID(rec.Id), p.ID))
		return
	}
	for i, e := range rec.Addrs {
		a, err := ma.NewMultiaddrBytes(e.Addr)
		if err != nil {
			report(k, fmt.Errorf("address %d does not decode: %w", i, err))
			continue
		}
		p.Addrs = append(p.Addrs, Addr{Addr: a, TTL: time.Duration(e.Ttl), Expires: time.Unix(e.Expiry, 0)})
	}
	if cr := rec.CertifiedRecord; cr != nil && len(cr.Raw) > 0 {
		env, rec, err := record.ConsumeEnvelope(cr.Raw, peer.PeerRecordEnvelopeDomain)
		if err != nil {
			report(k, fmt.Errorf("certified record does not verify: %w", err))
			return
		}
		pr, ok := rec.(*peer.PeerRecord)
		if !ok || pr.PeerID != p.ID || !p.ID.MatchesPublicKey(env.PublicKey) {
			report(k, fmt.Errorf("certified record is not %s's own", p.ID))
			return
		}
		p.Record, p.RecordBytes, p.RecordSeq = env, cr.Raw, cr.Seq
	}
}

func decodeMetadata(p *Peer, key string, v []byte) error {
	var val any
	if err := gob.NewDecoder(bytes.NewReader(v)).Decode(&val); err != nil {
		return fmt.Errorf("metadata %q does not decode: %w", key, err)
	}
	if key == protocolsKey {
		m, ok := val.(map[protocol.ID]struct{})
		if !ok {
			return fmt.Errorf("metadata %q holds a %T, not a protocol set", key, val)
		}
		p.Protocols = make([]protocol.ID, 0, len(m))
		for proto := range m {
			p.Protocols = append(p.Protocols, proto)
		}
		slices.Sort(p.Protocols)
		return nil
	}
	if p.Metadata == nil {
		p.Metadata = make(map[string]any)
	}
	p.Metadata[key] = val
	return nil
}

// PrivKeyKeys returns the datastore keys of every stored private key.
func PrivKeyKeys(ctx context.Context, d ds.Read) ([]ds.Key, error) {
	res, err := d.Query(ctx, query.Query{Prefix: KeysPrefix.String(), KeysOnly: true})
	if err != nil {
		return nil, fmt.Errorf("querying legacy key entries under %s: %w", KeysPrefix, err)
	}
	defer res.Close()
	var keys []ds.Key
	for r := range res.Next() {
		if r.Error != nil {
			return nil, fmt.Errorf("reading legacy key entries under %s: %w", KeysPrefix, r.Error)
		}
		k := ds.RawKey(r.Key)
		if k.Name() == privSuffix {
			keys = append(keys, k)
		}
	}
	return keys, nil
}

// CountPrivKeys returns how many private keys the legacy layout in d holds.
func CountPrivKeys(ctx context.Context, d ds.Read) (int, error) {
	keys, err := PrivKeyKeys(ctx, d)
	return len(keys), err
}

// DeletePrivKeys deletes every stored private key from d, in one batch when
// d supports batches, and returns how many it deleted. The caller should
// Sync or Close d afterwards for the deletion to reach the disk.
func DeletePrivKeys(ctx context.Context, d ds.Datastore) (int, error) {
	keys, err := PrivKeyKeys(ctx, d)
	if err != nil || len(keys) == 0 {
		return 0, err
	}
	var w ds.Write = d
	var b ds.Batch
	if bd, ok := d.(ds.Batching); ok {
		if b, err = bd.Batch(ctx); err != nil {
			return 0, fmt.Errorf("starting a batch to delete private keys: %w", err)
		}
		w = b
	}
	for _, k := range keys {
		if err := w.Delete(ctx, k); err != nil {
			return 0, fmt.Errorf("deleting private key entry %s: %w", k, err)
		}
	}
	if b != nil {
		if err := b.Commit(ctx); err != nil {
			return 0, fmt.Errorf("committing the deletion of %d private keys: %w", len(keys), err)
		}
	}
	return len(keys), nil
}
