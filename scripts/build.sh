#!/usr/bin/env bash
# Configures and builds sbx into ./build (Release with debug info).
set -euo pipefail
cd "$(dirname "$0")/.."
jobs=$(nproc)
launcher=()
# ccache (when installed) makes rebuilds in other clones and worktrees cheap.
if command -v ccache >/dev/null; then
  launcher=(-DCMAKE_CXX_COMPILER_LAUNCHER=ccache)
  export CCACHE_BASEDIR="${CCACHE_BASEDIR:-$(dirname "$PWD")}"
  # With -g, ccache keys on the build directory unless told not to; other
  # clones would then never hit. Debug info keeps relative source paths.
  export CCACHE_NOHASHDIR=true
fi
cmake -S . -B build -DCMAKE_BUILD_TYPE=RelWithDebInfo "${launcher[@]}" >/dev/null
cmake --build build -j"$jobs"
