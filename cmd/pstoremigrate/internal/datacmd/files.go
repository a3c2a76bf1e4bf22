package datacmd

import (
	"bytes"
	"encoding/binary"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"strings"

	"github.com/syndtr/goleveldb/leveldb/opt"
	"github.com/syndtr/goleveldb/leveldb/storage"
	"github.com/syndtr/goleveldb/leveldb/table"
)

// privKeyName matches a legacy private key's datastore key as it appears in
// files: /peers/keys/<base32 peer ID>/priv.
var privKeyName = regexp.MustCompile(`/peers/keys/[A-Z2-7]+/priv`)

// privKeysInFiles returns the legacy private keys whose values are still
// in dir's files, deleted or not: a delete in an LSM datastore only writes a
// tombstone until compaction. known is false for a backend whose files it
// cannot read (pebble): then nothing can be said either way.
func privKeysInFiles(dir string, b Backend) (keys map[string]bool, known bool, err error) {
	if b != LevelDB {
		return nil, false, nil
	}
	entries, err := os.ReadDir(dir)
	if err != nil {
		return nil, false, err
	}
	keys = map[string]bool{}
	for _, e := range entries {
		path := filepath.Join(dir, e.Name())
		switch {
		case strings.HasSuffix(e.Name(), ".ldb"):
			if err := tableKeys(path, keys); err != nil {
				return nil, false, fmt.Errorf("reading leveldb table %s: %w", path, err)
			}
		case strings.HasSuffix(e.Name(), ".log"):
			// Journal records hold keys and values uncompressed; a key
			// next to its value is enough to count it.
			raw, err := os.ReadFile(path)
			if err != nil {
				return nil, false, err
			}
			for _, k := range privKeyName.FindAll(raw, -1) {
				keys[string(k)] = true
			}
		}
	}
	return keys, true, nil
}

// tableKeys adds the private keys a leveldb table holds a value for.
func tableKeys(path string, keys map[string]bool) error {
	f, err := os.Open(path)
	if err != nil {
		return err
	}
	defer f.Close()
	fi, err := f.Stat()
	if err != nil {
		return err
	}
	r, err := table.NewReader(f, fi.Size(), storage.FileDesc{Type: storage.TypeTable}, nil, nil, &opt.Options{})
	if err != nil {
		return err
	}
	defer r.Release()
	it := r.NewIterator(nil, nil)
	defer it.Release()
	for it.Next() {
		ik := it.Key() // user key, then 8 bytes: sequence << 8 | kind (1: value, 0: deletion)
		if len(ik) < 8 || binary.LittleEndian.Uint64(ik[len(ik)-8:])&0xff != 1 {
			continue
		}
		if uk := ik[:len(ik)-8]; bytes.HasPrefix(uk, []byte("/peers/keys/")) && privKeyName.Match(uk) {
			keys[string(uk)] = true
		}
	}
	return it.Error()
}
