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
ctest --output-on-failure -j"$(nproc)" --timeout 3000 "$@"
