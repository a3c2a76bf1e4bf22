package pstoreds_test

import (
	"testing"

	"github.com/pstoremigrate/pstoremigrate/internal/legacytest"
	"github.com/pstoremigrate/pstoremigrate/internal/pstoredstest"
)

// The interop module runs the same suite on go-ds-leveldb and go-ds-pebble.
func TestSuite(t *testing.T) { pstoredstest.Run(t, legacytest.Backends) }
