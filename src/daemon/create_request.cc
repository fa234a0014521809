#include "daemon/create_request.h"

#include <unistd.h>

#include <algorithm>

#include "base/files.h"
#include "base/strings.h"

namespace sbx::daemon {

HostFacts HostFacts::probe() {
  HostFacts h;
  long pages = sysconf(_SC_PHYS_PAGES), page = sysconf(_SC_PAGE_SIZE);
  h.memory_bytes = pages > 0 && page > 0
                       ? static_cast<uint64_t>(pages) * static_cast<uint64_t>(page)
                       : 1ull << 30;
  long n = sysconf(_SC_NPROCESSORS_ONLN);
  h.cores = n > 0 ? static_cast<int>(n) : 1;
  return h;
}

uint64_t default_memory(const HostFacts& h) {
  uint64_t half = h.memory_bytes / 2;
  return std::clamp<uint64_t>(half, 512ull << 20, 32ull << 30);
}

uint64_t max_memory(const HostFacts& h) {
  return std::max<uint64_t>(h.memory_bytes / 4 * 3, 512ull << 20);
}

Result<proto::CreateRequest> validate_create_request(const proto::CreateRequest& in,
                                                     const HostFacts& host,
                                                     uint64_t default_docker_bytes,
                                                     const std::vector<std::string>& agents) {
  proto::CreateRequest req = in;
  if (req.agent.empty()) req.agent = "shell";
  if (std::find(agents.begin(), agents.end(), req.agent) == agents.end())
    return err(kBadRequest, "unknown agent '" + req.agent + "'; available: " + join(agents, ", "));
  if (req.workspace.empty() || req.workspace[0] != '/')
    return err(kBadRequest, "workspace path must be absolute: '" + req.workspace + "'");
  if (!path_exists(req.workspace))
    return err(kBadRequest, "workspace path '" + req.workspace + "' does not exist");
  if (!is_directory(req.workspace))
    return err(kBadRequest, "workspace path '" + req.workspace + "' is not a directory");
  auto abs = absolute_path(req.workspace);
  if (!abs) return abs.error();
  req.workspace = *abs;
  if (req.name.empty()) req.name = proto::default_sandbox_name(req.agent, req.workspace);
  if (auto v = proto::validate_sandbox_name(req.name); !v)
    return err(kBadRequest, v.error().message);

  req.memory_bytes = req.memory_bytes ? req.memory_bytes : default_memory(host);
  if (req.memory_bytes < kMinMemoryBytes)
    return err(kBadRequest,
               "memory " + format_size(req.memory_bytes) + " is too small: use at least 256m");
  if (req.memory_bytes > max_memory(host))
    return err(kBadRequest, "memory " + format_size(req.memory_bytes) + " exceeds the maximum of " +
                                format_size(max_memory(host)) + " on this host");
  req.cpus = req.cpus ? req.cpus : host.cores;
  if (req.cpus < 1 || req.cpus > host.cores)
    return err(kBadRequest, "--cpus " + std::to_string(req.cpus) +
                                " is out of range: this host has " + std::to_string(host.cores) +
                                " cores");
  req.docker_bytes = req.docker_bytes ? req.docker_bytes : default_docker_bytes;
  if (req.docker_bytes < kMinDockerBytes)
    return err(kBadRequest,
               "--docker-size " + format_size(req.docker_bytes) + " is too small: use at least 1g");
  for (auto& p : req.ports)
    if (p.sandbox_port == 0) return err(kBadRequest, "a published port needs a sandbox port");
  return req;
}

}  // namespace sbx::daemon
