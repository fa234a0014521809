#!/usr/bin/env bash
# Installs what sbx needs from Debian's archive, idempotently: build tools and
# libraries, QEMU, and the tools that build the guest image. Safe to re-run;
# installs nothing when everything is present.
set -euo pipefail

packages=(
  # toolchain and libraries
  build-essential cmake pkg-config git
  libcli11-dev nlohmann-json3-dev libboost-dev libssl-dev libsqlite3-dev
  libgtest-dev libgmock-dev libbenchmark-dev libncurses-dev libidn2-dev libyaml-cpp-dev
  # gzip-compressed image layers (sbx template load)
  zlib1g-dev
  # the VMM and its disk tool
  qemu-system-x86 qemu-utils
  # guest image: kernel download/unpack, root filesystem, initramfs
  mmdebstrap e2fsprogs cpio xz-utils kmod dpkg apt ca-certificates
  # building templates without root: a user namespace, and fakeroot to pack
  uidmap fakeroot
  # tests: terminal sessions, and the shells whose completion scripts are checked
  tmux zsh fish
  # rebuilds: ccache (scripts/build.sh uses it when present)
  ccache
)

missing=()
for p in "${packages[@]}"; do
  if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed"; then
    missing+=("$p")
  fi
done

as_root() {
  if [ "$(id -u)" -eq 0 ]; then "$@"; else sudo "$@"; fi
}

# The guest kernel is fetched with apt-get download, which needs package lists.
lists_empty=1
if compgen -G "/var/lib/apt/lists/*_Packages" >/dev/null; then lists_empty=0; fi

if [ ${#missing[@]} -gt 0 ] || [ $lists_empty -eq 1 ]; then
  echo "sbx setup: updating package lists..." >&2
  as_root apt-get update -q
fi
if [ ${#missing[@]} -gt 0 ]; then
  echo "sbx setup: installing ${missing[*]}" >&2
  as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends "${missing[@]}"
fi
