// Package benchdata builds the peer population the benchmarks
// compare stores with: each peer has 8 addresses, a public key, a signed
// peer record, 20 protocols out of a realistic set of about 50, and an agent
// version. It is for benchmarks only.
package benchdata

import (
	"fmt"
	"strings"
	"time"

	ic "github.com/libp2p/go-libp2p/core/crypto"
	"github.com/libp2p/go-libp2p/core/peer"
	pstore "github.com/libp2p/go-libp2p/core/peerstore"
	"github.com/libp2p/go-libp2p/core/protocol"
	"github.com/libp2p/go-libp2p/core/record"
	ma "github.com/multiformats/go-multiaddr"
)

// Protocols is a set of about 50 protocol IDs as seen on the IPFS network.
var Protocols = func() []protocol.ID {
	base := []string{
		"/ipfs/id/1.0.0", "/ipfs/id/push/1.0.0", "/ipfs/ping/1.0.0", "/ipfs/kad/1.0.0",
		"/ipfs/bitswap", "/ipfs/bitswap/1.0.0", "/ipfs/bitswap/1.1.0", "/ipfs/bitswap/1.2.0",
		"/ipfs/lan/kad/1.0.0", "/libp2p/circuit/relay/0.2.0/hop", "/libp2p/circuit/relay/0.2.0/stop",
		"/libp2p/autonat/1.0.0", "/libp2p/autonat/2/dial-request", "/libp2p/autonat/2/dial-back",
		"/libp2p/dcutr", "/meshsub/1.0.0", "/meshsub/1.1.0", "/meshsub/1.2.0", "/meshsub/1.3.0",
		"/floodsub/1.0.0", "/x/", "/ipfs/ipns/1.0.0", "/libp2p/fetch/0.0.1", "/p2p/id/delta/1.0.0",
		"/libp2p/rendezvous/1.0.0", "/ipfs/graphsync/2.0.0", "/fil/hello/1.0.0", "/fil/kad/testnetnet/kad/1.0.0",
		"/fil/sync/blk/0.0.1", "/fil/storage/mk/1.1.0", "/fil/storage/ask/1.1.0", "/fil/retrieval/qry/1.0.0",
		"/eth2/beacon_chain/req/status/1/ssz_snappy", "/eth2/beacon_chain/req/goodbye/1/ssz_snappy",
		"/eth2/beacon_chain/req/ping/1/ssz_snappy", "/eth2/beacon_chain/req/metadata/2/ssz_snappy",
		"/eth2/beacon_chain/req/beacon_blocks_by_range/2/ssz_snappy", "/eth2/beacon_chain/req/beacon_blocks_by_root/2/ssz_snappy",
		"/eth2/beacon_chain/req/blob_sidecars_by_range/1/ssz_snappy", "/eth2/beacon_chain/req/blob_sidecars_by_root/1/ssz_snappy",
		"/ipfs/kad/2.0.0", "/sfst/2.0", "/libp2p/perf/1.0.0", "/webrtc-signaling/0.0.1",
		"/ipfs/delegated-routing/1", "/celestia/mocha/kad/1.0.0", "/celestia/mocha/ipfs/bitswap/1.2.0",
		"/polkadot/kad", "/polkadot/sync/2", "/polkadot/block-announces/1",
	}
	out := make([]protocol.ID, len(base))
	for i, s := range base {
		out[i] = protocol.ID(s)
	}
	return out
}()

// Agents are the agent versions peers report.
var Agents = []string{"kubo/0.30.0/desktop", "kubo/0.29.0/", "go-libp2p/0.51.0", "rust-libp2p/0.54.1", "lodestar/v1.20.0"}

// Peer is one peer as raw bytes, so that loading it into a store decodes
// fresh objects each time, as bytes arriving from the network are: what a
// store then retains is what it costs.
type Peer struct {
	ID        peer.ID
	PubKey    []byte   // crypto.MarshalPublicKey
	Addrs     [][]byte // 8 binary multiaddrs
	Record    []byte   // marshalled signed envelope of a peer record
	Protocols []int    // 20 indexes into Protocols
	Agent     int      // index into Agents
}

