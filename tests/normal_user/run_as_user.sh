#!/usr/bin/env bash
# Runs one VM suite as a normal user: the mode most people use sbx in (the
# guest user takes their uid, templates are built without root, QEMU has no
# privileges to drop). Under a non-root ctest the suite simply runs as the
# current user. Under root it runs as the user sbx-ci, created here with the
# sub-id ranges mmdebstrap's unshare mode needs, from a copy of the binaries
# that user can reach (a clone under /root is not). That user keeps its own
# cache (~sbx-ci/.cache/sbx), so its first run builds the kernel and the
# shell template rootless, which is part of what is tested.
#
# Usage: run_as_user.sh BIN_DIR SUITE [gtest args...]
set -euo pipefail
bin_dir="$1"
suite="$2"
shift 2

if [ "$(id -u)" -ne 0 ]; then
  exec "$bin_dir/$suite" "$@"
fi

user=sbx-ci
if ! id "$user" >/dev/null 2>&1; then
  useradd --create-home --shell /bin/bash "$user"
fi
# useradd adds sub-ids only when its login.defs says so; make sure.
grep -q "^$user:" /etc/subuid 2>/dev/null || usermod --add-subuids 300000-365535 "$user"
grep -q "^$user:" /etc/subgid 2>/dev/null || usermod --add-subgids 300000-365535 "$user"
home="$(getent passwd "$user" | cut -d: -f6)"

stage="$(mktemp -d /tmp/sbx-normal-user.XXXXXX)"
trap 'rm -rf "$stage"' EXIT
# The layout of the build tree: sbx finds sandboxd, and sandboxd finds
# sbx-agent, beside itself; both find the built-in kits in ../share/sbx/kits.
mkdir -p "$stage/bin" "$stage/share/sbx"
cp "$bin_dir/sbx" "$bin_dir/sandboxd" "$bin_dir/sbx-agent" "$bin_dir/$suite" "$stage/bin/"
if [ -e "$bin_dir/../share/sbx/kits" ]; then
  cp -rL "$bin_dir/../share/sbx/kits" "$stage/share/sbx/kits"
fi
chmod -R a+rX "$stage"

cd "$stage"
# A clean environment, as a login would give: nothing of root's leaks in.
runuser -u "$user" -- env -i HOME="$home" USER="$user" LOGNAME="$user" \
  PATH=/usr/local/bin:/usr/bin:/bin:/usr/sbin:/sbin LANG=C.UTF-8 \
  SBX_TEST_CLI="$stage/bin/sbx" "$stage/bin/$suite" "$@"
