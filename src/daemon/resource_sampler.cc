#include "daemon/resource_sampler.h"

#include <unistd.h>

#include <algorithm>
#include <fstream>
#include <sstream>
#include <vector>

namespace sbx::daemon {

namespace {

/// The fields of /proc/PID/stat after the command name, whose parentheses
/// may hold anything (spaces, ')'), so the split starts at the last ')'.
/// Index 0 is field 3 (state) of proc(5).
std::vector<std::string> stat_fields(const std::string& text) {
  std::vector<std::string> out;
  auto close = text.rfind(')');
  if (close == std::string::npos) return out;
  std::istringstream in(text.substr(close + 1));
  std::string f;
  while (in >> f) out.push_back(f);
  return out;
}

uint64_t to_u64(const std::string& s) {
  try {
    return std::stoull(s);
  } catch (...) {
    return 0;
  }
}

std::string slurp(const std::string& path) {
  std::ifstream f(path);
  std::stringstream ss;
  ss << f.rdbuf();
  return ss.str();
}

}  // namespace

ResourceSampler::ResourceSampler(std::string proc_root)
    : proc_(std::move(proc_root)), hz_(sysconf(_SC_CLK_TCK)), page_(sysconf(_SC_PAGESIZE)) {
  if (hz_ <= 0) hz_ = 100;
  if (page_ <= 0) page_ = 4096;
}

ResourceSampler::Sample ResourceSampler::sample(pid_t pid,
                                                std::chrono::steady_clock::time_point now) {
  Sample s;
  if (pid <= 0) return s;
  auto f = stat_fields(slurp(proc_ + "/" + std::to_string(pid) + "/stat"));
  // proc(5): utime 14, stime 15, starttime 22, rss 24 (1-based), minus 3.
  if (f.size() < 22) return s;
  uint64_t ticks = to_u64(f[11]) + to_u64(f[12]);
  uint64_t start = to_u64(f[19]);
  s.rss_bytes = to_u64(f[21]) * static_cast<uint64_t>(page_);

  std::lock_guard lk(mu_);
  auto it = last_.find(pid);
  if (it != last_.end() && it->second.start == start) {
    double secs = std::chrono::duration<double>(now - it->second.at).count();
    if (secs >= 0.2) {
      double used = static_cast<double>(ticks - std::min(ticks, it->second.ticks)) / hz_;
      it->second = {ticks, start, now, 100.0 * used / secs};
    }
    // Closer than that to the previous sample, the rate would be noise:
    // the previous one stands.
    s.cpu_percent = it->second.percent;
  } else {
    // Over the process's life so far.
    std::istringstream up(slurp(proc_ + "/uptime"));
    double uptime = 0;
    up >> uptime;
    double life = uptime - static_cast<double>(start) / hz_;
    if (life > 0) s.cpu_percent = 100.0 * (static_cast<double>(ticks) / hz_) / life;
    // A new process is the only time the map grows: forget the ones not
    // asked about for a minute (stopped VMs; their pids may be reused).
    for (auto old = last_.begin(); old != last_.end();)
      old = now - old->second.at > std::chrono::minutes(1) ? last_.erase(old) : std::next(old);
    last_[pid] = {ticks, start, now, s.cpu_percent};
  }
  return s;
}

}  // namespace sbx::daemon
