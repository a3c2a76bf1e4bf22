package pstoreds

import (
	"context"
	"fmt"
	"reflect"

	ds "github.com/ipfs/go-datastore"
)

// Compacter is a datastore that can rewrite its files so that deleted
// values leave them. LSM datastores (leveldb, pebble) keep a deleted value
// in their table files until a compaction; ds.Batching has no way to ask
// for one. NewPeerstore compacts after deleting legacy private keys when the
// datastore is a Compacter, or is go-ds-leveldb or go-ds-pebble (reached
// through their exported DB field); otherwise MigrationReport.Warnings says
// the keys may still be readable in the files.
type Compacter interface {
	Compact(ctx context.Context) error
}

var (
	errorType   = reflect.TypeFor[error]()
	contextType = reflect.TypeFor[context.Context]()
	bytesType   = reflect.TypeFor[[]byte]()
)

// compact asks d to compact its whole key space; ok is false when d offers
// no way to. go-ds-leveldb and go-ds-pebble are found by shape, not by
// import, so this library does not depend on either:
//   - a DB field with CompactRange(util.Range) error (goleveldb: the zero
//     Range is the whole key space);
//   - a DB field with Compact(ctx, start, end []byte, parallelize bool)
//     error (pebble; every datastore key starts with '/', within 0x00-0xff).
func compact(ctx context.Context, d ds.Batching) (ok bool, err error) {
	if c, is := d.(Compacter); is {
		return true, c.Compact(ctx)
	}
	v := reflect.ValueOf(d)
	for v.Kind() == reflect.Pointer || v.Kind() == reflect.Interface {
		if v.IsNil() {
			return false, nil
		}
		v = v.Elem()
	}
	if v.Kind() != reflect.Struct {
		return false, nil
	}
	db := v.FieldByName("DB")
	if !db.IsValid() || !db.CanInterface() || (db.Kind() == reflect.Pointer && db.IsNil()) {
		return false, nil
	}
	if m := db.MethodByName("CompactRange"); m.IsValid() {
		t := m.Type()
		if t.NumIn() == 1 && t.In(0).Kind() == reflect.Struct && t.NumOut() == 1 && t.Out(0) == errorType {
			return true, callErr(m.Call([]reflect.Value{reflect.Zero(t.In(0))}))
		}
	}
	if m := db.MethodByName("Compact"); m.IsValid() {
		t := m.Type()
		if t.NumIn() == 4 && t.In(0) == contextType && t.In(1) == bytesType && t.In(2) == bytesType &&
			t.In(3).Kind() == reflect.Bool && t.NumOut() == 1 && t.Out(0) == errorType {
			return true, callErr(m.Call([]reflect.Value{
				reflect.ValueOf(ctx), reflect.ValueOf([]byte{0}), reflect.ValueOf([]byte{0xff}), reflect.ValueOf(true),
			}))
		}
	}
	return false, nil
}

func callErr(out []reflect.Value) error {
	if err, _ := out[0].Interface().(error); err != nil {
		return err
	}
	return nil
}

// compactAfterDelete compacts d after private keys were deleted from it, and
// says in r when their bytes may remain in its files.
func compactAfterDelete(ctx context.Context, d ds.Batching, r *MigrationReport) {
	ok, err := compact(ctx, d)
	switch {
	case err != nil:
		r.Warnings = append(r.Warnings, fmt.Sprintf(
			"deleted %d private keys, but compacting the datastore failed (%v): their bytes may still be readable in its files; run 'pstoremigrate data scrub' on its directory",
			r.PrivKeysDeleted, err))
	case !ok:
		r.Warnings = append(r.Warnings, fmt.Sprintf(
			"deleted %d private keys, but the datastore (%T) offers no way to compact: their bytes may stay readable in its files until it compacts on its own; run 'pstoremigrate data scrub' on its directory, or pass a datastore that implements pstoreds.Compacter",
			r.PrivKeysDeleted, d))
	}
}
