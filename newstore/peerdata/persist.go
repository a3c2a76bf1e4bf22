package peerdata

import (
	"bytes"
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/libp2p/go-libp2p/core/crypto"
	"github.com/libp2p/go-libp2p/core/peer"
	logging "github.com/libp2p/go-libp2p/gologshim"

	"github.com/pstoremigrate/pstoremigrate/newstore"
)

var log = logging.Logger("peerdata")

// DefaultPersistBudget bounds the encoded values one snapshot holds, all
// persisted keys together.
const DefaultPersistBudget = 16 << 20

// ErrPrivateKey is returned by Put, and reported by a snapshot, for a value
// of a persisted key that is, or encodes to, a private key: persistence is
// for what a node learns about peers (scores, counters), never for secrets.
var ErrPrivateKey = errors.New("peerdata: a private key is never persisted")

// Codec turns the values of one persisted key into bytes and back. Its
// errors, and its panics, are reported and cost only the value at hand.
type Codec interface {
	Encode(val any) ([]byte, error)
	Decode(data []byte) (any, error)
}

// CodecFuncs makes a Codec of two functions.
type CodecFuncs struct {
	EncodeFunc func(val any) ([]byte, error)
	DecodeFunc func(data []byte) (any, error)
}

// Encode calls EncodeFunc.
func (c CodecFuncs) Encode(val any) ([]byte, error) { return c.EncodeFunc(val) }

// Decode calls DecodeFunc.
func (c CodecFuncs) Decode(data []byte) (any, error) { return c.DecodeFunc(data) }

// persistence is what a Store persists and how.
type persistence struct {
	mu     sync.RWMutex
	byKey  map[any]*persistedKey
	byName map[string]*persistedKey
	// budget bounds the encoded values of one snapshot.
	budget  int
	onError func(error)
}

type persistedKey struct {
	key   any
	name  string
	codec Codec
}

// WithPersistBudget bounds the bytes of encoded values one snapshot holds
// (DefaultPersistBudget by default); values past it are left out of that
// snapshot, reported and counted. n <= 0 keeps the default.
func WithPersistBudget(n int) Option {
	return func(s *Store) {
		if n > 0 {
			s.persist.budget = n
		}
	}
}

// WithPersistErrorHandler receives what persistence could not do: a value
// that failed to encode or decode, a private key refused, a value over the
// budget, a snapshot value of a key no one persists. By default these are
// logged. They are never fatal.
func WithPersistErrorHandler(f func(error)) Option {
	return func(s *Store) {
		if f != nil {
			s.persist.onError = f
		}
	}
}

// Persist opts the values of key into persistence: a Persister of
// newstore.Stores{Book: ..., Data: []newstore.PeerDataSnapshotter{s}} saves
// them, encoded by codec, under name (the key itself is a Go value and
// cannot be written), and restores them at the next start with the rest of
// their ttlAfterDisconnect counted from the restore, as if their peers had
// just disconnected. Keys that do not opt in are never written.
//
// A private key is never persisted: a Put of a crypto.PrivKey under a
// persisted key is refused (ErrPrivateKey), and a value whose encoding
// parses as a marshalled private key, or holds a PEM private key, is left
// out of snapshots and reported.
//
// The name must be stable across restarts and unique in the store; a key
// persists under one name only.
func (s *Store) Persist(key any, name string, codec Codec) error {
	if err := checkKey(key); err != nil {
		return err
	}
	switch {
	case name == "" || len(name) > newstore.MaxSnapshotDataNameLen:
		return fmt.Errorf("peerdata: persist: name of %d bytes, want 1 to %d", len(name), newstore.MaxSnapshotDataNameLen)
	case codec == nil:
		return fmt.Errorf("peerdata: persist %q: nil codec", name)
	}
	pp := &s.persist
	pp.mu.Lock()
	defer pp.mu.Unlock()
	if k, ok := pp.byName[name]; ok && k.key != key {
		return fmt.Errorf("peerdata: persist: name %q is already used by another key", name)
	}
	if k, ok := pp.byKey[key]; ok && k.name != name {
		return fmt.Errorf("peerdata: persist %q: the key already persists as %q", name, k.name)
	}
	if pp.byKey == nil {
		pp.byKey, pp.byName = make(map[any]*persistedKey), make(map[string]*persistedKey)
	}
	k := &persistedKey{key: key, name: name, codec: codec}
	pp.byKey[key], pp.byName[name] = k, k
	return nil
}

