// Package protocols uses every ProtoBook method through h.Peerstore().
package protocols

import (
	"github.com/libp2p/go-libp2p/core/host"
	"github.com/libp2p/go-libp2p/core/peer"
	"github.com/libp2p/go-libp2p/core/protocol"
)

const chat = protocol.ID("/chat/1.0.0")

func speaksChat(h host.Host, p peer.ID) bool {
	protos, err := h.Peerstore().SupportsProtocols(p, chat) // want `ProtoBook.SupportsProtocols is going away: protocols belong to the connection.*rewrite to peerstore.New\(h\)`
	return err == nil && len(protos) > 0
}

func pick(h host.Host, p peer.ID) (protocol.ID, error) {
	return h.Peerstore().FirstSupportedProtocol(p, chat, "/chat/0.9.0") // want `ProtoBook.FirstSupportedProtocol is going away`
}

func record(h host.Host, p peer.ID) error {
	if err := h.Peerstore().AddProtocols(p, chat); err != nil { // want `ProtoBook.AddProtocols is going away`
		return err
	}
	if err := h.Peerstore().SetProtocols(p, chat); err != nil { // want `ProtoBook.SetProtocols is going away`
		return err
	}
	return (h).Peerstore().RemoveProtocols(p, chat) // want `ProtoBook.RemoveProtocols is going away`
}

func list(h host.Host, p peer.ID) []protocol.ID {
	protos, _ := h.Peerstore(). // the chain may span lines
					GetProtocols(p) // want `ProtoBook.GetProtocols is going away`
	return protos
}
