// Package fieldview holds a compat view of its host in a field beside the
// host's, both set only together: the fix uses the field instead of
// calling New again.
package fieldview

import (
	"time"

	"github.com/libp2p/go-libp2p/core/host"
	"github.com/libp2p/go-libp2p/core/peer"
	pstore "github.com/libp2p/go-libp2p/core/peerstore"
	"github.com/libp2p/go-libp2p/core/protocol"

	"github.com/pstoremigrate/pstoremigrate/compat/peerstore"
)

type node struct {
	host host.Host
	view pstore.Peerstore
}

func newNode(h host.Host) *node {
	return &node{host: h, view: peerstore.New(h)}
}

func (n *node) protocols(p peer.ID) ([]protocol.ID, error) {
	return n.host.Peerstore().GetProtocols(p) // want `ProtoBook.GetProtocols is going away: .*fix: use n.view, the field that holds the compat/peerstore view of n.host \(the two are only ever set together\)`
}

func (n *node) rtt(p peer.ID) time.Duration {
	return n.host.Network().Peerstore().LatencyEWMA(p) // want `Metrics.LatencyEWMA is going away: .*fix: use n.view`
}

// record is a helper the node passes its host's store to.
func record(m pstore.Metrics, p peer.ID) {
	m.RecordLatency(p, time.Millisecond) // want `Metrics.RecordLatency is going away: .*fix: every call of record in the package passes the host's store`
}

func (n *node) ping(p peer.ID) {
	record(n.host.Peerstore(), p) // want `n.host.Peerstore\(\) is passed as an argument of type peerstore.Metrics: .*; fix: use n.view, the field that holds`
}

// loose's host is assigned after construction: its view may be of
// another host by then, so New is called.
type loose struct {
	host host.Host
	view pstore.Peerstore
}

func newLoose(h host.Host) *loose {
	return &loose{host: h, view: peerstore.New(h)}
}

func (l *loose) move(h host.Host) { l.host = h }

func (l *loose) protocols(p peer.ID) ([]protocol.ID, error) {
	return l.host.Peerstore().GetProtocols(p) // want `ProtoBook.GetProtocols is going away: .*fix: rewrite to peerstore.New\(l.host\)`
}

// pair holds two hosts and a view of the first only.
type pair struct {
	local, remote host.Host
	view          pstore.Peerstore
}

func newPair(local, remote host.Host) *pair {
	return &pair{local: local, remote: remote, view: peerstore.New(local)}
}

func (p *pair) protocols(id peer.ID) ([]protocol.ID, error) {
	return p.remote.Peerstore().GetProtocols(id) // want `ProtoBook.GetProtocols is going away: .*fix: rewrite to peerstore.New\(p.remote\)`
}

func (p *pair) local1(id peer.ID) ([]protocol.ID, error) {
	return p.local.Peerstore().GetProtocols(id) // want `ProtoBook.GetProtocols is going away: .*fix: use p.view`
}

// partial sets the view in one literal and not in another: the host field
// can be set without a view.
type partial struct {
	host host.Host
	view pstore.Peerstore
}

func newPartial(h host.Host, withView bool) *partial {
	if withView {
		return &partial{host: h, view: peerstore.New(h)}
	}
	return &partial{host: h}
}

func (x *partial) protocols(p peer.ID) ([]protocol.ID, error) {
	return x.host.Peerstore().GetProtocols(p) // want `ProtoBook.GetProtocols is going away: .*fix: rewrite to peerstore.New\(x.host\)`
}

// reassigned is built with a host variable that changes before the
// literal: the literal still pairs them (the variable is read once per
// field), but only variables never reassigned are trusted.
type reassigned struct {
	host host.Host
	view pstore.Peerstore
}

func newReassigned(h, next host.Host) *reassigned {
	h = next
	return &reassigned{host: h, view: peerstore.New(h)}
}

func (r *reassigned) protocols(p peer.ID) ([]protocol.ID, error) {
	return r.host.Peerstore().GetProtocols(p) // want `ProtoBook.GetProtocols is going away: .*fix: rewrite to peerstore.New\(r.host\)`
}

// assigned sets the two fields in adjacent statements of its constructor.
type assigned struct {
	host host.Host
	view pstore.Peerstore
}

func newAssigned(h host.Host) *assigned {
	a := new(assigned)
	a.host = h
	a.view = peerstore.New(h)
	return a
}

func (a *assigned) protocols(p peer.ID) ([]protocol.ID, error) {
	return a.host.Peerstore().GetProtocols(p) // want `ProtoBook.GetProtocols is going away: .*fix: use a.view, the field that holds the compat/peerstore view of a.host`
}

// apart sets them with a call in between, which could read the pair.
type apart struct {
	host host.Host
	view pstore.Peerstore
}

func newApart(h host.Host, ready func(*apart)) *apart {
	a := new(apart)
	a.host = h
	ready(a)
	a.view = peerstore.New(h)
	return a
}

func (a *apart) protocols(p peer.ID) ([]protocol.ID, error) {
	return a.host.Peerstore().GetProtocols(p) // want `ProtoBook.GetProtocols is going away: .*fix: rewrite to peerstore.New\(a.host\)`
}
