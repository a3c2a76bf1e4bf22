package analyzer_test

import (
	"os"
	"testing"

	"go.uber.org/goleak"
)

// The checker runs analyzers concurrently; none of that may outlive a test.
func TestMain(m *testing.M) {
	// The fixtures (testdata/) are a module of their own inside the
	// repository's go.work: load them on their own go.mod.
	os.Setenv("GOWORK", "off")
	goleak.VerifyTestMain(m)
}
