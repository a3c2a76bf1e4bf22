#!/usr/bin/env bash
# The main job on the legacy example app: build pstoremigrate, lint the app,
# then show the fixes as a diff (nothing is changed). Exit 0 when the tool
# ran as designed (lint exits 3 because the app has findings), non-zero on
# a real error.
set -uo pipefail
cd "$(dirname "$0")"
# Every module here builds on its own go.mod (legacyapp is not in go.work).
export GOWORK=off

bin="$(mktemp -d)/pstoremigrate"
trap 'rm -rf "$(dirname "$bin")"' EXIT
(cd cmd/pstoremigrate && go build -o "$bin" .) || exit 1

cd testdata/legacyapp
echo "== pstoremigrate lint ./...   (in testdata/legacyapp)"
"$bin" lint ./...
lint=$?
echo
echo "== pstoremigrate fix -diff ./...   (prints the patch, changes nothing)"
"$bin" fix -diff ./...
fix=$?

# 0: clean, 3: findings (see 'pstoremigrate help lint'); anything else failed.
for code in "$lint" "$fix"; do
	if [ "$code" != 0 ] && [ "$code" != 3 ]; then
		echo "pstoremigrate failed (exit $code)" >&2
		exit "$code"
	fi
done
echo
echo "== done: lint exit $lint, fix -diff exit $fix (3 = findings left, as expected for the legacy app)"