// checkPersistable refuses a private key as the value of a persisted key.
func (s *Store) checkPersistable(key, val any) error {
	if _, ok := val.(crypto.PrivKey); !ok {
		return nil
	}
	s.persist.mu.RLock()
	k := s.persist.byKey[key]
	s.persist.mu.RUnlock()
	if k != nil {
		return fmt.Errorf("put %q: %w", k.name, ErrPrivateKey)
	}
	return nil
}

func (s *Store) persistError(reason string, err error) {
	s.tracer.Dropped(newstore.StorePeerData, reason, 1)
	if s.persist.onError != nil {
		s.persist.onError(err)
		return
	}
	log.Warn("persisting per-peer data", "err", err)
}

// looksLikePrivateKey tells an encoding that is a private key in
// go-libp2p's marshalled form or in PEM.
func looksLikePrivateKey(b []byte) bool {
	if bytes.Contains(b, []byte("PRIVATE KEY-----")) {
		return true
	}
	_, err := crypto.UnmarshalPrivateKey(b)
	return err == nil
}

// candidate is a value to save, copied out under the lock.
type candidate struct {
	peer      peer.ID
	k         *persistedKey
	val       any
	ttl       time.Duration
	remaining time.Duration
}

// SnapshotData implements newstore.PeerDataSnapshotter: it hands write the
// live values of persisted keys, encoded, within the budget. A value of a
// connected peer keeps its whole ttlAfterDisconnect, one of a disconnected
// peer what is left of it; a value that would die at disconnect (a TTL of
// 0) has nothing to outlive a restart and is not saved.
func (s *Store) SnapshotData(write func(*newstore.DataEntry) error) error {
	s.persist.mu.RLock()
	if len(s.persist.byKey) == 0 {
		s.persist.mu.RUnlock()
		return nil
	}
	keys := make(map[any]*persistedKey, len(s.persist.byKey))
	for k, v := range s.persist.byKey {
		keys[k] = v
	}
	budget := s.persist.budget
	s.persist.mu.RUnlock()

	now := s.sweeper.Clock.Now().UnixNano()
	var cands []candidate
	s.mu.Lock()
	for p, ps := range s.peers {
		for _, e := range ps.entries {
			k := keys[e.key]
			if k == nil {
				continue
			}
			remaining := e.ttl
			if e.expires != 0 {
				remaining = time.Duration(e.expires - now)
			}
			if remaining <= 0 {
				continue
			}
			cands = append(cands, candidate{peer: p, k: k, val: e.val, ttl: e.ttl, remaining: remaining})
		}
	}
	s.mu.Unlock()

	// Encoding runs outside the lock: a codec may be slow, or read the
	// store.
	if budget <= 0 {
		budget = DefaultPersistBudget
	}
	used := 0
	for _, c := range cands {
		if _, ok := c.val.(crypto.PrivKey); ok {
			s.persistError("private_key", fmt.Errorf("peerdata: value %q of peer %s: %w", c.k.name, c.peer, ErrPrivateKey))
			continue
		}
		b, err := encode(c.k.codec, c.val)
		switch {
		case err != nil:
			s.persistError("encode_failed", fmt.Errorf("peerdata: encoding value %q of peer %s: %w", c.k.name, c.peer, err))
			continue
		case looksLikePrivateKey(b):
			s.persistError("private_key", fmt.Errorf("peerdata: value %q of peer %s encodes to a private key: %w", c.k.name, c.peer, ErrPrivateKey))
			continue
		case len(b) > newstore.MaxSnapshotDataValueLen:
			s.persistError("value_too_large", fmt.Errorf("peerdata: value %q of peer %s encodes to %d bytes, more than the %d a snapshot holds", c.k.name, c.peer, len(b), newstore.MaxSnapshotDataValueLen))
			continue
		case used+len(b) > budget:
			s.persistError("persist_budget", fmt.Errorf("peerdata: value %q of peer %s left out: the %d-byte persist budget is spent", c.k.name, c.peer, budget))
			continue
		}
		err = write(&newstore.DataEntry{Peer: c.peer, Name: c.k.name, TTL: c.ttl, Remaining: c.remaining, Value: b})
		if errors.Is(err, newstore.ErrInvalidEntry) {
			s.persistError("invalid_entry", fmt.Errorf("peerdata: value %q of peer %s: %w", c.k.name, c.peer, err))
			continue
		}
		if err != nil {
			return err
		}
		used += len(b)
	}
	return nil
}

