#!/usr/bin/env bash
# Fails when the committed gRPC types under libs/api/src/grpc/generated are not what
# `npm run proto:gen` makes of proto/ today: regenerates into a temporary folder and compares.
set -euo pipefail
cd "$(dirname "$0")/.."
out=$(mktemp -d)
trap 'rm -rf "$out"' EXIT
npx buf generate --output "$out"
if ! diff -r "$out/libs/api/src/grpc/generated" libs/api/src/grpc/generated; then
  echo "libs/api/src/grpc/generated is out of date with proto/: run npm run proto:gen and commit the result" >&2
  exit 1
fi
