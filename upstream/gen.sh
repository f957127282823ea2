#!/usr/bin/env bash
# gen.sh regenerates upstream/kitex_gen from the thrift IDL in upstream/idl with
# the Kitex generator pinned in go.mod (`go tool kitex`, a tool directive), so
# every machine produces byte-identical code. `make gen` calls it.
#
# It deletes upstream/kitex_gen first: a type or service removed from the IDL
# must not survive as a stale generated file. Running it twice changes nothing.
#
# Usage: bash upstream/gen.sh   (from anywhere; it works from the module root)
set -euo pipefail

root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$root"

module="$(go list -m)"
out="upstream/kitex_gen"
idls=(upstream/idl/logic.thrift upstream/idl/gateway.thrift upstream/idl/push.thrift)

run() {
	echo "+ $*"
	"$@"
}

echo "gen: module $module, generator $(go tool kitex -version 2>&1), output $out"
run rm -rf "$out"
for idl in "${idls[@]}"; do
	# -module makes imports inside the generated code module-absolute;
	# -gen-path is relative to the module root (the working directory).
	run go tool kitex -module "$module" -gen-path "$out" "$idl"
done
# v0.16.3 already writes gofmt-clean code, so this changes nothing today; it
# keeps `gofmt -l` in CI quiet should a generator upgrade stop doing so.
run gofmt -w "$out"
echo "gen: done, $(find "$out" -name '*.go' | wc -l) Go files in $out"
