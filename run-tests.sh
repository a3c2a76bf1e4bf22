#!/usr/bin/env bash
# Runs every module's tests, exactly as CI does (.ci/run calls this):
#   - the library (newstore/, compat/) on the go-libp2p it requires, the
#     oldest supported (see go.mod), then again on the newest supported;
#   - the analyzer, the command (cmd/pstoremigrate) and the interop tests.
# Each module is tested on its own go.mod (GOWORK=off), as its users build it.
set -euo pipefail
cd "$(dirname "$0")"
export GOWORK=off

newest=v0.52.0 # the newest go-libp2p this repository supports
flags=(-race -count=1 -timeout 20m)

floor=$(go list -m -f '{{.Version}}' github.com/libp2p/go-libp2p)
echo "== library on go-libp2p $floor (go.mod)"
go test "${flags[@]}" ./...

echo "== library on go-libp2p $newest"
alt=$(mktemp -d)
trap 'rm -rf "$alt"' EXIT
cp go.mod "$alt/go.mod"
cp go.sum "$alt/go.sum"
go get -modfile="$alt/go.mod" "github.com/libp2p/go-libp2p@$newest"
# The upgrade raises requirements (testify) whose new imports need go.sum
# lines that go get does not add.
go mod tidy -modfile="$alt/go.mod"
# Through GOFLAGS, not as a flag, so that the go commands tests run
# themselves (compat/internal/apicheck) resolve the same versions.
GOFLAGS=-modfile="$alt/go.mod" go test "${flags[@]}" ./...

for m in analyzer cmd/pstoremigrate interop; do
	echo "== $m"
	(cd "$m" && go test "${flags[@]}" ./...)
done
