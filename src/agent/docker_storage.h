// Where the private dockerd keeps its images and containers: a dedicated
// virtio-blk disk (sbx.docker_disk), formatted on first boot, or the root
// disk's /var/lib/docker when the host attached none. PID-1 only.
#pragma once

#include <string>
#include <string_view>

#include "agent/console.h"
#include "base/result.h"

namespace sbx::agent {

/// Size of the prefix that must be zero before we dare to format a disk.
inline constexpr size_t kBlankCheckBytes = 64u << 10;

/// True when `head` holds only zero bytes (a fresh sparse image).
bool all_zero(std::string_view head);

/// The dockerd binary of the root fs (/usr/bin or /usr/sbin), or "" if the
/// template has none (the sandbox then runs without Docker).
std::string find_dockerd(const std::string& root = "");

/// Mounts `disk` (ext4) on `target`. On first boot the disk is blank: if the
/// ext4 mount fails and its first kBlankCheckBytes are zero, runs
/// `/sbin/mkfs.ext4 -q -F -L sbx-docker DISK` and mounts again. A disk with
/// other content is never formatted (error). Waits up to 5 s for the device.
Result<void> mount_docker_disk(const Console& console, const std::string& disk,
                               const std::string& target);

}  // namespace sbx::agent
