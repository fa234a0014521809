#!/usr/bin/env bash
# Installs what is missing, builds, then runs `sbx run ARGS...` from the
# directory you called it in. With no arguments: a shell sandbox on the
# current directory.
set -euo pipefail
here=$(pwd)
root=$(cd "$(dirname "$0")/.." && pwd)
"$root/scripts/setup.sh"
"$root/scripts/build.sh"
cd "$here"
if [ $# -eq 0 ]; then set -- shell .; fi
exec "$root/build/bin/sbx" run "$@"
