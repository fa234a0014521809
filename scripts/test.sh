#!/usr/bin/env bash
# Installs what is missing, builds, and runs the whole test suite: unit tests
# in parallel, then the suites that boot real VMs (one at a time). The guest
# kernel and the template are cached under ~/.cache/sbx keyed by their
# inputs, so only the first run builds them (a few minutes).
set -euo pipefail
cd "$(dirname "$0")/.."
./scripts/setup.sh
./scripts/build.sh
cd build
# With no arguments: everything but the agent layers CI has no time for
# (label agent-slow; run them with ./scripts/test.sh -L agent-slow).
if [ $# -eq 0 ]; then set -- -LE agent-slow; fi
ctest --output-on-failure -j"$(nproc)" --timeout 3000 "$@"
