package peerstore

import (
	"testing"

	"go.uber.org/goleak"

	"github.com/pstoremigrate/pstoremigrate/internal/testhost"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

type hostConfig = testhost.Config

var (
	newHost = testhost.New
	connect = testhost.Connect
	waitFor = testhost.WaitFor
)