// RestoreData implements newstore.PeerDataSnapshotter: each value of a
// persisted key is decoded and put back with what was left of its
// ttlAfterDisconnect counted from now (its whole TTL while its peer is
// connected). A value the store already holds live is kept, as newer.
// Decoding failures, values of keys no one persists and values the store's
// bounds refuse are reported and skipped.
func (s *Store) RestoreData(entries []newstore.DataEntry) {
	s.persist.mu.RLock()
	byName := make(map[string]*persistedKey, len(s.persist.byName))
	for n, k := range s.persist.byName {
		byName[n] = k
	}
	s.persist.mu.RUnlock()

	unknown := make(map[string]int)
	for i := range entries {
		e := &entries[i]
		k := byName[e.Name]
		if k == nil {
			unknown[e.Name]++
			continue
		}
		val, err := decode(k.codec, e.Value)
		if err != nil {
			s.persistError("decode_failed", fmt.Errorf("peerdata: decoding value %q of peer %s: %w", e.Name, e.Peer, err))
			continue
		}
		if _, ok := val.(crypto.PrivKey); ok {
			s.persistError("private_key", fmt.Errorf("peerdata: restored value %q of peer %s: %w", e.Name, e.Peer, ErrPrivateKey))
			continue
		}
		if err := s.restoreValue(e.Peer, k.key, val, e.TTL, e.Remaining); err != nil {
			s.persistError("restore_refused", fmt.Errorf("peerdata: restoring value %q of peer %s: %w", e.Name, e.Peer, err))
		}
	}
	for name, n := range unknown {
		s.tracer.Dropped(newstore.StorePeerData, "unknown_key", n-1) // persistError counts the last
		s.persistError("unknown_key", fmt.Errorf("peerdata: the snapshot holds %d values of %q, a name no key persists; dropped", n, name))
	}
}

// restoreValue puts a restored value through Put, so every bound applies,
// then shortens its life to what was left of it.
func (s *Store) restoreValue(p peer.ID, key, val any, ttl, remaining time.Duration) error {
	if ttl == 0 || remaining <= 0 {
		return nil
	}
	if _, err := s.Get(p, key); err == nil {
		return nil // a live value is newer than the snapshot's
	}
	if err := s.Put(p, key, val, ttl); err != nil {
		return err
	}
	if remaining >= ttl {
		return nil
	}
	now := s.sweeper.Clock.Now().UnixNano()
	s.mu.Lock()
	defer s.mu.Unlock()
	if ps := s.peers[p]; ps != nil {
		for i := range ps.entries {
			if e := &ps.entries[i]; e.key == key && e.expires != 0 {
				e.expires = min(e.expires, now+int64(remaining))
				s.noteExpiryLocked(e.expires)
			}
		}
	}
	return nil
}

// encode and decode turn a codec's panic into an error.
func encode(c Codec, val any) (b []byte, err error) {
	defer func() {
		if r := recover(); r != nil {
			err = fmt.Errorf("codec panicked: %v", r)
		}
	}()
	return c.Encode(val)
}

func decode(c Codec, data []byte) (val any, err error) {
	defer func() {
		if r := recover(); r != nil {
			err = fmt.Errorf("codec panicked: %v", r)
		}
	}()
	return c.Decode(data)
}

var _ newstore.PeerDataSnapshotter = (*Store)(nil)
