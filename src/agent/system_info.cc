#include "agent/system_info.h"

#include <sys/utsname.h>
#include <time.h>
#include <unistd.h>

namespace sbx::agent {

std::string kernel_release() {
  utsname u{};
  if (uname(&u) < 0) return "";
  return u.release;
}

std::string host_name() {
  char buf[256] = {};
  if (gethostname(buf, sizeof buf - 1) < 0) return "";
  return buf;
}

uint64_t uptime_ms() {
  timespec ts{};
  clock_gettime(CLOCK_BOOTTIME, &ts);
  return static_cast<uint64_t>(ts.tv_sec) * 1000 + static_cast<uint64_t>(ts.tv_nsec) / 1000000;
}

}  // namespace sbx::agent