// Generate returns n peers; peer i is the same in every call.
func Generate(n int) ([]Peer, error) {
	out := make([]Peer, n)
	for i := range out {
		seed := make([]byte, 64)
		for j := 0; j < 8; j++ {
			seed[j] = byte(i >> (8 * j))
		}
		priv, pub, err := ic.GenerateEd25519Key(&repeatReader{seed: seed})
		if err != nil {
			return nil, err
		}
		id, err := peer.IDFromPublicKey(pub)
		if err != nil {
			return nil, err
		}
		p := Peer{ID: id, Agent: i % len(Agents)}
		if p.PubKey, err = ic.MarshalPublicKey(pub); err != nil {
			return nil, err
		}
		var addrs []ma.Multiaddr
		for j := 0; j < 8; j++ {
			a := ma.StringCast(fmt.Sprintf("/ip4/%d.%d.%d.%d/tcp/%d", 1+i>>24&127, i>>16&255, i>>8&255, i&255, 4001+j))
			if j%2 == 1 {
				a = ma.StringCast(fmt.Sprintf("/ip4/%d.%d.%d.%d/udp/%d/quic-v1", 1+i>>24&127, i>>16&255, i>>8&255, i&255, 4001+j))
			}
			addrs = append(addrs, a)
			p.Addrs = append(p.Addrs, a.Bytes())
		}
		env, err := record.Seal(peer.PeerRecordFromAddrInfo(peer.AddrInfo{ID: id, Addrs: addrs[:4]}), priv)
		if err != nil {
			return nil, err
		}
		if p.Record, err = env.Marshal(); err != nil {
			return nil, err
		}
		for j := 0; j < 20; j++ {
			p.Protocols = append(p.Protocols, (i+j*7)%len(Protocols))
		}
		out[i] = p
	}
	return out, nil
}

// Decoded is a Peer decoded into the objects a store is handed.
type Decoded struct {
	ID        peer.ID
	PubKey    ic.PubKey
	Addrs     []ma.Multiaddr
	Record    *record.Envelope
	Protocols []protocol.ID
	Agent     string
}

// Decode decodes p afresh, as identify would from the wire: no object is
// shared with another Decode of the same peer.
func Decode(p *Peer) (*Decoded, error) {
	d := &Decoded{ID: p.ID, Agent: strings.Clone(Agents[p.Agent])}
	d.Addrs = make([]ma.Multiaddr, len(p.Addrs))
	for i, b := range p.Addrs {
		a, err := ma.NewMultiaddrBytes(b)
		if err != nil {
			return nil, err
		}
		d.Addrs[i] = a
	}
	var err error
	if d.PubKey, err = ic.UnmarshalPublicKey(p.PubKey); err != nil {
		return nil, err
	}
	if d.Record, _, err = record.ConsumeEnvelope(p.Record, peer.PeerRecordEnvelopeDomain); err != nil {
		return nil, err
	}
	d.Protocols = make([]protocol.ID, len(p.Protocols))
	for i, j := range p.Protocols {
		d.Protocols[i] = protocol.ID(strings.Clone(string(Protocols[j])))
	}
	return d, nil
}

// Store hands d to ps the way identify and the DHT would: addresses,
// public key, record, protocols, agent version.
func Store(ps pstore.Peerstore, d *Decoded) error {
	if err := ps.AddPubKey(d.ID, d.PubKey); err != nil {
		return err
	}
	ps.AddAddrs(d.ID, d.Addrs, time.Hour)
	cab, ok := ps.(pstore.CertifiedAddrBook)
	if !ok {
		return fmt.Errorf("%T is not a CertifiedAddrBook", ps)
	}
	if _, err := cab.ConsumePeerRecord(d.Record, time.Hour); err != nil {
		return err
	}
	if err := ps.SetProtocols(d.ID, d.Protocols...); err != nil {
		return err
	}
	return ps.Put(d.ID, "AgentVersion", d.Agent)
}

// Load decodes p afresh and stores it in ps.
func Load(ps pstore.Peerstore, p *Peer) error {
	d, err := Decode(p)
	if err != nil {
		return err
	}
	return Store(ps, d)
}

// repeatReader makes key generation deterministic.
type repeatReader struct{ seed []byte }

func (r *repeatReader) Read(b []byte) (int, error) {
	for i := range b {
		b[i] = r.seed[i%len(r.seed)]
	}
	return len(b), nil
}
