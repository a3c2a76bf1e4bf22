package pstoreds_test

import (
	"testing"

	"go.uber.org/goleak"

	"github.com/pstoremigrate/pstoremigrate/internal/legacytest"
	"github.com/pstoremigrate/pstoremigrate/internal/pstoredstest"
	"github.com/pstoremigrate/pstoremigrate/interop/internal/ondisk"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m, legacytest.LeakOptions...) }

// compat/pstoreds' suite, upstream's suites included, on the datastores
// legacy nodes ran on, on disk.
func TestSuiteOnDisk(t *testing.T) { pstoredstest.Run(t, ondisk.Backends) }
