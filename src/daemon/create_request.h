// Checks a create request and fills in its defaults, before anything is
// made on disk: the agent, the workspace, the name, memory, vCPUs, the
// docker volume's size and the ports to publish.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "base/result.h"
#include "proto/api.h"

namespace sbx::daemon {

/// Host facts used for defaults; injectable for tests.
struct HostFacts {
  uint64_t memory_bytes = 0;
  int cores = 1;
  static HostFacts probe();
};

/// Default memory: 50% of the host, clamped to 512 MiB..32 GiB.
uint64_t default_memory(const HostFacts& h);
/// Largest memory a sandbox may ask for: max(75% of the host, 512 MiB).
uint64_t max_memory(const HostFacts& h);

/// The smallest memory and docker volume a sandbox may have.
inline constexpr uint64_t kMinMemoryBytes = 256ull << 20;
inline constexpr uint64_t kMinDockerBytes = 1ull << 30;

/// Validates `in` (errors are kBadRequest) and returns it complete: agent,
/// absolute workspace, name, memory_bytes, cpus and docker_bytes all set.
/// `default_docker_bytes` applies when the request leaves the size out;
/// `agents` are the agents (kits) this daemon knows.
Result<proto::CreateRequest> validate_create_request(
    const proto::CreateRequest& in, const HostFacts& host, uint64_t default_docker_bytes,
    const std::vector<std::string>& agents = {"shell"});

}  // namespace sbx::daemon
