package analyzer_test

import (
	"testing"

	"go.uber.org/goleak"
)

// The checker runs analyzers concurrently; none of that may outlive a test.
func TestMain(m *testing.M) {
	goleak.VerifyTestMain(m)
}
