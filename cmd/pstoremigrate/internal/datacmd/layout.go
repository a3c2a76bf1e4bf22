package datacmd

import (
	"context"
	"errors"
	"fmt"
	"strings"

	ds "github.com/ipfs/go-datastore"
	"github.com/ipfs/go-datastore/query"

	"github.com/pstoremigrate/pstoremigrate/compat/pstoreds"
	"github.com/pstoremigrate/pstoremigrate/compat/pstoreds/legacy"
)

// Layout says which peerstore layouts a datastore holds. compat/pstoreds
// leaves the legacy entries (minus private keys) beside its snapshot, so
// both may be present.
type Layout struct {
	// Legacy: entries under /peers, as upstream pstoreds wrote them.
	Legacy bool
	// Compat: a compat/pstoreds snapshot under
	// /pstoremigrate/peerstore.
	Compat bool
}

func (l Layout) String() string {
	var parts []string
	if l.Legacy {
		parts = append(parts, "legacy pstoreds")
	}
	if l.Compat {
		parts = append(parts, "compat/pstoreds")
	}
	if len(parts) == 0 {
		return "none"
	}
	return strings.Join(parts, " + ")
}

// ErrNoPeerstore means a datastore holds no peerstore layout at all: it is
// empty, or some other program's.
var ErrNoPeerstore = errors.New("holds no peerstore: neither the legacy pstoreds layout (/peers/...) nor the compat/pstoreds one (/pstoremigrate/peerstore/...)")

// compatRoot is where compat/pstoreds keeps its keys.
var compatRoot = ds.NewKey("/pstoremigrate/peerstore")

// DetectLayout looks for the keys of each layout in d. A datastore with
// neither is ErrNoPeerstore, with a word on what it does hold.
func DetectLayout(ctx context.Context, d ds.Read) (Layout, error) {
	var l Layout
	var err error
	if l.Legacy, err = hasPrefix(ctx, d, legacy.Root); err != nil {
		return l, err
	}
	if l.Compat, err = hasPrefix(ctx, d, pstoreds.SnapshotPrefix); err != nil {
		return l, err
	}
	if !l.Compat {
		// A datastore that compat/pstoreds opened but never saved (it
		// imported nothing) has only the marker.
		if l.Compat, err = hasPrefix(ctx, d, compatRoot); err != nil {
			return l, err
		}
	}
	if l.Legacy || l.Compat {
		return l, nil
	}
	first, err := firstKey(ctx, d, ds.NewKey("/"))
	if err != nil {
		return l, err
	}
	if first == "" {
		return l, fmt.Errorf("%w (the datastore is empty)", ErrNoPeerstore)
	}
	return l, fmt.Errorf("%w (its first key is %s)", ErrNoPeerstore, first)
}

func hasPrefix(ctx context.Context, d ds.Read, prefix ds.Key) (bool, error) {
	k, err := firstKey(ctx, d, prefix)
	return k != "", err
}

func firstKey(ctx context.Context, d ds.Read, prefix ds.Key) (string, error) {
	res, err := d.Query(ctx, query.Query{Prefix: prefix.String(), KeysOnly: true, Limit: 1})
	if err != nil {
		return "", fmt.Errorf("querying keys under %s: %w", prefix, err)
	}
	defer res.Close()
	r, ok := res.NextSync()
	if !ok {
		return "", nil
	}
	if r.Error != nil {
		return "", fmt.Errorf("reading keys under %s: %w", prefix, r.Error)
	}
	return r.Key, nil
}
