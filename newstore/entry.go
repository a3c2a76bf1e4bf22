package newstore

import (
	"time"

	"github.com/libp2p/go-libp2p/core/peer"
	ma "github.com/multiformats/go-multiaddr"
)

// PeerEntry is one peer's state as it crosses a snapshot: exactly what the
// minimal store keeps, and never a private key.
type PeerEntry struct {
	ID peer.ID
	// Addrs are the peer's addresses with their TTLs and absolute expiries.
	Addrs []AddrEntry
	// PubKey is the public key in crypto.MarshalPublicKey form, nil if none
	// is stored (or it is inlined in the peer ID).
	PubKey []byte
	// Record is the signed envelope of the peer's certified record as
	// marshalled by record.Envelope.Marshal, nil if none.
	Record []byte
}

// AddrEntry is one address of a peer.
type AddrEntry struct {
	Addr ma.Multiaddr
	// TTL is the TTL the address was last given; it tells permanent and
	// connected addresses (peerstore.PermanentAddrTTL,
	// peerstore.ConnectedAddrTTL) from ones that simply expire.
	TTL time.Duration
	// Expires is when the address expires; meaningless for permanent and
	// connected addresses. For an AfterDisconnect address it is the zero
	// time while the peer was connected when the snapshot was taken.
	Expires time.Time
	// AfterDisconnect says that TTL counts from the peer's last disconnect
	// (AddrBook.AddAddrsAfterDisconnect) rather than from when the address
	// was added.
	AfterDisconnect bool

	// raw is the binary multiaddr when Addr was left unparsed: the address
	// book restores addresses without parsing them (parsing is most of a
	// restore's cost) and parses a peer's on first use.
	raw []byte
}
