package datacmd

import (
	"bytes"
	"context"
	"encoding/binary"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"strings"

	"github.com/cockroachdb/pebble/v2"
	"github.com/cockroachdb/pebble/v2/sstable"
	"github.com/cockroachdb/pebble/v2/vfs"
	"github.com/syndtr/goleveldb/leveldb/opt"
	"github.com/syndtr/goleveldb/leveldb/storage"
	"github.com/syndtr/goleveldb/leveldb/table"
)

// privKeyName matches a legacy private key's datastore key as it appears in
// files: /peers/keys/<base32 peer ID>/priv.
var privKeyName = regexp.MustCompile(`/peers/keys/[A-Z2-7]+/priv`)

// fileEntry is what scanFiles finds in a datastore's files: a table entry,
// or a whole file read raw.
type fileEntry struct {
	// File is the file's name in the directory.
	File string
	// Key is a table entry's user key; nil for a file read raw.
	Key []byte
	// Value is a table entry's value, or the raw bytes of a file.
	Value []byte
	// Set tells a table entry that holds a value from a deletion.
	Set bool
}

// tableSuffix is the name suffix of a backend's table files.
func tableSuffix(b Backend) string {
	if b == Pebble {
		return ".sst"
	}
	return ".ldb"
}

// scanFiles reads every file of the datastore in dir the way someone who
// holds the disk could: each file raw, journals, WALs and manifests
// included, and each table entry by entry with the backend's own reader
// (tables are compressed, so their raw bytes hide what they hold). It
// reads without opening the datastore: no lock, nothing written.
func scanFiles(dir string, b Backend, visit func(fileEntry)) error {
	entries, err := os.ReadDir(dir)
	if err != nil {
		return err
	}
	for _, e := range entries {
		if !e.Type().IsRegular() {
			continue
		}
		path := filepath.Join(dir, e.Name())
		raw, err := os.ReadFile(path)
		if err != nil {
			return err
		}
		visit(fileEntry{File: e.Name(), Value: raw})
		if !strings.HasSuffix(e.Name(), tableSuffix(b)) {
			continue
		}
		scan := scanLevelDBTable
		if b == Pebble {
			scan = scanPebbleTable
		}
		if err := scan(path, func(key, val []byte, set bool) {
			visit(fileEntry{File: e.Name(), Key: key, Value: val, Set: set})
		}); err != nil {
			return fmt.Errorf("reading %s table %s: %w", b, path, err)
		}
	}
	return nil
}

// scanLevelDBTable reads every entry of a leveldb table with goleveldb's
// table reader.
func scanLevelDBTable(path string, visit func(key, val []byte, set bool)) error {
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
		if len(ik) < 8 {
			continue
		}
		set := binary.LittleEndian.Uint64(ik[len(ik)-8:])&0xff == 1
		visit(ik[:len(ik)-8], it.Value(), set)
	}
	return it.Error()
}

// scanPebbleTable reads every entry of a pebble sstable with pebble's
// sstable reader.
func scanPebbleTable(path string, visit func(key, val []byte, set bool)) error {
	f, err := vfs.Default.Open(path)
	if err != nil {
		return err
	}
	readable, err := sstable.NewSimpleReadable(f) // closed with the reader
	if err != nil {
		_ = f.Close()
		return err
	}
	o := &pebble.Options{}
	o.EnsureDefaults()
	ctx := context.Background()
	r, err := sstable.NewReader(ctx, readable, o.MakeReaderOptions())
	if err != nil {
		_ = readable.Close()
		return err
	}
	defer r.Close()
	it, err := r.NewIter(sstable.NoTransforms, nil, nil, sstable.AssertNoBlobHandles)
	if err != nil {
		return err
	}
	for kv := it.First(); kv != nil; kv = it.Next() {
		v, _, err := kv.Value(nil)
		if err != nil {
			_ = it.Close()
			return err
		}
		kind := kv.K.Kind()
		visit(kv.K.UserKey, v, kind == pebble.InternalKeyKindSet || kind == pebble.InternalKeyKindSetWithDelete)
	}
	if err := it.Error(); err != nil {
		_ = it.Close()
		return err
	}
	return it.Close()
}

// privKeysInFiles returns the legacy private keys whose values are still
// in dir's files, deleted or not: a delete in an LSM datastore only writes a
// tombstone until compaction. Tables are read entry by entry (a key with a
// value, not a deletion); every other file raw, where a key counts when it
// is written as a batch record that sets a value: both backends' journals
// (leveldb's .log, pebble's WAL) frame a record as kind 1, the key's length,
// the key, then the value. Manifests hold key names without values.
func privKeysInFiles(dir string, b Backend) (map[string]bool, error) {
	keys := map[string]bool{}
	err := scanFiles(dir, b, func(e fileEntry) {
		switch {
		case e.Key != nil:
			if e.Set && bytes.HasPrefix(e.Key, []byte("/peers/keys/")) {
				if loc := privKeyName.FindIndex(e.Key); loc != nil && loc[0] == 0 && loc[1] == len(e.Key) {
					keys[string(e.Key)] = true
				}
			}
		case !strings.HasSuffix(e.File, tableSuffix(b)):
			raw := e.Value
			for _, loc := range privKeyName.FindAllIndex(raw, -1) {
				i, n := loc[0], loc[1]-loc[0]
				if n < 0x80 && i >= 2 && raw[i-1] == byte(n) && raw[i-2] == 1 {
					keys[string(raw[loc[0]:loc[1]])] = true
				}
			}
		}
	})
	if err != nil {
		return nil, err
	}
	return keys, nil
}
