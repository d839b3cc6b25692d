#!/usr/bin/env bash
# Fails when the committed gRPC types (libs/api/src/grpc/generated for keyd's API,
# libs/fleet/src/generated for the fleet's services) are not what `npm run proto:gen`
# makes of proto/ today: regenerates into a temporary folder and compares.
set -euo pipefail
cd "$(dirname "$0")/.."
out=$(mktemp -d)
trap 'rm -rf "$out"' EXIT
npx buf generate --output "$out"
npx buf generate --template buf.gen.fleet.yaml --output "$out"
for dir in libs/api/src/grpc/generated libs/fleet/src/generated; do
  if ! diff -r "$out/$dir" "$dir"; then
    echo "$dir is out of date with proto/: run npm run proto:gen and commit the result" >&2
    exit 1
  fi
done
